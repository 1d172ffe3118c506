import { Problems } from '../../../services/ingest/problems';
import { translateAnonymousEvent, translateDelete, translateIdentify, translateMergeCustomers, translatePersonEvent, type RequestContext, type Translation } from '../../../services/ingest/trackV1';

const settings = { merge_enabled: true, retention_seconds: 2_592_000, grace_seconds: 300, trigger_window_seconds: 259_200 };
const RECEIVED = 1_764_000_000_500;
let ids = 0;
const ctx: RequestContext = { workspaceId: 'ws', settings, receivedAt: RECEIVED, newId: () => `NEW${(ids += 1)}` };

const records = (t: Translation) => {
  if (!t.ok) throw new Error(`unexpected problems: ${JSON.stringify(t.problems.list)}`);
  return t.records;
};
const problems = (t: Translation) => (t.ok ? [] : t.problems.list.map((p) => `${p.field}: ${p.message}`));

describe('Track API v1 identify', () => {
  it('classifies the identifier: id, lower-cased email, cio_ id', () => {
    expect(records(translateIdentify('User-1', {}, ctx))[0]?.command.body).toMatchObject({ person: { id_type: 'ID', value: 'User-1' } });
    expect(records(translateIdentify('Person@Example.COM', {}, ctx))[0]?.command.body).toMatchObject({ person: { id_type: 'EMAIL', value: 'person@example.com' } });
    expect(records(translateIdentify('cio_03000001', {}, ctx))[0]?.command.body).toMatchObject({ person: { id_type: 'CIO_ID', value: '03000001' } });
  });

  it('takes anonymous_id out of the attributes and stamps workspace, settings and received_at', () => {
    const [record] = records(translateIdentify('p', { email: 'p@x.io', anonymous_id: 'abc123', plan: 'pro' }, ctx));
    expect(record).toMatchObject({ workspace_id: 'ws', received_at: RECEIVED, settings });
    expect(record?.command).toEqual({ kind: 'identify', body: { person: { id_type: 'ID', value: 'p' }, anonymous_id: 'abc123', attributes_json: '{"email":"p@x.io","plan":"pro"}' } });
  });

  it('keeps _timestamp and _update as control fields of the update', () => {
    const [record] = records(translateIdentify('p', { _timestamp: 1_700_000_000, _update: true, a: 1 }, ctx));
    expect(JSON.parse((record?.command.body as { attributes_json: string }).attributes_json)).toEqual({ a: 1, _timestamp: 1_700_000_000, _update: true });
  });

  it('allows 300 attributes and refuses 301', () => {
    const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, i]));
    expect(translateIdentify('p', attrs(300), ctx).ok).toBe(true);
    expect(problems(translateIdentify('p', attrs(301), ctx))).toEqual([': at most 300 attributes per call (got 301)']);
    // Counted first: 12,000 bad attributes are one problem, not one each.
    const bad = Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`a${i}`, 'x'.repeat(1001)]));
    expect(problems(translateIdentify('p', bad, ctx))).toEqual([': at most 300 attributes per call (got 12000)']);
  });

  it('allows a 1,000-byte value and a 150-byte name, and no more', () => {
    expect(translateIdentify('p', { v: 'x'.repeat(1000), ['n'.repeat(150)]: 1 }, ctx).ok).toBe(true);
    expect(problems(translateIdentify('p', { v: 'x'.repeat(1001) }, ctx))).toEqual(['v: attribute value must be at most 1000 bytes (got 1001)']);
  });

  it('refuses an email that is not one and a created_at that is not unix seconds', () => {
    expect(problems(translateIdentify('p', { email: 'no', created_at: '2024' }, ctx))).toEqual(['email: must be an email address', 'created_at: must be an integer number of unix seconds']);
  });
});

