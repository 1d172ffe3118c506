/**
 * The criterion's last tie-break (services/shared/model/recordOrder.ts): the one-pass canonical
 * JSON must be exactly the string of JSON.stringify over a key-sorted copy — watermarks stored in
 * Redis hold it, so a different string would reorder a replay.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { canonicalJson, recordContentKey } from '../../services/shared/model/recordOrder';
import type { InboundRecord } from '../../services/shared/model/inbound';

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

  it('the content key is the SHA-1 of the canonical JSON, base64url — the digest stored keys were made with', () => {
    const record: InboundRecord = { workspace_id: 'w', id: 'e1', received_at: 5, settings: { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 }, command: { kind: 'track', body: { person: null, anonymous_id: 'a', name: 'n', type: 'page', timestamp: 1, data_json: '{"é":"\\u0000"}' } } };
    expect(recordContentKey(record)).toBe(createHash('sha1').update(canonicalJson(record)).digest('base64url'));
    expect(recordContentKey(record)).toHaveLength(27);
  });
});
