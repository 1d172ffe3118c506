/**
 * The control plane's commands travel as inbound records (BindingChange, ControlClock): every
 * command the control core decides on random workloads comes back equal after Avro encoding, and
 * is keyed like the events of the id or person it concerns (R2a, R2e, R9, R10).
 */
import avro from 'avsc';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { fromWire, toWire, type InboundRecord, type InboundRecordWire } from '../../../services/shared/model/inbound';
import { anonymousKey, inboundKey, personRecordKey } from '../../../services/shared/model/keys';
import { compareRecords } from '../../../services/shared/model/recordOrder';
import { decidePersonOperation, emptyControlState, isPersonOperation, type ControlState } from '../../../services/merger/ordered/controlPlane';
import { clockRecord, commandKey, commandOf, commandRecord } from '../../../services/merger/ordered/commandRecords';
import { commandTarget } from '../../../services/merger/ordered/commands';
import { contractViolation } from '../../../services/merger/validate';
import { toRecords, workload } from '../../support/personOpsWorkload';

const inboundType = avro.Type.forSchema(JSON.parse(readFileSync(path.resolve(__dirname, '../../../schemas/inbound-record.avsc'), 'utf8')) as avro.Schema);
const throughAvro = (record: InboundRecord): InboundRecord => fromWire(inboundType.fromBuffer(inboundType.toBuffer(toWire(record))) as InboundRecordWire);

describe('commands as inbound records', () => {
  it('R2a R2e R9 R10: every decided command survives Avro and is keyed with its events', () => {
    let commands = 0;
    fc.assert(
      fc.property(workload, (steps) => {
        const states = new Map<string, ControlState>();
        for (const record of toRecords(steps).filter(isPersonOperation).sort(compareRecords)) {
          let state = states.get(record.workspace_id);
          if (!state) states.set(record.workspace_id, (state = emptyControlState()));
          for (const command of decidePersonOperation(state, record).commands) {
            commands += 1;
            const written = commandRecord(command, record.settings);
            expect(contractViolation(written)).toBeNull();
            const read = throughAvro(written);
            expect(commandOf(read)).toEqual(command);
            const target = commandTarget(command);
            const eventsKey = target.kind === 'anonymous' ? anonymousKey(command.workspace, target.anonymousId) : personRecordKey(command.workspace, target.person);
            expect(commandKey(read as InboundRecord & { command: { kind: 'binding' } })).toBe(eventsKey);
            // The same key an event of that id (or for that person) gets from ingest.
            const event: InboundRecord = { ...read, command: { kind: 'track', body: { person: target.kind === 'person' ? target.person : null, anonymous_id: target.kind === 'anonymous' ? target.anonymousId : null, name: 'e', type: 'event', timestamp: 1, data_json: '{}' } } };
            expect(inboundKey(event)).toBe(eventsKey);
          }
        }
      }),
      { numRuns: 500 },
    );
    expect(commands).toBeGreaterThan(100);
  });

  it('a clock record carries its control partition and time, and no workspace', () => {
    const read = throughAvro(clockRecord(3, 1_790_000_000_123));
    expect(read.command).toEqual({ kind: 'clock', body: { control_partition: 3 } });
    expect(read.received_at).toBe(1_790_000_000_123);
    expect(contractViolation(read)).toBeNull();
    expect(commandOf(read)).toBeNull();
  });

  it('R8: a binding change that lacks what its kind needs is a contract violation', () => {
    const person = { id_type: 'ID' as const, value: 'p' };
    const settings = { merge_enabled: true, retention_seconds: 1, grace_seconds: 1, trigger_window_seconds: 1 };
    const base = { workspace_id: 'w', id: 'r1', received_at: 5, settings };
    const change = (body: Partial<Extract<InboundRecord['command'], { kind: 'binding' }>['body']>): InboundRecord => ({ ...base, command: { kind: 'binding', body: { change: 'BIND', anonymous_id: 'a', person, to: null, window_end: 10, record_content: 'c', ...body } } });
    expect(contractViolation(change({}))).toBeNull();
    expect(contractViolation(change({ window_end: null }))).toBe('BIND without a window_end');
    expect(contractViolation(change({ change: 'MOVE' }))).toBe('MOVE without a primary');
    expect(contractViolation(change({ change: 'UNBIND', anonymous_id: null }))).toBe('UNBIND lacks an anonymous_id');
    expect(contractViolation(change({ change: 'RESOLVE' }))).toBe('RESOLVE names an anonymous_id');
  });
});