describe('Track API v1 events', () => {
  it('defaults type to event and timestamp to the received second, and keeps the sender id', () => {
    const [record] = records(translatePersonEvent('p', { name: 'purchase', id: 'E1' }, ctx));
    expect(record?.id).toBe('E1');
    expect(record?.command.body).toMatchObject({ type: 'event', timestamp: 1_764_000_000, data_json: '{}', anonymous_id: null });
  });

  it('assigns a new id when the sender gives none', () => {
    expect(records(translatePersonEvent('p', { name: 'x' }, ctx))[0]?.id).toMatch(/^NEW\d+$/);
  });

  it('accepts a timestamp up to a day ahead and refuses one beyond', () => {
    expect(translatePersonEvent('p', { name: 'x', timestamp: 1_764_000_000 + 86_400 }, ctx).ok).toBe(true);
    expect(problems(translatePersonEvent('p', { name: 'x', timestamp: 1_764_000_000 + 86_401 }, ctx))[0]).toMatch(/^timestamp: is more than a day in the future/);
  });

  it('allows data of 100,000 bytes exactly', () => {
    const filler = 'x'.repeat(100_000 - '{"d":""}'.length);
    expect(translatePersonEvent('p', { name: 'x', data: { d: filler } }, ctx).ok).toBe(true);
    expect(translatePersonEvent('p', { name: 'x', data: { d: `${filler}y` } }, ctx).ok).toBe(false);
  });

  it('an anonymous event carries its anonymous id and no person (R1)', () => {
    const [record] = records(translateAnonymousEvent({ name: 'https://example.com/pricing', type: 'page', anonymous_id: 'abc123', data: { first_name: 'P' } }, ctx));
    expect(record?.command).toEqual({ kind: 'track', body: { person: null, anonymous_id: 'abc123', name: 'https://example.com/pricing', type: 'page', timestamp: 1_764_000_000, data_json: '{"first_name":"P"}' } });
  });

  it('an invite event has no anonymous id and an email recipient (R4)', () => {
    const [record] = records(translateAnonymousEvent({ name: 'invite', data: { recipient: 'friend@example.com' } }, ctx));
    expect(record?.command.body).toMatchObject({ person: null, anonymous_id: null });
    expect(problems(translateAnonymousEvent({ name: 'invite' }, ctx))).toEqual(['anonymous_id: is required unless data.recipient is set (an invite event)']);
  });

  it('reports every problem of a request at once', () => {
    expect(problems(translateAnonymousEvent({ type: 'click', timestamp: 'now', anonymous_id: '' }, ctx))).toEqual([
      'anonymous_id: must not be empty',
      'name: is required',
      'type: must be one of event, page, screen',
      'timestamp: must be an integer number of unix seconds',
    ]);
  });
});

describe('Track API v1 delete and merge_customers', () => {
  it('delete names the person (R10)', () => {
    expect(records(translateDelete('a@B.io', ctx))[0]?.command).toEqual({ kind: 'delete', body: { person: { id_type: 'EMAIL', value: 'a@b.io' } } });
  });

  it('merge_customers takes one identifier per side (R9)', () => {
    expect(records(translateMergeCustomers({ primary: { id: 'p1' }, secondary: { cio_id: 'c9' } }, ctx))[0]?.command).toEqual({
      kind: 'merge',
      body: { primary: { id_type: 'ID', value: 'p1' }, secondary: { id_type: 'CIO_ID', value: 'c9' } },
    });
    expect(problems(translateMergeCustomers({ primary: { id: 'p1', email: 'x@y.z' }, secondary: 'p2' }, ctx))).toEqual([
      'primary: must have exactly one of id, email or cio_id',
      'secondary: must be an object with one of id, email or cio_id',
    ]);
  });
});

describe('Problems', () => {
  it('prefixes batch items', () => {
    const outer = new Problems();
    const inner = new Problems();
    inner.add('event', 'is required');
    inner.add('', 'whole item bad');
    outer.addAll('batch[2]', inner);
    expect(outer.list).toEqual([
      { field: 'batch[2].event', message: 'is required' },
      { field: 'batch[2]', message: 'whole item bad' },
    ]);
  });
});
