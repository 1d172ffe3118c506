/**
 * The data plane's decisions (docs/design-person-operations.md): one entity's events and the
 * control plane's commands about it, applied one by one in `(received_at, id)` order, and its
 * grace window reported when the clock passes the window's end. Entities are independent, so a
 * partition applies each one's items in order and the outputs are the reference model's.
 *
 * Pure: the caller loads an entity's state, applies its items in order, stores the state.
 */
import { personRecordKey } from '../../shared/model/keys';
import type { InboundRecord, WorkspaceSettings } from '../../shared/model/inbound';
import type { Activity } from '../../shared/model/outbound';
import type { PersonRef } from '../../shared/model/person';
import { compareStamps, stampOf, type RecordStamp } from '../../shared/model/recordOrder';
import type { Output } from '../model/outputs';
import type { PendingEvent } from '../model/state';
import { anonymousEventOutput, inviteTrigger, personEventOutputs } from '../decide/records';
import type { DataCommand } from './commands';

export interface DataWindow {
  /** The identify that opened it: names the activity that reports it. */
  readonly openedBy: string;
  readonly end: number;
  /** Events merged one by one into it since it opened or was last reported (SPEC R6). */
  readonly count: number;
  readonly oldest: number | null;
}

/** An anonymous id, a person as named, or a workspace's invites: each keeps the ids it counted. */
export interface DataEntityState {
  /** Event id → received_at of the copy that counted (SPEC R7, per inbound key). */
  readonly seen: Map<string, number>;
  /** Anonymous id: the person it is bound to. Person: the person it resolves to, null for itself. */
  person: PersonRef | null;
  window: DataWindow | null;
  /** Pending events in received_at order (anonymous ids only, SPEC R1). */
  pending: PendingEvent[];
}

export type DataEntity =
  | { readonly kind: 'anonymous'; readonly workspace: string; readonly anonymousId: string }
  | { readonly kind: 'person'; readonly workspace: string; readonly person: PersonRef }
  | { readonly kind: 'invites'; readonly workspace: string };

export type DataItem = { readonly kind: 'event'; readonly record: InboundRecord } | { readonly kind: 'command'; readonly command: DataCommand };

export function emptyDataState(): DataEntityState {
  return { seen: new Map(), person: null, window: null, pending: [] };
}

/** An item's place in the criterion's order: `(received_at, id)`, then content on a tie. */
export function itemStamp(item: DataItem): RecordStamp {
  return item.kind === 'event' ? stampOf(item.record) : { at: item.command.at, id: item.command.recordId, content: () => item.command.recordContent };
}

export function compareItems(a: DataItem, b: DataItem): number {
  // received_at and id decide all but ties: compared in place, the stamps (and the content key)
  // only on a tie — a batch's sort compares each item ~log n times.
  const atA = a.kind === 'event' ? a.record.received_at : a.command.at;
  const atB = b.kind === 'event' ? b.record.received_at : b.command.at;
  if (atA !== atB) return atA - atB;
  const idA = a.kind === 'event' ? a.record.id : a.command.recordId;
  const idB = b.kind === 'event' ? b.record.id : b.command.recordId;
  if (idA !== idB) return idA < idB ? -1 : 1;
  return compareStamps(itemStamp(a), itemStamp(b));
}

/**
 * SPEC R6: the window reports its one-by-one merges when the clock passes its end (an item
 * received after the end, or the partition's progress).
 */
export function passTime(entity: DataEntity, state: DataEntityState, time: number): Output[] {
  const outputs: Output[] = [];
  if (entity.kind === 'anonymous' && state.window && state.window.end < time) {
    if (state.person) reportWindow(entity, state, state.person, state.window.end, 'timer', outputs);
    state.window = null;
  }
  return outputs;
}

/** Applies one item to the entity's state (mutated), after passTime to its received_at. */
export function applyItem(entity: DataEntity, state: DataEntityState, item: DataItem): Output[] {
  const outputs = passTime(entity, state, itemStamp(item).at);
  if (item.kind === 'command') applyCommand(entity, state, item.command, outputs);
  else applyEvent(entity, state, item.record, outputs);
  return outputs;
}

function applyEvent(entity: DataEntity, state: DataEntityState, record: InboundRecord, outputs: Output[]): void {
  if (record.command.kind !== 'track') return;
  const body = record.command.body;
  const { settings } = record;
  // SPEC R7: an id already counted under this key within the retention is the same event again.
  const firstSeen = state.seen.get(record.id);
  if (firstSeen !== undefined && record.received_at <= firstSeen + settings.retention_seconds * 1000) return;
  state.seen.set(record.id, record.received_at);
  const event = pendingEventOf(record);

  switch (entity.kind) {
    case 'anonymous': {
      const { person, window } = state;
      if (person && window && settings.merge_enabled && event.receivedAt <= window.end) {
        // SPEC R2c: inside its binding's window: the person's at once, summed into the window.
        personEvent(entity.workspace, person, event, entity.anonymousId, event.receivedAt, settings, outputs);
        state.window = { ...window, count: window.count + 1, oldest: Math.min(window.oldest ?? event.timestamp, event.timestamp) };
        return;
      }
      // SPEC R1 / R2d: pending, visible on the anonymous stream.
      state.pending.push(event);
      outputs.push(pendingEventOutput(entity, record));
      return;
    }
    case 'person':
      // SPEC R5 (and R9: a person merged away means the primary).
      personEvent(entity.workspace, state.person ?? entity.person, event, null, event.receivedAt, settings, outputs);
      return;
    case 'invites':
      // SPEC R4: a trigger addressed to its recipient, never pending.
      outputs.push(inviteOutput(entity, record));
      return;
  }
}

