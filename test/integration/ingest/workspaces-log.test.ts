/**
 * Workspaces followed live from the workspaces log (docs/design-workspaces.md): seeded from a
 * file, then changed by writing new versions — two ingest replicas pick each change up without a
 * restart, and records accepted afterwards carry the new settings (R3's switch is decided by
 * each record's own stamp). Keys rotate with no gap; a disabled workspace is refused with 403; a
 * replay of the log from its start gives what the live replicas run.
 */
import { randomBytes } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopicsWith } from '../../../services/shared/kafka/topics';
import type { RunningIngest } from '../../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { definitionOf } from '../../../services/ingest/workspaceChanges';
import { seedWorkspaces } from '../../../services/cli/commands/workspacesSeed';
import { changeKey, inForce, type WorkspaceHistory } from '../../../services/shared/workspaces/fold';
import { WorkspacesFollower } from '../../../services/shared/workspaces/follower';
import { keyDigest } from '../../../services/shared/workspaces/keyDigest';
import type { WorkspaceChange, WorkspaceDefinition } from '../../../services/shared/generated/workspaceTypes';
import { basic, readInbound, startTestIngest, workspaceVersionOn } from '../../support/ingest';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../../support/stack';

const SECRET_KEY = randomBytes(32).toString('hex');
const OLD_KEY = 'shop-api-key-0123456789';
const NEW_KEY = 'shop-api-key-rotated-0123';

