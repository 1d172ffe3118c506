/**
 * The merger's state, as the decision functions see it (redis/codec.ts turns it into Redis
 * hashes, lists and sorted sets and back).
 */
import type { EventType } from '../../shared/model/inbound';
import type { PersonRef } from '../../shared/model/person';

/** An anonymous event waiting for its person (SPEC R1). */
export interface PendingEvent {
  readonly id: string;
  /** Milliseconds. */
  readonly receivedAt: number;
  readonly name: string;
  readonly type: EventType;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly dataJson: string;
  /**
   * Where the event is in the inbound log, when the data plane applied it from there: Redis keeps
   * this pointer instead of a copy (docs/design-pending-pointers.md). Absent: kept as a copy
   * (the legacy merger, and events it left pending).
   */
  readonly source?: PendingSource;
}

/** A pending event's place in the inbound log. */
export interface PendingSource {
  readonly partition: number;
  readonly offset: number;
}

/** anonymous id → person (SPEC R2a), and the bookkeeping of its current grace window. */
export interface Binding {
  readonly person: PersonRef;
  /** received_at of the identify that opened the current window. */
  readonly boundAt: number;
  /** Events received up to and including this instant merge (SPEC R2b, R2c). */
  readonly windowEnd: number;
  /** False once the grace timer fired: later in-window merges get an activity each. */
  readonly windowOpen: boolean;
  /** Events merged one by one into the open window, not yet reported (SPEC R6). */
  readonly windowCount: number;
  /** Unix seconds of the oldest of those, or null. */
  readonly windowOldest: number | null;
}

export interface AnonymousState {
  /** Increments on every write; a write expecting another version is refused. */
  readonly version: number;
  readonly binding: Binding | null;
  /** Pending events in arrival order; null when not loaded (the operations do not need them). */
  readonly pending: readonly PendingEvent[] | null;
  /** partition → last offset applied to this entity from it (replays at or below change nothing). */
  readonly applied: Readonly<Record<number, number>>;
}

export interface SimpleState {
  readonly version: number;
  readonly applied: Readonly<Record<number, number>>;
}

export const EMPTY_ANONYMOUS: AnonymousState = { version: 0, binding: null, pending: [], applied: {} };
export const EMPTY_SIMPLE: SimpleState = { version: 0, applied: {} };
