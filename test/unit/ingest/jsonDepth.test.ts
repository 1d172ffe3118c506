import { nestsDeeperThan } from '../../../services/ingest/jsonDepth';

/** `levels` objects, each inside the previous one, parsed from text (no recursion to build it). */
const nested = (levels: number): unknown => JSON.parse(`${'{"d":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`);

describe('JSON nesting depth', () => {
  it('counts the root object as level one, arrays as objects, and scalars not at all', () => {
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
    expect(nestsDeeperThan([[[1]]], 3)).toBe(false);
    expect(nestsDeeperThan([[[[]]]], 3)).toBe(true);
    expect(nestsDeeperThan({ a: 'text', b: 1, c: null }, 1)).toBe(false);
    expect(nestsDeeperThan('text', 0)).toBe(false);
  });

  it('finds a deep branch beside shallow ones', () => {
    expect(nestsDeeperThan({ shallow: [1, 2], deep: { a: { b: { c: {} } } } }, 4)).toBe(true);
  });

  it('measures a value nested 100,000 deep without overflowing the stack', () => {
    const deep = nested(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(nestsDeeperThan(deep, 32)).toBe(true);
  });
});
