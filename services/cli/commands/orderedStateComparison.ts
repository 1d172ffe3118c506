/**
 * anonmerge rebuild --compare-with, for the two-plane merger: every key of one prefix against the
 * same key of the other — control state (bindings, merges, people's ids, the last operation
 * applied), each entity's ordered state, pending events, seen ids, and the open windows' timers.
 * Left out, as they say how the state was written rather than what it is: versions (one per
 * write, and a rebuild writes in other batches), outbox entries (deleted once published),
 * partitions' claims, progress records (how far the writing went, not what it decided), the
 * published points and held tombstones an earlier version kept (`:p`, `:h`), and expiry times.
 *
 * An anonymous id's state is compared as what it is, whichever form holds it: its own keys, or a
 * compact record (services/merger/redis/compactForm.ts). Which form an id is in depends on the
 * batches it was written in (a duplicate that ended one batch moved it to its own keys; in
 * another split of the same records the next event may have followed in that batch), and a
 * record's bucket on when its stripe split. Both forms are read as the own keys' values, named by
 * workspace and the id's SHA-256 (all a record knows of its id); a record whose id has own keys
 * is left out (one left by a crash, never read).
 */
import { decodeStoredPending, type StoredPending } from '../../merger/redis/codec';
import { compactExpired, compactSeen } from '../../merger/redis/compactForm';
import { compactField, decodeCompact } from '../../merger/redis/compactRecord';
import type { AnyRedis } from '../../shared/redis/client';
import { scanKeys } from '../../shared/redis/scanKeys';
import type { Comparison } from './rebuild';

/** The key's value as text, or null when it says nothing about the state. */
async function valueOf(redis: AnyRedis, key: string): Promise<string | null> {
  if (/\}:x$/.test(key) || /^\S*\{part\|[^}]*\}:[soph]$/.test(key)) return null;
  const type = await redis.type(key);
  switch (type) {
    case 'hash': {
      const fields = Object.entries(await redis.hgetall(key)).filter(([field]) => field !== 'v' && !field.startsWith('x:'));
      return fields.length === 0 ? null : JSON.stringify(fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify((await redis.smembers(key)).sort());
    case 'zset':
      return JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'));
    case 'string':
      return (await redis.get(key)) ?? null;
    default:
      return null;
  }
}

interface AnonymousForm {
  o: string | null;
  pending: Array<StoredPending | { kind: 'copy'; id: string; receivedAt: number }>;
  seen: Array<[string, number]>;
}

const ANONYMOUS_KEY = /^\{([^|{}]*)\|a\|(.*)\}:([sqd])$/;
// A stripe's tag is "<ws>|n" on one Redis, a base-36 slot tag on a Cluster (keys.ts).
const COMPACT_BUCKET = /^\{(?:[^{}|]*\|n|[0-9a-z]+)\}:n:([^{}|]*)\|\d+$/;
const COMPACT_STRIPE = /^\{(?:[^{}|]*\|n|[0-9a-z]+)\}:n:[^{}|]*$/;

/** An anonymous id's state, the same text from its own keys or from its compact record. */
function anonymousText(form: AnonymousForm): string {
  const seen = [...form.seen].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0));
  const pending = form.pending.map((p) => (p.kind === 'copy' && 'event' in p ? { kind: 'copy', id: p.event.id, receivedAt: p.event.receivedAt } : p));
  return JSON.stringify({ o: form.o, pending, seen });
}

async function anonymousOwnKeys(redis: AnyRedis, fullKey: string, suffix: string, form: AnonymousForm): Promise<void> {
  if (suffix === 's') {
    const fields = await redis.hgetall(fullKey);
    form.o = fields.o ?? null;
  } else if (suffix === 'q') {
    form.pending = (await redis.lrangeBuffer(fullKey, 0, -1)).map(decodeStoredPending);
  } else {
    const flat = await redis.zrange(fullKey, 0, -1, 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2) form.seen.push([flat[i] as string, Number(flat[i + 1])]);
  }
}

export async function compareOrderedStates(redis: AnyRedis, left: string, right: string): Promise<Comparison> {
  const read = async (prefix: string) => {
    const values = new Map<string, string>();
    const ownKeys = new Map<string, AnonymousForm>();
    const records = new Map<string, string>();
    for (const key of await scanKeys(redis, `${prefix}:*`)) {
      const local = key.slice(prefix.length + 1);
      const anonymous = ANONYMOUS_KEY.exec(local);
      if (anonymous) {
        const [, workspace, anonymousId, suffix] = anonymous as unknown as [string, string, string, string];
        const name = `anonymous ${workspace} ${compactField(anonymousId).toString('hex')}`;
        let form = ownKeys.get(name);
        if (!form) ownKeys.set(name, (form = { o: null, pending: [], seen: [] }));
        await anonymousOwnKeys(redis, key, suffix, form);
        continue;
      }
      if (COMPACT_STRIPE.test(local)) continue;
      const bucket = COMPACT_BUCKET.exec(local);
      if (bucket) {
        // Flat, as Buffers: the fields are binary (an object's keys would be decoded as UTF-8).
        const flat = (await redis.callBuffer('HGETALL', key)) as Buffer[];
        for (let i = 0; i < flat.length; i += 2) {
          const field = flat[i] as Buffer;
          const raw = flat[i + 1] as Buffer;
          if (field.length === 0) continue;
          const record = decodeCompact(raw);
          if (compactExpired(record, Date.now())) continue; // no state, as the merger reads it
          const last = record.entries[record.entries.length - 1];
          const o = JSON.stringify({ p: null, w: null, a: last ? { at: last.receivedAt, id: last.id, content: '' } : null, q: record.partition });
          const pending: StoredPending[] = record.entries.map((e) => ({ kind: 'pointer', receivedAt: e.receivedAt, partition: record.partition, offset: e.offset }));
          const seen = compactSeen(record).map(({ id, receivedAt }): [string, number] => [id, receivedAt]);
          records.set(`anonymous ${bucket[1]} ${field.toString('hex')}`, anonymousText({ o, pending, seen }));
        }
        continue;
      }
      const value = await valueOf(redis, key);
      if (value !== null) values.set(local, value);
    }
    for (const [name, text] of records) if (!ownKeys.has(name)) values.set(name, text);
    for (const [name, form] of ownKeys) if (form.o !== null || form.pending.length > 0 || form.seen.length > 0) values.set(name, anonymousText(form));
    return values;
  };
  const [a, b] = await Promise.all([read(left), read(right)]);
  const differences: string[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(key) !== b.get(key)) differences.push(`${key}: ${a.get(key)?.slice(0, 300) ?? '(none)'} ≠ ${b.get(key)?.slice(0, 300) ?? '(none)'}`);
  }
  const count = (values: Map<string, string>, pattern: RegExp) => [...values.keys()].filter((key) => pattern.test(key)).length;
  return {
    anonymousIds: Math.max(count(a, /^anonymous /), count(b, /^anonymous /)),
    people: Math.max(count(a, /\|c\}:i:/), count(b, /\|c\}:i:/)),
    differences,
  };
}
