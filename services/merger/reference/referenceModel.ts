/**
 * The reference model: the rules of docs/correctness.md (SPEC R1–R10) as a small sequential
 * interpreter over plain maps — no Redis, no Kafka, no partitions, no batches.
 *
 * It applies every accepted record one by one in `(received_at, id)` order, and a grace window's
 * summed activity at the instant the window ends. Whatever the merger does to be fast and to
 * survive crashes, its outputs must equal this model's for the same records (the correctness
 * criterion); the property tests and the chaos checker use it as their oracle.
 *
 * Written to be read, not to be fast: every rule is a few lines under its id. Where SPEC is
 * silent the choice made here is the project's, and docs/correctness.md says why.
 */
import { anonymousKey, inboundKey, personRecordKey } from '../../shared/model/keys';
import type { EventType, InboundRecord, WorkspaceSettings } from '../../shared/model/inbound';
import type { Activity, ActivityKind, AnonymousEvent, CampaignTrigger, MergedEvent } from '../../shared/model/outbound';
import { personFromIdentifier, personKey, type PersonRef } from '../../shared/model/person';
import { compareRecords } from '../../shared/model/recordOrder';

export type ReferenceOutput =
  | { readonly stream: 'mergedEvents'; readonly key: string; readonly value: MergedEvent | null }
  | { readonly stream: 'campaignTriggers'; readonly key: string; readonly value: CampaignTrigger }
  | { readonly stream: 'activity'; readonly key: string; readonly value: Activity }
  | { readonly stream: 'anonymousEvents'; readonly key: string; readonly value: AnonymousEvent };

interface Event {
  readonly id: string;
  readonly receivedAt: number;
  readonly name: string;
  readonly type: EventType;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly dataJson: string;
}

interface Window {
  /** The identify that opened it: names the activity its end reports. */
  readonly openedBy: string;
  readonly end: number;
  /** Events merged one by one into it since it opened or was last reported (SPEC R6). */
  count: number;
  oldest: number | null;
}

interface AnonymousId {
  person: PersonRef | null;
  window: Window | null;
  /** Pending events in received_at order (SPEC R1). */
  pending: Event[];
}

interface Workspace {
  readonly anonymousIds: Map<string, AnonymousId>;
  /** Inbound key + event id → received_at of the copy that counted (SPEC R7). */
  readonly seenEvents: Map<string, number>;
  /** Person key → the person it was merged into (SPEC R9): every later record naming it means that one. */
  readonly mergedInto: Map<string, PersonRef>;
}

export class ReferenceModel {
  private readonly workspaces = new Map<string, Workspace>();
  private readonly outputs: ReferenceOutput[] = [];
  /** The latest received_at applied: records must come in order. */
  private clock = 0;
  private last: InboundRecord | null = null;

  /** Applies records in `(received_at, id)` order, firing the windows that end on the way. */
  static run(records: readonly InboundRecord[], horizon?: number): ReferenceOutput[] {
    const model = new ReferenceModel();
    for (const record of [...records].sort(compareRecords)) model.apply(record);
    if (horizon !== undefined) model.advanceTo(horizon);
    return model.emitted();
  }

  emitted(): ReferenceOutput[] {
    return [...this.outputs];
  }

  /** The ids of the events pending under every anonymous id a workspace has seen (none: []), in received_at order (SPEC R1). */
  pendingIds(workspace: string): Map<string, string[]> {
    const pending = new Map<string, string[]>();
    for (const [anonymousId, state] of this.workspaces.get(workspace)?.anonymousIds ?? []) pending.set(anonymousId, state.pending.map((event) => event.id));
    return pending;
  }

  /** Ends every window whose end is before `time` (SPEC R6's grace timer). */
  advanceTo(time: number): void {
    const ending: Array<{ workspace: string; anonymousId: string; state: AnonymousId; window: Window }> = [];
    for (const [workspace, ws] of this.workspaces) {
      for (const [anonymousId, state] of ws.anonymousIds) {
        if (state.window && state.window.end < time) ending.push({ workspace, anonymousId, state, window: state.window });
      }
    }
    ending.sort((a, b) => a.window.end - b.window.end || compareStrings(a.workspace, b.workspace) || compareStrings(a.anonymousId, b.anonymousId));
    for (const { workspace, anonymousId, state, window } of ending) {
      // SPEC R6: the merges summed into the window are reported when its grace timer fires.
      if (state.person) this.reportWindow(workspace, anonymousId, state.person, window, window.end, 'timer');
      state.window = null;
    }
    this.clock = Math.max(this.clock, time);
  }

