/**
 * Moving a running deployment from the legacy merger to the two planes (issue 13, migration;
 * docs/deployment.md): the legacy merger applies a first part of the traffic — anonymous events,
 * identifies that bind and merge (R2a, R2b), windows still open and windows whose timer fired
 * (R6), ids nobody identified (R1) — and is stopped gracefully; `anonmerge migrate two-planes`
 * moves its state; the two-plane merger, on the same group and prefix, applies the rest —
 * events inside and after those windows (R2c, R2d), identifies of ids left pending, a
 * re-identify (R2e), a rebind refused (R2f), a deletion that frees its ids (R10), a person's own
 * event (R5). Every output of both mergers together equals the reference model's for all
 * records (activity ids aside: the legacy merger names its activity by log position).
 */
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { canonicalJson } from '../../../services/shared/model/recordOrder';
import { ReferenceModel } from '../../../services/merger/reference/referenceModel';
import { startMerger, type RunningMerger } from '../../../services/merger/service';
import { migrateToTwoPlanes, MigrationRefused } from '../../../services/cli/commands/migrate';
import { createRedis } from '../../../services/shared/redis/client';
import { readAll, waitForMerger } from '../../../bench/readTopics';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { anonymousEvent, deleteRedisPrefix, identify, InboundWriter, mergerConfig, personEvent } from '../../support/merger';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { explain } from '../../../services/cli/commands/explain';
import { KeySpace } from '../../../services/merger/redis/keys';
import { personKey } from '../../../services/shared/model/person';

// Long enough that the windows opened before the switch are still open at it, on a loaded machine too.
const GRACE_S = 30;
const settings = { merge_enabled: true, retention_seconds: 3600, grace_seconds: GRACE_S, trigger_window_seconds: 600 };
const shortWindow = { ...settings, grace_seconds: 1 };
const IDS = 24;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Output = { readonly stream: string; readonly key: string; readonly value: unknown };
/** Activity ids aside: the legacy merger names its activity by log position, the two planes by record. */
const canonical = (o: Output) => {
  const value = o.value !== null && typeof o.value === 'object' && 'activity_id' in o.value ? { ...(o.value as Record<string, unknown>), activity_id: '-' } : o.value;
  return `${o.stream} ${o.key} ${value === null ? 'null' : canonicalJson(value)}`;
};

