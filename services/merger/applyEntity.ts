/**
 * Applies one entity's operations of a batch: load its state, take the operations it has applied
 * already from its outbox (a replay), decide the others, and write the outcome with a
 * compare-and-set on the entity's version. On a conflict (another writer got there first) it
 * loads again and decides again — the decision is pure, so this is always safe.
 */
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { decideAnonymous, type PendingWrite } from './decide/anonymous';
import { decideInvites, decidePerson } from './decide/person';
import { positionKey, type EntityRef, type Position } from './model/entities';
import type { AnonymousOp, InviteOp, PersonOp } from './model/ops';
import { emptyTally, type FollowUp, type OpResult, type Tally } from './model/outputs';
import type { PendingEvent } from './model/state';
import { encodeOutbox, stateFields, type EncodedOutput, type OutboxEntry } from './redis/codec';
import type { StateStore } from './redis/stateStore';

export type EntityWork =
  | { readonly entity: EntityRef & { kind: 'anonymous' }; readonly ops: readonly AnonymousOp[] }
  | { readonly entity: EntityRef & { kind: 'person' }; readonly ops: readonly PersonOp[] }
  | { readonly entity: EntityRef & { kind: 'invites' }; readonly ops: readonly InviteOp[] };

export interface PositionOutcome {
  readonly position: Position;
  readonly outputs: EncodedOutput[];
  readonly followUps: FollowUp[];
}

export interface EntityOutcome {
  readonly entity: EntityRef;
  readonly outcomes: PositionOutcome[];
  /** Outbox fields to delete once the batch's Kafka transaction committed. */
  readonly outboxFields: string[];
  readonly tally: Tally;
  readonly conflicts: number;
  /** Replayed positions whose outbox entry was missing although not yet published. */
  readonly missing: string[];
  /** Operations applied before (a replay) whose outputs came from the outbox. */
  readonly replayed: number;
}

export interface ApplyContext {
  readonly store: StateStore;
  readonly catalog: SchemaCatalog;
  readonly logger: Logger;
  /** Offsets of this partition below this were published in a committed transaction. */
  readonly committedBelow: number;
  readonly partition: number;
  readonly now: () => number;
}

const DAY_MS = 86_400_000;
/** Keys outlive the retention by this much, so that a late replay never finds them gone. */
const EXPIRY_MARGIN_MS = DAY_MS;
const MAX_ATTEMPTS = 8;
const DEFAULT_RETENTION_MS = 30 * DAY_MS;

function retentionOf(ops: readonly (AnonymousOp | PersonOp | InviteOp)[]): number {
  let retention = 0;
  for (const op of ops) if ('settings' in op) retention = Math.max(retention, op.settings.retention_seconds * 1000);
  return retention || DEFAULT_RETENTION_MS;
}

function encodeResults(catalog: SchemaCatalog, results: ReadonlyArray<OpResult & { position: Position }>): Map<string, PositionOutcome> {
  const byPosition = new Map<string, PositionOutcome>();
  for (const result of results) {
    const key = positionKey(result.position);
    let outcome = byPosition.get(key);
    if (!outcome) byPosition.set(key, (outcome = { position: result.position, outputs: [], followUps: [] }));
    for (const output of result.outputs) {
      outcome.outputs.push({ stream: output.stream, key: output.key, value: output.value === null ? null : catalog.encode(output.stream, output.value) });
    }
    outcome.followUps.push(...result.followUps);
  }
  return byPosition;
}

const maxOf = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);

