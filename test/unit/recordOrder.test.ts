/**
 * The criterion's last tie-break (services/shared/model/recordOrder.ts): the one-pass canonical
 * JSON must be exactly the string of JSON.stringify over a key-sorted copy — watermarks stored in
 * Redis hold it, so a different string would reorder a replay.
 */
import fc from 'fast-check';
import { canonicalJson } from '../../services/shared/model/recordOrder';

function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortedCopy((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

describe('canonical record content', () => {
  it('equals JSON.stringify of a key-sorted copy, for any JSON-like value', () => {
    const leaf = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)));
    const value = fc.letrec((tie) => ({ node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 5 })) })).node;
    fc.assert(fc.property(value, (v) => canonicalJson(v) === (JSON.stringify(sortedCopy(v)) ?? 'null')), { numRuns: 2000 });
  });

  it('does not depend on the order keys were set in', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, undefined], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,null]},"b":1}');
    expect(canonicalJson({ a: { c: 'x', d: [1, undefined] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [1, undefined], c: 'x' } }));
  });
});