describe('moving a deployment from the legacy merger to the two planes', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('migrate', 4);
  const prefix = uniqueName('migrate');
  const groupId = uniqueName('migrate-group');
  const ws = uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');
  const redis = createRedis(config.redis, testLogger, 'test');
  let merger: RunningMerger | null = null;

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
  });

  afterAll(async () => {
    await merger?.close();
    await deleteRedisPrefix(prefix);
    redis.disconnect();
    await deleteTopics(kafka, topics);
  });

  it('R1 R2a-f R5 R6 R10: outputs of both mergers together equal the reference model for all records', async () => {
    const legacyConfig = { ...mergerConfig(topics, groupId, prefix, { mode: 'legacy' }) };
    const twoPlanesConfig = mergerConfig(topics, groupId, prefix, { mode: 'two-planes' });

    // Part 1, applied by the legacy merger: ids 0, 3, … bound with a window still open at the
    // switch, ids 1, 4, … bound with a one-second window that has ended, ids 2, 5, … pending.
    const t1 = Date.now();
    const part1: InboundRecord[] = [];
    for (let i = 0; i < IDS; i += 1) {
      const at = t1 + i * 10;
      part1.push(anonymousEvent(ws, `a${i}`, at, `e1-${i}-a`, { settings }), anonymousEvent(ws, `a${i}`, at + 2, `e1-${i}-b`, { settings }));
      if (i % 3 === 0) part1.push(identify(ws, `p${i}`, `a${i}`, at + 4, settings));
      if (i % 3 === 1) part1.push(identify(ws, `p${i}`, `a${i}`, at + 4, shortWindow));
    }
    part1.push({ ...personEvent(ws, 'p0', t1 + 300, 'pe1'), settings });
    const legacyWriter = await new InboundWriter(kafka, topics, { personOps: false }).open();
    await legacyWriter.write(part1);
    await legacyWriter.close();
    merger = await startMerger(legacyConfig, testLogger, { listen: false });
    await waitForMerger(kafka, topics, groupId, false, 60_000);
    // The one-second windows end and their timers fire; the long ones stay open.
    await sleep(3000);
    await merger.close();
    merger = null;

    // The two planes refuse to start on the legacy state before it is moved.
    await expect(startMerger(twoPlanesConfig, testLogger, { listen: false })).rejects.toThrow(/anonmerge migrate two-planes/);

    // A running merger is refused; then the move.
    const running = await startMerger(legacyConfig, testLogger, { listen: false });
    await sleep(1500);
    await expect(migrateToTwoPlanes(twoPlanesConfig, redis, testLogger, () => undefined)).rejects.toThrow(MigrationRefused);
    await running.close();
    const report = await migrateToTwoPlanes(twoPlanesConfig, redis, testLogger, () => undefined);
    expect(report).toMatchObject({ bound: (2 * IDS) / 3, openWindows: IDS / 3, workspaces: 1 });

    // Part 2, applied by the two planes (person operations written as ingest then writes them).
    merger = await startMerger(twoPlanesConfig, testLogger, { listen: false });
    // Stamped 2 s ahead, as ingest would stamp them when they arrive: appended after now, a record
    // stamped before it is late (read under a frontier past it; the reorder bound is 100 ms), and on
    // CI's loaded machine opening the writer alone took longer than that.
    const writer = await new InboundWriter(kafka, topics, { personOps: true }).open();
    const t2 = Date.now() + 2000;
    const part2: InboundRecord[] = [];
    for (let i = 0; i < IDS; i += 1) {
      const at = t2 + i * 10;
      part2.push(anonymousEvent(ws, `a${i}`, at, `e2-${i}`, { settings }));
      if (i % 3 === 2) part2.push(identify(ws, `p${i}`, `a${i}`, at + 4, settings));
      if (i === 4) part2.push(identify(ws, 'p4', 'a4', at + 4, settings));
      if (i === 6) part2.push(identify(ws, 'someone-else', 'a6', at + 4, settings));
    }
    part2.push({ ...personEvent(ws, 'p0', t2 + 300, 'pe2'), settings });
    part2.push({ workspace_id: ws, id: 'delete-p3', received_at: t2 + 400, settings, command: { kind: 'delete', body: { person: { id_type: 'ID', value: 'p3' } } } });
    part2.push(identify(ws, 'q3', 'a3', t2 + 500, settings));
    part2.push(anonymousEvent(ws, 'a3', t2 + 600, 'e3-after-delete', { settings }));
    await writer.write(part2);
    await writer.close();

    // Every window has ended (part 2's identifies plus the grace) before the outputs are read.
    const horizon = Math.max(...part2.map((r) => r.received_at)) + GRACE_S * 1000 + 1500;
    await sleep(Math.max(0, horizon - Date.now()));
    await waitForMerger(kafka, topics, groupId, true, 60_000);
    await sleep(2000);
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    const actual = (await readAll(kafka, catalog, topics, ['mergedEvents', 'campaignTriggers', 'activity', 'anonymousEvents'])).map(canonical).sort();
    const expected = ReferenceModel.run([...part1, ...part2], horizon).map(canonical).sort();
    const missing = expected.filter((text) => !actual.includes(text));
    const extra = actual.filter((text) => !expected.includes(text));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    expect(actual).toHaveLength(expected.length);

    // explain, on the two planes, tells the bindings the legacy merger made before the move
    // (they sent no command): a0 bound to p0 with its first events merged, a3 bound to p3 then
    // freed by the deletion (R10) and bound to q3, a6 refusing someone-else (R2f).
    const keys = new KeySpace(prefix);
    const explained = async (anonymousId: string) => (await explain(kafka, catalog, redis, keys, ws, { anonymousId }, true))[0];
    const a0 = await explained('a0');
    expect(a0?.binding?.person).toBe(personKey({ id_type: 'ID', value: 'p0' }));
    expect(a0?.events.filter((e) => e.id.startsWith('e1-0-')).map((e) => `${e.status} ${e.rule}`)).toEqual(['merged R2b', 'merged R2b']);
    expect(a0?.identifies.map((i) => i.rule)).toEqual(['R2a']);
    expect(a0?.identifies[0]?.detail).toMatch(/legacy merger/);
    const a3 = await explained('a3');
    expect(a3?.identifies.map((i) => `${i.rule} ${i.person}`)).toEqual(['R2a p3', 'R10 p3', 'R2a q3']);
    expect(a3?.binding?.person).toBe(personKey({ id_type: 'ID', value: 'q3' }));
    const a6 = await explained('a6');
    expect(a6?.binding?.person).toBe(personKey({ id_type: 'ID', value: 'p6' }));
    expect(a6?.identifies.map((i) => i.rule)).toEqual(['R2a', 'R2f']);
  }, 240_000);
});
