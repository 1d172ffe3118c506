/**
 * Per-workspace rate limit: a token bucket per workspace, refilled at its records-per-second
 * rate up to its burst. A request costs one token per record it would write. Refused requests
 * get 429 with Retry-After (the seconds until its tokens would be there). Per ingest process:
 * N instances behind a balancer allow N × the rate. Pure apart from the clock it is given.
 */
export interface RateLimit {
  readonly recordsPerSecond: number;
  readonly burst: number;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly clock: () => number = Date.now) {}

  take(workspaceId: string, limit: RateLimit, cost: number): RateDecision {
    if (limit.recordsPerSecond <= 0) return { ok: true };
    const now = this.clock();
    const bucket = this.buckets.get(workspaceId) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.recordsPerSecond);
    bucket.at = now;
    this.buckets.set(workspaceId, bucket);
    // A request bigger than the burst could never pass: it is let through when the bucket is full.
    const needed = Math.min(cost, limit.burst);
    if (bucket.tokens >= needed) {
      bucket.tokens -= needed;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((needed - bucket.tokens) / limit.recordsPerSecond)) };
  }
}
