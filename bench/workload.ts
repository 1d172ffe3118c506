/**
 * The benchmark's traffic, generated the way a website produces it: visitors arriving over time,
 * each with a few anonymous page views; some sign up (an identify with their anonymous id) and
 * go on as the known person; some come back after their window ended with the old cookie.
 * Per million records: ~82% anonymous page views, ~9% identifies, ~7% identified events, ~2%
 * late anonymous events. Records come out in received_at order, a window of visitors at a time —
 * across windows too, as ingest appends them (a late event waits for the window it falls in): the
 * two-plane merger treats a record appended long after records stamped later as late.
 */
import { ulid } from 'ulid';
import type { InboundRecord, WorkspaceSettings } from '../services/shared/model/inbound';

const PAGES = ['/', '/pricing', '/features/segments', '/blog/anonymous-events', '/docs/quickstart', '/customers', '/signup'];

export const BENCH_SETTINGS: WorkspaceSettings = { merge_enabled: true, retention_seconds: 30 * 86400, grace_seconds: 300, trigger_window_seconds: 72 * 3600 };

function lcg(seed: number) {
  let state = seed >>> 0;
  return () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

export interface MixCounts {
  anonymous: number;
  identifies: number;
  identified: number;
  late: number;
}

/**
 * When traffic of `total` records should start for all of it to be stamped in the past: a visitor
 * every 50 ms brings ~4.9 records (4 counted, to be safe), and a late event comes up to 7 minutes
 * after its visitor. Ingest never stamps a record in the future; at a million records a fixed
 * two-hour start put the last 0.6 h ahead of the clock, and the two-plane merger rightly held
 * those records until the wall clock reached them (its control clocks are stamped now).
 */
export function trafficStart(total: number, now = Date.now()): number {
  return now - Math.max(2 * 3_600_000, (total / 4) * 50 + 15 * 60_000);
}

/** Yields chunks of records, in received_at order within each chunk, until `total` are made. */
export function* websiteTraffic(total: number, seed = 7, start = trafficStart(total), counts?: MixCounts): Generator<InboundRecord[]> {
  const rand = lcg(seed);
  let made = 0;
  let visitor = 0;
  let carry: InboundRecord[] = [];
  while (made < total) {
    const window: InboundRecord[] = [];
    for (let v = 0; v < 2000 && made + window.length < total; v += 1, visitor += 1) {
      const anonymousId = `anon-${seed}-${visitor.toString(36)}`;
      const person = { id_type: 'EMAIL' as const, value: `visitor${visitor}@example.com` };
      let t = start + visitor * 50;
      const record = (receivedAt: number, command: InboundRecord['command']): InboundRecord => ({ workspace_id: 'bench', id: ulid(receivedAt), received_at: receivedAt, settings: BENCH_SETTINGS, command });
      const page = () => {
        const path = PAGES[Math.floor(rand() * PAGES.length)] as string;
        return { name: `https://shop.example.com${path}`, type: 'page' as const, data_json: JSON.stringify({ path, referrer: 'https://search.example.org/' }) };
      };
      const views = 2 + Math.floor(rand() * 5);
      for (let i = 0; i < views; i += 1) {
        t += 1000 + Math.floor(rand() * 3000);
        window.push(record(t, { kind: 'track', body: { person: null, anonymous_id: anonymousId, timestamp: Math.floor(t / 1000), ...page() } }));
        if (counts) counts.anonymous += 1;
      }
      if (rand() < 0.45) {
        t += 2000;
        const identifiedAt = t;
        window.push(record(t, { kind: 'identify', body: { person, anonymous_id: anonymousId, attributes_json: JSON.stringify({ email: person.value, plan: 'trial' }) } }));
        if (counts) counts.identifies += 1;
        if (rand() < 0.5) {
          const events = 1 + Math.floor(rand() * 2);
          for (let i = 0; i < events; i += 1) {
            t += 1500;
            window.push(record(t, { kind: 'track', body: { person, anonymous_id: null, name: i === 0 ? 'trial_started' : 'viewed_dashboard', type: 'event', timestamp: Math.floor(t / 1000), data_json: '{"plan":"trial"}' } }));
            if (counts) counts.identified += 1;
          }
        }
        if (rand() < 0.2) {
          const late = identifiedAt + 6 * 60_000 + Math.floor(rand() * 60_000);
          window.push(record(late, { kind: 'track', body: { person: null, anonymous_id: anonymousId, timestamp: Math.floor(late / 1000), ...page() } }));
          if (counts) counts.late += 1;
        }
      }
    }
    // Everything stamped before the next window's first visitor goes out now; the rest (late
    // events, long sessions) waits for the window it falls in.
    const nextStart = start + visitor * 50;
    const all = [...carry, ...window].sort((a, b) => a.received_at - b.received_at);
    const cut = all.findIndex((r) => r.received_at >= nextStart);
    const ready = cut === -1 ? all : all.slice(0, cut);
    carry = cut === -1 ? [] : all.slice(cut);
    made += window.length;
    if (made >= total) {
      yield [...ready, ...carry];
      return;
    }
    if (ready.length > 0) yield ready;
  }
}
