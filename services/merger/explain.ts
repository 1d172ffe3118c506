/**
 * The answer to "what happened to this anonymous id's events?": its records from the inbound log,
 * replayed one at a time through the same pure decisions the merger makes, each event annotated
 * with what became of it and the SPEC rule that decided. Pure.
 */
import { personKey } from '../shared/model/person';
import type { InboundRecord } from '../shared/model/inbound';
import { displayPerson } from '../shared/model/person';
import { decideAnonymous } from './decide/anonymous';
import type { AnonymousOp } from './model/ops';
import type { AnonymousState } from './model/state';

export interface EventExplanation {
  readonly id: string;
  readonly receivedAt: number;
  readonly name: string;
  status: 'merged' | 'pending' | 'expired' | 'duplicate';
  rule: string;
  detail: string;
}

export interface IdentifyExplanation {
  readonly receivedAt: number;
  readonly person: string;
  readonly rule: string;
  readonly detail: string;
}

export interface Explanation {
  readonly anonymousId: string;
  readonly binding: { person: string; boundAt: number; windowEnd: number } | null;
  readonly events: EventExplanation[];
  readonly identifies: IdentifyExplanation[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function explainAnonymous(workspace: string, anonymousId: string, records: readonly InboundRecord[]): Explanation {
  let state: AnonymousState = { version: 0, binding: null, pending: [], applied: {} };
  const events = new Map<string, EventExplanation>();
  const identifies: IdentifyExplanation[] = [];
  let offset = 0;
  for (const record of records) {
    const { command } = record;
    const position = { partition: 0, offset: (offset += 1) };
    let op: AnonymousOp;
    if (command.kind === 'track' && command.body.anonymous_id === anonymousId) {
      const { name, type, timestamp, data_json: dataJson } = command.body;
      op = { type: 'event', position, id: record.id, receivedAt: record.received_at, settings: record.settings, event: { name, type, timestamp, dataJson } };
    } else if ((command.kind === 'identify' && command.body.anonymous_id === anonymousId) || (command.kind === 'alias' && command.body.previous_id === anonymousId)) {
      const person = command.kind === 'identify' ? command.body.person : command.body.user;
      op = { type: 'identify', position, receivedAt: record.received_at, settings: record.settings, person };
    } else {
      continue;
    }
    const before = state;
    const known = new Set([...(before.pending ?? []).map((e) => e.id), ...events.keys()]);
    const decision = decideAnonymous(before, [op], { workspace, anonymousId, knownIds: known });
    const outputs = decision.results.flatMap((r) => r.outputs);
    const merged = new Set(outputs.filter((o) => o.stream === 'mergedEvents').map((o) => (o.value as { event_id: string }).event_id));
    if (op.type === 'event') {
      const entry: EventExplanation = { id: op.id, receivedAt: op.receivedAt, name: op.event.name, status: 'pending', rule: 'R1', detail: 'anonymous: kept for the retention, triggers nothing' };
      if (events.has(op.id) || (before.pending ?? []).some((e) => e.id === op.id)) {
        events.set(`${op.id}#${position.offset}`, { ...entry, status: 'duplicate', rule: 'R7', detail: 'an event with this id was received before; this copy was dropped' });
      } else if (merged.has(op.id)) {
        const b = decision.state.binding;
        events.set(op.id, { ...entry, status: 'merged', rule: 'R2c', detail: `received inside the window of ${b ? displayPerson(b.person) : '?'} (ends ${b ? iso(b.windowEnd) : '?'}): merged when it arrived` });
      } else if (decision.tally.expired > 0) {
        events.set(op.id, { ...entry, status: 'expired', rule: 'R1', detail: 'older than the retention at the identify: dropped' });
      } else {
        const b = before.binding;
        if (b && !op.settings.merge_enabled) entry.rule = 'R3', (entry.detail = 'merging was off for this workspace when it arrived');
        else if (b && op.receivedAt > b.windowEnd) entry.rule = 'R2d', (entry.detail = `received after the window of ${displayPerson(b.person)} ended (${iso(b.windowEnd)}): stays anonymous until a new identify`);
        events.set(op.id, entry);
      }
    } else {
      const who = displayPerson(op.person);
      let rule = before.binding ? 'R2e' : 'R2a';
      let detail = before.binding ? `${who} again: a new window from ${iso(op.receivedAt)}` : `bound to ${who}; window until ${iso(op.receivedAt + op.settings.grace_seconds * 1000)}`;
      if (!op.settings.merge_enabled) (rule = 'R3'), (detail = 'merging was off: nothing bound');
      else if (decision.tally.refusedRebinds > 0) (rule = 'R2f'), (detail = `refused: already bound to ${before.binding ? displayPerson(before.binding.person) : '?'} (anonymous ids are not reusable)`);
      identifies.push({ receivedAt: op.receivedAt, person: who, rule, detail: merged.size > 0 ? `${detail}; merged ${merged.size} pending event(s) (R2b)` : detail });
      for (const id of merged) {
        const entry = events.get(id);
        if (entry) Object.assign(entry, { status: 'merged', rule: 'R2b', detail: `merged into ${who} by the identify at ${iso(op.receivedAt)}` });
      }
      // Events the identify dropped as too old.
      const remaining = new Set((decision.state.pending ?? []).map((e) => e.id));
      for (const pendingEvent of before.pending ?? []) {
        const entry = events.get(pendingEvent.id);
        if (entry && !merged.has(pendingEvent.id) && !remaining.has(pendingEvent.id)) Object.assign(entry, { status: 'expired', rule: 'R1', detail: 'older than the retention at the identify: dropped' });
      }
    }
    state = decision.state;
  }
  const b = state.binding;
  return {
    anonymousId,
    binding: b ? { person: personKey(b.person), boundAt: b.boundAt, windowEnd: b.windowEnd } : null,
    events: [...events.values()],
    identifies,
  };
}
