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
