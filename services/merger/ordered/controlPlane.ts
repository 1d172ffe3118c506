/**
 * The control plane's decisions (docs/design-person-operations.md): person operations — identify,
 * alias, delete, merge — applied one by one in `(received_at, id)` order per workspace. Bindings,
 * refusals, resolutions and deletions depend on these alone, so deciding them here, in order,
 * gives the reference model's state; the data plane learns the changes as commands.
 *
 * Pure: the caller loads the state the records touch and stores what comes back.
 */
import { personRecordKey } from '../../shared/model/keys';
import type { InboundRecord } from '../../shared/model/inbound';
import type { Activity, ActivityKind } from '../../shared/model/outbound';
import { personFromIdentifier, personFromKey, personKey, type PersonRef } from '../../shared/model/person';
import { recordContentKey } from '../../shared/model/recordOrder';
import type { Output } from '../model/outputs';
import type { DataCommand } from './commands';

/** One workspace's person-level state. */
export interface ControlState {
  /** anonymous id → the person it is bound to (bindings are forever, SPEC R2f, until R10). */
  readonly bindings: Map<string, PersonRef>;
  /** person key → its anonymous ids. */
  readonly idsOf: Map<string, Set<string>>;
  /** person key → the person it was merged into (kept flat: always the last primary). */
  readonly mergedInto: Map<string, PersonRef>;
  /**
   * person key → the keys merged into it: mergedInto read backwards. Decisions read this, never
   * iterate mergedInto, so a state loaded for the people a batch names is enough to decide it
   * (controlReads.ts).
   */
  readonly mergedFrom: Map<string, Set<string>>;
}

