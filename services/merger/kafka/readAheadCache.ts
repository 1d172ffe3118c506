/**
 * Bodies of inbound records read ahead of the step that needs them (pendingReadAhead.ts), by
 * partition and offset. What a committed record holds at an offset never changes, so a body read
 * earlier is as good as one read now; what this bounds is memory:
 *
 *   - at most `maxBytes` of bodies: the oldest entries go first when more are put;
 *   - an entry older than `ttlMs` is dropped (a read ahead whose step never came, say because the
 *     partition moved to another process);
 *   - `take` removes what it hands out: a body is read ahead for one step.
 *
 * No I/O: the clock is passed in.
 */

interface Entry {
  readonly value: Buffer;
  readonly at: number;
}

export interface ReadAheadCacheOptions {
  readonly maxBytes: number;
  readonly ttlMs: number;
}

/** Per entry, beside its body: the key string, the Map's slot, the entry and Buffer objects, the body's own ArrayBuffer. */
const ENTRY_OVERHEAD_BYTES = 250;

export class ReadAheadCache {
  /** In insertion order, which is age order: eviction walks from the front. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly options: ReadAheadCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * Keeps a body. The value is copied into memory of its own: a body taken out of a Fetch answer
   * is a slice of it, and keeping the slice would keep the whole answer; a small copy made with
   * Buffer.from would be a slice of Node's shared 8 KiB pool, which one entry left would pin.
   */
  put(partition: number, offset: number, value: Buffer, now: number): void {
    const cost = value.length + ENTRY_OVERHEAD_BYTES;
    if (cost > this.options.maxBytes) return;
    const key = keyOf(partition, offset);
    this.remove(key);
    const copy = Buffer.allocUnsafeSlow(value.length);
    value.copy(copy);
    this.entries.set(key, { value: copy, at: now });
    this.bytes += cost;
    this.evict(now);
  }

  /** The bodies held of `offsets` of `partition`, removed from the cache. */
  take(partition: number, offsets: readonly number[], now: number): Map<number, Buffer> {
    this.evict(now);
    const found = new Map<number, Buffer>();
    for (const offset of offsets) {
      const key = keyOf(partition, offset);
      const entry = this.entries.get(key);
      if (!entry) continue;
      found.set(offset, entry.value);
      this.remove(key);
    }
    return found;
  }

  /** Drops what is too old, then the oldest while over the byte bound. */
  private evict(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.at <= this.options.ttlMs && this.bytes <= this.options.maxBytes) break;
      this.remove(key);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.value.length + ENTRY_OVERHEAD_BYTES;
  }
}

const keyOf = (partition: number, offset: number) => `${partition}:${offset}`;
