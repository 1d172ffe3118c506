/**
 * A client that trickles a request over a raw socket, a byte at a time, and reports what the
 * server answered and when it closed the connection.
 */
import { connect } from 'node:net';

export interface SlowOutcome {
  /** Milliseconds from the first byte sent until the server closed the connection. */
  readonly closedAfterMs: number;
  /** Bytes sent after the first chunk before the close. */
  readonly trickled: number;
  /** What the server wrote back. */
  readonly answer: string;
}

/**
 * Sends `head` at once, then one byte of `trickle` every `everyMs`; resolves when the server
 * closes the connection, or with closedAfterMs = Infinity after `giveUpMs`.
 */
export function trickleRequest(url: string, head: string, trickle: string, everyMs: number, giveUpMs: number): Promise<SlowOutcome> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let trickled = 0;
    let started = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedAfterMs: number) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ closedAfterMs, trickled, answer: Buffer.concat(chunks).toString('utf8') });
    };
    const giveUp = setTimeout(() => finish(Number.POSITIVE_INFINITY), giveUpMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => finish(Date.now() - started));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the server's answer is how some closes look from here.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('connect', () => {
      started = Date.now();
      socket.write(head);
      timer = setInterval(() => {
        if (trickled < trickle.length && socket.writable) socket.write(trickle[trickled++] as string);
      }, everyMs);
    });
  });
}
