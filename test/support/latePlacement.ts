/**
 * Where the two-plane merger places a record appended later than the reorder bound L
 * (docs/design-person-operations.md, "Records later than L"): read after its partition had shown
 * a record received more than L after it, it is applied as if received just after the frontier it
 * was read under — `highest received_at before it in its log − L + 1`. That depends on the log
 * alone, so a checker can place such records the same way and compare the merger's outputs with
 * the reference model's on the records as placed. Kafka broker kills make ingest append requests
 * seconds after stamping them, so the chaos matrix needs this to stay exact.
 *
 * The data plane moves events (track records) of the inbound log; the control plane every person
 * operation of the person-ops log. Every record of a log (ticks included) raises its highest.
 */
import type { InboundRecord } from '../../services/shared/model/inbound';

export type PlacedLog = 'inbound' | 'personOps';

/** One partition's records in offset order, as the merger placed them (same order, same length). */
export function placeLate(log: PlacedLog, records: readonly InboundRecord[], reorderMs: number): InboundRecord[] {
  let highest = Number.NEGATIVE_INFINITY;
  return records.map((record) => {
    const frontier = highest - reorderMs;
    highest = Math.max(highest, record.received_at);
    const moves = log === 'inbound' ? record.command.kind === 'track' : record.command.kind !== 'tick';
    return moves && record.received_at <= frontier ? { ...record, received_at: frontier + 1 } : record;
  });
}