  apply(record: InboundRecord): void {
    if (record.received_at < this.clock || (this.last && compareRecords(record, this.last) < 0)) {
      throw new Error(`record ${record.id} at ${record.received_at} is before ${this.clock}: apply in (received_at, id) order`);
    }
    this.last = record;
    this.advanceTo(record.received_at);
    const ws = this.workspace(record.workspace_id);
    const { command, settings } = record;
    switch (command.kind) {
      case 'track': {
        const body = command.body;
        const event: Event = { id: record.id, receivedAt: record.received_at, name: body.name, type: body.type, timestamp: body.timestamp, dataJson: body.data_json };
        // SPEC R7: an id already counted under the same key (the anonymous id, or the person as
        // named, or the workspace's invites) within the retention is the same event again.
        const seenKey = `${inboundKey(record)}\u0000${record.id}`;
        const firstSeen = ws.seenEvents.get(seenKey);
        if (firstSeen !== undefined && record.received_at <= firstSeen + settings.retention_seconds * 1000) return;
        ws.seenEvents.set(seenKey, record.received_at);
        if (body.anonymous_id !== null) this.anonymousEvent(record.workspace_id, body.anonymous_id, event, settings);
        else if (body.person !== null) this.personEvent(record.workspace_id, this.resolve(ws, body.person), event, null, record.received_at, settings);
        else this.invite(record.workspace_id, event, (JSON.parse(body.data_json) as { recipient: string }).recipient);
        return;
      }
      case 'identify':
        // An identify without an anonymous id only updates attributes, which the merger keeps none of.
        if (command.body.anonymous_id !== null) this.identify(record, this.resolve(ws, command.body.person), command.body.anonymous_id, settings);
        return;
      case 'delete':
        this.deletePerson(record, command.body.person);
        return;
      case 'merge':
        this.mergePeople(record, this.resolve(ws, command.body.primary), this.resolve(ws, command.body.secondary));
        return;
      case 'alias': {
        // Segment's alias: a previous id that is a person holding anonymous ids is merged into the
        // user (SPEC R9); otherwise it is an anonymous id, and the alias identifies the user with it.
        const user = this.resolve(ws, command.body.user);
        const previous = this.resolve(ws, personFromIdentifier(command.body.previous_id));
        if (!samePerson(previous, user) && this.anonymousIdsOf(ws, previous).length > 0) this.mergePeople(record, user, previous);
        else this.identify(record, user, command.body.previous_id, settings);
        return;
      }
      case 'tick':
      case 'binding':
      case 'clock':
        // Not records of the rules: time passing, and the merger's own decisions.
        return;
    }
  }

  /** SPEC R1, R2c, R2d: an event of an anonymous id. */
  private anonymousEvent(workspace: string, anonymousId: string, event: Event, settings: WorkspaceSettings): void {
    const state = this.anonymousId(workspace, anonymousId);
    const { person, window } = state;
    if (person && window && settings.merge_enabled && event.receivedAt <= window.end) {
      // SPEC R2c: inside the window of its binding — the person's at once, summed into the window.
      this.personEvent(workspace, person, event, anonymousId, event.receivedAt, settings);
      window.count += 1;
      window.oldest = Math.min(window.oldest ?? event.timestamp, event.timestamp);
      return;
    }
    // SPEC R1 / R2d: pending under its id, visible on the anonymous stream.
    state.pending.push(event);
    const value: AnonymousEvent = {
      workspace_id: workspace,
      anonymous_id: anonymousId,
      event_id: event.id,
      name: event.name,
      type: event.type,
      timestamp: event.timestamp,
      data_json: event.dataJson,
      received_at: event.receivedAt,
    };
    this.outputs.push({ stream: 'anonymousEvents', key: anonymousKey(workspace, anonymousId), value });
  }

