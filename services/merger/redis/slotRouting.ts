/**
 * How a batch's multi-entity script calls reach Redis.
 *
 * On one Redis, a single call takes every entity of the batch. On a Redis Cluster, the keys a
 * script declares must all hash to one slot: the server refuses declared keys of two slots with
 * CROSSSLOT, allow-cross-slot-keys or not (Redis 7.0; the flag only covers keys the script
 * reaches without declaring them, which breaks when slots move). So the entities are split by
 * slot — one call per slot — and the calls for the slots one master serves go out together in
 * one pipeline per master: a batch still costs one round trip per node. An entity's keys share
 * a hash tag, so the slot of any one of them is the entity's slot.
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import type { MergerCommands, MergerRedis } from './scripts';

/** Positions (into the caller's list) of the entities of each slot, in the caller's order. */
export function groupBySlot(slotKeys: readonly string[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  slotKeys.forEach((key, index) => {
    const slot = calculateSlot(key);
    const group = groups.get(slot);
    if (group) group.push(index);
    else groups.set(slot, [index]);
  });
  return groups;
}

/**
 * The slots of each master, from ioredis' slot table (slot → ["host:port" of the master,
 * replicas…]). A slot the table does not know yet gets a group of its own: its pipeline is then
 * routed by ioredis like any single command.
 */
export function groupSlotsByNode(slots: Iterable<number>, slotTable: ReadonlyArray<readonly string[] | undefined>): Map<string, number[]> {
  const nodes = new Map<string, number[]>();
  for (const slot of slots) {
    const node = slotTable[slot]?.[0] ?? `unknown slot ${slot}`;
    const group = nodes.get(node);
    if (group) group.push(slot);
    else nodes.set(node, [slot]);
  }
  return nodes;
}

export interface GroupReply<R> {
  /** Positions into the caller's list, in the order the call took them. */
  readonly indexes: readonly number[];
  readonly reply: R;
}

/**
 * Runs `call` once for all entities (one Redis) or once per slot (a cluster), and hands back
 * each call's reply beside the positions it covered. `slotKeys[i]` is any key of entity i.
 * `call` issues exactly one command on the target it is given (the client, or a pipeline).
 */
export async function callPerSlot<R>(redis: MergerRedis, slotKeys: readonly string[], call: (target: MergerCommands, indexes: readonly number[]) => unknown): Promise<Array<GroupReply<R>>> {
  if (slotKeys.length === 0) return [];
  if (!redis.isCluster) {
    const indexes = slotKeys.map((_, i) => i);
    return [{ indexes, reply: (await call(redis, indexes)) as R }];
  }
  const cluster = redis as unknown as Cluster & MergerRedis;
  // The slot table is empty until the client first connects.
  if (cluster.slots.length === 0) await cluster.ping();
  const bySlot = groupBySlot(slotKeys);
  const byNode = groupSlotsByNode(bySlot.keys(), cluster.slots);
  const replies = await Promise.all(
    [...byNode.values()].map(async (slots) => {
      const pipeline = cluster.pipeline();
      const groups = slots.map((slot) => bySlot.get(slot) as number[]);
      for (const indexes of groups) call(pipeline as unknown as MergerCommands, indexes);
      const results = (await pipeline.exec()) ?? [];
      return groups.map((indexes, i) => {
        const [error, reply] = results[i] ?? [new Error('no reply from the pipeline'), null];
        if (error) throw Object.assign(error, { message: `${error.message} (script call for ${indexes.length} entities of slot ${slots[i]})` });
        return { indexes, reply: reply as R };
      });
    }),
  );
  return replies.flat();
}