describe('workspaces followed from the log (issue 16)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('wslog', 2);
  const replicas: RunningIngest[] = [];
  let catalog: SchemaCatalog;
  let producer: Producer;
  let definition: WorkspaceDefinition;
  let version = 1;
  const fileRegistry = new WorkspaceRegistry(
    parseWorkspaces({ workspaces: [{ id: 'shop', site_id: 'shop-site', api_key: OLD_KEY, identity_verification_secret: 'shop-identity-secret-0123', settings: { merge_enabled: true, grace_seconds: 30 } }] }, 'test'),
  );

  beforeAll(async () => {
    await ensureTopicsWith(kafka, topics, testLogger);
    catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['workspaces']);
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await producer.disconnect();
    await deleteTopics(kafka, topics);
  });

  /** What an admin writer does: the whole definition again, one version higher (in a transaction, as the design's writer will). */
  async function writeVersion(change: (previous: WorkspaceDefinition) => WorkspaceDefinition, options: { transaction?: 'commit' | 'abort'; aheadMs?: number } = {}): Promise<number> {
    const next = change(definition);
    const now = Date.now();
    const record: WorkspaceChange = { workspace_id: 'shop', version: version + 1, effective_at: now + (options.aheadMs ?? 0), changed_at: now, changed_by: 'test', change: '{}', definition: next };
    const message = { key: changeKey('shop', version + 1), value: catalog.encode('workspaces', record) };
    if (options.transaction === undefined) {
      await producer.send({ topic: topics.workspaces, acks: -1, messages: [message] });
    } else {
      const writer = kafka.producer({ transactionalId: uniqueName('workspaces-admin-'), maxInFlightRequests: 1, idempotent: true });
      await writer.connect();
      try {
        const transaction = await writer.transaction();
        await transaction.send({ topic: topics.workspaces, messages: [message] });
        await (options.transaction === 'commit' ? transaction.commit() : transaction.abort());
      } finally {
        await writer.disconnect();
      }
      // An aborted change never happened: nobody may see it.
      if (options.transaction === 'abort') return now;
    }
    version += 1;
    definition = next;
    return now;
  }

  /** Until every replica's metrics say it runs `expected` of the workspace; the time that took. */
  async function untilEveryReplicaRuns(expected: number, since: number): Promise<number> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const versions = await Promise.all(replicas.map((replica) => workspaceVersionOn(replica, 'shop')));
      if (versions.every((v) => v === expected)) return Date.now() - since;
      if (Date.now() > deadline) throw new Error(`replicas run versions ${versions.join(', ')}, not ${expected}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const identify = (replica: RunningIngest, person: string, key = OLD_KEY) =>
    fetch(`${replica.url}/api/v1/customers/${person}`, { method: 'PUT', headers: { authorization: basic('shop-site', key), 'content-type': 'application/json' }, body: JSON.stringify({ anonymous_id: `anon-${person}` }) });

  it('seeds version 1 from the file, once: keys hashed, the identity secret sealed', async () => {
    const first = await seedWorkspaces(kafka, catalog, topics.workspaces, 'test-file', fileRegistry, SECRET_KEY, testLogger);
    expect(first).toEqual({ written: ['shop'], alreadyOnTheLog: [] });
    const again = await seedWorkspaces(kafka, catalog, topics.workspaces, 'test-file', fileRegistry, SECRET_KEY, testLogger);
    expect(again).toEqual({ written: [], alreadyOnTheLog: ['shop'] });
    const [written] = await readAll();
    expect(written?.version).toBe(1);
    expect(JSON.stringify(written)).not.toContain(OLD_KEY);
    expect(JSON.stringify(written)).not.toContain('shop-identity-secret');
    definition = written?.definition as WorkspaceDefinition;
    for (let i = 0; i < 2; i += 1) replicas.push(await startTestIngest(topics, { workspaces: 'log', workspacesSecretKey: SECRET_KEY }));
    expect((await identify(replicas[0] as RunningIngest, 'p-seeded')).status).toBe(200);
  });

  it('R3: merging switched off and on again through the log reaches both replicas without a restart; records carry the switch in force when accepted', async () => {
    const stamps: Array<[string, boolean]> = [];
    for (const mergeEnabled of [false, true]) {
      const since = await writeVersion((d) => ({ ...d, settings: { ...d.settings, merge_enabled: mergeEnabled } }));
      const took = await untilEveryReplicaRuns(version, since);
      process.stdout.write(`workspaces log: version ${version} in force on both replicas ${took} ms after it was written\n`);
      for (const [i, replica] of replicas.entries()) {
        const person = uniqueName(`p${i}-${mergeEnabled}-`);
        expect((await identify(replica, person)).status).toBe(200);
        stamps.push([person, mergeEnabled]);
      }
    }
    const records = await readInbound(kafka, topics, 1 + stamps.length);
    for (const [person, mergeEnabled] of stamps) {
      const record = records.find((r) => JSON.stringify(r).includes(person));
      expect([person, record?.settings.merge_enabled]).toEqual([person, mergeEnabled]);
    }
  });

  it('a key is rotated with no gap: both work while both are live, then the old one is refused everywhere', async () => {
    const created = Date.now();
    const added = await writeVersion((d) => ({ ...d, keys: [...d.keys, { key_id: 'api-2', kind: 'API', sha256: keyDigest(NEW_KEY), created_at: created, created_by: 'test', revoked_at: null }] }));
    await untilEveryReplicaRuns(version, added);
    for (const replica of replicas) {
      expect((await identify(replica, uniqueName('old-'), OLD_KEY)).status).toBe(200);
      expect((await identify(replica, uniqueName('new-'), NEW_KEY)).status).toBe(200);
    }
    const revoked = await writeVersion((d) => ({ ...d, keys: d.keys.map((k) => (k.key_id === 'api-1' ? { ...k, revoked_at: Date.now() } : k)) }));
    await untilEveryReplicaRuns(version, revoked);
    for (const replica of replicas) {
      expect((await identify(replica, uniqueName('old-'), OLD_KEY)).status).toBe(401);
      expect((await identify(replica, uniqueName('new-'), NEW_KEY)).status).toBe(200);
    }
  });

  it('a disabled workspace is refused with 403 and a JSON body saying so; enabled again, it is served', async () => {
    const disabled = await writeVersion((d) => ({ ...d, disabled: true }));
    await untilEveryReplicaRuns(version, disabled);
    const refused = await identify(replicas[1] as RunningIngest, uniqueName('off-'), NEW_KEY);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ meta: { errors: ['forbidden: workspace shop is disabled'] }, errors: [{ field: '', message: 'forbidden: workspace shop is disabled' }] });
    const enabled = await writeVersion((d) => ({ ...d, disabled: false }));
    await untilEveryReplicaRuns(version, enabled);
    expect((await identify(replicas[1] as RunningIngest, uniqueName('on-'), NEW_KEY)).status).toBe(200);
  });

  it('a version scheduled ahead comes into force by itself at its time, on both replicas', async () => {
    const before = version;
    const written = await writeVersion((d) => ({ ...d, name: 'Shop, from later on' }), { aheadMs: 1500 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await untilEveryReplicaRuns(before, written);
    const took = await untilEveryReplicaRuns(version, written);
    expect(took).toBeGreaterThanOrEqual(1500);
  });

  it('a replay of the log from its start folds to what the replicas run, and ends even when the log ends with transaction markers', async () => {
    // A committed change, then an aborted one: the log's last records are markers and an aborted
    // record, none of which a consumer is handed.
    const renamed = await writeVersion((d) => ({ ...d, name: 'Shop, renamed' }), { transaction: 'commit' });
    await untilEveryReplicaRuns(version, renamed);
    await writeVersion((d) => ({ ...d, disabled: true }), { transaction: 'abort' });
    // One record batch per fetch: the last fetch then holds the abort marker alone.
    for (const maxBytesPerPartition of [undefined, 1]) {
      const replayed = inForce(await replayLog(maxBytesPerPartition), Date.now()).get('shop');
      expect(replayed?.version).toBe(version);
      expect(replayed?.definition).toEqual(definition);
    }
  });

  it("a workspace seeded into the live log with the demo workspace's public keys is not served (ANONMERGE_DEMO unset); one seeded beside it is", async () => {
    const seeded = new WorkspaceRegistry(
      parseWorkspaces(
        {
          workspaces: [
            { id: 'copied-demo', site_id: 'copied-demo-site', api_key: 'demo-key-not-secret' },
            { id: 'fresh', site_id: 'fresh-site', api_key: 'fresh-api-key-0123456789' },
          ],
        },
        'test',
      ),
    );
    expect((await seedWorkspaces(kafka, catalog, topics.workspaces, 'test-file', seeded, SECRET_KEY, testLogger)).written).toEqual(['copied-demo', 'fresh']);
    const send = (replica: RunningIngest, site: string, key: string) =>
      fetch(`${replica.url}/api/v1/customers/p-${site}`, { method: 'PUT', headers: { authorization: basic(site, key), 'content-type': 'application/json' }, body: JSON.stringify({ anonymous_id: `anon-${site}` }) });
    for (const replica of replicas) {
      const deadline = Date.now() + 20_000;
      while ((await send(replica, 'fresh-site', 'fresh-api-key-0123456789')).status !== 200) {
        if (Date.now() > deadline) throw new Error('the fresh workspace was never served');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Applied in the same fold as the fresh one, and left out of it.
      expect((await send(replica, 'copied-demo-site', 'demo-key-not-secret')).status).toBe(401);
    }
  });

  /** The log read from its start by a follower of its own, as a new replica would. */
  async function replayLog(maxBytesPerPartition?: number): Promise<WorkspaceHistory> {
    const admin = kafka.admin();
    await admin.connect();
    const follower = new WorkspacesFollower({ kafka, admin, catalog, topic: topics.workspaces, groupPrefix: 'test', logger: testLogger, apply: () => undefined, maxBytesPerPartition });
    try {
      await follower.start();
      await follower.caughtUp;
      return follower.writtenSoFar;
    } finally {
      await follower.stop();
      await admin.disconnect();
    }
  }

  const readAll = async (): Promise<WorkspaceChange[]> => [...((await replayLog()).get('shop')?.values() ?? [])];
});
