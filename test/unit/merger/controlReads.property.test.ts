/**
 * The control plane decides a batch on the part of its workspace's state that the batch's records
 * name (services/merger/ordered/controlReads.ts). Property: deciding batches of any size on those
 * partial states, storing only what changed, gives the same commands and outputs, in the same
 * order, and leaves the same stored state, as deciding every record on the whole state (R2a–f,
 * R3, R9, R10).
 */
import fc from 'fast-check';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { personKey, type PersonRef } from '../../../services/shared/model/person';
import { compareRecords } from '../../../services/shared/model/recordOrder';
import { decidePersonOperation, emptyControlState, isPersonOperation, type ControlState } from '../../../services/merger/ordered/controlPlane';
import { cloneControlState, controlWrites, firstReads, partialControlState, secondReads, storedPerson } from '../../../services/merger/ordered/controlReads';
import { toRecords, workload } from '../../support/personOpsWorkload';

const RUNS = Number(process.env.ORDERED_RUNS ?? 10_000) / 5;

/** A workspace's control state as a store holds it: keys and sets of strings, absent when empty. */
interface Stored {
  bindings: Map<string, string>;
  mergedInto: Map<string, string>;
  idsOf: Map<string, Set<string>>;
  mergedFrom: Map<string, Set<string>>;
}

const emptyStored = (): Stored => ({ bindings: new Map(), mergedInto: new Map(), idsOf: new Map(), mergedFrom: new Map() });

function storedFrom(state: ControlState): Stored {
  const nonEmpty = (map: ReadonlyMap<string, ReadonlySet<string>>) => new Map([...map].filter(([, v]) => v.size > 0).map(([k, v]) => [k, new Set(v)] as const));
  return {
    bindings: new Map([...state.bindings].map(([k, v]) => [k, personKey(v)] as const)),
    mergedInto: new Map([...state.mergedInto].map(([k, v]) => [k, personKey(v)] as const)),
    idsOf: nonEmpty(state.idsOf),
    mergedFrom: nonEmpty(state.mergedFrom),
  };
}

/** One batch of one workspace, decided as the control consumer will: two reads, decide, write. */
function decideBatch(store: Stored, records: readonly InboundRecord[]) {
  const first = firstReads(records);
  const firstLoad = {
    bindings: new Map(first.anonymousIds.map((id) => [id, storedPerson(store.bindings.get(id) ?? null)] as const)),
    mergedInto: new Map(first.persons.map((key) => [key, storedPerson(store.mergedInto.get(key) ?? null)] as const)),
  };
  const persons = secondReads(first, firstLoad);
  const secondLoad = {
    idsOf: new Map(persons.map((key) => [key, store.idsOf.get(key) ?? new Set<string>()] as const)),
    mergedFrom: new Map(persons.map((key) => [key, store.mergedFrom.get(key) ?? new Set<string>()] as const)),
  };
  const before = partialControlState(firstLoad, secondLoad);
  const state = cloneControlState(before);
  const decided = records.map((record) => decidePersonOperation(state, record));
  const writes = controlWrites(before, state);
  for (const [id, person] of writes.bindings) person === null ? store.bindings.delete(id) : store.bindings.set(id, person);
  for (const [key, into] of writes.mergedInto) into === null ? store.mergedInto.delete(key) : store.mergedInto.set(key, into);
  for (const [key, ids] of writes.idsOf) ids.length === 0 ? store.idsOf.delete(key) : store.idsOf.set(key, new Set(ids));
  for (const [key, from] of writes.mergedFrom) from.length === 0 ? store.mergedFrom.delete(key) : store.mergedFrom.set(key, new Set(from));
  return decided;
}

describe('the control plane on partial state', () => {
  it('R2a-f R3 R9 R10: batches decided on what their records name equal the whole-state decisions', () => {
    fc.assert(
      fc.property(workload, fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 20 }), (steps, batchSizes) => {
        const operations = toRecords(steps)
          .filter(isPersonOperation)
          .sort(compareRecords);
        const whole = new Map<string, ControlState>();
        const expected = operations.map((record) => {
          let state = whole.get(record.workspace_id);
          if (!state) whole.set(record.workspace_id, (state = emptyControlState()));
          return decidePersonOperation(state, record);
        });

        const stores = new Map<string, Stored>();
        const got: typeof expected = [];
        for (let i = 0, b = 0; i < operations.length; b += 1) {
          const batch = operations.slice(i, i + (batchSizes[b % batchSizes.length] as number));
          i += batch.length;
          // A batch holds several workspaces; each is decided on its own state, in record order.
          const decisions = new Map<InboundRecord, (typeof expected)[number]>();
          for (const workspace of new Set(batch.map((r) => r.workspace_id))) {
            let store = stores.get(workspace);
            if (!store) stores.set(workspace, (store = emptyStored()));
            const own = batch.filter((r) => r.workspace_id === workspace);
            decideBatch(store, own).forEach((decision, j) => decisions.set(own[j] as InboundRecord, decision));
          }
          for (const record of batch) got.push(decisions.get(record) as (typeof expected)[number]);
        }
        expect(got).toEqual(expected);
        for (const [workspace, state] of whole) expect(stores.get(workspace)).toEqual(storedFrom(state));
      }),
      { numRuns: RUNS },
    );
  });

  it('R9: a merge reads only the people it names and their primaries', () => {
    const person = (value: string): PersonRef => ({ id_type: 'ID', value });
    const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
    const merge: InboundRecord = { workspace_id: 'w', id: 'm1', received_at: 1, settings, command: { kind: 'merge', body: { primary: person('q'), secondary: person('p') } } };
    const first = firstReads([merge]);
    expect(first).toEqual({ anonymousIds: [], persons: ['id:p', 'id:q'] });
    // p was merged into r before: r's ids and merged-in keys are read too.
    expect(secondReads(first, { bindings: new Map(), mergedInto: new Map([['id:p', person('r')], ['id:q', null]]) })).toEqual(['id:p', 'id:q', 'id:r']);
  });
});
