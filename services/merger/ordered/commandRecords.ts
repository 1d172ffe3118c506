/**
 * The control plane's commands and clock as inbound records (docs/design-person-operations.md):
 * a command is written with the key of the events it concerns, so the default partitioner puts
 * it on their partition; a clock goes to every partition explicitly. The record carries the
 * person operation's received_at, id and settings, so the data plane orders the command among
 * the id's events exactly where the reference model applies it.
 */
import type { BindingChange, InboundRecord, WorkspaceSettings } from '../../shared/model/inbound';
import { inboundKey } from '../../shared/model/keys';
import type { DataCommand } from './commands';

/** Settings of records that concern no workspace's data (a clock, like a tick). */
const NO_SETTINGS: WorkspaceSettings = { merge_enabled: false, retention_seconds: 0, grace_seconds: 0, trigger_window_seconds: 0 };

export function commandRecord(command: DataCommand, settings: WorkspaceSettings): InboundRecord {
  let body: BindingChange;
  const common = { record_content: command.recordContent, to: null, window_end: null };
  switch (command.kind) {
    case 'bind':
      body = { ...common, change: 'BIND', anonymous_id: command.anonymousId, person: command.person, window_end: command.windowEnd };
      break;
    case 'unbind':
      body = { ...common, change: 'UNBIND', anonymous_id: command.anonymousId, person: command.person };
      break;
    case 'move':
      body = { ...common, change: 'MOVE', anonymous_id: command.anonymousId, person: command.from, to: command.to };
      break;
    case 'resolve':
      body = { ...common, change: 'RESOLVE', anonymous_id: null, person: command.person, to: command.to };
      break;
  }
  const record: InboundRecord = {
    workspace_id: command.workspace,
    id: command.recordId,
    received_at: command.at,
    settings: command.kind === 'bind' ? command.settings : settings,
    command: { kind: 'binding', body },
  };
  return record;
}

/** The Kafka key a command is written with: its events' key. */
export function commandKey(record: InboundRecord & { command: { kind: 'binding' } }): string {
  return inboundKey(record);
}

/** Reads a command back; null for any other record. */
export function commandOf(record: InboundRecord): DataCommand | null {
  if (record.command.kind !== 'binding') return null;
  const change = record.command.body;
  const stamp = { workspace: record.workspace_id, at: record.received_at, recordId: record.id, recordContent: change.record_content };
  const anonymousId = change.anonymous_id ?? '';
  switch (change.change) {
    case 'BIND':
      return { ...stamp, kind: 'bind', anonymousId, person: change.person, windowEnd: change.window_end ?? record.received_at, settings: record.settings };
    case 'UNBIND':
      return { ...stamp, kind: 'unbind', anonymousId, person: change.person };
    case 'MOVE':
      return { ...stamp, kind: 'move', anonymousId, from: change.person, to: change.to ?? change.person };
    case 'RESOLVE':
      return { ...stamp, kind: 'resolve', person: change.person, to: change.to };
  }
}

/** The control clock of `controlPartition` as a record: every command received at or before `clock` precedes it. */
export function clockRecord(controlPartition: number, clock: number): InboundRecord {
  return { workspace_id: '', id: `clock-${controlPartition}`, received_at: clock, settings: NO_SETTINGS, command: { kind: 'clock', body: { control_partition: controlPartition } } };
}
