/**
 * Issue 16's tests end to end: an operator's changes through the admin API reach two ingest
 * replicas that follow the workspaces log, with no restart, and change what the merger does with
 * the records each replica accepts afterwards. R3: with merging switched off an identify binds
 * nothing and the events stay pending; switched on again, identifying merges them. A key created
 * works at once beside the old one; the old one revoked is refused by both replicas within
 * seconds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseOperators } from '../../services/admin/operators';
import { startAdmin, type RunningAdmin } from '../../services/admin/service';
import type { RunningIngest } from '../../services/ingest/service';
import { loadConfig } from '../../services/shared/config';
import { basic, readInbound, startTestIngest, workspaceVersionOn } from '../support/ingest';
import { deleteRedisPrefix, OutputReader, startTestMerger } from '../support/merger';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../support/stack';

const TOKEN = randomBytes(24).toString('hex');
const SECRET_KEY = randomBytes(32).toString('hex');

describe('admin API changes on two ingest replicas', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('adminreplicas', 3);
  let admin: RunningAdmin;
  const replicas: RunningIngest[] = [];
  let merger: Awaited<ReturnType<typeof startTestMerger>>;
  let reader: OutputReader;
  let key: string;
  let version: number;

  const adminCall = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${admin.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = (await response.json()) as Record<string, any>;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
    version = Number(JSON.parse(response.headers.get('etag') ?? '0'));
    return answer;
  };
  /** Until both replicas' metrics say they run `expected` of shop; how long that took from `since`. */
  const untilBothRun = async (expected: number, since: number) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const versions = await Promise.all(replicas.map((replica) => workspaceVersionOn(replica, 'shop')));
      if (versions.every((v) => v === expected)) return Date.now() - since;
      if (Date.now() > deadline) throw new Error(`replicas run versions ${versions.join(', ')} of shop, not ${expected}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const send = (replica: RunningIngest, path: string, body: unknown, withKey = key) =>
    fetch(`${replica.url}/api/v1${path}`, { method: path.startsWith('/customers/') && !path.endsWith('/events') ? 'PUT' : 'POST', headers: { authorization: basic('shop-site', withKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const pageView = (replica: RunningIngest, anon: string, id: string) => send(replica, '/events', { anonymous_id: anon, name: '/pricing', type: 'page', id });
  const identifyOn = (replica: RunningIngest, person: string, anon: string) => send(replica, `/customers/${person}`, { anonymous_id: anon });

  beforeAll(async () => {
    const base = loadConfig(['kafka', 'registry', 'admin'], { ...process.env, ANONMERGE_ADMIN_PORT: '1' });
    const operators = parseOperators({ operators: [{ name: 'ops-dana', token_sha256: createHash('sha256').update(TOKEN).digest('hex') }] }, 'test');
    admin = await startAdmin({ kafka: { ...base.kafka, brokers: config.kafka.brokers }, registry: base.registry, topics, admin: { ...base.admin, port: 0, transactionalId: uniqueName('replicas-admin-') } }, testLogger, operators);
    key = ((await adminCall('POST', '/v1/workspaces', { id: 'shop', site_id: 'shop-site' })) as { key: { secret: string } }).key.secret;
    for (let i = 0; i < 2; i += 1) replicas.push(await startTestIngest(topics, { workspaces: 'log', workspacesSecretKey: SECRET_KEY }));
    merger = await startTestMerger(topics, { mode: 'two-planes' });
    reader = await new OutputReader(kafka, topics).open();
  });
  afterAll(async () => {
    await reader?.close();
    await merger?.close();
    await Promise.all(replicas.map((replica) => replica.close()));
    await admin?.close();
    if (merger) await deleteRedisPrefix(merger.prefix);
    await deleteTopics(kafka, topics);
  });

  it('R3: merging switched off through the admin API binds nothing on either replica; switched on, identifying again merges the retained events', async () => {
    const [one, two] = replicas as [RunningIngest, RunningIngest];
    let since = Date.now();
    await adminCall('PATCH', '/v1/workspaces/shop', { settings: { merge_enabled: false } }, { 'if-match': `"${version}"` });
    const offTook = await untilBothRun(version, since);
    // An event on one replica, the identify on the other: with merging off, nothing binds.
    expect((await pageView(one, 'anon-r3', 'ev-while-off')).status).toBe(200);
    expect((await identifyOn(two, 'p-r3', 'anon-r3')).status).toBe(200);
    expect((await pageView(two, 'anon-r3', 'ev-while-off-2')).status).toBe(200);
    await reader.until((g) => g.anonymousEvents.filter((e) => e.workspace_id === 'shop').length >= 2, 30_000, 'the two anonymous events');

    since = Date.now();
    await adminCall('PATCH', '/v1/workspaces/shop', { settings: { merge_enabled: true } }, { 'if-match': `"${version}"` });
    const onTook = await untilBothRun(version, since);
    expect((await identifyOn(one, 'p-r3', 'anon-r3')).status).toBe(200);
    await reader.until((g) => g.mergedEvents.filter((e) => e.workspace_id === 'shop').length >= 2, 30_000, 'the retained events merged');
    process.stdout.write(`admin API → both replicas: merging off in force after ${offTook} ms, on after ${onTook} ms\n`);

    const shop = reader.of('shop');
    // The identify accepted while merging was off bound nothing: both events stayed anonymous
    // until the identify accepted after it was switched on, and were merged by that one.
    expect(shop.mergedEvents.map((e) => [e.event_id, e.person.value, e.previously_anonymous]).sort()).toEqual([
      ['ev-while-off', 'p-r3', true],
      ['ev-while-off-2', 'p-r3', true],
    ]);
    const stamps = (await readInbound(kafka, topics)).filter((r) => r.workspace_id === 'shop').map((r) => [r.command.kind, r.settings.merge_enabled]);
    expect(stamps).toEqual(expect.arrayContaining([['identify', false], ['identify', true]]));
  });

  it('a key created through the admin API works on both replicas beside the old one; the old one revoked is refused by both within seconds', async () => {
    const created = (await adminCall('POST', '/v1/workspaces/shop/keys', { kind: 'API' })) as { key: { key_id: string; secret: string } };
    await untilBothRun(version, Date.now());
    for (const replica of replicas) {
      for (const withKey of [key, created.key.secret]) expect((await send(replica, '/events', { anonymous_id: 'anon-keys', name: 'k', id: uniqueName('k-') }, withKey)).status).toBe(200);
    }
    const since = Date.now();
    await adminCall('DELETE', `/v1/workspaces/shop/keys/api-1`);
    const took = await untilBothRun(version, since);
    for (const replica of replicas) {
      expect((await send(replica, '/events', { anonymous_id: 'anon-keys', name: 'k', id: uniqueName('k-') })).status).toBe(401);
      expect((await send(replica, '/events', { anonymous_id: 'anon-keys', name: 'k', id: uniqueName('k-') }, created.key.secret)).status).toBe(200);
    }
    process.stdout.write(`admin API → both replicas: key api-1 revoked everywhere ${took} ms after the request\n`);
  });
});
