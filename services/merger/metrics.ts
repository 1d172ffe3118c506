/**
 * What the merger counts: batches (size, duration), records published per stream, the decisions (merged, pending, triggers,
 * duplicates, refused rebinds, expiries, timers fired), dead letters, the exactly-once machinery
 * (conflicts, zombie refusals, replays, rollbacks), consumer lag and pending timers per partition,
 * and client errors.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const counter = (registry: Registry, name: string, help: string) => new Counter({ name: `anonmerge_merger_${name}_total`, help, registers: [registry] });

export function mergerMetrics(registry: Registry) {
  return {
    batchRecords: new Histogram({ name: 'anonmerge_merger_batch_records', help: 'Records per batch', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000], registers: [registry] }),
    batchDuration: new Histogram({ name: 'anonmerge_merger_batch_duration_seconds', help: 'From a batch handed over by the consumer to its transaction committed', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    transactions: new Counter({ name: 'anonmerge_merger_transactions_total', help: 'Kafka transactions committed, per consumer (main: inbound, with commands in two planes; control: person-ops; order: person-order)', labelNames: ['consumer'], registers: [registry] }),
    records: counter(registry, 'records', 'Inbound records applied'),
    outputs: new Counter({ name: 'anonmerge_merger_outputs_total', help: 'Records published in committed transactions, per outbound stream', labelNames: ['stream'], registers: [registry] }),
    merged: counter(registry, 'merged_events', 'Anonymous events merged into a person (R2b, R2c)'),
    pending: counter(registry, 'pending_events', 'Anonymous events that became pending (R1)'),
    triggers: counter(registry, 'triggers', 'Campaign triggers emitted (R4)'),
    duplicates: counter(registry, 'duplicates', 'Repeated event ids dropped (R7)'),
    refusedRebinds: counter(registry, 'refused_rebinds', 'Identifies refused because the anonymous id is bound to another person (R2f)'),
    expired: counter(registry, 'expired_events', 'Pending events past the retention, dropped (R1)'),
    timersFired: counter(registry, 'timers_fired', 'Grace timers fired (R6)'),
    deadLetters: counter(registry, 'dead_letters', 'Inbound records sent to the dead-letter topic (R8)'),
    conflicts: counter(registry, 'conflicts', 'Entity writes refused because their version moved'),
    zombieRefusals: counter(registry, 'zombie_refusals', 'Writes or transactions refused because another consumer owns the partition'),
    replayed: counter(registry, 'replayed_operations', 'Operations re-sent from the outbox after a restart'),
    movedLate: counter(registry, 'items_moved_late', 'Two planes: items applied after another partition had applied a later item of the same id (partitions added while producers learned the new count: docs/runbook-partitions.md)'),
    timersHandedOver: counter(registry, 'timers_handed_over', 'Two planes: grace timers moved to the partition an id is now keyed to, to fire there (partitions added)'),
    pendingRead: counter(registry, 'pending_read', 'Two planes: pending events read back from the inbound log for a bind (docs/design-pending-pointers.md)'),
    pendingReadSeconds: new Histogram({ name: 'anonmerge_merger_pending_read_seconds', help: 'Two planes: per batch that read pending events back, the time the read took', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    pendingReadAhead: counter(registry, 'pending_read_ahead', 'Two planes: pending events a bind found read ahead, while its identify was held in the control plane (docs/design-pending-pointers.md)'),
    pendingMissing: counter(registry, 'pending_missing', 'Two planes: pending events a bind found gone from the inbound log (it keeps less than the workspace retention): merged without them'),
    rollbacks: counter(registry, 'rollbacks', 'Times Redis was found behind the committed offset and records were re-applied'),
    redisErrors: counter(registry, 'redis_errors', 'Redis client errors'),
    kafkaErrors: counter(registry, 'kafka_errors', 'Kafka client errors (transactions, batches)'),
    lag: new Gauge({ name: 'anonmerge_merger_consumer_lag', help: 'Inbound records not yet committed, per owned partition', labelNames: ['partition'], registers: [registry] }),
    held: new Gauge({ name: 'anonmerge_merger_held_items', help: 'Two planes: items a data partition holds until its release point passes them, per owned partition and log (inbound: waiting for the control clock or the frontier; commands: decided ahead, waiting for inbound)', labelNames: ['partition', 'log'], registers: [registry] }),
    timersPending: new Gauge({ name: 'anonmerge_merger_timers_pending', help: 'Grace timers waiting to fire, per owned partition', labelNames: ['partition'], registers: [registry] }),
  };
}

export type MergerMetrics = ReturnType<typeof mergerMetrics>;
