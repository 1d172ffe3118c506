/**
 * Turns a batch of inbound records into operations per entity. Pure, in two steps, because some
 * records are about other entities' state: a deletion unbinds each anonymous id of the person,
 * a merge moves the secondary's, and an alias is a merge or an identify depending on whether its
 * previous id is a person with anonymous ids. `needs` lists the people whose anonymous ids must
 * be looked up; `finish` takes them and the due grace timers and returns the operations.
 */
import type { InboundRecord } from '../../shared/model/inbound';
import { personFromIdentifier, personKey, type PersonRef } from '../../shared/model/person';
import type { Position } from '../model/entities';
import type { AnonymousOp, EventBody, InviteOp, PersonOp } from '../model/ops';

export interface PositionedRecord {
  readonly position: Position;
  readonly record: InboundRecord;
}

export interface PersonLookup {
  readonly workspace: string;
  readonly person: PersonRef;
}

export const lookupKey = (workspace: string, person: PersonRef) => `${workspace}/${personKey(person)}`;
export const anonymousEntityKey = (workspace: string, anonymousId: string) => `${workspace}/${anonymousId}`;

export interface DueTimer {
  readonly workspace: string;
  readonly anonymousId: string;
  readonly windowEnd: number;
}

export interface EntityOps<Op> {
  readonly workspace: string;
  readonly ops: Op[];
}

export interface BatchPlan {
  readonly anonymous: Map<string, EntityOps<AnonymousOp> & { readonly anonymousId: string }>;
  readonly persons: Map<string, EntityOps<PersonOp> & { readonly person: PersonRef }>;
  readonly invites: Map<string, EntityOps<InviteOp>>;
}

function eventBody(record: InboundRecord & { command: { kind: 'track' } }): EventBody {
  const { name, type, timestamp, data_json: dataJson } = record.command.body;
  return { name, type, timestamp, dataJson };
}

/** People whose anonymous ids the batch needs (deletions, merges' secondaries, aliases' previous ids). */
export function lookupsNeeded(records: readonly PositionedRecord[]): PersonLookup[] {
  const needs = new Map<string, PersonLookup>();
  const need = (workspace: string, person: PersonRef) => needs.set(lookupKey(workspace, person), { workspace, person });
  for (const { record } of records) {
    const { command } = record;
    if (command.kind === 'delete') need(record.workspace_id, command.body.person);
    else if (command.kind === 'merge') need(record.workspace_id, command.body.secondary);
    else if (command.kind === 'alias') need(record.workspace_id, personFromIdentifier(command.body.previous_id));
  }
  return [...needs.values()];
}

/**
 * Where a grace timer fires: at the first record whose received_at is at least the window end
 * plus the allowed lateness. That depends on the log alone, not on where a batch starts or ends,
 * so a replay fires the timer at the same record (and finds its outputs in the outbox there).
 */
export function firePosition(records: readonly PositionedRecord[], windowEnd: number, latenessMs: number): Position | null {
  for (const { position, record } of records) if (record.received_at >= windowEnd + latenessMs) return position;
  return null;
}

/**
 * @param anonymousIdsOf the anonymous ids of each looked-up person (lookupKey → ids)
 * @param dueTimers grace timers that may fire in this batch (window end + lateness ≤ the latest
 *   received_at of the batch)
 */
export function planBatch(records: readonly PositionedRecord[], anonymousIdsOf: ReadonlyMap<string, readonly string[]>, dueTimers: readonly DueTimer[], latenessMs: number): BatchPlan {
  const plan: BatchPlan = { anonymous: new Map(), persons: new Map(), invites: new Map() };
  const anonymousOps = (workspace: string, anonymousId: string) => {
    const key = anonymousEntityKey(workspace, anonymousId);
    let entry = plan.anonymous.get(key);
    if (!entry) plan.anonymous.set(key, (entry = { workspace, anonymousId, ops: [] }));
    return entry.ops;
  };
  const personOps = (workspace: string, person: PersonRef) => {
    const key = lookupKey(workspace, person);
    let entry = plan.persons.get(key);
    if (!entry) plan.persons.set(key, (entry = { workspace, person, ops: [] }));
    return entry.ops;
  };
  const idsOf = (workspace: string, person: PersonRef) => anonymousIdsOf.get(lookupKey(workspace, person)) ?? [];

  for (const { position, record } of records) {
    const { command, workspace_id: workspace, received_at: receivedAt, settings } = record;
    switch (command.kind) {
      case 'track': {
        const body = command.body;
        const event = eventBody(record as InboundRecord & { command: { kind: 'track' } });
        if (body.anonymous_id !== null) {
          anonymousOps(workspace, body.anonymous_id).push({ type: 'event', position, id: record.id, receivedAt, settings, event });
        } else if (body.person !== null) {
          personOps(workspace, body.person).push({ type: 'event', position, id: record.id, receivedAt, settings, event });
        } else {
          const recipient = (JSON.parse(body.data_json) as { recipient: string }).recipient;
          let entry = plan.invites.get(workspace);
          if (!entry) plan.invites.set(workspace, (entry = { workspace, ops: [] }));
          entry.ops.push({ type: 'invite', position, id: record.id, receivedAt, recipient, event });
        }
        break;
      }
      case 'identify':
        // An identify without an anonymous id only updates attributes, which the merger keeps none of.
        if (command.body.anonymous_id !== null) anonymousOps(workspace, command.body.anonymous_id).push({ type: 'identify', position, receivedAt, settings, person: command.body.person });
        break;
      case 'delete': {
        const person = command.body.person;
        const anonymousIds = idsOf(workspace, person);
        personOps(workspace, person).push({ type: 'delete', position, receivedAt, anonymousIds });
        for (const anonymousId of anonymousIds) anonymousOps(workspace, anonymousId).push({ type: 'unbind', position, receivedAt, person });
        break;
      }
      case 'merge':
        planMerge(workspace, command.body.primary, command.body.secondary, position, receivedAt);
        break;
      case 'alias': {
        // A previous id that is a person with anonymous ids is merged into the user (SPEC R9);
        // otherwise it is an anonymous id, and the alias identifies the user with it (SPEC R2).
        const previous = personFromIdentifier(command.body.previous_id);
        if (idsOf(workspace, previous).length > 0 && personKey(previous) !== personKey(command.body.user)) planMerge(workspace, command.body.user, previous, position, receivedAt);
        else anonymousOps(workspace, command.body.previous_id).push({ type: 'identify', position, receivedAt, settings, person: command.body.user });
        break;
      }
      case 'tick':
        break;
      case 'binding':
      case 'clock':
        // The control plane's records (docs/design-person-operations.md): applied by the
        // ordered data plane, which this planner is being replaced by; nothing writes them yet.
        break;
    }
  }

  function planMerge(workspace: string, primary: PersonRef, secondary: PersonRef, position: Position, receivedAt: number) {
    const anonymousIds = idsOf(workspace, secondary);
    personOps(workspace, primary).push({ type: 'absorb', position, receivedAt, secondary, anonymousIds });
    for (const anonymousId of anonymousIds) anonymousOps(workspace, anonymousId).push({ type: 'rebind', position, receivedAt, from: secondary, to: primary });
  }

  for (const timer of dueTimers) {
    const position = firePosition(records, timer.windowEnd, latenessMs);
    if (!position) continue;
    const ops = anonymousOps(timer.workspace, timer.anonymousId);
    ops.push({ type: 'fire', position, windowEnd: timer.windowEnd });
    // Keep the entity's operations in log order.
    ops.sort((a, b) => a.position.offset - b.position.offset || a.position.partition - b.position.partition);
  }
  return plan;
}
