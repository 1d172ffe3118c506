import { RateLimiter } from '../../../services/ingest/rateLimit';

describe('per-workspace rate limit', () => {
  let now = 1_000_000;
  const limiter = new RateLimiter(() => now);
  const limit = { recordsPerSecond: 10, burst: 20, bytesPerSecond: 0, bytesBurst: 0 };
  const records = (n: number) => ({ records: n, bytes: 0 });

  it('lets a burst through, then refuses with the seconds until there is room', () => {
    expect(limiter.take('a', limit, records(20))).toEqual({ ok: true });
    expect(limiter.take('a', limit, records(5))).toEqual({ ok: false, retryAfterSeconds: 1, exceeded: 'records' });
    now += 500; // 5 tokens back
    expect(limiter.take('a', limit, records(5))).toEqual({ ok: true });
    expect(limiter.take('a', limit, records(15))).toEqual({ ok: false, retryAfterSeconds: 2, exceeded: 'records' });
  });

  it('peek says whether a cost would pass, and takes nothing', () => {
    expect(limiter.peek('p', limit, records(1))).toEqual({ ok: true });
    expect(limiter.take('p', limit, records(20))).toEqual({ ok: true });
    expect(limiter.peek('p', limit, records(1))).toEqual({ ok: false, retryAfterSeconds: 1, exceeded: 'records' });
    now += 100; // 1 token back: peeking twice leaves it there
    expect(limiter.peek('p', limit, records(1))).toEqual({ ok: true });
    expect(limiter.peek('p', limit, records(1))).toEqual({ ok: true });
    expect(limiter.take('p', limit, records(1))).toEqual({ ok: true });
  });

  it('keeps workspaces apart', () => {
    expect(limiter.take('b', limit, records(20))).toEqual({ ok: true });
  });

  it('lets a request larger than the burst through only when the bucket is full', () => {
    now += 10_000;
    expect(limiter.take('c', limit, records(100))).toEqual({ ok: true });
    expect(limiter.take('c', limit, records(1))).toEqual({ ok: false, retryAfterSeconds: 1, exceeded: 'records' });
  });

  it('a zero rate means no limit', () => {
    expect(limiter.take('d', { recordsPerSecond: 0, burst: 0, bytesPerSecond: 0, bytesBurst: 0 }, { records: 1_000_000, bytes: 1e12 })).toEqual({ ok: true });
  });

  it('charges bytes as well: few records with many bytes run out of the byte budget', () => {
    const bytesLimit = { recordsPerSecond: 1000, burst: 2000, bytesPerSecond: 1000, bytesBurst: 2000 };
    expect(limiter.take('e', bytesLimit, { records: 1, bytes: 2000 })).toEqual({ ok: true });
    expect(limiter.take('e', bytesLimit, { records: 1, bytes: 1500 })).toEqual({ ok: false, retryAfterSeconds: 2, exceeded: 'bytes' });
    now += 2000;
    expect(limiter.take('e', bytesLimit, { records: 1, bytes: 1500 })).toEqual({ ok: true });
  });

  it('a refused request takes nothing from either bucket', () => {
    const both = { recordsPerSecond: 10, burst: 10, bytesPerSecond: 100, bytesBurst: 100 };
    expect(limiter.take('f', both, { records: 10, bytes: 10 })).toEqual({ ok: true });
    // Records are out; the bytes of this refused request must still be there afterwards.
    expect(limiter.take('f', both, { records: 1, bytes: 90 })).toMatchObject({ ok: false, exceeded: 'records' });
    now += 100; // one record back, only ten bytes: enough only if the refusal took none

    expect(limiter.take('f', both, { records: 1, bytes: 90 })).toEqual({ ok: true });
  });
});
