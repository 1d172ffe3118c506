/**
 * The whole two-plane merger killed with SIGKILL at random moments (issue 13): random groups of
 * anonymous events, identifies, re-identifies, person events, deletes, chained merges, aliases,
 * merging switched off and repeated ids are appended on time, as ingest appends them, while a
 * merger process is killed and restarted. At the end its outputs — merged events, triggers,
 * activity, anonymous events, tombstones — are exactly the reference model's for the same
 * records applied one by one in (received_at, id) order: nothing lost, nothing twice, nothing
 * different (R1, R2a–g, R3–R7, R9, R10), and each person's merged events and tombstones in the
 * model's order. TWO_PLANES_CRASH_KILLS and TWO_PLANES_CRASH_GROUPS scale it.
 */
import type { ChildProcess } from 'node:child_process';
import { deleteRedisPrefix } from '../../support/merger';
import { deleteTopics, isolatedTopics, testKafka, uniqueName } from '../../support/stack';
import { crashAgainstModel } from '../../support/twoPlaneCrash';

const KILLS = Number(process.env.TWO_PLANES_CRASH_KILLS ?? 6);
const GROUPS = Number(process.env.TWO_PLANES_CRASH_GROUPS ?? 200);
const SEED = Number(process.env.TWO_PLANES_CRASH_SEED ?? Date.now() % 100000);

describe('the two-plane merger killed with SIGKILL at random moments (R7, R9, R10)', () => {
  const kafka = testKafka();
  // Three person-order partitions here (a deployment's default is one, as in the run below): each
  // data transaction's clock goes to all three, and their order-stage consumers move between mergers.
  const topics = isolatedTopics('two-planes-crash', 4, 3);
  const prefix = uniqueName('two-planes-crash');
  const child: { current: ChildProcess | null } = { current: null };

  afterAll(async () => {
    child.current?.kill('SIGKILL');
    await deleteRedisPrefix(prefix);
    await deleteTopics(kafka, topics);
  });

  it(`every output equals the reference model's across ${KILLS} kills (seed ${SEED})`, async () => {
    const report = await crashAgainstModel({ kafka, topics, groupId: uniqueName('two-planes-crash-group'), prefix, kills: KILLS, groups: GROUPS, seed: SEED, label: 'two-planes-crash' }, child);
    process.stdout.write(`two-plane crash test: ${JSON.stringify({ ...report, lost: report.lost.length, extra: report.extra.length, tombstonesTooEarly: report.tombstonesTooEarly.length })}\n`);
    expect({ lost: report.lost.slice(0, 10), extra: report.extra.slice(0, 10) }).toEqual({ lost: [], extra: [] });
    expect(report.outputs).toBe(report.expectedOutputs);
    // R10: each deletion's tombstone after every merged event of the person received before it,
    // and before every one after it.
    expect(report.tombstonesTooEarly.slice(0, 10)).toEqual([]);
    expect(report.newEventsBeforeTombstone).toBe(0);
    // Per person, merged events and tombstones in the model's order, whichever partitions decided them.
    expect(report.personKeysOutOfOrder).toBe(0);
    // A replay that needed an outbox entry and found none would have lost outputs.
    expect(report.missingOutbox).toBe(0);
  }, 600_000);

  it('R2b R2c R9 R10: the same with the order stage holding at most 3 merged events per partition: what it drops waits in the log and is read again', async () => {
    // The first run's last merger is done with.
    child.current?.kill('SIGKILL');
    const bounded = { topics: isolatedTopics('two-planes-crash-bounded', 4), prefix: uniqueName('two-planes-crash-bounded'), child: { current: null as ChildProcess | null } };
    try {
      const report = await crashAgainstModel(
        { kafka, topics: bounded.topics, groupId: uniqueName('two-planes-crash-bounded-group'), prefix: bounded.prefix, kills: Math.ceil(KILLS / 2), groups: GROUPS, seed: SEED + 1, label: 'two-planes-crash-bounded', env: { ANONMERGE_MERGER_ORDER_MAX_HELD: '3' } },
        bounded.child,
      );
      process.stdout.write(`two-plane crash test, order hold bounded at 3: ${JSON.stringify({ ...report, lost: report.lost.length, extra: report.extra.length, tombstonesTooEarly: report.tombstonesTooEarly.length })}\n`);
      expect(report.orderHoldRereads).toBeGreaterThan(0);
      expect({ lost: report.lost.slice(0, 10), extra: report.extra.slice(0, 10) }).toEqual({ lost: [], extra: [] });
      expect(report.outputs).toBe(report.expectedOutputs);
      expect(report.newEventsBeforeTombstone).toBe(0);
      expect(report.personKeysOutOfOrder).toBe(0);
    } finally {
      bounded.child.current?.kill('SIGKILL');
      await deleteRedisPrefix(bounded.prefix);
      await deleteTopics(kafka, bounded.topics);
    }
  }, 600_000);
});
