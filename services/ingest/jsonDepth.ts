/**
 * How deeply a parsed JSON value nests, measured with an explicit stack: a value nested
 * thousands deep is ten kilobytes of text, and anything recursive (JSON.stringify, a recursive
 * walk) overflows the call stack on it, which used to turn such a body into a 500. This runs
 * before any of that.
 */

/**
 * Whether some object or array of `root` sits more than `maxLevels` levels deep (the root
 * object is level 1). Stops at the first one found.
 */
export function nestsDeeperThan(root: unknown, maxLevels: number): boolean {
  const stack: Array<{ value: unknown; level: number }> = [{ value: root, level: 1 }];
  while (stack.length > 0) {
    const { value, level } = stack.pop() as { value: unknown; level: number };
    if (value === null || typeof value !== 'object') continue;
    if (level > maxLevels) return true;
    const children = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push({ value: child, level: level + 1 });
  }
  return false;
}
