/**
 * Waiting on promises with a bound, and a promise settled from outside — small pieces the merger's
 * readers share (Node 20 has no Promise.withResolvers).
 */

/** Waits for `promise` or the deadline (epoch ms), whichever comes first, and leaves no timer behind. */
export async function untilOrDeadline(promise: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise and the function that resolves it. */
export function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