function pendingEventOf(record: InboundRecord): PendingEvent {
  const body = record.command.kind === 'track' ? record.command.body : null;
  if (!body) throw new Error(`a ${record.command.kind} record is not an event`);
  return { id: record.id, receivedAt: record.received_at, name: body.name, type: body.type, timestamp: body.timestamp, dataJson: body.data_json };
}

/**
 * What a pending event shows on the anonymous stream (SPEC R1): a function of the record alone,
 * so a replay builds it again from the record (ordered/itemOutbox.ts).
 */
export function pendingEventOutput(entity: DataEntity & { kind: 'anonymous' }, record: InboundRecord): Output {
  const event = pendingEventOf(record);
  return anonymousEventOutput(entity.workspace, entity.anonymousId, event.id, event.receivedAt, event);
}

/** An invite's trigger (SPEC R4): a function of the record alone, like pendingEventOutput. */
export function inviteOutput(entity: DataEntity & { kind: 'invites' }, record: InboundRecord): Output {
  const event = pendingEventOf(record);
  const recipient = (JSON.parse(event.dataJson) as { recipient: string }).recipient;
  return inviteTrigger(entity.workspace, event.id, event.receivedAt, recipient, event);
}

function applyCommand(entity: DataEntity, state: DataEntityState, command: DataCommand, outputs: Output[]): void {
  if (command.kind === 'resolve') {
    state.person = command.to;
    return;
  }
  if (entity.kind !== 'anonymous') return;
  switch (command.kind) {
    case 'bind': {
      // SPEC R2e: a re-identify reports the open window first.
      if (state.person && state.window) reportWindow(entity, state, state.person, command.at, command.recordId, outputs);
      state.person = command.person;
      state.window = { openedBy: command.recordId, end: command.windowEnd, count: 0, oldest: null };
      // SPEC R2b: what is pending and within retention merges, in received_at order.
      const cutoff = command.at - command.settings.retention_seconds * 1000;
      const merging = state.pending.filter((event) => event.receivedAt >= cutoff);
      state.pending = [];
      for (const event of merging) personEvent(entity.workspace, command.person, event, entity.anonymousId, command.at, command.settings, outputs);
      if (merging.length > 0) {
        // SPEC R6: one Anonymous Data Merged activity for the merge.
        const oldest = merging.reduce((min, event) => Math.min(min, event.timestamp), Number.POSITIVE_INFINITY);
        outputs.push(mergedActivity(entity, command.person, command.at, `${command.recordId}/${entity.anonymousId}`, merging.length, oldest));
      }
      return;
    }
    case 'unbind':
      // SPEC R10: the merges into the deleted person are reported; the id is free.
      if (state.window) reportWindow(entity, state, command.person, command.at, command.recordId, outputs);
      state.person = null;
      state.window = null;
      return;
    case 'move':
      // SPEC R9: what was merged into the secondary is its activity; the window goes on for the primary.
      if (state.window) reportWindow(entity, state, command.from, command.at, command.recordId, outputs);
      state.person = command.to;
      return;
  }
}

function reportWindow(entity: DataEntity & { kind: 'anonymous' }, state: DataEntityState, person: PersonRef, at: number, cause: string, outputs: Output[]): void {
  const window = state.window;
  if (!window || window.count === 0) return;
  outputs.push(mergedActivity(entity, person, at, `${window.openedBy}/${entity.anonymousId}/window/${cause}`, window.count, window.oldest));
  state.window = { ...window, count: 0, oldest: null };
}

function mergedActivity(entity: DataEntity & { kind: 'anonymous' }, person: PersonRef, at: number, subject: string, count: number, oldest: number | null): Output {
  const value: Activity = {
    workspace_id: entity.workspace,
    activity_id: `anonymous_data_merged/${subject}`,
    person,
    kind: 'ANONYMOUS_DATA_MERGED',
    at,
    anonymous_id: entity.anonymousId,
    merged_count: count,
    oldest_event_timestamp: oldest,
    other_person: null,
  };
  return { stream: 'activity', key: personRecordKey(entity.workspace, person), value };
}

/** SPEC R4, R5: the person's event, and its trigger when recent enough at association. */
function personEvent(workspace: string, person: PersonRef, event: PendingEvent, anonymousId: string | null, associatedAt: number, settings: WorkspaceSettings, outputs: Output[]): void {
  const { id, receivedAt, ...body } = event;
  outputs.push(...personEventOutputs({ workspace, person, id, receivedAt, associatedAt, event: body, anonymousId, triggerWindowSeconds: settings.trigger_window_seconds }));
}
