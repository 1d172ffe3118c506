/**
 * The wire-format encoder: the same bytes as framing avsc's own toBuffer, for records smaller
 * than its scratch, larger (it grows), and larger than the bound (encoded on their own).
 */
import avro from 'avsc';
import { FramedEncoder } from '../../../services/shared/avro/framedEncoder';
import { frame, unframe } from '../../../services/shared/avro/wireFormat';

const type = avro.Type.forSchema({
  type: 'record',
  name: 'Packed',
  fields: [
    { name: 'key', type: 'string' },
    { name: 'values', type: { type: 'array', items: ['null', 'bytes'] } },
  ],
});

const valueOf = (bytes: number) => ({ key: 'k'.repeat(bytes % 97), values: [Buffer.alloc(bytes, 7), null, Buffer.from('tail')] });
const expected = (value: unknown) => frame(42, type.toBuffer(value));

describe('FramedEncoder', () => {
  it('encodes a small record as header + avsc body', () => {
    const encoder = new FramedEncoder(1024, 8192);
    const value = valueOf(100);
    const out = encoder.encode(type, 42, value);
    expect(out).toEqual(expected(value));
    expect(unframe(out).schemaId).toBe(42);
    expect(type.fromBuffer(unframe(out).body)).toEqual(value);
  });

  it('grows its scratch for a larger record, and still encodes small ones right after', () => {
    const encoder = new FramedEncoder(1024, 64 * 1024);
    const big = valueOf(5000);
    expect(encoder.encode(type, 42, big)).toEqual(expected(big));
    expect(encoder.scratchBytes).toBe(8192);
    const small = valueOf(10);
    expect(encoder.encode(type, 42, small)).toEqual(expected(small));
    expect(encoder.encode(type, 42, big)).toEqual(expected(big));
    expect(encoder.scratchBytes).toBe(8192);
  });

  it('encodes a record above its bound on its own, leaving the scratch as it was', () => {
    const encoder = new FramedEncoder(1024, 4096);
    const huge = valueOf(20_000);
    expect(encoder.encode(type, 7, huge)).toEqual(frame(7, type.toBuffer(huge)));
    expect(encoder.scratchBytes).toBe(1024);
  });

  it('returns buffers that later encodings do not overwrite', () => {
    const encoder = new FramedEncoder(1024, 8192);
    const first = encoder.encode(type, 42, valueOf(300));
    const copy = Buffer.from(first);
    encoder.encode(type, 42, valueOf(301));
    encoder.encode(type, 42, valueOf(6000));
    expect(first).toEqual(copy);
  });

  it('refuses a value that does not fit the type', () => {
    expect(() => new FramedEncoder().encode(type, 1, { key: 3, values: [] })).toThrow();
  });
});
