import { batchItemCount, translateSegmentBatch, translateSegmentMessage } from '../../../services/ingest/segment';
import type { RequestContext, Translation } from '../../../services/ingest/trackV1';

const settings = { merge_enabled: true, retention_seconds: 2_592_000, grace_seconds: 300, trigger_window_seconds: 259_200 };
const ctx: RequestContext = { workspaceId: 'ws', settings, receivedAt: 1_764_000_000_000, newId: () => 'NEW' };
const commands = (t: Translation) => {
  if (!t.ok) throw new Error(JSON.stringify(t.problems.list));
  return t.records.map((r) => ({ id: r.id, ...r.command }));
};
const problems = (t: Translation) => (t.ok ? [] : t.problems.list.map((p) => `${p.field}: ${p.message}`));

describe('Segment spec', () => {
  it('identify with userId and anonymousId is the merge request (R2)', () => {
    expect(commands(translateSegmentMessage('identify', { userId: 'u1', anonymousId: 'a1', traits: { email: 'u@x.io' }, messageId: 'm1' }, ctx))).toEqual([
      { id: 'm1', kind: 'identify', body: { person: { id_type: 'ID', value: 'u1' }, anonymous_id: 'a1', attributes_json: '{"email":"u@x.io"}' } },
    ]);
  });

  it('identify with only anonymousId is accepted and keeps nothing', () => {
    expect(commands(translateSegmentMessage('identify', { anonymousId: 'a1', traits: { x: 1 } }, ctx))).toEqual([]);
  });

  it('track with only anonymousId is an anonymous event; with userId, the person\'s', () => {
    expect(commands(translateSegmentMessage('track', { anonymousId: 'a1', event: 'Viewed', properties: { p: 1 } }, ctx))[0]).toMatchObject({
      body: { person: null, anonymous_id: 'a1', name: 'Viewed', type: 'event', data_json: '{"p":1}' },
    });
    expect(commands(translateSegmentMessage('track', { userId: 'u1', anonymousId: 'a1', event: 'Viewed' }, ctx))[0]).toMatchObject({
      body: { person: { id_type: 'ID', value: 'u1' }, anonymous_id: null },
    });
  });

  it('a numeric userId is the same person as its text', () => {
    expect(commands(translateSegmentMessage('track', { userId: 42, event: 'x' }, ctx))[0]).toMatchObject({ body: { person: { id_type: 'ID', value: '42' } } });
  });

  it('a page is named by its URL, else its name; a screen by its name', () => {
    expect(commands(translateSegmentMessage('page', { anonymousId: 'a', name: 'Pricing', properties: { url: 'https://x.io/pricing' } }, ctx))[0]).toMatchObject({ body: { name: 'https://x.io/pricing', type: 'page' } });
    expect(commands(translateSegmentMessage('page', { anonymousId: 'a', context: { page: { url: 'https://x.io/' } } }, ctx))[0]).toMatchObject({ body: { name: 'https://x.io/' } });
    expect(commands(translateSegmentMessage('page', { anonymousId: 'a', name: 'Home' }, ctx))[0]).toMatchObject({ body: { name: 'Home' } });
    expect(commands(translateSegmentMessage('screen', { userId: 'u', name: 'Settings' }, ctx))[0]).toMatchObject({ body: { name: 'Settings', type: 'screen' } });
  });

  it('the timestamp is ISO-8601 turned into unix seconds; originalTimestamp is the fallback', () => {
    expect(commands(translateSegmentMessage('track', { userId: 'u', event: 'x', timestamp: '2025-11-20T10:00:00.900Z' }, ctx))[0]).toMatchObject({ body: { timestamp: 1_763_632_800 } });
    expect(commands(translateSegmentMessage('track', { userId: 'u', event: 'x', originalTimestamp: '2025-11-20T10:00:00Z' }, ctx))[0]).toMatchObject({ body: { timestamp: 1_763_632_800 } });
    expect(problems(translateSegmentMessage('track', { userId: 'u', event: 'x', timestamp: 1_763_632_800 }, ctx))).toEqual(['timestamp: must be an ISO-8601 date-time string, not a number']);
  });

  it('alias carries previousId for the merger to resolve', () => {
    expect(commands(translateSegmentMessage('alias', { userId: 'u', previousId: 'anon-9' }, ctx))[0]).toMatchObject({ kind: 'alias', body: { user: { id_type: 'ID', value: 'u' }, previous_id: 'anon-9' } });
    expect(problems(translateSegmentMessage('alias', { previousId: 'anon-9' }, ctx))).toEqual(['userId: alias needs userId']);
  });

  it('a batch is all or nothing and names each bad item', () => {
    const good = translateSegmentBatch({ batch: [{ type: 'track', userId: 'u', event: 'a' }, { type: 'group', userId: 'u', groupId: 'g' }] }, ctx);
    expect(commands(good)).toHaveLength(1);
    expect(problems(translateSegmentBatch({ batch: [{ type: 'track', userId: 'u', event: 'a' }, 'junk', { type: 'track', event: 'b' }] }, ctx))).toEqual([
      'batch[1]: a message must be a JSON object, not a string',
      'batch[2].userId: track needs userId or anonymousId',
    ]);
  });

  it('refuses a message over 32 KB', () => {
    expect(problems(translateSegmentMessage('track', { userId: 'u', event: 'x', properties: { b: 'x'.repeat(33 * 1024) } }, ctx))[0]).toMatch(/^: a message must be at most 32768 bytes/);
  });
  it('R8: refuses properties nested 5,000 deep with a problem, alone or in a batch, before serialising them', () => {
    const properties: unknown = JSON.parse(`${'{"d":'.repeat(4999)}{}${'}'.repeat(4999)}`);
    expect(problems(translateSegmentMessage('track', { userId: 'u', event: 'e', properties }, ctx))).toEqual([': a message must not be nested deeper than 33 levels (its properties, traits and context: 32)']);
    expect(problems(translateSegmentBatch({ batch: [{ type: 'track', userId: 'u', event: 'e', properties }] }, ctx))).toEqual(['batch[0]: a message must not be nested deeper than 33 levels (its properties, traits and context: 32)']);
  });

  it('accepts properties nested exactly 32 levels deep', () => {
    const properties: unknown = JSON.parse(`${'{"d":'.repeat(31)}{}${'}'.repeat(31)}`);
    expect(commands(translateSegmentMessage('track', { userId: 'u', event: 'e', properties }, ctx))).toHaveLength(1);
  });
  it('R8: refuses a batch of more than 2,000 messages with one problem naming the limit, before looking at any item', () => {
    const junk = Array.from({ length: 160_000 }, () => ({}));
    expect(problems(translateSegmentBatch({ batch: junk }, ctx))).toEqual(['batch: must have at most 2000 messages (got 160000); send them in several batches']);
    expect(commands(translateSegmentBatch({ batch: Array.from({ length: 2000 }, (_, i) => ({ type: 'track', userId: 'u', event: `e${i}` })) }, ctx))).toHaveLength(2000);
  });

  it('a batch of bad items reports the first 20 problems and counts the rest', () => {
    const t = translateSegmentBatch({ batch: Array.from({ length: 1500 }, () => 'junk') }, ctx);
    expect(t.ok).toBe(false);
    if (!t.ok) expect([t.problems.list.length, t.problems.omitted]).toEqual([20, 1480]);
  });

  it('counts the records a batch asks for before checking them (what the rate limit charges)', () => {
    expect(batchItemCount({ batch: [{}, {}, 'junk'] })).toBe(3);
    expect(batchItemCount({ batch: 'nope' })).toBe(1);
    expect(batchItemCount(undefined)).toBe(1);
  });
});
