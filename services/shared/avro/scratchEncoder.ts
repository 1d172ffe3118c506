/**
 * Encodes Avro values behind a fixed prefix (the Confluent wire format's 5-byte header, an
 * outbox entry's code) through one scratch buffer that grows to the largest record seen, up to a
 * bound: a record then costs one Avro pass and one copy.
 *
 * avsc's own `toBuffer` writes into a 1 KiB scratch and, for anything larger, walks the value a
 * second time into a right-sized buffer, and the prefix then costs a third copy. The merger's
 * larger records — person-order records carrying a data step's merged events (up to 256 KiB),
 * outbox entries of merges — paid that on every write.
 */
import type avro from 'avsc';

const INITIAL_SCRATCH_BYTES = 64 * 1024;
/** Above this a record is encoded into a buffer of its own size, once: the scratch does not keep it. */
const MAX_SCRATCH_BYTES = 4 * 1024 * 1024;

export class ScratchEncoder {
  private scratch: Buffer;

  constructor(
    initialBytes = INITIAL_SCRATCH_BYTES,
    private readonly maxScratchBytes = MAX_SCRATCH_BYTES,
  ) {
    this.scratch = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes of the scratch now (for tests). */
  get scratchBytes(): number {
    return this.scratch.length;
  }

  /** `prefix` then the value's Avro body, in a buffer of its own. Throws if the value does not fit the type. */
  encode(type: avro.Type, value: unknown, prefix: Buffer): Buffer {
    let end = type.encode(value, this.scratch, prefix.length);
    if (end < 0) {
      // avsc says how many bytes were missing: the exact size is known after one pass.
      const needed = this.scratch.length - end;
      if (needed > this.maxScratchBytes) {
        const out = Buffer.allocUnsafe(needed);
        type.encode(value, out, prefix.length);
        prefix.copy(out, 0);
        return out;
      }
      let size = this.scratch.length;
      while (size < needed) size *= 2;
      this.scratch = Buffer.allocUnsafe(Math.min(size, this.maxScratchBytes));
      end = type.encode(value, this.scratch, prefix.length);
    }
    prefix.copy(this.scratch, 0);
    return Buffer.from(this.scratch.subarray(0, end));
  }
}
