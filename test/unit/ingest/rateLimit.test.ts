import { RateLimiter } from '../../../services/ingest/rateLimit';

describe('per-workspace rate limit', () => {
  let now = 1_000_000;
  const limiter = new RateLimiter(() => now);
  const limit = { recordsPerSecond: 10, burst: 20 };

  it('lets a burst through, then refuses with the seconds until there is room', () => {
    expect(limiter.take('a', limit, 20)).toEqual({ ok: true });
    expect(limiter.take('a', limit, 5)).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 500; // 5 tokens back
    expect(limiter.take('a', limit, 5)).toEqual({ ok: true });
    expect(limiter.take('a', limit, 15)).toEqual({ ok: false, retryAfterSeconds: 2 });
  });

  it('keeps workspaces apart', () => {
    expect(limiter.take('b', limit, 20)).toEqual({ ok: true });
  });

  it('lets a request larger than the burst through only when the bucket is full', () => {
    now += 10_000;
    expect(limiter.take('c', limit, 100)).toEqual({ ok: true });
    expect(limiter.take('c', limit, 1)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('a zero rate means no limit', () => {
    expect(limiter.take('d', { recordsPerSecond: 0, burst: 0 }, 1_000_000)).toEqual({ ok: true });
  });
});
