/**
 * What a batch of person operations reads from a workspace's control state, and what it writes
 * back (docs/design-person-operations.md). The control state of a workspace grows with every
 * identified anonymous id, so a batch loads only the entries its records can reach, in two
 * rounds, and the decision core runs on that partial state unchanged:
 *
 *   1. the bindings of the anonymous ids the records name, and whom each named person was merged
 *      into (`firstReads`);
 *   2. the anonymous ids of, and the keys merged into, every named person and every person a
 *      named one resolves to (`secondReads`).
 *
 * That is enough because the core reads nothing else: it resolves a named person through
 * mergedInto (one step: kept flat), moves or frees the ids of a resolved person, and finds what
 * was merged into a person through mergedFrom. Entries it writes without reading (the
 * resolutions of the keys merged into a secondary) need no load. A person named earlier in the
 * batch is loaded for the whole batch, so what one record changes the next one sees.
 *
 * Pure: the caller fetches what the reads name (controlStore), builds the state with
 * `partialControlState`, decides, and stores `controlWrites(before, after)`.
 */
import type { InboundRecord } from '../../shared/model/inbound';
import { personFromIdentifier, personFromKey, personKey, type PersonRef } from '../../shared/model/person';
import type { ControlState } from './controlPlane';

export interface FirstReads {
  readonly anonymousIds: readonly string[];
  /** Person keys. */
  readonly persons: readonly string[];
}

/** What round 1 found: bound person (null: free) per anonymous id, primary (null: none) per person key. */
export interface FirstLoad {
  readonly bindings: ReadonlyMap<string, PersonRef | null>;
  readonly mergedInto: ReadonlyMap<string, PersonRef | null>;
}

/** What round 2 found, per person key: its anonymous ids and the keys merged into it (empty: none). */
export interface SecondLoad {
  readonly idsOf: ReadonlyMap<string, ReadonlySet<string>>;
  readonly mergedFrom: ReadonlyMap<string, ReadonlySet<string>>;
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The anonymous ids and people the records name, as the core will read them. */
export function firstReads(records: readonly InboundRecord[]): FirstReads {
  const anonymousIds: string[] = [];
  const persons: string[] = [];
  for (const { command } of records) {
    switch (command.kind) {
      case 'identify':
        persons.push(personKey(command.body.person));
        if (command.body.anonymous_id !== null) anonymousIds.push(command.body.anonymous_id);
        break;
      case 'alias':
        // The previous id is read both ways: as an anonymous id, and as a person who may hold some.
        persons.push(personKey(command.body.user), personKey(personFromIdentifier(command.body.previous_id)));
        anonymousIds.push(command.body.previous_id);
        break;
      case 'merge':
        persons.push(personKey(command.body.primary), personKey(command.body.secondary));
        break;
      case 'delete':
        persons.push(personKey(command.body.person));
        break;
      case 'track':
      case 'tick':
      case 'binding':
      case 'clock':
        break;
    }
  }
  return { anonymousIds: sorted(anonymousIds), persons: sorted(persons) };
}

/** The people whose ids and merged-in keys the batch may move or free: the named ones and their primaries. */
export function secondReads(first: FirstReads, load: FirstLoad): string[] {
  const persons = [...first.persons];
  for (const key of first.persons) {
    const into = load.mergedInto.get(key);
    if (into) persons.push(personKey(into));
  }
  return sorted(persons);
}

/**
 * The partial state the core decides the batch on. The two indexes are each other's inverse (an
 * id is in idsOf(P) exactly when it is bound to P; a key is in mergedFrom(Q) exactly when it was
 * merged into Q), so the loaded sets also give the bindings and resolutions of their members:
 * the ones a deletion or a merge will remove or change, which `controlWrites` must see change.
 */
export function partialControlState(first: FirstLoad, second: SecondLoad): ControlState {
  const state: ControlState = { bindings: new Map(), idsOf: new Map(), mergedInto: new Map(), mergedFrom: new Map() };
  for (const [anonymousId, person] of first.bindings) if (person) state.bindings.set(anonymousId, person);
  for (const [key, into] of first.mergedInto) if (into) state.mergedInto.set(key, into);
  for (const [key, ids] of second.idsOf) {
    if (ids.size === 0) continue;
    state.idsOf.set(key, new Set(ids));
    for (const anonymousId of ids) state.bindings.set(anonymousId, personFromKey(key));
  }
  for (const [key, from] of second.mergedFrom) {
    if (from.size === 0) continue;
    state.mergedFrom.set(key, new Set(from));
    for (const merged of from) state.mergedInto.set(merged, personFromKey(key));
  }
  return state;
}

export function cloneControlState(state: ControlState): ControlState {
  const cloneSets = (map: ReadonlyMap<string, ReadonlySet<string>>) => new Map([...map].map(([k, v]) => [k, new Set(v)] as const));
  return { bindings: new Map(state.bindings), idsOf: cloneSets(state.idsOf), mergedInto: new Map(state.mergedInto), mergedFrom: cloneSets(state.mergedFrom) };
}

/** The changes to store; a set is written whole (empty: removed). */
export interface ControlWrites {
  /** anonymous id → person key, or null to unbind. */
  readonly bindings: ReadonlyArray<readonly [string, string | null]>;
  /** person key → primary's person key, or null. */
  readonly mergedInto: ReadonlyArray<readonly [string, string | null]>;
  readonly idsOf: ReadonlyArray<readonly [string, readonly string[]]>;
  readonly mergedFrom: ReadonlyArray<readonly [string, readonly string[]]>;
}

function changedEntries<V>(before: ReadonlyMap<string, V>, after: ReadonlyMap<string, V>, same: (a: V, b: V) => boolean): Array<[string, V | null]> {
  const changes: Array<[string, V | null]> = [];
  for (const key of sorted([...before.keys(), ...after.keys()])) {
    const was = before.get(key);
    const now = after.get(key);
    if (now === undefined) {
      if (was !== undefined) changes.push([key, null]);
    } else if (was === undefined || !same(was, now)) changes.push([key, now]);
  }
  return changes;
}

const samePerson = (a: PersonRef, b: PersonRef) => personKey(a) === personKey(b);
const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));

/** What the decisions changed, from the state before the batch to the state after it. */
export function controlWrites(before: ControlState, after: ControlState): ControlWrites {
  const key = (person: PersonRef | null) => (person ? personKey(person) : null);
  const members = (set: ReadonlySet<string> | null): string[] => (set ? sorted(set) : []);
  return {
    bindings: changedEntries(before.bindings, after.bindings, samePerson).map(([k, v]) => [k, key(v)] as const),
    mergedInto: changedEntries(before.mergedInto, after.mergedInto, samePerson).map(([k, v]) => [k, key(v)] as const),
    idsOf: changedEntries<ReadonlySet<string>>(before.idsOf, after.idsOf, sameSet).map(([k, v]) => [k, members(v)] as const),
    mergedFrom: changedEntries<ReadonlySet<string>>(before.mergedFrom, after.mergedFrom, sameSet).map(([k, v]) => [k, members(v)] as const),
  };
}

/** Reads a stored person key back (the store keeps keys, the core people). */
export const storedPerson = (key: string | null): PersonRef | null => (key === null ? null : personFromKey(key));
