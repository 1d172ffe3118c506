/**
 * A realistic, reproducible stream of inbound records for crash and chaos tests, and the outcome
 * SPEC.md says it must have — computed with the pure decision functions over each entity's
 * records in write order, which is the order its partition holds them in.
 */
import { decideAnonymous } from '../../services/merger/decide/anonymous';
import { decidePerson } from '../../services/merger/decide/person';
import type { AnonymousOp, PersonOp } from '../../services/merger/model/ops';
import type { InboundRecord } from '../../services/shared/model/inbound';
import { anonymousEvent, DEFAULT_SETTINGS, identify, personEvent } from './merger';

export interface Workload {
  readonly workspace: string;
  readonly records: InboundRecord[];
  /** Event ids that must be on the merged stream, exactly once. */
  readonly expectedMerged: Set<string>;
  /** Event ids that must still be pending, by anonymous id. */
  readonly expectedPending: Map<string, string[]>;
  /** Event ids that must be triggers, exactly once. */
  readonly expectedTriggers: Set<string>;
}

/** A small seeded generator, so a failing run can be repeated. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export function buildWorkload(workspace: string, anonymousIds: number, seed: number, start = Date.now() - 3_600_000): Workload {
  const rand = random(seed);
  const records: InboundRecord[] = [];
  let clock = start;
  const tick = () => (clock += 1 + Math.floor(rand() * 20));
  for (let a = 0; a < anonymousIds; a += 1) {
    const anonymousId = `anon-${seed}-${a}`;
    const events = 1 + Math.floor(rand() * 6);
    const identified = rand() < 0.6;
    const identifyAt = Math.floor(rand() * (events + 1));
    for (let e = 0; e <= events; e += 1) {
      if (identified && e === identifyAt) records.push(identify(workspace, `person-${a % Math.max(1, Math.floor(anonymousIds / 2))}`, anonymousId, tick()));
      if (e === events) break;
      const id = `${anonymousId}-e${e}`;
      records.push(anonymousEvent(workspace, anonymousId, tick(), id));
      // Some sends are retried with the same id (SPEC R7).
      if (rand() < 0.05) records.push(anonymousEvent(workspace, anonymousId, tick(), id));
    }
    // Some visitors come back after their window ended (SPEC R2d): those events stay pending.
    if (identified && rand() < 0.2) records.push(anonymousEvent(workspace, anonymousId, (clock += 6 * 60_000), `${anonymousId}-late`));
    if (rand() < 0.3) records.push(personEvent(workspace, `person-${a}`, tick(), `${anonymousId}-person-event`));
  }
  return { workspace, records, ...expectedOutcome(records) };
}

function expectedOutcome(records: InboundRecord[]): Omit<Workload, 'workspace' | 'records'> {
  const byAnonymous = new Map<string, AnonymousOp[]>();
  const byPerson = new Map<string, PersonOp[]>();
  let offset = 0;
  for (const record of records) {
    const position = { partition: 0, offset: (offset += 1) };
    const { command } = record;
    if (command.kind === 'track' && command.body.anonymous_id) {
      const { name, type, timestamp, data_json: dataJson } = command.body;
      const ops = byAnonymous.get(command.body.anonymous_id) ?? [];
      ops.push({ type: 'event', position, id: record.id, receivedAt: record.received_at, settings: record.settings, event: { name, type, timestamp, dataJson } });
      byAnonymous.set(command.body.anonymous_id, ops);
    } else if (command.kind === 'track' && command.body.person) {
      const { name, type, timestamp, data_json: dataJson } = command.body;
      const ops = byPerson.get(command.body.person.value) ?? [];
      ops.push({ type: 'event', position, id: record.id, receivedAt: record.received_at, settings: record.settings, event: { name, type, timestamp, dataJson } });
      byPerson.set(command.body.person.value, ops);
    } else if (command.kind === 'identify' && command.body.anonymous_id) {
      const ops = byAnonymous.get(command.body.anonymous_id) ?? [];
      ops.push({ type: 'identify', position, receivedAt: record.received_at, settings: record.settings, person: command.body.person });
      byAnonymous.set(command.body.anonymous_id, ops);
    }
  }
  const expectedMerged = new Set<string>();
  const expectedTriggers = new Set<string>();
  const expectedPending = new Map<string, string[]>();
  for (const [anonymousId, ops] of byAnonymous) {
    const d = decideAnonymous({ version: 0, binding: null, pending: [], applied: {} }, ops, { workspace: 'w', anonymousId, knownIds: new Set() });
    for (const r of d.results) for (const o of r.outputs) {
      const value = o.value as { event_id?: string } | null;
      if (o.stream === 'mergedEvents' && value?.event_id) expectedMerged.add(value.event_id);
      if (o.stream === 'campaignTriggers' && value?.event_id) expectedTriggers.add(value.event_id);
    }
    expectedPending.set(anonymousId, (d.state.pending ?? []).map((e) => e.id));
  }
  for (const [person, ops] of byPerson) {
    const d = decidePerson({ version: 0, applied: {} }, ops, { workspace: 'w', person: { id_type: 'ID', value: person }, knownIds: new Set() });
    for (const r of d.results) for (const o of r.outputs) {
      const value = o.value as { event_id?: string } | null;
      if (o.stream === 'mergedEvents' && value?.event_id) expectedMerged.add(value.event_id);
      if (o.stream === 'campaignTriggers' && value?.event_id) expectedTriggers.add(value.event_id);
    }
  }
  return { expectedMerged, expectedPending, expectedTriggers };
}

export { DEFAULT_SETTINGS };
