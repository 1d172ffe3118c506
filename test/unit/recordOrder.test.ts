/**
 * The criterion's last tie-break (services/shared/model/recordOrder.ts): the one-pass canonical
 * JSON must be exactly the string of JSON.stringify over a key-sorted copy — watermarks stored in
 * Redis hold it, so a different string would reorder a replay.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { canonicalJson, canonicalRecordJson, knownShapeJson, recordContentKey } from '../../services/shared/model/recordOrder';
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

  it('the fast path for tracks and identifies writes exactly canonicalJson, and steps aside for any other shape', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '"', '\\', '\u2028', 'é'));
    const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e21));
    const person = fc.oneof(fc.constant(null), fc.record({ id_type: fc.constantFrom('ID', 'EMAIL', 'CIO_ID'), value: text }));
    const settings = fc.record({ merge_enabled: fc.boolean(), retention_seconds: num, grace_seconds: num, trigger_window_seconds: num });
    const track = fc.record({ kind: fc.constant('track'), body: fc.record({ person, anonymous_id: fc.option(text), name: text, type: fc.constantFrom('event', 'page', 'screen'), timestamp: num, data_json: text }) });
    const identify = fc.record({ kind: fc.constant('identify'), body: fc.record({ person, anonymous_id: fc.option(text), attributes_json: text }) });
    const other = fc.record({ kind: fc.constant('delete'), body: fc.record({ person }) });
    const record = fc.record({ workspace_id: text, id: text, received_at: num, settings, command: fc.oneof(track, identify, other) });
    // A shape the fast path must not take for its own: a key more, one fewer, an undefined, a
    // nested object or array, a key inherited rather than own, an object with toJSON.
    const spoil = (r: Record<string, unknown>, how: number): unknown => {
      const body = (r.command as { body: Record<string, unknown> }).body;
      switch (how) {
        case 0: return { ...r, extra: 1 };
        case 1: { const { id: _id, ...rest } = r; return rest; }
        case 2: return { ...r, command: { ...(r.command as object), body: { ...body, person: undefined } } };
        case 3: return { ...r, settings: { ...(r.settings as object), grace_seconds: { n: 1 } } };
        case 4: return { ...r, command: { ...(r.command as object), body: { ...body, anonymous_id: ['a'] } } };
        case 5: { const base = Object.create({ workspace_id: 'inherited' }) as Record<string, unknown>; for (const [k, v] of Object.entries(r)) if (k !== 'workspace_id') base[k] = v; base.extra = 'x'; return base; }
        case 6: return { ...r, settings: { ...(r.settings as object), toJSON: () => 'x' } };
        default: return r;
      }
    };
    fc.assert(
      fc.property(record, fc.integer({ min: 0, max: 9 }), (r, how) => {
        const value = spoil(r as Record<string, unknown>, how) as InboundRecord;
        expect(canonicalRecordJson(value)).toBe(canonicalJson(value));
        const wellFormed = how > 6 && (r.command.kind === 'track' || r.command.kind === 'identify');
        expect(knownShapeJson(value) !== undefined).toBe(wellFormed);
      }),
      { numRuns: 5000 },
    );
  });
});
