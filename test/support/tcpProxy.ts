/**
 * A small TCP proxy of our own, in front of Kafka or Redis, that can make them unreachable:
 *   cut    every connection is closed and new ones are refused (the port stops listening)
 *   stall  connections stay open but no byte moves either way (a black hole), new ones too
 *   pass   back to normal
 * (tc netem is not available in this kernel.)
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'cut' | 'stall';

export class TcpProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  mode: ProxyMode = 'pass';

  constructor(
    readonly port: number,
    private readonly targetPort: number,
    private readonly host = '127.0.0.1',
  ) {}

  async listen(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, this.host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk: Buffer) => {
        // A stalled connection drops what arrives: the peer sees a black hole, as on a dead link.
        if (this.mode === 'pass') to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  async set(mode: ProxyMode): Promise<void> {
    this.mode = mode;
    if (mode === 'cut') {
      for (const pair of this.pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      this.pairs.clear();
      await this.close();
    } else {
      await this.listen();
      if (mode === 'pass') {
        // Connections that lived through a stall lost bytes; the clients' timeouts end them.
      }
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async destroy(): Promise<void> {
    this.mode = 'cut';
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await this.close();
  }
}
