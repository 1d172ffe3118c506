/**
 * The Confluent wire format every registry-aware client reads: a zero magic byte, the schema id
 * as a 4-byte big-endian integer, then the Avro binary body.
 */
export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;

export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

/** The 5 bytes before a record written with `schemaId`. */
export function header(schemaId: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeUInt32BE(schemaId, 1);
  return out;
}

export function unframe(buffer: Buffer): { schemaId: number; body: Buffer } {
  if (buffer.length < HEADER_LENGTH) throw new WireFormatError(`record of ${buffer.length} bytes is shorter than the ${HEADER_LENGTH}-byte header`);
  const magic = buffer.readUInt8(0);
  if (magic !== MAGIC_BYTE) throw new WireFormatError(`unknown magic byte ${magic} (expected ${MAGIC_BYTE})`);
  return { schemaId: buffer.readUInt32BE(1), body: buffer.subarray(HEADER_LENGTH) };
}
