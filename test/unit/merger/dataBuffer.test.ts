/**
 * The data consumer's hold (services/merger/ordered/dataBuffer.ts), on hand-picked logs; the
 * model-based test of the two planes (orderedPlanes.property.test.ts) runs it on random ones.
 */
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { clockRecord, commandRecord } from '../../../services/merger/ordered/commandRecords';
import { committableDataPosition, emptyDataBuffer, releaseData } from '../../../services/merger/ordered/dataBuffer';

const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
const event = (id: string, at: number): InboundRecord => ({ workspace_id: 'w', id, received_at: at, settings, command: { kind: 'track', body: { person: null, anonymous_id: 'a', name: 'n', type: 'page', timestamp: 1, data_json: '{}' } } });
const bind = (id: string, at: number): InboundRecord =>
  commandRecord({ kind: 'bind', workspace: 'w', at, recordId: id, recordContent: id, anonymousId: 'a', person: { id_type: 'ID', value: 'p' }, windowEnd: at + 5000, settings }, settings);
const log = (...records: InboundRecord[]) => records.map((record, offset) => ({ offset, record }));
const idsOf = (items: ReadonlyArray<{ item: { kind: string; record?: InboundRecord; command?: { recordId: string } } }>) => items.map(({ item }) => (item.kind === 'event' ? item.record?.id : item.command?.recordId));
const controlOf = () => 0;

describe('the data hold', () => {
  it('R2b: an event waits for the clock; the bind written after it, received before it, goes first', () => {
    // The identify (received at 100) is decided and its bind written after the event received at 150.
    const first = releaseData(emptyDataBuffer(), log(event('e', 150), bind('i', 100)), controlOf);
    expect(first.ready).toEqual([]);
    const second = releaseData(first.buffer, [{ offset: 2, record: clockRecord(0, 200) }], controlOf);
    expect(idsOf(second.ready)).toEqual(['i', 'e']);
    expect(committableDataPosition(second.buffer, 3)).toEqual({ offset: 3, clocks: new Map([[0, 200]]) });
  });

  it('restarts at the first record held, with the clocks read before it', () => {
    const step = releaseData(emptyDataBuffer(), log(clockRecord(0, 100), event('held', 300), event('e', 150), clockRecord(0, 200)), controlOf);
    expect(idsOf(step.ready)).toEqual(['e']);
    expect(committableDataPosition(step.buffer, 4)).toEqual({ offset: 1, clocks: new Map([[0, 100]]) });
  });

  it('applies an event read after a clock that passed it just after that clock', () => {
    const step = releaseData(emptyDataBuffer(), log(clockRecord(0, 500), event('late', 100), clockRecord(0, 600)), controlOf);
    expect(step.ready.map(({ item, lateFrom }) => [item.kind === 'event' ? item.record.received_at : null, lateFrom])).toEqual([[501, 100]]);
  });

  it('leaves ticks and person operations to the caller', () => {
    const identify: InboundRecord = { workspace_id: 'w', id: 'x', received_at: 1, settings, command: { kind: 'identify', body: { person: { id_type: 'ID', value: 'p' }, anonymous_id: 'a', attributes_json: '{}' } } };
    expect(releaseData(emptyDataBuffer(), log(identify), controlOf).other.map((o) => o.record.id)).toEqual(['x']);
  });
});
