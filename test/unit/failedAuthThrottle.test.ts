import { FailedAuthThrottle } from '../../services/shared/http/failedAuthThrottle';

describe('failed-auth throttle', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('lets an address fail N times in a window, then refuses it until the window ends', () => {
    const throttle = new FailedAuthThrottle({ maxFailures: 3, windowMs: 60_000 }, clock);
    for (let i = 0; i < 3; i += 1) {
      expect(throttle.retryAfterSeconds('10.0.0.1')).toBe(0);
      throttle.fail('10.0.0.1');
    }
    expect(throttle.retryAfterSeconds('10.0.0.1')).toBe(60);
    now += 45_500;
    expect(throttle.retryAfterSeconds('10.0.0.1')).toBe(15);
    now += 14_500;
    expect(throttle.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('keeps addresses apart', () => {
    const throttle = new FailedAuthThrottle({ maxFailures: 1, windowMs: 1000 }, clock);
    throttle.fail('a');
    expect(throttle.retryAfterSeconds('a')).toBe(1);
    expect(throttle.retryAfterSeconds('b')).toBe(0);
  });

  it('counts from the window\'s first failure: failures spread over more than the window never block', () => {
    const throttle = new FailedAuthThrottle({ maxFailures: 2, windowMs: 1000 }, clock);
    throttle.fail('a');
    now += 1000;
    throttle.fail('a');
    expect(throttle.retryAfterSeconds('a')).toBe(0);
  });

  it('0 failures allowed means no brake', () => {
    const throttle = new FailedAuthThrottle({ maxFailures: 0, windowMs: 1000 }, clock);
    for (let i = 0; i < 100; i += 1) throttle.fail('a');
    expect(throttle.retryAfterSeconds('a')).toBe(0);
  });

  it('forgets the oldest address first when it tracks as many as it may', () => {
    const throttle = new FailedAuthThrottle({ maxFailures: 1, windowMs: 60_000 }, clock, 2);
    throttle.fail('first');
    throttle.fail('second');
    throttle.fail('third');
    expect(throttle.retryAfterSeconds('first')).toBe(0);
    expect(throttle.retryAfterSeconds('second')).toBe(60);
    expect(throttle.retryAfterSeconds('third')).toBe(60);
  });
});
