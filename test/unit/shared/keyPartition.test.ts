import { Partitioners } from 'kafkajs';
import { keyPartition } from '../../../services/shared/kafka/keyPartition';

describe('keyPartition', () => {
  it("gives a key the partition kafkajs' default partitioner gives it (a record sent to an explicit partition lands where the key alone would)", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const keys = Array.from({ length: 500 }, (_, i) => `ws-${i % 7}/p/email:person-${i * 7919}@example.com`);
    for (const partitions of [1, 2, 3, 6, 24]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      const theirs = keys.map((key) => partitioner({ topic: 't', partitionMetadata, message: { key, value: null } }));
      expect(keys.map((key) => keyPartition(key, partitions))).toEqual(theirs);
    }
  });
});
