/**
 * The two-plane merger counts its decisions in the same Prometheus counters as the legacy one:
 * pending (R1), merged (R2b), duplicates (R7), refused rebinds (R2f) and triggers (R4, R5).
 */
import { startMerger, type RunningMerger } from '../../../services/merger/service';
import { anonymousEvent, deleteRedisPrefix, identify, InboundWriter, mergerConfig, OutputReader, personEvent } from '../../support/merger';
import { deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../../support/stack';

describe('two-plane merger metrics', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('two-planes-metrics', 2);
  const prefix = uniqueName('two-planes-metrics');
  let merger: RunningMerger;

  beforeAll(async () => {
    merger = await startMerger(mergerConfig(topics, uniqueName('two-planes-metrics-group'), prefix, { mode: 'two-planes' }), testLogger, { listen: true });
  });
  afterAll(async () => {
    await merger.close();
    await deleteRedisPrefix(prefix);
    await deleteTopics(kafka, topics);
  });

  it('R1 R2b R2f R4 R7: pending, merged, duplicate, refused and triggered, counted once each', async () => {
    const ws = uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');
    // Ahead of now: applied once both clocks pass, in received_at order.
    const T = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    const writer = await new InboundWriter(kafka, topics, { personOps: true }).open();
    await writer.write([
      anonymousEvent(ws, 'A', T, 'e1', { timestamp: T / 1000 }),
      anonymousEvent(ws, 'A', T + 10, 'e1', { timestamp: T / 1000 }),
      identify(ws, 'p1', 'A', T + 1000),
      identify(ws, 'q1', 'A', T + 1500),
      personEvent(ws, 'p1', T + 2000, 'bought', { timestamp: T / 1000 }),
    ]);
    await writer.close();
    const reader = await new OutputReader(kafka, topics).open();
    await reader.until(() => reader.of(ws).mergedEvents.length === 2 && reader.of(ws).activity.some((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED'), 30000, 'the merges and the refusal');
    await reader.close();

    const metrics = await (await fetch(`${merger.url}/metrics`)).text();
    const counter = (name: string) => Number(new RegExp(`^anonmerge_merger_${name}_total\\{service="merger"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
    expect({
      pending: counter('pending_events'),
      merged: counter('merged_events'),
      duplicates: counter('duplicates'),
      refusedRebinds: counter('refused_rebinds'),
      triggers: counter('triggers'),
    }).toEqual({ pending: 1, merged: 1, duplicates: 1, refusedRebinds: 1, triggers: 2 });
    expect(metrics).toMatch(/anonmerge_merger_outputs_total\{stream="mergedEvents",service="merger"\} 2\n/);
  });
});
