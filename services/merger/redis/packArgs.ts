/**
 * Packs script arguments into one MessagePack array that Lua's cmsgpack unpacks. Written by hand
 * because it is tiny and Redis's cmsgpack reads only the original spec's types: every item goes
 * as a 32-bit "raw" (str32), which carries any bytes (Lua strings are binary-safe) — libraries
 * encode Buffers as the newer bin types, which cmsgpack refuses.
 */
export function packArgs(items: ReadonlyArray<string | Buffer>): Buffer {
  let size = 5;
  for (const item of items) size += 5 + (typeof item === 'string' ? Buffer.byteLength(item, 'utf8') : item.length);
  const out = Buffer.allocUnsafe(size);
  out[0] = 0xdd; // array 32
  out.writeUInt32BE(items.length, 1);
  let at = 5;
  for (const item of items) {
    out[at] = 0xdb; // raw/str 32
    const length = typeof item === 'string' ? out.write(item, at + 5, 'utf8') : item.copy(out, at + 5);
    out.writeUInt32BE(length, at + 1);
    at += 5 + length;
  }
  return out;
}
