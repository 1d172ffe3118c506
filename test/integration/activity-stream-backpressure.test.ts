/**
 * The activity page's live stream against a viewer that never reads it: rows are not buffered
 * without end — past 1 MiB unread the stream is closed and its listener gone (the page reconnects
 * and reads the recent rows again). A viewer that reads gets every row.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MAX_UNREAD_STREAM_BYTES } from '../../services/activity/app';
import type { ViewRow } from '../../services/activity/view';
import { loadConfig } from '../../services/shared/config';
import { basic } from '../support/ingest';
import { anonymousRow, startTestActivity } from '../support/activity';

const defaults = loadConfig(['activity'], {});

const row = (i: number): ViewRow => anonymousRow(`e-${i}`, { at: 1_764_000_000_000 + i, anonymousId: `anon-${i}`, name: `page /${'x'.repeat(400)}`, timestamp: 1_764_000_000 });

describe('the activity stream and a viewer that does not read', () => {
  const rows = new EventEmitter();
  let activity: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    ({ app: activity, url } = await startTestActivity({ rows, timeouts: defaults.activity, loginFailures: { maxFailures: 0, windowMs: defaults.activity.loginFailureWindowMs } }));
  });
  afterAll(async () => {
    await activity?.close();
  });

  /** A stream request on a raw socket; `reading` false: the socket is never read. */
  function openStream(reading: boolean): Promise<{ socket: Socket; received: () => number }> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      let received = 0;
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        socket.write(`GET /activity/api/stream?workspace=ws-a HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('site-a', 'key-a')}\r\n\r\n`);
        const started = () => resolve({ socket, received: () => received });
        socket.once('data', (chunk: Buffer) => {
          received += chunk.length;
          if (reading) socket.on('data', (more: Buffer) => (received += more.length));
          else socket.pause();
          started();
        });
      });
      socket.once('error', reject);
    });
  }

  it('closes the stream of a viewer that stopped reading, past 1 MiB unread, and keeps a reading one', async () => {
    const idle = await openStream(false);
    const reader = await openStream(true);
    try {
      expect(rows.listenerCount('row')).toBe(2);
      // 10 MB of rows: ten times the bound.
      const count = Math.ceil((10 * MAX_UNREAD_STREAM_BYTES) / 500);
      for (let i = 0; i < count; i += 1) {
        rows.emit('row', 'ws-a', row(i));
        if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const deadline = Date.now() + 10_000;
      while (rows.listenerCount('row') > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      // The idle viewer's stream is gone; the reading one is still there and got the rows.
      expect(rows.listenerCount('row')).toBe(1);
      while (reader.received() < count * 500 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(reader.received()).toBeGreaterThan(count * 500);
    } finally {
      idle.socket.destroy();
      reader.socket.destroy();
    }
  }, 30_000);
});
