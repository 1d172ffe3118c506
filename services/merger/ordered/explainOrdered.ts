/**
 * "What happened to this anonymous id's events?" for the two-plane merger: the id's events and
 * the binding changes the control plane sent it — in its inbound and commands partitions, under its key —
 * applied one by one in (received_at, id) order through the data plane's own `applyItem`, the
 * function the merger decides with, and each event annotated with what became of it and the SPEC
 * rule that decided. Identifies of the id that sent no binding change were refused (R2f) or came
 * while merging was off (R3).
 *
 * A deployment moved from the legacy merger (`anonmerge migrate two-planes`) has identifies in the
 * inbound topic that the legacy merger decided before the move: no command was ever sent for them,
 * and the binding they made was carried into the data plane's state. They are applied here as the
 * binds they were (or refusals, R2f), marked as the legacy merger's — without them every id bound
 * before the move read as bound to nobody, its merged events as pending. Pure.
 */
import type { InboundRecord } from '../../shared/model/inbound';
import type { MergedEvent } from '../../shared/model/outbound';
import { displayPerson, personKey, type PersonRef } from '../../shared/model/person';
import type { EventExplanation, Explanation, IdentifyExplanation } from '../explain';
import { commandOf } from './commandRecords';
import { applyItem, compareItems, emptyDataState, type DataEntity, type DataItem } from './dataPlane';
import type { DataCommand } from './commands';
import { recordContentKey } from '../../shared/model/recordOrder';

const iso = (ms: number) => new Date(ms).toISOString();
const LEGACY_NOTE = ' (decided by the legacy merger, before the move to the two planes)';
const REBIND_REFUSED = 'refused: the id was bound to another person (anonymous ids are not reusable)';

/** The person an identify or alias binds an id to (null: another operation). */
function personOf(record: InboundRecord): PersonRef | null {
  return record.command.kind === 'identify' ? record.command.body.person : record.command.kind === 'alias' ? record.command.body.user : null;
}

/** The person an identify or alias in the inbound topic binds `anonymousId` to (null: it names another id). */
function legacyBinding(record: InboundRecord, anonymousId: string): PersonRef | null {
  const named = record.command.kind === 'identify' ? record.command.body.anonymous_id : record.command.kind === 'alias' ? record.command.body.previous_id : null;
  return named === anonymousId ? personOf(record) : null;
}

/**
 * @param records the records under the id's key in the inbound topic (its events, and identifies the legacy merger decided) and the commands topic (its binding changes)
 * @param identifies the person operations that name the id (identify, alias), from person-ops
 */
