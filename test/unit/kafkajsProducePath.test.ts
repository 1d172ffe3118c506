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
const Encoder = require('kafkajs/src/protocol/encoder') as {
  new (): { writeVarLong(v: number): { buffer: Buffer }; writeVarInt(v: number): { buffer: Buffer } };
  sizeOfVarLong(v: number): number;
};

describe('kafkajs produce path (patched)', () => {
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
});
