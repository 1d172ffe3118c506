/**
 * Applies a batch's operations to their entities: load every entity's state in one call, take
 * the operations an entity has applied already from its outbox (a replay), decide the others,
 * and write all outcomes in one call, each with a compare-and-set on the entity's version. The
 * entities whose version moved (another writer got there first) are loaded and decided again —
 * the decision is pure, so this is always safe.
 */
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { decideAnonymous, type PendingWrite } from './decide/anonymous';
import { decideInvites, decidePerson } from './decide/person';
import { positionKey, type EntityRef, type Position } from './model/entities';
import type { AnonymousOp, InviteOp, PersonOp } from './model/ops';
import { emptyTally, type OpResult, type Tally } from './model/outputs';
import type { AnonymousState, SimpleState } from './model/state';
import { encodeOutbox, stateFields } from './redis/codec';
import { replayedOutcome, storedOutcome, type AnyOp, type PositionOutcome } from './outcomeCodes';
import type { EntityCommit, LoadedEntity, StateStore } from './redis/stateStore';

export type EntityWork =
  | { readonly entity: EntityRef & { kind: 'anonymous' }; readonly ops: readonly AnonymousOp[] }
  | { readonly entity: EntityRef & { kind: 'person' }; readonly ops: readonly PersonOp[] }
  | { readonly entity: EntityRef & { kind: 'invites' }; readonly ops: readonly InviteOp[] };

export type { PositionOutcome } from './outcomeCodes';

export interface EntityOutcome {
  readonly entity: EntityRef;
  readonly outcomes: PositionOutcome[];
  /** Positions of the outbox entries to delete once the batch's Kafka transaction committed. */
  readonly outboxPositions: string[];
  readonly tally: Tally;
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
  /** Rebuilding state from the log: nothing will be published, so no outbox is kept. */
  readonly rebuild?: boolean;
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

const maxOf = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);

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

/**
 * Outbox entries the entity still holds whose outputs were published: those of this partition
 * below the committed offset (the after-commit clean-up of their batch did not happen: a crash,
 * or it raced this batch), unless the write rewrites them.
 */
export function publishedOutbox(positions: readonly string[], partition: number, committedBelow: number, rewritten: ReadonlyMap<string, unknown>): string[] {
  const published: string[] = [];
  for (const position of positions) {
    const colon = position.indexOf(':');
    if (Number(position.slice(0, colon)) === partition && Number(position.slice(colon + 1)) < committedBelow && !rewritten.has(position)) published.push(position);
  }
  return published;
}

/** What one entity's decision comes to: the write to attempt and its outcomes if it applies. */
interface Prepared {
  readonly commit: EntityCommit | null;
  readonly decided: Map<string, PositionOutcome>;
  readonly replayedOutcomes: Map<string, PositionOutcome>;
  readonly tally: Tally;
  readonly missing: string[];
  readonly replayed: number;
}

