/**
 * A brake on guessing credentials: per client address, at most `maxFailures` failed
 * authentications in a window of `windowMs` (counted from the first of them); past that the
 * address is refused — 429 with Retry-After — until the window ends, right credentials or not,
 * since answering a right guess differently would let the guessing go on at full speed.
 * Successes do not reset the count: an attacker with a key of their own could otherwise
 * interleave good requests to keep guessing others'. Pure apart from the clock it is given;
 * memory is bounded (the oldest addresses are forgotten first).
 */
export interface FailedAuthLimit {
  /** 0: no brake. */
  readonly maxFailures: number;
  readonly windowMs: number;
}

interface Window {
  failures: number;
  since: number;
}

export class FailedAuthThrottle {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: FailedAuthLimit,
    private readonly clock: () => number = Date.now,
    private readonly maxAddresses = 100_000,
  ) {}

  /** Seconds until `address` may try again; 0 when it may now. */
  retryAfterSeconds(address: string): number {
    const window = this.current(address);
    if (!window || this.limit.maxFailures <= 0 || window.failures < this.limit.maxFailures) return 0;
    return Math.max(1, Math.ceil((window.since + this.limit.windowMs - this.clock()) / 1000));
  }

  /** Records a failed authentication from `address`. */
  fail(address: string): void {
    if (this.limit.maxFailures <= 0) return;
    const window = this.current(address);
    if (window) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= this.maxAddresses) this.forgetOldest();
    this.windows.set(address, { failures: 1, since: this.clock() });
  }

  /** The address's window if it is still open (an ended one is dropped). */
  private current(address: string): Window | undefined {
    const window = this.windows.get(address);
    if (window && this.clock() - window.since >= this.limit.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }

  /**
   * Ended windows first; if none has ended, the one opened first. A window is only ever added at
   * the end, with the current time, so the Map's insertion order is the order of `since`: the
   * ended ones are at the front, and the walk stops at the first open one — constant time per
   * new address on average, whatever the number held (a scan of the whole map per request would
   * let many cheap addresses cost us more than them).
   */
  private forgetOldest(): void {
    const now = this.clock();
    for (const [address, window] of this.windows) {
      if (now - window.since < this.limit.windowMs) break;
      this.windows.delete(address);
    }
    if (this.windows.size >= this.maxAddresses) {
      const first = this.windows.keys().next();
      if (!first.done) this.windows.delete(first.value);
    }
  }
}
