/**
 * The record batch parser of the offset reader, on batches written by kafkajs' own encoder (the
 * real broker's answers are in test/integration/merger/pending-offset-reader.test.ts).
 */
import { takeWantedRecords, type Decompress } from '../../../services/merger/kafka/recordBatches';

const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (options: object) => Promise<{ buffer: Buffer }> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: object) => unknown;
const Long = require('kafkajs/src/utils/long') as { fromValue(v: number | string): unknown; fromInt(v: number): unknown };
const { Types } = require('kafkajs/src/protocol/message/compression') as { Types: { None: number; GZIP: number } };
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression') as { lookupCodecByAttributes(a: number): { decompress(b: Buffer): Promise<Buffer> } };

const decompress: Decompress = async (attributes, compressed) => lookupCodecByAttributes(attributes).decompress(compressed);

async function batch(firstOffset: number, values: Array<string | null>, options: { transactional?: boolean; producerId?: number; compression?: number } = {}): Promise<Buffer> {
  const encoded = await RecordBatch({
    firstOffset: Long.fromValue(firstOffset),
    lastOffsetDelta: values.length - 1,
    transactional: options.transactional ?? false,
    producerId: Long.fromValue(options.producerId ?? -1),
    compression: options.compression ?? Types.None,
    // A large timestamp delta and a header: the varlong and the skip by length are exercised.
    records: values.map((value, i) => Record({ offsetDelta: i, timestampDelta: i * 5_000_000_000, key: Buffer.from(`key-${i}`), value: value === null ? null : Buffer.from(value), headers: { h: 'x' } })),
  });
  return encoded.buffer;
}

/** A control batch: one record whose key is (version 0, type). */
async function marker(offset: number, producerId: number, type: 0 | 1): Promise<Buffer> {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type, 2);
  const encoded = await RecordBatch({ firstOffset: Long.fromValue(offset), transactional: true, producerId: Long.fromValue(producerId), records: [Record({ offsetDelta: 0, key, value: Buffer.alloc(6) })] });
  // Set the control bit (0x20) of the attributes (bytes 21-22); the parser does not check CRCs.
  const out = Buffer.from(encoded.buffer);
  out.writeInt16BE(out.readInt16BE(21) | 0x20, 21);
  return out;
}

const wantedSet = (offsets: number[]) => {
  const set = new Set(offsets);
  return { isWanted: (o: number) => set.has(o), wantsAnyIn: (from: number, to: number) => offsets.some((o) => o >= from && o <= to) };
};
const text = (values: Map<number, Buffer | null>) => new Map([...values].map(([o, v]) => [o, v === null ? null : v.toString()]));

describe('taking wanted records out of a Fetch answer', () => {
  it('copies out only the wanted values, steps over batches with none, and ends at a cut batch', async () => {
    const first = await batch(0, ['a0', 'a1', 'a2']);
    const second = await batch(3, ['b3', null, 'b5']);
    const third = await batch(6, ['c6', 'c7']);
    // The broker cut the answer inside the third batch.
    const set = Buffer.concat([first, second, third.subarray(0, third.length - 5)]);
    const { isWanted, wantsAnyIn } = wantedSet([1, 4, 5, 7]);
    const taken = await takeWantedRecords(set, 0, [], isWanted, wantsAnyIn, decompress);
    expect(text(taken.values)).toEqual(
      new Map<number, string | null>([
        [1, 'a1'],
        [4, null],
        [5, 'b5'],
      ]),
    );
    // Offset 7 is in the cut batch: not covered, read again by the next Fetch.
    expect(taken.lastOffset).toBe(5);
    expect(taken.batchesWalked).toBe(2);

    const none = await takeWantedRecords(set, 0, [], () => false, () => false, decompress);
    expect(none.batchesWalked).toBe(0);
    expect(none.batches).toBe(2);
    expect(none.lastOffset).toBe(5);
  });

  it('takes nothing below the offset the Fetch asked from, though its first batch begins lower', async () => {
    // Asked from 4 (say 3 was judged gone: the log starts at 4, inside this batch): 3 stays gone.
    const set = await batch(0, ['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
    const { isWanted, wantsAnyIn } = wantedSet([3, 5]);
    const taken = await takeWantedRecords(set, 4, [], isWanted, wantsAnyIn, decompress);
    expect(text(taken.values)).toEqual(new Map([[5, 'a5']]));
  });

  it('leaves out an aborted transaction’s batches until its abort marker, and keeps a committed one beside it', async () => {
    const set = Buffer.concat([
      await batch(0, ['kept-0'], { transactional: true, producerId: 7 }),
      await batch(1, ['dropped-1', 'dropped-2'], { transactional: true, producerId: 9 }),
      await marker(3, 9, 0),
      await marker(4, 7, 1),
      // Producer 9 again, in a later transaction that committed.
      await batch(5, ['kept-5'], { transactional: true, producerId: 9 }),
    ]);
    const { isWanted, wantsAnyIn } = wantedSet([0, 1, 2, 3, 4, 5]);
    const taken = await takeWantedRecords(set, 0, [{ producerId: '9', firstOffset: 1 }], isWanted, wantsAnyIn, decompress);
    expect(text(taken.values)).toEqual(
      new Map([
        [0, 'kept-0'],
        [5, 'kept-5'],
      ]),
    );
    expect(taken.lastOffset).toBe(5);
  });

  it('inflates a compressed batch', async () => {
    const set = await batch(100, ['g100', 'g101', 'g102'], { compression: Types.GZIP });
    const { isWanted, wantsAnyIn } = wantedSet([101]);
    const taken = await takeWantedRecords(set, 0, [], isWanted, wantsAnyIn, decompress);
    expect(text(taken.values)).toEqual(new Map([[101, 'g101']]));
  });
});
