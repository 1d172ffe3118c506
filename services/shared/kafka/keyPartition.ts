/**
 * The partition kafkajs' default partitioner gives a keyed record: the murmur2 hash of the key,
 * made positive, modulo the partition count (as the Java client does). For code that must find or
 * choose the partition a producer would — a record sent with an explicit partition must land
 * where the same key sent alone would.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string | Buffer) => number;

export function keyPartition(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
