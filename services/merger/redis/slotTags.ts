/**
 * A short hash tag for every Redis Cluster slot: a key `{<tag>}…` lands in that slot. The compact
 * records of anonymous ids (compactRecord.ts) are kept in hashes of the same slot as the ids' own
 * keys, so that the script that moves an id from one form to the other changes both at once on a
 * Redis Cluster too (keys.ts, compactStripe).
 *
 * The table is found, not stored: base-36 numbers tried in order until each slot has one, the
 * first that lands there (~90,000 CRC16s, ~30 ms, once per process). The same on
 * every process and every version, since the order and the hash are fixed.
 */
import calculateSlot from 'cluster-key-slot';

const SLOTS = 16384;
let table: string[] | null = null;

export function slotTag(slot: number): string {
  if (table === null) {
    const found = new Array<string>(SLOTS);
    let missing = SLOTS;
    for (let n = 0; missing > 0; n += 1) {
      const tag = n.toString(36);
      const slot = calculateSlot(tag);
      if (found[slot] === undefined) {
        found[slot] = tag;
        missing -= 1;
      }
    }
    table = found;
  }
  return table[slot] as string;
}

export function slotOf(key: string): number {
  return calculateSlot(key);
}
