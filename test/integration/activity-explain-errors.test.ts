/**
 * The activity page's explain answer when explain cannot read the logs (Kafka or Redis slow or
 * down; explain bounds each read, cli/commands/explain.ts): a 503 with a JSON body that says so,
 * not a 500 carrying the internal error's message, and the next request is answered as usual.
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../services/shared/config';
import { startTestActivity } from '../support/activity';
import { basic } from '../support/ingest';

const defaults = loadConfig(['activity'], {});

describe('explain on the activity page when the logs cannot be read', () => {
  let activity: FastifyInstance;
  let url: string;
  let failing = true;

  beforeAll(async () => {
    ({ app: activity, url } = await startTestActivity({
      timeouts: defaults.activity,
      loginFailures: { maxFailures: 0, windowMs: defaults.activity.loginFailureWindowMs },
      explain: async () => {
        if (failing) throw new Error('reading test.commands partition 2 up to offset 41 took longer than 30 s');
        return [];
      },
    }));
  });
  afterAll(async () => {
    await activity?.close();
  });

  it('answers 503 with a JSON error naming the problem, without the internal message, then answers again', async () => {
    const ask = () => fetch(`${url}/activity/api/explain?workspace=ws-a&anonymous_id=a1`, { headers: { authorization: basic('site-a', 'key-a') } });
    const failed = await ask();
    expect(failed.status).toBe(503);
    const body = (await failed.json()) as { error: string };
    expect(body.error).toMatch(/^explain could not read the logs/);
    expect(JSON.stringify(body)).not.toContain('commands');
    failing = false;
    const answered = await ask();
    expect(answered.status).toBe(200);
    expect(((await answered.json()) as { explanations: unknown[] }).explanations).toEqual([]);
  });
});
