/**
 * patches/kafkajs+2.2.4.patch makes kafkajs' produce path cheaper (found by profiling the merger:
 * it spent a tenth of its time in one quadratic function). Each change must keep the bytes and
 * partitions kafkajs produced before; these check the installed kafkajs against known answers.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (input: {
  topic: string;
  partitionMetadata: unknown[];
  messages: Array<{ key: string; n: number }>;
  partitioner: (input: { message: { key: string; n: number } }) => number;
}) => Record<string, Array<{ key: string; n: number }>>;
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as ((buffer: Buffer) => number) & { native: boolean };
const crc32CInJs = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (buffer: Buffer) => number;
const Encoder = require('kafkajs/src/protocol/encoder') as {
  new (): { writeVarLong(v: number): { buffer: Buffer }; writeVarInt(v: number): { buffer: Buffer } };
  sizeOfVarLong(v: number): number;
};

describe('kafkajs produce path (patched)', () => {
  it('checksums record batches with the native CRC-32C, equal to the JS table one', () => {
    // The native one whenever its library loads here (a platform with no prebuilt binary falls back).
    const loads = (() => {
      try {
        require('@node-rs/crc32');
        return true;
      } catch {
        return false;
      }
    })();
    expect(crc32C.native).toBe(loads);
    // Where CI and the bench machine run (Linux x64, glibc), it must load.
    if (process.platform === 'linux' && process.arch === 'x64') expect(loads).toBe(true);
    // The check value of CRC-32C (Castagnoli), and the iSCSI test vectors of RFC 3720 B.4.
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32C(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32C(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32C(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    // Views into a larger buffer (kafkajs checksums a batch's body from its 21st byte), any length.
    const big = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7919 + (i >> 3)) & 0xff));
    for (const [start, end] of [[0, 0], [21, 22], [21, 1000], [3, 65537], [17, 70000]] as const) {
      const view = big.subarray(start, end);
      expect(crc32C(view)).toBe(crc32CInJs(view) >>> 0);
    }
  });

  it('murmur2 gives the Java client partitioner hashes (Kafka UtilsTest vectors)', () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) {
      expect(murmur2(key)).toBe(hash);
      expect(murmur2(Buffer.from(key))).toBe(hash);
    }
  });

  it('groups messages by partition in their order, once each, for a large batch', () => {
    const messages = Array.from({ length: 20000 }, (_, n) => ({ key: `k${n % 37}`, n }));
    const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata: [{}], messages, partitioner: ({ message }) => Number(message.key.slice(1)) % 6 });
    expect(Object.keys(grouped).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    const all = Object.values(grouped).flat();
    expect(all).toHaveLength(messages.length);
    for (const [partition, list] of Object.entries(grouped)) {
      expect(list.every((m) => Number(m.key.slice(1)) % 6 === Number(partition))).toBe(true);
      expect(list.map((m) => m.n)).toEqual([...list.map((m) => m.n)].sort((a, b) => a - b));
    }
  });

  it('writes zigzag varlongs with the same bytes on the 32-bit path and the 64-bit one', () => {
    // Bytes as the unpatched kafkajs 2.2.4 wrote them (zigzag(150) = 300 → ac 02).
    const cases: Array<[number, string]> = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [150, 'ac02'],
      [-64, '7f'],
      [64, '8001'],
      [2 ** 31 - 1, 'feffffff0f'],
      [-(2 ** 31), 'ffffffff0f'],
      [2 ** 31, '8080808010'], // beyond 32 bits: the Long path
      [1_764_000_000_000, '80a0bfe9d666'],
    ];
    for (const [value, hex] of cases) {
      expect(new Encoder().writeVarLong(value).buffer.toString('hex')).toBe(hex);
      expect(Encoder.sizeOfVarLong(value)).toBe(hex.length / 2);
    }
  });
  it('writes an uncompressed record batch in one pass with the bytes kafkajs wrote per record', async () => {
    type Message = { key?: string | Buffer | null; value: string | Buffer | null; headers?: Record<string, string>; timestamp?: string };
    const Long = require('kafkajs/src/utils/long') as { fromValue(v: number): unknown; fromInt(v: number): unknown };
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (input: object) => unknown;
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (input: object) => Promise<{ size(): number }> };
    const Produce = require('kafkajs/src/protocol/requests/produce/v3/request') as (input: object) => { encode(): Promise<{ buffer: Buffer }> };
    const Writer = require('kafkajs/src/protocol/encoder') as new () => {
      writeInt16(v: number): InstanceType<typeof Writer>;
      writeInt32(v: number): InstanceType<typeof Writer>;
      writeString(v: string | null): InstanceType<typeof Writer>;
      writeArray(v: unknown[]): InstanceType<typeof Writer>;
      writeEncoder(v: unknown): InstanceType<typeof Writer>;
      buffer: Buffer;
    };
    // What unpatched kafkajs 2.2.4 wrote for one partition (produce/v3/request.js partitionsEncoder).
    const unpatchedPartition = async (partition: number, messages: Message[], batch: { producerId: unknown; producerEpoch: number; firstSequence: number; transactional: boolean }, now: number) => {
      const stamps = messages.map((m) => m.timestamp).filter((t) => t != null).sort();
      const stampsOrNow = stamps.length === 0 ? [now] : stamps;
      const firstTimestamp = stampsOrNow[0];
      const records = messages.map((message, i) => Record({ ...message, offsetDelta: i, timestampDelta: (Number(message.timestamp) || now) - Number(firstTimestamp) }));
      const recordBatch = await RecordBatch({ records, firstTimestamp, maxTimestamp: stampsOrNow[stampsOrNow.length - 1], lastOffsetDelta: records.length - 1, ...batch });
      return new Writer().writeInt32(partition).writeInt32(recordBatch.size()).writeEncoder(recordBatch);
    };
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const text = (n: number) => Array.from({ length: n }, () => 'aé€😀-'[Math.floor(random() * 5)]).join('');
    const field = (): string | Buffer | null => {
      const r = random();
      if (r < 0.1) return null;
      if (r < 0.2) return '';
      if (r < 0.6) return text(Math.floor(random() * 40));
      return Buffer.from(text(Math.floor(random() * 300)));
    };
    const now = 1_764_000_000_123;
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      for (let round = 0; round < 60; round += 1) {
        // Some rounds have a message with headers or a timestamp: kafkajs' own way, same bytes.
        const messages: Message[] = Array.from({ length: 1 + Math.floor(random() * 300) }, () => ({ key: field(), value: field() }));
        if (round % 5 === 3) messages[0] = { ...messages[0], headers: { trace: 'x' } } as Message;
        if (round % 7 === 4) messages[messages.length - 1] = { ...messages[messages.length - 1], timestamp: String(now - 5) } as Message;
        const transactional = round % 2 === 0;
        const batch = { producerId: transactional ? Long.fromValue(4242 + round) : Long.fromInt(-1), producerEpoch: round % 3, firstSequence: round * 17, transactional };
        const partition = round % 6;
        const request = Produce({ acks: -1, timeout: 30000, transactionalId: transactional ? 'tx' : null, producerId: batch.producerId, producerEpoch: batch.producerEpoch, topicData: [{ topic: 'topic', partitions: [{ partition, firstSequence: batch.firstSequence, messages }] }] });
        const expected = new Writer()
          .writeString(transactional ? 'tx' : null)
          .writeInt16(-1)
          .writeInt32(30000)
          .writeArray([new Writer().writeString('topic').writeArray([await unpatchedPartition(partition, messages, batch, now)])]);
        expect((await request.encode()).buffer.toString('hex')).toBe(expected.buffer.toString('hex'));
      }
    } finally {
      clock.mockRestore();
    }
  });
});
