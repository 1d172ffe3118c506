/**
 * Per-workspace rate limit: two token buckets per workspace, one of records and one of bytes,
 * each refilled at its per-second rate up to its burst. A request is charged, before any of its
 * content is checked, the records it asks for (a batch: its item count) and the bytes of its
 * body once decompressed — whether it is then accepted or refused — so that a sender cannot make
 * ingest do unbounded work by sending requests that fail. Refused requests get 429 with
 * Retry-After (the seconds until both buckets hold enough). Per ingest process: N instances
 * behind a balancer allow N × the rate. Pure apart from the clock it is given.
 */
export interface RateLimit {
  readonly recordsPerSecond: number;
  readonly burst: number;
  /** 0: bytes are not limited. */
  readonly bytesPerSecond: number;
  readonly bytesBurst: number;
}

export interface Cost {
  readonly records: number;
  readonly bytes: number;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number; readonly exceeded: 'records' | 'bytes' };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Takes the cost from both buckets, or from neither when one of them lacks it. */
  take(workspaceId: string, limit: RateLimit, cost: Cost): RateDecision {
    const now = this.clock();
    const records = this.refill(`${workspaceId}\u0000records`, limit.recordsPerSecond, limit.burst, now);
    const bytes = this.refill(`${workspaceId}\u0000bytes`, limit.bytesPerSecond, limit.bytesBurst, now);
    // A request bigger than a burst could never pass: it is let through when that bucket is full.
    const needRecords = Math.min(cost.records, limit.burst);
    const needBytes = Math.min(cost.bytes, limit.bytesBurst);
    const waitRecords = records ? wait(records.tokens, needRecords, limit.recordsPerSecond) : 0;
    const waitBytes = bytes ? wait(bytes.tokens, needBytes, limit.bytesPerSecond) : 0;
    if (waitRecords === 0 && waitBytes === 0) {
      if (records) records.tokens -= needRecords;
      if (bytes) bytes.tokens -= needBytes;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(waitRecords, waitBytes), exceeded: waitRecords >= waitBytes ? 'records' : 'bytes' };
  }

  /**
   * Gives back what `take` took, for a request we failed to store (Kafka unavailable, 503): its
   * sender retries, and must not pay twice for one request. Never above the burst.
   */
  refund(workspaceId: string, limit: RateLimit, cost: Cost): void {
    const now = this.clock();
    const records = this.refill(`${workspaceId}\u0000records`, limit.recordsPerSecond, limit.burst, now);
    const bytes = this.refill(`${workspaceId}\u0000bytes`, limit.bytesPerSecond, limit.bytesBurst, now);
    if (records) records.tokens = Math.min(limit.burst, records.tokens + Math.min(cost.records, limit.burst));
    if (bytes) bytes.tokens = Math.min(limit.bytesBurst, bytes.tokens + Math.min(cost.bytes, limit.bytesBurst));
  }

  /**
   * Whether the cost could be taken now, taking nothing: a workspace already out of budget is
   * refused from the headers, before its body is read (the body's real cost is taken later).
   */
  peek(workspaceId: string, limit: RateLimit, cost: Cost): RateDecision {
    const now = this.clock();
    const records = this.refill(`${workspaceId}\u0000records`, limit.recordsPerSecond, limit.burst, now);
    const bytes = this.refill(`${workspaceId}\u0000bytes`, limit.bytesPerSecond, limit.bytesBurst, now);
    const waitRecords = records ? wait(records.tokens, Math.min(cost.records, limit.burst), limit.recordsPerSecond) : 0;
    const waitBytes = bytes ? wait(bytes.tokens, Math.min(cost.bytes, limit.bytesBurst), limit.bytesPerSecond) : 0;
    if (waitRecords === 0 && waitBytes === 0) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(waitRecords, waitBytes), exceeded: waitRecords >= waitBytes ? 'records' : 'bytes' };
  }

  /** The bucket brought up to now; null when the rate is 0 (no limit). */
  private refill(key: string, perSecond: number, burst: number, now: number): Bucket | null {
    if (perSecond <= 0) return null;
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    return bucket;
  }
}

/** Whole seconds until `tokens` reach `needed` at `perSecond` (0: there already). */
function wait(tokens: number, needed: number, perSecond: number): number {
  return tokens >= needed ? 0 : Math.max(1, Math.ceil((needed - tokens) / perSecond));
}