export async function applyEntity(work: EntityWork, ctx: ApplyContext): Promise<EntityOutcome> {
  const { store, catalog } = ctx;
  const retentionMs = retentionOf(work.ops);
  let conflicts = 0;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const needsPending = work.entity.kind === 'anonymous' && (work.ops as AnonymousOp[]).some((op) => op.type === 'identify');
    const state = work.entity.kind === 'anonymous' ? await store.loadAnonymous(work.entity, needsPending) : await store.loadSimple(work.entity);
    const isReplay = (position: Position) => position.offset <= (state.applied[position.partition] ?? -1);
    const replayed = work.ops.filter((op) => isReplay(op.position));
    const fresh = work.ops.filter((op) => !isReplay(op.position));

    const outcomes = new Map<string, PositionOutcome>();
    const missing: string[] = [];
    if (replayed.length > 0) {
      const fields = [...new Set(replayed.map((op) => positionKey(op.position)))];
      const entries = await store.outboxEntries(work.entity, fields);
      for (const op of replayed) {
        const field = positionKey(op.position);
        if (outcomes.has(field)) continue;
        const entry: OutboxEntry | undefined = entries.get(field);
        if (entry) outcomes.set(field, { position: op.position, outputs: entry.outputs, followUps: entry.followUps });
        else if (op.position.offset >= ctx.committedBelow) missing.push(field);
      }
    }
    if (fresh.length === 0) {
      return { entity: work.entity, outcomes: [...outcomes.values()], outboxFields: [...outcomes.keys()], tally: emptyTally(), conflicts, missing, replayed: replayed.length };
    }

    const ids = fresh.flatMap((op) => ('id' in op ? [op.id] : []));
    const pendingLoaded = 'pending' in state ? (state.pending as PendingEvent[] | null) : null;
    const knownIds = await store.knownIds(work.entity, ids, pendingLoaded);

    let decided: { results: Array<OpResult & { position: Position }>; seen: Array<{ id: string; receivedAt: number }>; tally: Tally; version: number; applied: Record<number, number> };
    let pendingWrite: PendingWrite = { kind: 'none' };
    let bindingChange: Parameters<typeof stateFields>[0]['binding'];
    let bound = false;
    let unbound = false;
    if (work.entity.kind === 'anonymous') {
      const decision = decideAnonymous(state as Parameters<typeof decideAnonymous>[0], fresh as AnonymousOp[], { workspace: work.entity.workspace, anonymousId: work.entity.anonymousId, knownIds });
      decided = { results: decision.results, seen: decision.seen, tally: decision.tally, version: decision.state.version, applied: { ...decision.state.applied } };
      pendingWrite = decision.pendingWrite;
      bindingChange = decision.state.binding;
      bound = decision.state.binding !== null;
      unbound = decision.state.binding === null && (state as unknown as { binding: unknown }).binding !== null;
    } else if (work.entity.kind === 'person') {
      const decision = decidePerson(state, fresh as PersonOp[], { workspace: work.entity.workspace, person: work.entity.person, knownIds });
      decided = { results: decision.results, seen: decision.seen, tally: decision.tally, version: decision.state.version, applied: { ...decision.state.applied } };
    } else {
      const decision = decideInvites(state, fresh as InviteOp[], { workspace: work.entity.workspace, knownIds });
      decided = { results: decision.results, seen: decision.seen, tally: decision.tally, version: decision.state.version, applied: { ...decision.state.applied } };
    }

    const encoded = encodeResults(catalog, decided.results);
    const outbox = new Map<string, Buffer>();
    for (const [field, outcome] of encoded) outbox.set(field, encodeOutbox({ outputs: outcome.outputs, followUps: outcome.followUps }));

    // Expiries follow received_at: the data lives for the retention after its newest event.
    const pendingEvents = pendingWrite.kind === 'none' ? [] : pendingWrite.events;
    const pendingNewest = maxOf(pendingEvents.map((e) => e.receivedAt));
    const seenNewest = maxOf(decided.seen.map((s) => s.receivedAt));
    const pendingExpireAt = pendingNewest > 0 ? pendingNewest + retentionMs + EXPIRY_MARGIN_MS : 0;
    const seenExpireAt = seenNewest > 0 ? seenNewest + retentionMs + EXPIRY_MARGIN_MS : 0;
    const newestData = Math.max(pendingExpireAt, seenExpireAt);
    const fields = stateFields({ applied: decided.applied, binding: bindingChange });
    const committed = await store.commitEntity(work.entity, {
      expectedVersion: state.version,
      newVersion: decided.version,
      // A binding is forever (anonymous ids are not reusable); anything else goes with its data.
      stateExpireAt: bound ? -1 : newestData || (unbound ? ctx.now() + retentionMs + EXPIRY_MARGIN_MS : 0),
      set: fields.set,
      unset: fields.unset,
      pending: pendingWrite,
      pendingTrimCutoff: pendingWrite.kind === 'append' ? pendingNewest - retentionMs - EXPIRY_MARGIN_MS : 0,
      pendingExpireAt,
      seen: decided.seen,
      seenCutoff: seenNewest > 0 ? seenNewest - retentionMs - EXPIRY_MARGIN_MS : 0,
      seenExpireAt,
      outbox,
      clean: ctx.committedBelow > 0 ? { partition: ctx.partition, below: ctx.committedBelow } : null,
    });
    if (committed) {
      for (const [field, outcome] of encoded) outcomes.set(field, outcome);
      return { entity: work.entity, outcomes: [...outcomes.values()], outboxFields: [...outcomes.keys()], tally: decided.tally, conflicts, missing, replayed: replayed.length };
    }
    conflicts += 1;
    ctx.logger.debug({ entity: work.entity, attempt }, 'entity changed since it was loaded; deciding again');
  }
  throw new Error(`entity ${JSON.stringify(work.entity)} kept changing under ${MAX_ATTEMPTS} attempts`);
}