function prepare(work: EntityWork, loaded: LoadedEntity, ctx: ApplyContext): Prepared {
  const { state } = loaded;
  const isReplay = (position: Position) => position.offset <= (state.applied[position.partition] ?? -1);
  const replayedOps = work.ops.filter((op) => isReplay(op.position));
  const fresh = work.ops.filter((op) => !isReplay(op.position));

  const opsAt = new Map<string, AnyOp[]>();
  for (const op of work.ops) {
    const field = positionKey(op.position);
    const list = opsAt.get(field);
    if (list) list.push(op);
    else opsAt.set(field, [op]);
  }
  const replayedOutcomes = new Map<string, PositionOutcome>();
  const missing: string[] = [];
  for (const op of replayedOps) {
    const field = positionKey(op.position);
    if (replayedOutcomes.has(field)) continue;
    const stored = loaded.outbox.get(field);
    if (stored) replayedOutcomes.set(field, replayedOutcome(work.entity, opsAt.get(field) ?? [op], op.position, stored, ctx.catalog));
    else if (op.position.offset >= ctx.committedBelow) missing.push(field);
  }
  if (fresh.length === 0) return { commit: null, decided: new Map(), replayedOutcomes, tally: emptyTally(), missing, replayed: replayedOps.length };

  let results: Array<OpResult & { position: Position }>;
  let seen: Array<{ id: string; receivedAt: number }>;
  let tally: Tally;
  let version: number;
  let applied: Record<number, number>;
  let pendingWrite: PendingWrite = { kind: 'none' };
  let binding: AnonymousState['binding'] | undefined;
  let bound = false;
  let wasBound = false;
  let unbound = false;
  if (work.entity.kind === 'anonymous') {
    const before = state as AnonymousState;
    const decision = decideAnonymous(before, fresh as AnonymousOp[], { workspace: work.entity.workspace, anonymousId: work.entity.anonymousId, knownIds: loaded.known });
    ({ results, seen, tally } = decision);
    ({ version, applied } = decision.state);
    pendingWrite = decision.pendingWrite;
    binding = decision.state.binding;
    bound = binding !== null;
    wasBound = before.binding !== null;
    unbound = binding === null && wasBound;
  } else if (work.entity.kind === 'person') {
    const decision = decidePerson(state as SimpleState, fresh as PersonOp[], { workspace: work.entity.workspace, person: work.entity.person, knownIds: loaded.known });
    ({ results, seen, tally } = decision);
    ({ version, applied } = decision.state);
  } else {
    const decision = decideInvites(state as SimpleState, fresh as InviteOp[], { workspace: work.entity.workspace, knownIds: loaded.known });
    ({ results, seen, tally } = decision);
    ({ version, applied } = decision.state);
  }

  const decided = encodeResults(ctx.catalog, results);
  const outbox = new Map<string, Buffer>();
  if (!ctx.rebuild) for (const [field, outcome] of decided) outbox.set(field, encodeOutbox(storedOutcome(work.entity, opsAt.get(field) ?? [], outcome)));

  // Expiries follow received_at: the data lives for the retention after its newest event.
  const retentionMs = retentionOf(work.ops);
  const pendingEvents = pendingWrite.kind === 'none' ? [] : pendingWrite.events;
  const pendingNewest = maxOf(pendingEvents.map((e) => e.receivedAt));
  const seenNewest = maxOf(seen.map((x) => x.receivedAt));
  const pendingExpireAt = pendingNewest > 0 ? pendingNewest + retentionMs + EXPIRY_MARGIN_MS : 0;
  const seenExpireAt = seenNewest > 0 ? seenNewest + retentionMs + EXPIRY_MARGIN_MS : 0;
  const newestData = Math.max(pendingExpireAt, seenExpireAt);
  const fields = stateFields({ applied, binding }, work.entity.kind === 'anonymous' ? (state as AnonymousState).binding : undefined);
  const commit: EntityCommit = {
    expectedVersion: state.version,
    newVersion: version,
    // A binding is forever (anonymous ids are not reusable): the write that binds removes the
    // expiry, and later ones leave it removed. Anything else goes with its data.
    stateExpireAt: bound ? (wasBound ? 0 : -1) : newestData || (unbound ? ctx.now() + retentionMs + EXPIRY_MARGIN_MS : 0),
    set: fields.set,
    unset: fields.unset,
    pending: pendingWrite,
    pendingTrimCutoff: pendingWrite.kind === 'append' ? pendingNewest - retentionMs - EXPIRY_MARGIN_MS : 0,
    pendingExpireAt,
    seen,
    seenCutoff: seenNewest > 0 ? seenNewest - retentionMs - EXPIRY_MARGIN_MS : 0,
    seenExpireAt,
    outbox,
    published: publishedOutbox(loaded.outboxPositions, ctx.partition, ctx.committedBelow, outbox),
  };
  return { commit, decided, replayedOutcomes, tally, missing, replayed: replayedOps.length };
}

export async function applyEntities(works: readonly EntityWork[], ctx: ApplyContext): Promise<{ outcomes: EntityOutcome[]; conflicts: number }> {
  const outcomes: EntityOutcome[] = [];
  let todo = [...works];
  let conflicts = 0;
  for (let attempt = 1; todo.length > 0; attempt += 1) {
    if (attempt > MAX_ATTEMPTS) throw new Error(`${todo.length} entities kept changing under ${MAX_ATTEMPTS} attempts`);
    const loaded = await ctx.store.loadEntities(
      todo.map((w) => ({
        entity: w.entity,
        withPending: w.entity.kind === 'anonymous' && (w.ops as AnonymousOp[]).some((op) => op.type === 'identify'),
        ids: w.ops.flatMap((op) => ('id' in op ? [op.id] : [])),
        positions: [...new Set(w.ops.map((op) => positionKey(op.position)))],
      })),
    );
    const prepared = todo.map((w, i) => prepare(w, loaded[i] as LoadedEntity, ctx));
    const toCommit = prepared.map((p, i) => ({ p, w: todo[i] as EntityWork })).filter(({ p }) => p.commit !== null);
    const applied = await ctx.store.commitEntities(toCommit.map(({ p, w }) => ({ entity: w.entity, commit: p.commit as EntityCommit })));
    const retry: EntityWork[] = [];
    const appliedOf = new Map(toCommit.map(({ w }, i) => [w, applied[i] === true]));
    prepared.forEach((p, i) => {
      const w = todo[i] as EntityWork;
      if (p.commit !== null && !appliedOf.get(w)) {
        retry.push(w);
        return;
      }
      const merged = new Map([...p.replayedOutcomes, ...p.decided]);
      outcomes.push({ entity: w.entity, outcomes: [...merged.values()], outboxPositions: [...merged.keys()], tally: p.tally, missing: p.missing, replayed: p.replayed });
    });
    if (retry.length > 0) {
      conflicts += retry.length;
      ctx.logger.debug({ entities: retry.length, attempt }, 'entities changed since they were loaded; deciding again');
    }
    todo = retry;
  }
  return { outcomes, conflicts };
}
