/**
 * A bind's pending events read ahead while its identify waits in the control plane's hold
 * (services/merger/pendingReadAhead.ts, docs/design-pending-pointers.md "Read ahead"). Two
 * mergers, one reading ahead and one not, each on topics of its own, take the same records: their
 * outputs are the same, and the one reading ahead merged every pending event from what it had read
 * ahead — none read by the bind's step itself.
 */
import type { RunningMerger } from '../../../services/merger/service';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { anonymousEvent, deleteRedisPrefix, identify, InboundWriter, OutputReader, startTestMerger, type Collected } from '../../support/merger';
import { deleteTopics, isolatedTopics, testKafka, uniqueName } from '../../support/stack';

const IDS = ['visitor-a', 'visitor-b', 'visitor-c'];
const EVENTS_EACH = 40;

describe('R2: pending events read ahead of their bind', () => {
  const kafka = testKafka();
  const runs = [
    { name: 'reading ahead', readAheadBytes: 8 * 1024 * 1024, topics: isolatedTopics('read-ahead', 3) },
    { name: 'not reading ahead', readAheadBytes: 0, topics: isolatedTopics('no-read-ahead', 3) },
  ].map((run) => ({ ...run, merger: null as (RunningMerger & { prefix: string }) | null, writer: null as InboundWriter | null, reader: null as OutputReader | null }));

  beforeAll(async () => {
    for (const run of runs) {
      run.merger = await startTestMerger(run.topics, { mode: 'two-planes', pendingPointers: true, pendingReadAheadBytes: run.readAheadBytes });
      run.writer = await new InboundWriter(kafka, run.topics, { personOps: true }).open();
      run.reader = await new OutputReader(kafka, run.topics).open();
    }
  });
  afterAll(async () => {
    for (const run of runs) {
      await run.writer?.close();
      await run.reader?.close();
      await run.merger?.close();
      if (run.merger) await deleteRedisPrefix(run.merger.prefix);
      await deleteTopics(kafka, run.topics);
    }
  });

  it('R2a: merges the same events in the same order, the one reading ahead from what it read ahead', async () => {
    const ws = uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');
    // The same records to both, at the same time: received a little ahead of now, so that
    // neither merger finds them late (a late record is applied with a moved received_at).
    const T = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    const events: InboundRecord[] = [];
    for (let e = 0; e < EVENTS_EACH; e += 1) for (const [i, id] of IDS.entries()) events.push(anonymousEvent(ws, id, T + e * 10 + i, `${id}-${e}`));
    const total = IDS.length * EVENTS_EACH;
    const both = <T>(step: (run: { name: string; writer: InboundWriter; reader: OutputReader }) => Promise<T>) => Promise.all(runs.map((run) => step(run as { name: string; writer: InboundWriter; reader: OutputReader })));
    await both((run) => run.writer.write(events));
    await both((run) => run.reader.until((got) => got.anonymousEvents.filter((e) => e.workspace_id === ws).length === total, 30000, `${run.name}: the anonymous events`));
    // Then the identifies, held for two seconds and L: read ahead meanwhile, even on a control
    // plane slow to read them (an identify it reads only once it is due is never held).
    const I = Date.now() + 2000;
    const identifies = IDS.map((id, i) => identify(ws, `person-${i}`, id, I + i));
    await both((run) => run.writer.write(identifies));
    const merged = await both(async (run) => (await run.reader.until((all) => all.mergedEvents.filter((e) => e.workspace_id === ws).length === total, 30000, `${run.name}: the merged events`)).mergedEvents.filter((e) => e.workspace_id === ws));
    for (const run of runs) expect((run.merger as RunningMerger).totals.pendingRead).toBe(total);
    const [ahead, notAhead] = runs.map((run) => (run.merger as RunningMerger).totals.pendingReadAhead);
    expect({ ahead, notAhead }).toEqual({ ahead: total, notAhead: 0 });
    // Per person, in the order the merged-events topic holds them (persons' records interleave
    // differently from run to run: different partitions).
    const projection = (events: Collected['mergedEvents']) =>
      events.map((e) => `${e.person.value} ${e.event_id} ${e.anonymous_id} ${e.received_at} ${e.associated_at}`).sort((a, b) => a.split(' ')[0]!.localeCompare(b.split(' ')[0]!));
    expect(projection(merged[0] ?? [])).toEqual(projection(merged[1] ?? []));
    expect(new Set((merged[0] ?? []).map((e) => e.event_id)).size).toBe(total);
  });
});
