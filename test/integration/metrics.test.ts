/**
 * Both services serve Prometheus metrics that count what they did, on a port of their own: the
 * ingest's (workspace ids and volumes) is not on its public port (issue 14, item 7).
 */
import type { RunningIngest } from '../../services/ingest/service';
import { startMerger, type RunningMerger } from '../../services/merger/service';
import { basic, startTestIngest } from '../support/ingest';
import { deleteRedisPrefix, mergerConfig, OutputReader } from '../support/merger';
import { deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../support/stack';

describe('metrics', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('metrics', 2);
  const prefix = uniqueName('metrics');
  let ingest: RunningIngest;
  let merger: RunningMerger;

  beforeAll(async () => {
    ingest = await startTestIngest(topics);
    merger = await startMerger(mergerConfig(topics, uniqueName('metrics-group'), prefix), testLogger, { listen: true });
  });
  afterAll(async () => {
    await ingest.close();
    await merger.close();
    await deleteRedisPrefix(prefix);
    await deleteTopics(kafka, topics);
  });

  it("ingest's public port does not serve /metrics; its metrics port does, on loopback by default", async () => {
    const publicAnswer = await fetch(`${ingest.url}/metrics`);
    expect(publicAnswer.status).toBe(404);
    expect(await publicAnswer.text()).not.toContain('anonmerge_');
    expect(ingest.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ingest.metricsUrl).not.toBe(ingest.url);
    const metrics = await fetch(`${ingest.metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('anonmerge_process_cpu_seconds_total');
  });

  it('ingest counts requests, latency and records; the merger counts batches, decisions and outputs per stream', async () => {
    const send = (body: object) => fetch(`${ingest.url}/api/v1/events`, { method: 'POST', headers: { authorization: basic('site-a', 'key-a'), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await send({ name: 'viewed', anonymous_id: 'm-1', id: 'metrics-1' })).status).toBe(200);
    expect((await send({ name: '', anonymous_id: 'm-1' })).status).toBe(400);
    const reader = await new OutputReader(kafka, topics).open();
    await reader.until((g) => g.anonymousEvents.length === 1, 30000, 'the anonymous event');
    await reader.close();

    const ingestMetrics = await (await fetch(`${ingest.metricsUrl}/metrics`)).text();
    expect(ingestMetrics).toMatch(/anonmerge_ingest_requests_total\{route="\/api\/v1\/events",status="200",service="ingest"\} 1/);
    expect(ingestMetrics).toMatch(/anonmerge_ingest_requests_total\{route="\/api\/v1\/events",status="400",service="ingest"\} 1/);
    expect(ingestMetrics).toMatch(/anonmerge_ingest_records_total\{workspace="ws-a",service="ingest"\} 1/);
    expect(ingestMetrics).toContain('anonmerge_ingest_request_duration_seconds_bucket');
    expect(ingestMetrics).toContain('anonmerge_process_cpu_seconds_total');

    const mergerMetrics = await (await fetch(`${merger.url}/metrics`)).text();
    expect(mergerMetrics).toMatch(/anonmerge_merger_pending_events_total\{service="merger"\} 1/);
    expect(mergerMetrics).toMatch(/anonmerge_merger_records_total\{service="merger"\} [1-9]/);
    expect(mergerMetrics).toMatch(/anonmerge_merger_outputs_total\{stream="anonymousEvents",service="merger"\} 1\n/);
    expect(mergerMetrics).toContain('anonmerge_merger_batch_duration_seconds_bucket');
  });
});