export function explainOrdered(workspace: string, anonymousId: string, records: readonly InboundRecord[], identifies: readonly InboundRecord[]): Explanation {
  const entity: DataEntity = { kind: 'anonymous', workspace, anonymousId };
  const items: DataItem[] = [];
  // The legacy merger's binds (see above), recognised by their command; an identify an older
  // ingest wrote to inbound after the move was forwarded to person-ops, and is decided there.
  const inPersonOps = new Set(identifies.map((r) => r.id));
  const legacy = new Set<DataCommand>();
  /** The legacy merger's identifies while merging was off (R3): nothing bound. */
  const legacyOff: InboundRecord[] = [];
  for (const record of records) {
    if (record.command.kind === 'track' && record.command.body.anonymous_id === anonymousId) items.push({ kind: 'event', record });
    const command = commandOf(record);
    if (command && command.kind !== 'resolve' && command.anonymousId === anonymousId) items.push({ kind: 'command', command });
    const person = legacyBinding(record, anonymousId);
    if (!person || inPersonOps.has(record.id)) continue;
    if (!record.settings.merge_enabled) {
      legacyOff.push(record);
      continue;
    }
    const bind: DataCommand = { kind: 'bind', workspace, at: record.received_at, recordId: record.id, recordContent: recordContentKey(record), anonymousId, person, windowEnd: record.received_at + record.settings.grace_seconds * 1000, settings: record.settings };
    legacy.add(bind);
    items.push({ kind: 'command', command: bind });
  }
  items.sort(compareItems);

  const state = emptyDataState();
  const events = new Map<string, EventExplanation>();
  const said: IdentifyExplanation[] = [];
  const boundBy = new Set<string>();
  let boundAt = 0;
  let windowEnd = 0;
  let duplicates = 0;
  for (const item of items) {
    if (item.kind === 'command' && item.command.kind === 'bind' && legacy.has(item.command) && state.person !== null && personKey(state.person) !== personKey(item.command.person)) {
      // SPEC R2f, as the legacy merger applied it: the id stays with its first person.
      said.push({ receivedAt: item.command.at, person: displayPerson(item.command.person), rule: 'R2f', detail: `${REBIND_REFUSED}${LEGACY_NOTE}` });
      boundBy.add(item.command.recordId);
      continue;
    }
    const personBefore = state.person;
    const windowBefore = state.window;
    const pendingBefore = state.pending.map((e) => e.id);
    const outputs = applyItem(entity, state, item);
    const merged = new Set(outputs.filter((o) => o.stream === 'mergedEvents' && o.value !== null).map((o) => (o.value as MergedEvent).event_id));
    if (item.kind === 'event') {
      const { record } = item;
      const name = record.command.kind === 'track' ? record.command.body.name : '';
      const entry: EventExplanation = { id: record.id, receivedAt: record.received_at, name, status: 'pending', rule: 'R1', detail: 'anonymous: kept for the retention, triggers nothing' };
      if (merged.has(record.id)) {
        events.set(record.id, { ...entry, status: 'merged', rule: 'R2c', detail: `received inside the window of ${personBefore ? displayPerson(personBefore) : '?'} (ends ${windowBefore ? iso(windowBefore.end) : '?'}): merged when it arrived` });
      } else if (outputs.some((o) => o.stream === 'anonymousEvents')) {
        if (personBefore && !record.settings.merge_enabled) Object.assign(entry, { rule: 'R3', detail: 'merging was off for this workspace when it arrived' });
        else if (personBefore) Object.assign(entry, { rule: 'R2d', detail: `received after the window of ${displayPerson(personBefore)} ended: stays anonymous until a new identify` });
        events.set(record.id, entry);
      } else {
        duplicates += 1;
        events.set(`${record.id}#${duplicates}`, { ...entry, status: 'duplicate', rule: 'R7', detail: 'an event with this id was received before; this copy was dropped' });
      }
      continue;
    }
    const { command } = item;
    const byLegacy = legacy.has(command) ? LEGACY_NOTE : '';
    if (command.kind === 'bind') {
      boundBy.add(command.recordId);
      boundAt = command.at;
      windowEnd = command.windowEnd;
      const who = displayPerson(command.person);
      const again = personBefore !== null && personKey(personBefore) === personKey(command.person);
      const detail = again ? `${who} again: a new window until ${iso(command.windowEnd)}` : `bound to ${who}; window until ${iso(command.windowEnd)}`;
      said.push({ receivedAt: command.at, person: who, rule: again ? 'R2e' : 'R2a', detail: (merged.size > 0 ? `${detail}; merged ${merged.size} pending event(s) (R2b)` : detail) + byLegacy });
      for (const id of merged) {
        const entry = events.get(id);
        if (entry) Object.assign(entry, { status: 'merged', rule: 'R2b', detail: `merged into ${who} by the identify at ${iso(command.at)}` });
      }
      for (const id of pendingBefore) {
        const entry = events.get(id);
        if (entry && !merged.has(id)) Object.assign(entry, { status: 'expired', rule: 'R1', detail: 'older than the retention at the identify: dropped' });
      }
    } else if (command.kind === 'unbind') {
      said.push({ receivedAt: command.at, person: displayPerson(command.person), rule: 'R10', detail: `${displayPerson(command.person)} was deleted: the id is free again` });
    } else if (command.kind === 'move') {
      said.push({ receivedAt: command.at, person: displayPerson(command.to), rule: 'R9', detail: `${displayPerson(command.from)} was merged into ${displayPerson(command.to)}: the id and its window go on for it` });
    }
  }
  for (const record of [...identifies, ...legacyOff]) {
    if (boundBy.has(record.id)) continue;
    const person = personOf(record);
    if (!person) continue;
    const refused = record.settings.merge_enabled ? { rule: 'R2f', detail: REBIND_REFUSED } : { rule: 'R3', detail: `merging was off: nothing bound${legacyOff.includes(record) ? LEGACY_NOTE : ''}` };
    said.push({ receivedAt: record.received_at, person: displayPerson(person), ...refused });
  }
  said.sort((a, b) => a.receivedAt - b.receivedAt);
  return {
    anonymousId,
    binding: state.person ? { person: personKey(state.person), boundAt, windowEnd } : null,
    events: [...events.values()],
    identifies: said,
  };
}
