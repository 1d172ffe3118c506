/**
 * Random workloads for the model-based tests of the person operations (issue 13): anonymous
 * events, identifies (same and other people, again and again), person events, invites, deletes,
 * chained merges, aliases, merging switched off, repeated ids — as fast-check arbitraries, and
 * the inbound records they become.
 */
import fc from 'fast-check';
import type { InboundRecord, WorkspaceSettings } from '../../services/shared/model/inbound';
import { personFromIdentifier } from '../../services/shared/model/person';

export const T0 = Date.UTC(2026, 10, 1, 12);
export const GRACE_S = 2;
const ANONYMOUS_IDS = ['a1', 'a2', 'a3', 'a4'];
const PEOPLE = ['p1@example.com', 'p2@example.com', 'p3@example.com', 'user-4'];

export type Step =
  | { kind: 'anonEvent'; anonymousId: string; eventId: string | null }
  | { kind: 'personEvent'; person: string; eventId: string | null }
  | { kind: 'invite' }
  | { kind: 'identify'; person: string; anonymousId: string | null }
  | { kind: 'delete'; person: string }
  | { kind: 'merge'; primary: string; secondary: string }
  | { kind: 'alias'; user: string; previous: string };

const anonymousId = fc.constantFrom(...ANONYMOUS_IDS);
const person = fc.constantFrom(...PEOPLE);
// A small pool of sender ids, so repeats happen (R7); null: ingest's own unique id.
const eventId = fc.option(fc.constantFrom('e1', 'e2', 'e3'), { freq: 3 });

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('anonEvent' as const), anonymousId, eventId }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('personEvent' as const), person, eventId }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('invite' as const) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('identify' as const), person, anonymousId: fc.option(anonymousId, { freq: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), person }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('merge' as const), primary: person, secondary: person }).filter((m) => m.primary !== m.secondary) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('alias' as const), user: person, previous: fc.oneof(anonymousId, person) }) },
);

export const workload = fc.array(
  fc.record({
    step,
    // Gaps of 0 make ties; 3 s gaps outlast the 2 s window.
    gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1000, max: 3000 })),
    workspace: fc.constantFrom('w1', 'w1', 'w2'),
    mergeEnabled: fc.boolean().map((b) => b || Math.random() < 0.8),
    ageSeconds: fc.integer({ min: 0, max: 40 }),
  }),
  { minLength: 1, maxLength: 40 },
);

export function toRecords(steps: Array<{ step: Step; gapMs: number; workspace: string; mergeEnabled: boolean; ageSeconds: number }>): InboundRecord[] {
  let at = T0;
  return steps.map(({ step: s, gapMs, workspace, mergeEnabled, ageSeconds }, i) => {
    at += gapMs;
    const settings: WorkspaceSettings = { merge_enabled: mergeEnabled, retention_seconds: 8, grace_seconds: GRACE_S, trigger_window_seconds: 20 };
    const id = `r${String(i).padStart(3, '0')}`;
    const base = { workspace_id: workspace, id, received_at: at, settings };
    const event = (who: { person: InboundRecord['command'] extends never ? never : ReturnType<typeof personFromIdentifier> | null; anonymous_id: string | null }, data = '{}') =>
      ({ kind: 'track', body: { ...who, name: `n${i % 3}`, type: 'event', timestamp: Math.floor(at / 1000) - ageSeconds, data_json: data } }) as const;
    switch (s.kind) {
      case 'anonEvent':
        return { ...base, id: s.eventId ?? id, command: event({ person: null, anonymous_id: s.anonymousId }) };
      case 'personEvent':
        return { ...base, id: s.eventId ?? id, command: event({ person: personFromIdentifier(s.person), anonymous_id: null }) };
      case 'invite':
        return { ...base, command: event({ person: null, anonymous_id: null }, '{"recipient":"friend@example.com"}') };
      case 'identify':
        return { ...base, command: { kind: 'identify', body: { person: personFromIdentifier(s.person), anonymous_id: s.anonymousId, attributes_json: '{}' } } };
      case 'delete':
        return { ...base, command: { kind: 'delete', body: { person: personFromIdentifier(s.person) } } };
      case 'merge':
        return { ...base, command: { kind: 'merge', body: { primary: personFromIdentifier(s.primary), secondary: personFromIdentifier(s.secondary) } } };
      case 'alias':
        return { ...base, command: { kind: 'alias', body: { user: personFromIdentifier(s.user), previous_id: s.previous } } };
    }
  });
}
