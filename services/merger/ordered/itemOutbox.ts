/**
 * What the data plane keeps in an entity's outbox for an item it applied, and how a replay gets
 * the item's outputs back from it (docs/design-person-operations.md, "Replays").
 *
 * Most items are anonymous page views that become pending: their one output — the AnonymousEvent —
 * follows from the record alone, so the entry is the one-letter code "P" and a replay builds the
 * output again with the same builder and encoder (byte for byte), as the legacy merger does
 * (redis/codec.ts). Storing the encoded output instead wrote each pending event to Redis twice
 * (its pending entry and its outbox entry): ~40 % of the data plane's Redis input on the bench mix.
 * An item with no output is "N"; an invite's trigger is "I". Anything that depends on the entity's
 * state at the time — merges, windows, person events resolved to a primary — keeps its encoded
 * outputs ("B").
 *
 * The usual outcome of an item — "P" for an anonymous id's event, "I" for an invite — is not
 * stored at all (`implicitOutcome`): a replayed item with no entry had it. Writing "P" for every
 * page view cost a field written, read back and deleted per record, for the rare replay; an
 * entry is now written only when the outcome is another (merged, duplicate, …), in the same
 * atomic write as the state that the replay check reads, so "no entry" cannot mean "lost".
 */
import type { StoredOutcome } from '../redis/codec';
import type { EncodedOutput } from '../redis/codec';
import type { Output } from '../model/outputs';
import { pendingEventOutput, inviteOutput, type DataEntity, type DataItem } from './dataPlane';

/** The outbox entry of an item applied now: `produced` its outputs, `encoded` the same encoded. */
export function storedItemOutcome(entity: DataEntity, item: DataItem, produced: readonly Output[], encoded: EncodedOutput[]): StoredOutcome {
  if (produced.length === 0) return { code: 'N' };
  if (item.kind === 'event' && produced.length === 1) {
    const stream = (produced[0] as Output).stream;
    if (entity.kind === 'anonymous' && stream === 'anonymousEvents') return { code: 'P' };
    if (entity.kind === 'invites' && stream === 'campaignTriggers') return { code: 'I' };
  }
  return { code: 'B', entry: { outputs: encoded, followUps: [] } };
}

/** The outcome an item has unless its entry says otherwise (not stored), or null: it always has an entry. */
export function implicitOutcome(entity: DataEntity, item: DataItem): StoredOutcome | null {
  if (item.kind !== 'event' || item.record.command.kind !== 'track') return null;
  if (entity.kind === 'anonymous') return { code: 'P' };
  if (entity.kind === 'invites') return { code: 'I' };
  return null;
}

/** Whether an outcome goes to the outbox: only when it is not the item's implicit one. */
export function storedExplicitly(entity: DataEntity, item: DataItem, outcome: StoredOutcome): boolean {
  return outcome.code !== implicitOutcome(entity, item)?.code;
}

/**
 * The outputs of a replayed item, from its outbox entry. Throws on an entry that does not fit the
 * item (a code stored for another kind of item): state and log disagree, nothing can be re-sent.
 */
export function replayedItemOutputs(entity: DataEntity, item: DataItem, stored: StoredOutcome, encode: (outputs: readonly Output[]) => EncodedOutput[]): EncodedOutput[] {
  switch (stored.code) {
    case 'B':
      return stored.entry.outputs;
    case 'N':
      return [];
    case 'P':
      if (entity.kind === 'anonymous' && item.kind === 'event') return encode([pendingEventOutput(entity, item.record)]);
      break;
    case 'I':
      if (entity.kind === 'invites' && item.kind === 'event') return encode([inviteOutput(entity, item.record)]);
      break;
    case 'E':
      break;
  }
  throw new Error(`outbox code ${stored.code} does not fit a ${item.kind} of a ${entity.kind} entity`);
}