export function emptyControlState(): ControlState {
  return { bindings: new Map(), idsOf: new Map(), mergedInto: new Map(), mergedFrom: new Map() };
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface ControlDecision {
  readonly commands: DataCommand[];
  readonly outputs: Output[];
}

const samePerson = (a: PersonRef, b: PersonRef) => personKey(a) === personKey(b);

// The records the control plane decides; every other record is the data plane's.
export { isPersonOperation } from '../../shared/model/inbound';

/** Applies one person operation to its workspace's state (mutated) and says what follows. */
export function decidePersonOperation(state: ControlState, record: InboundRecord): ControlDecision {
  const decision: ControlDecision = { commands: [], outputs: [] };
  const stamp = { workspace: record.workspace_id, at: record.received_at, recordId: record.id, recordContent: recordContentKey(record) };
  const resolve = (person: PersonRef) => state.mergedInto.get(personKey(person)) ?? person;
  const { command } = record;

  const activity = (person: PersonRef, kind: ActivityKind, subject: string, details: Partial<Pick<Activity, 'anonymous_id' | 'other_person'>> = {}) => {
    const value: Activity = {
      workspace_id: record.workspace_id,
      activity_id: `${kind.toLowerCase()}/${record.id}/${subject}`,
      person,
      kind,
      at: record.received_at,
      anonymous_id: details.anonymous_id ?? null,
      merged_count: null,
      oldest_event_timestamp: null,
      other_person: details.other_person ?? null,
    };
    decision.outputs.push({ stream: 'activity', key: personRecordKey(record.workspace_id, person), value });
  };

  const identify = (person: PersonRef, anonymousId: string) => {
    // SPEC R3: with merging off an identify binds nothing.
    if (!record.settings.merge_enabled) return;
    const bound = state.bindings.get(anonymousId);
    if (bound && !samePerson(bound, person)) {
      // SPEC R2f: anonymous ids are not reusable.
      activity(person, 'ANONYMOUS_ID_REBIND_REFUSED', anonymousId, { anonymous_id: anonymousId, other_person: bound });
      return;
    }
    if (!bound) {
      state.bindings.set(anonymousId, person);
      idsOfPerson(person).add(anonymousId);
    }
    // SPEC R2a/R2e: (re)bound, with a window from this identify.
    decision.commands.push({ ...stamp, kind: 'bind', anonymousId, person, windowEnd: record.received_at + record.settings.grace_seconds * 1000, settings: record.settings });
  };

  const merge = (primary: PersonRef, secondary: PersonRef) => {
    if (samePerson(primary, secondary)) return;
    // SPEC R9: the secondary's ids and windows become the primary's, in a stable order.
    for (const anonymousId of sortedIds(secondary)) {
      state.bindings.set(anonymousId, primary);
      idsOfPerson(primary).add(anonymousId);
      decision.commands.push({ ...stamp, kind: 'move', anonymousId, from: secondary, to: primary });
    }
    state.idsOf.delete(personKey(secondary));
    // Every identifier that meant the secondary now means the primary.
    for (const key of takeMergedFrom(secondary)) {
      setMergedInto(key, primary);
      decision.commands.push({ ...stamp, kind: 'resolve', person: personFromKey(key), to: primary });
    }
    setMergedInto(personKey(secondary), primary);
    decision.commands.push({ ...stamp, kind: 'resolve', person: secondary, to: primary });
    activity(primary, 'PEOPLE_MERGED', personKey(primary), { other_person: secondary });
  };

  switch (command.kind) {
    case 'identify':
      if (command.body.anonymous_id !== null) identify(resolve(command.body.person), command.body.anonymous_id);
      break;
    case 'alias': {
      // A previous id that is a person holding anonymous ids is merged into the user (SPEC R9);
      // otherwise it is an anonymous id, and the alias identifies the user with it.
      const user = resolve(command.body.user);
      const previous = resolve(personFromIdentifier(command.body.previous_id));
      if (!samePerson(previous, user) && (state.idsOf.get(personKey(previous))?.size ?? 0) > 0) merge(user, previous);
      else identify(user, command.body.previous_id);
      break;
    }
    case 'merge':
      merge(resolve(command.body.primary), resolve(command.body.secondary));
      break;
    case 'delete': {
      const named = command.body.person;
      const into = state.mergedInto.get(personKey(named));
      if (into) {
        // An identifier merged away: only it goes; the primary stays.
        state.mergedInto.delete(personKey(named));
        state.mergedFrom.get(personKey(into))?.delete(personKey(named));
        decision.commands.push({ ...stamp, kind: 'resolve', person: named, to: null });
      } else {
        // SPEC R10: the person's ids become free.
        for (const anonymousId of sortedIds(named)) {
          state.bindings.delete(anonymousId);
          decision.commands.push({ ...stamp, kind: 'unbind', anonymousId, person: named });
        }
        state.idsOf.delete(personKey(named));
        // Identifiers merged into it go with it: a later record naming one starts a new person.
        for (const key of takeMergedFrom(named)) {
          state.mergedInto.delete(key);
          decision.commands.push({ ...stamp, kind: 'resolve', person: personFromKey(key), to: null });
        }
      }
      decision.outputs.push({ stream: 'mergedEvents', key: personRecordKey(record.workspace_id, named), value: null });
      activity(named, 'PERSON_DELETED', personKey(named));
      break;
    }
    case 'track':
    case 'tick':
    case 'binding':
    case 'clock':
      break;
  }
  return decision;

  function idsOfPerson(person: PersonRef): Set<string> {
    let ids = state.idsOf.get(personKey(person));
    if (!ids) state.idsOf.set(personKey(person), (ids = new Set()));
    return ids;
  }

  function sortedIds(person: PersonRef): string[] {
    return [...(state.idsOf.get(personKey(person)) ?? [])].sort(byCodeUnit);
  }

  /** The keys merged into `person`, in a stable order; they stop being merged into it. */
  function takeMergedFrom(person: PersonRef): string[] {
    const keys = [...(state.mergedFrom.get(personKey(person)) ?? [])].sort(byCodeUnit);
    state.mergedFrom.delete(personKey(person));
    return keys;
  }

  function setMergedInto(key: string, primary: PersonRef): void {
    state.mergedInto.set(key, primary);
    const from = state.mergedFrom.get(personKey(primary));
    if (from) from.add(key);
    else state.mergedFrom.set(personKey(primary), new Set([key]));
  }
}
