/**
 * Takes the values of wanted offsets out of a Fetch answer's record set (Kafka's record batch
 * format, magic 2) without decoding the records nobody asked for.
 *
 * Reading a pending event back costs one record, but a Fetch brings whole batches around it:
 * kafkajs would turn every record of them into an object. Here a batch that holds no wanted
 * offset is stepped over by its header (baseOffset, lastOffsetDelta, batchLength), and inside a
 * batch that does, a record not wanted is stepped over by its length prefix; only a wanted
 * record's value is copied out.
 *
 * READ_COMMITTED as the Java consumer does it: the answer lists the aborted transactions
 * (producer id, first offset) it covers; a transactional batch of a producer whose abort began at
 * or before the batch is skipped, until that producer's ABORT marker (a control batch) is passed.
 * Control batches are never data.
 *
 * A compressed batch's records are inflated with kafkajs' codec for its compression type (the
 * project's producers do not compress; an operator's might).
 */

/** One aborted transaction named by a Fetch answer. */
export interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: number;
}

export interface TakenRecords {
  /** By wanted offset: the committed data record's value (null for a record without one). */
  readonly values: Map<number, Buffer | null>;
  /**
   * The last offset of the last complete batch in the answer, aborted and control batches
   * included: every offset up to it that is not in `values` is not a committed data record.
   * -1 when the answer held no complete batch.
   */
  readonly lastOffset: number;
  /** Complete batches in the answer, and of them those whose records were walked. */
  readonly batches: number;
  readonly batchesWalked: number;
  readonly bytes: number;
  readonly records: number;
}

export type Decompress = (attributes: number, compressed: Buffer) => Promise<Buffer>;

const MAGIC = 2;
const HEADER_BYTES = 61;
const LOG_OVERHEAD = 12; // baseOffset + batchLength
const COMPRESSION_MASK = 0x07;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const ABORT_MARKER = 0;

/** A cursor over zigzag varints, as records are written. */
class VarintCursor {
  constructor(
    private readonly buffer: Buffer,
    public position: number,
  ) {}

  /** A zigzag varint or varlong (up to 2^53 in magnitude, which offsets and lengths stay far below). */
  read(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i += 1) {
      const byte = this.buffer[this.position++];
      if (byte === undefined) throw new RangeError('a record ends inside a varint');
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      scale *= 128;
    }
    throw new RangeError('a varint longer than 10 bytes');
  }
}

/**
 * @param fetchOffset the offset the Fetch asked from: the answer's first batch may begin below it,
 *   and its records there are not taken (as the Java consumer drops them): an offset below it may
 *   have been judged gone by an earlier answer (below the log start), and must stay so
 * @param isWanted whether an offset is asked for
 * @param wantsAnyIn whether any offset in [from, to] is asked for (a batch with none is stepped over)
 */
export async function takeWantedRecords(
  recordSet: Buffer,
  fetchOffset: number,
  abortedTransactions: readonly AbortedTransaction[],
  isWanted: (offset: number) => boolean,
  wantsAnyIn: (from: number, to: number) => boolean,
  decompress: Decompress,
): Promise<TakenRecords> {
  const values = new Map<number, Buffer | null>();
  const aborts = [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  let nextAbort = 0;
  const abortedProducers = new Set<string>();
  let lastOffset = -1;
  let batches = 0;
  let batchesWalked = 0;
  let records = 0;
  let position = 0;
  while (position + LOG_OVERHEAD <= recordSet.length) {
    const baseOffset = Number(recordSet.readBigInt64BE(position));
    const batchEnd = position + LOG_OVERHEAD + recordSet.readInt32BE(position + 8);
    // The broker may end an answer inside a batch (the byte budget): it is read next time.
    if (batchEnd > recordSet.length || batchEnd < position + HEADER_BYTES) break;
    const magic = recordSet.readInt8(position + 16);
    if (magic !== MAGIC) throw new Error(`a record batch of format ${magic} at offset ${baseOffset}; only format ${MAGIC} (Kafka 0.11 and later) is read`);
    const attributes = recordSet.readInt16BE(position + 21);
    const batchLast = baseOffset + recordSet.readInt32BE(position + 23);
    const producerId = recordSet.readBigInt64BE(position + 43);
    const count = recordSet.readInt32BE(position + 57);
    const recordsStart = position + HEADER_BYTES;
    const batchStart = position;
    position = batchEnd;
    lastOffset = batchLast;
    records += count;
    batches += 1;

    let skip = false;
    if (producerId >= 0n) {
      while (nextAbort < aborts.length && (aborts[nextAbort] as AbortedTransaction).firstOffset <= batchLast) {
        abortedProducers.add((aborts[nextAbort] as AbortedTransaction).producerId);
        nextAbort += 1;
      }
      const producer = producerId.toString();
      if (attributes & CONTROL) {
        if (abortedProducers.has(producer) && controlType(recordSet, recordsStart, batchEnd) === ABORT_MARKER) abortedProducers.delete(producer);
      } else if (attributes & TRANSACTIONAL && abortedProducers.has(producer)) {
        skip = true;
      }
    }
    if (skip || attributes & CONTROL || batchLast < fetchOffset || !wantsAnyIn(Math.max(baseOffset, fetchOffset), batchLast)) continue;

    batchesWalked += 1;
    let body = recordSet;
    let cursorStart = recordsStart;
    let bodyEnd = batchEnd;
    if (attributes & COMPRESSION_MASK) {
      body = await decompress(attributes, recordSet.subarray(recordsStart, batchEnd));
      cursorStart = 0;
      bodyEnd = body.length;
    }
    const cursor = new VarintCursor(body, cursorStart);
    for (let i = 0; i < count && cursor.position < bodyEnd; i += 1) {
      const length = cursor.read();
      const recordEnd = cursor.position + length;
      if (length < 0 || recordEnd > bodyEnd) throw new RangeError(`a record of the batch at offset ${baseOffset} (bytes ${batchStart}…) runs past its batch`);
      cursor.position += 1; // attributes
      cursor.read(); // timestamp delta
      const offset = baseOffset + cursor.read();
      if (offset >= fetchOffset && isWanted(offset)) {
        const keyLength = cursor.read();
        if (keyLength > 0) cursor.position += keyLength;
        const valueLength = cursor.read();
        if (cursor.position + Math.max(0, valueLength) > recordEnd) throw new RangeError(`the record at offset ${offset} holds a value longer than itself`);
        values.set(offset, valueLength < 0 ? null : Buffer.from(body.subarray(cursor.position, cursor.position + valueLength)));
      }
      cursor.position = recordEnd;
    }
  }
  return { values, lastOffset, batches, batchesWalked, bytes: recordSet.length, records };
}

/** A control batch's marker type (0 ABORT, 1 COMMIT): its one record's key is version, type. */
function controlType(recordSet: Buffer, recordsStart: number, batchEnd: number): number {
  const cursor = new VarintCursor(recordSet, recordsStart);
  cursor.read(); // length
  cursor.position += 1; // attributes
  cursor.read(); // timestamp delta
  cursor.read(); // offset delta
  const keyLength = cursor.read();
  if (keyLength < 4 || cursor.position + 4 > batchEnd) return -1;
  return recordSet.readInt16BE(cursor.position + 2);
}