  /** SPEC R2, R3: an identify of `person` (already resolved) carrying `anonymousId`. */
  private identify(record: InboundRecord, person: PersonRef, anonymousId: string, settings: WorkspaceSettings): void {
    // SPEC R3: with merging off, an identify binds nothing and pending events stay pending.
    if (!settings.merge_enabled) return;
    const workspace = record.workspace_id;
    const state = this.anonymousId(workspace, anonymousId);
    const t = record.received_at;
    if (state.person && !samePerson(state.person, person)) {
      // SPEC R2f: anonymous ids are not reusable; the refusal is recorded, no event moves.
      this.activity(workspace, person, 'ANONYMOUS_ID_REBIND_REFUSED', t, `${record.id}/${anonymousId}`, { anonymousId, otherPerson: state.person });
      return;
    }
    // SPEC R2e: the same person again reports the open window's merges, then opens a new one.
    if (state.person && state.window) this.reportWindow(workspace, anonymousId, state.person, state.window, t, record.id);
    // SPEC R2a: bind (or keep the binding), with a window to t + grace.
    state.person = person;
    state.window = { openedBy: record.id, end: t + settings.grace_seconds * 1000, count: 0, oldest: null };
    // SPEC R2b: what is pending and still within retention merges, in received_at order.
    const cutoff = t - settings.retention_seconds * 1000;
    const merging = state.pending.filter((event) => event.receivedAt >= cutoff);
    state.pending = [];
    for (const event of merging) this.personEvent(workspace, person, event, anonymousId, t, settings);
    if (merging.length > 0) {
      // SPEC R6: one Anonymous Data Merged activity for the merge.
      const oldest = Math.min(...merging.map((event) => event.timestamp));
      this.activity(workspace, person, 'ANONYMOUS_DATA_MERGED', t, `${record.id}/${anonymousId}`, { anonymousId, mergedCount: merging.length, oldest });
    }
  }

  /** SPEC R10: the person's anonymous ids become free, a tombstone goes downstream. */
  private deletePerson(record: InboundRecord, named: PersonRef): void {
    const workspace = record.workspace_id;
    const ws = this.workspace(workspace);
    const t = record.received_at;
    const mergedInto = ws.mergedInto.get(personKey(named));
    if (mergedInto) {
      // A person merged away is deleted as an identifier only: the primary that absorbed it stays.
      ws.mergedInto.delete(personKey(named));
    } else {
      for (const anonymousId of this.anonymousIdsOf(ws, named)) {
        const state = this.anonymousId(workspace, anonymousId);
        if (state.window) this.reportWindow(workspace, anonymousId, named, state.window, t, record.id);
        state.person = null;
        state.window = null;
      }
      // Identifiers merged into it go with it: a later record naming one starts a new person.
      for (const [key, into] of [...ws.mergedInto]) if (samePerson(into, named)) ws.mergedInto.delete(key);
    }
    this.outputs.push({ stream: 'mergedEvents', key: personRecordKey(workspace, named), value: null });
    this.activity(workspace, named, 'PERSON_DELETED', t, `${record.id}/${personKey(named)}`, {});
  }

  /** SPEC R9: the secondary's anonymous ids and open windows become the primary's. */
  private mergePeople(record: InboundRecord, primary: PersonRef, secondary: PersonRef): void {
    if (samePerson(primary, secondary)) return;
    const workspace = record.workspace_id;
    const ws = this.workspace(workspace);
    const t = record.received_at;
    for (const anonymousId of this.anonymousIdsOf(ws, secondary)) {
      const state = this.anonymousId(workspace, anonymousId);
      // What was merged into the secondary so far is the secondary's activity; the window goes on for the primary.
      if (state.window) this.reportWindow(workspace, anonymousId, secondary, state.window, t, record.id);
      state.person = primary;
    }
    ws.mergedInto.set(personKey(secondary), primary);
    for (const [key, into] of ws.mergedInto) if (samePerson(into, secondary)) ws.mergedInto.set(key, primary);
    this.activity(workspace, primary, 'PEOPLE_MERGED', t, `${record.id}/${personKey(primary)}`, { otherPerson: secondary });
  }

