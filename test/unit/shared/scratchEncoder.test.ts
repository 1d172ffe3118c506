/**
 * The prefixed encoder: the same bytes as a prefix before avsc's own toBuffer, for records
 * smaller than its scratch, larger (it grows), and larger than the bound (encoded on their own).
 */
import avro from 'avsc';
import { ScratchEncoder } from '../../../services/shared/avro/scratchEncoder';
import { header, unframe } from '../../../services/shared/avro/wireFormat';

const type = avro.Type.forSchema({
  type: 'record',
  name: 'Packed',
  fields: [
    { name: 'key', type: 'string' },
    { name: 'values', type: { type: 'array', items: ['null', 'bytes'] } },
  ],
});

const valueOf = (bytes: number) => ({ key: 'k'.repeat(bytes % 97), values: [Buffer.alloc(bytes, 7), null, Buffer.from('tail')] });
const framed = (schemaId: number, value: unknown) => Buffer.concat([header(schemaId), type.toBuffer(value)]);
const expected = (value: unknown) => framed(42, value);

describe('ScratchEncoder', () => {
  it('encodes a small record as header + avsc body', () => {
    const encoder = new ScratchEncoder(1024, 8192);
    const value = valueOf(100);
    const out = encoder.encode(type, value, header(42));
    expect(out).toEqual(expected(value));
    expect(unframe(out).schemaId).toBe(42);
    expect(type.fromBuffer(unframe(out).body)).toEqual(value);
  });

  it('grows its scratch for a larger record, and still encodes small ones right after', () => {
    const encoder = new ScratchEncoder(1024, 64 * 1024);
    const big = valueOf(5000);
    expect(encoder.encode(type, big, header(42))).toEqual(expected(big));
    expect(encoder.scratchBytes).toBe(8192);
    const small = valueOf(10);
    expect(encoder.encode(type, small, header(42))).toEqual(expected(small));
    expect(encoder.encode(type, big, header(42))).toEqual(expected(big));
    expect(encoder.scratchBytes).toBe(8192);
  });

  it('encodes a record above its bound on its own, leaving the scratch as it was', () => {
    const encoder = new ScratchEncoder(1024, 4096);
    const huge = valueOf(20_000);
    expect(encoder.encode(type, huge, header(7))).toEqual(framed(7, huge));
    expect(encoder.scratchBytes).toBe(1024);
  });

  it('returns buffers that later encodings do not overwrite', () => {
    const encoder = new ScratchEncoder(1024, 8192);
    const first = encoder.encode(type, valueOf(300), header(42));
    const copy = Buffer.from(first);
    encoder.encode(type, valueOf(301), header(42));
    encoder.encode(type, valueOf(6000), header(42));
    expect(first).toEqual(copy);
  });

  it('writes any prefix, one byte as well as five', () => {
    const encoder = new ScratchEncoder(16, 1 << 20);
    const value = valueOf(3000);
    expect(encoder.encode(type, value, Buffer.from('B'))).toEqual(Buffer.concat([Buffer.from('B'), type.toBuffer(value)]));
  });

  it('refuses a value that does not fit the type', () => {
    expect(() => new ScratchEncoder().encode(type, { key: 3, values: [] }, header(1))).toThrow();
  });
});
