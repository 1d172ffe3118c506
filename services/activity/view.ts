/**
 * The activity log's view of recent outputs, per workspace: what the page shows. Pure and
 * bounded — each workspace keeps its latest N identified events, anonymous events and
 * activities; older ones fall off. Fed by the outbound topics (what the merger emitted), never
 * by the producers' requests.
 */
import type { Activity, AnonymousEvent, MergedEvent } from '../shared/model/outbound';
import { personKey } from '../shared/model/person';

export type Tab = 'identified' | 'anonymous' | 'activity';

export interface ViewRow {
  readonly tab: Tab;
  /** ms since epoch: received (events) or when it happened (activities). */
  readonly at: number;
  readonly id: string;
  readonly person: string | null;
  readonly anonymousId: string | null;
  readonly name: string;
  readonly type: string;
  /** Unix seconds the event says it happened at. */
  readonly timestamp: number | null;
  /** Identified tab: the event was anonymous before a merge. */
  readonly previouslyAnonymous: boolean;
  /** Activity tab: its kind, and for Anonymous Data Merged the count and the oldest timestamp. */
  readonly kind: string | null;
  readonly mergedCount: number | null;
  readonly oldestEventTimestamp: number | null;
}

export function rowOfMerged(event: MergedEvent): ViewRow {
  return {
    tab: 'identified',
    at: event.received_at,
    id: event.event_id,
    person: personKey(event.person),
    anonymousId: event.anonymous_id,
    name: event.name,
    type: event.type,
    timestamp: event.timestamp,
    previouslyAnonymous: event.previously_anonymous,
    kind: null,
    mergedCount: null,
    oldestEventTimestamp: null,
  };
}

export function rowOfAnonymous(event: AnonymousEvent): ViewRow {
  return { tab: 'anonymous', at: event.received_at, id: event.event_id, person: null, anonymousId: event.anonymous_id, name: event.name, type: event.type, timestamp: event.timestamp, previouslyAnonymous: false, kind: null, mergedCount: null, oldestEventTimestamp: null };
}

export function rowOfActivity(activity: Activity): ViewRow {
  return {
    tab: 'activity',
    at: activity.at,
    id: activity.activity_id,
    person: personKey(activity.person),
    anonymousId: activity.anonymous_id,
    name: activity.kind,
    type: 'activity',
    timestamp: null,
    previouslyAnonymous: false,
    kind: activity.kind,
    mergedCount: activity.merged_count,
    oldestEventTimestamp: activity.oldest_event_timestamp,
  };
}

/** Does a row match a search for a person ("id:42", "email:a@b.c", or just "a@b.c") or an anonymous id? */
export function matches(row: ViewRow, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === '') return true;
  const person = row.person?.toLowerCase() ?? '';
  return row.anonymousId?.toLowerCase() === q || person === q || person.slice(person.indexOf(':') + 1) === q;
}

export class RecentView {
  private readonly rows = new Map<string, Map<Tab, ViewRow[]>>();
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly limit: number) {}

  /** Adds a row; false when it was there already (a re-read after a restart, say). */
  add(workspace: string, row: ViewRow): boolean {
    const seenKey = `${row.tab}/${row.id}`;
    let seen = this.seen.get(workspace);
    if (!seen) this.seen.set(workspace, (seen = new Set()));
    if (seen.has(seenKey)) return false;
    seen.add(seenKey);
    let tabs = this.rows.get(workspace);
    if (!tabs) this.rows.set(workspace, (tabs = new Map()));
    let list = tabs.get(row.tab);
    if (!list) tabs.set(row.tab, (list = []));
    list.push(row);
    if (list.length > this.limit) {
      const dropped = list.shift() as ViewRow;
      seen.delete(`${dropped.tab}/${dropped.id}`);
    }
    return true;
  }

  /** Newest first. */
  list(workspace: string, tab: Tab, query = ''): ViewRow[] {
    const list = this.rows.get(workspace)?.get(tab) ?? [];
    return list.filter((row) => matches(row, query)).reverse();
  }

  workspaces(): string[] {
    return [...this.rows.keys()].sort();
  }
}
