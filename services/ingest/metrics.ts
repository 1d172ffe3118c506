/**
 * What ingest counts: requests by route and status with their latency, records accepted by
 * workspace, refusals by the rate limit, and sends to Kafka that failed.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface IngestMetrics {
  readonly requests: Counter<'route' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly records: Counter<'workspace'>;
  readonly rateLimited: Counter<'workspace'>;
  readonly produceErrors: Counter;
}

export function ingestMetrics(registry: Registry): IngestMetrics {
  return {
    requests: new Counter({ name: 'anonmerge_ingest_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [registry] }),
    latency: new Histogram({ name: 'anonmerge_ingest_request_duration_seconds', help: 'Request latency by route (a 2xx includes the Kafka acknowledgement)', labelNames: ['route'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry] }),
    records: new Counter({ name: 'anonmerge_ingest_records_total', help: 'Records written to the inbound topic, by workspace', labelNames: ['workspace'], registers: [registry] }),
    rateLimited: new Counter({ name: 'anonmerge_ingest_rate_limited_total', help: 'Requests refused by the per-workspace rate limit', labelNames: ['workspace'], registers: [registry] }),
    produceErrors: new Counter({ name: 'anonmerge_ingest_produce_errors_total', help: 'Sends to Kafka that failed (the requests were answered 503)', registers: [registry] }),
  };
}
