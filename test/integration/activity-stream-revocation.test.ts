/**
 * The activity page's live stream after its credentials stop being good (a key revoked, a
 * workspace disabled on the workspaces log, docs/design-workspaces.md): the open stream is closed
 * within about a second, rather than going on showing the workspace's rows for as long as the
 * page stays open.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../services/shared/config';
import { basic, testWorkspaces } from '../support/ingest';
import { anonymousRow, startTestActivity } from '../support/activity';

const defaults = loadConfig(['activity'], {});

describe('the activity stream when its credentials are revoked', () => {
  const rows = new EventEmitter();
  const workspaces = testWorkspaces();
  let activity: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    ({ app: activity, url } = await startTestActivity({ rows, workspaces, timeouts: defaults.activity, loginFailures: { maxFailures: 0, windowMs: defaults.activity.loginFailureWindowMs } }));
  });
  afterAll(async () => {
    await activity?.close();
  });

  it('closes an open stream once its workspace is disabled, and sends no row of it after', async () => {
    const response = await fetch(`${url}/activity/api/stream?workspace=ws-a`, { headers: { authorization: basic('site-a', 'key-a') } });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntilClosed = (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) return;
        text += Buffer.from(value as Uint8Array).toString('utf8');
      }
    })();
    rows.emit('row', 'ws-a', anonymousRow('before'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(text).toContain('"id":"before"');

    workspaces.replace(workspaces.workspaces.map((w) => (w.id === 'ws-a' ? { ...w, disabled: true } : w)));
    const deadline = Date.now() + 5000;
    let emitted = 0;
    while (rows.listenerCount('row') > 0 && Date.now() < deadline) {
      rows.emit('row', 'ws-a', anonymousRow(`after-${emitted}`));
      emitted += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await readUntilClosed;
    expect(rows.listenerCount('row')).toBe(0);
    // Rows within the second before the check may pass; none once the stream found out.
    const after = text.match(/"id":"after-\d+"/g) ?? [];
    expect(after.length).toBeLessThan(emitted);
  });
});