  /** SPEC R4, R5: an event becomes the person's; a trigger if recent enough at association. */
  private personEvent(workspace: string, person: PersonRef, event: Event, anonymousId: string | null, associatedAt: number, settings: WorkspaceSettings): void {
    const key = personRecordKey(workspace, person);
    const common = {
      workspace_id: workspace,
      person,
      event_id: event.id,
      name: event.name,
      type: event.type,
      timestamp: event.timestamp,
      data_json: event.dataJson,
      previously_anonymous: anonymousId !== null,
      anonymous_id: anonymousId,
      associated_at: associatedAt,
    };
    this.outputs.push({ stream: 'mergedEvents', key, value: { ...common, received_at: event.receivedAt } });
    if (event.timestamp * 1000 >= associatedAt - settings.trigger_window_seconds * 1000) {
      this.outputs.push({ stream: 'campaignTriggers', key, value: { ...common, recipient: null } });
    }
  }

  /** SPEC R4: an invite event is a trigger addressed to its recipient, never pending. */
  private invite(workspace: string, event: Event, recipient: string): void {
    const value: CampaignTrigger = {
      workspace_id: workspace,
      event_id: event.id,
      person: null,
      recipient,
      name: event.name,
      type: event.type,
      timestamp: event.timestamp,
      data_json: event.dataJson,
      previously_anonymous: false,
      anonymous_id: null,
      associated_at: event.receivedAt,
    };
    this.outputs.push({ stream: 'campaignTriggers', key: `${workspace}/i/${recipient.toLowerCase()}`, value });
  }

  /** SPEC R6: the window's one-by-one merges so far, as one activity; the count starts again. */
  private reportWindow(workspace: string, anonymousId: string, person: PersonRef, window: Window, at: number, cause: string): void {
    if (window.count === 0) return;
    this.activity(workspace, person, 'ANONYMOUS_DATA_MERGED', at, `${window.openedBy}/${anonymousId}/window/${cause}`, { anonymousId, mergedCount: window.count, oldest: window.oldest });
    window.count = 0;
    window.oldest = null;
  }

  private activity(
    workspace: string,
    person: PersonRef,
    kind: ActivityKind,
    at: number,
    subject: string,
    details: { anonymousId?: string; mergedCount?: number; oldest?: number | null; otherPerson?: PersonRef },
  ): void {
    const value: Activity = {
      workspace_id: workspace,
      // Made of record ids only, never of partitions or offsets: the same records give the same ids.
      activity_id: `${kind.toLowerCase()}/${subject}`,
      person,
      kind,
      at,
      anonymous_id: details.anonymousId ?? null,
      merged_count: details.mergedCount ?? null,
      oldest_event_timestamp: details.oldest ?? null,
      other_person: details.otherPerson ?? null,
    };
    this.outputs.push({ stream: 'activity', key: personRecordKey(workspace, person), value });
  }

  /** The person a record naming `person` means: itself, or the one it was merged into (SPEC R9). */
  private resolve(ws: Workspace, person: PersonRef): PersonRef {
    return ws.mergedInto.get(personKey(person)) ?? person;
  }

  private anonymousIdsOf(ws: Workspace, person: PersonRef): string[] {
    const ids: string[] = [];
    for (const [anonymousId, state] of ws.anonymousIds) if (state.person && samePerson(state.person, person)) ids.push(anonymousId);
    return ids.sort(compareStrings);
  }

  private workspace(id: string): Workspace {
    let ws = this.workspaces.get(id);
    if (!ws) this.workspaces.set(id, (ws = { anonymousIds: new Map(), seenEvents: new Map(), mergedInto: new Map() }));
    return ws;
  }

  private anonymousId(workspace: string, anonymousId: string): AnonymousId {
    const ws = this.workspace(workspace);
    let state = ws.anonymousIds.get(anonymousId);
    if (!state) ws.anonymousIds.set(anonymousId, (state = { person: null, window: null, pending: [] }));
    return state;
  }
}

function samePerson(a: PersonRef, b: PersonRef): boolean {
  return personKey(a) === personKey(b);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
