/**
 * A claim that fails is said in the log (services/shared/kafka/sequentialPartitions.ts): kafkajs
 * retries a batch whose handler threw one of its own errors without logging it, so a claim that
 * keeps failing — the previous owner's transaction not settling, the coordinator away — would
 * otherwise look like a consumer with nothing to read.
 */
import type { Admin, Batch, Consumer, EachBatchPayload } from 'kafkajs';
import { KafkaJSProtocolError } from 'kafkajs';
import { sequentialPartitions, type StepOutcome } from '../../../../services/shared/kafka/sequentialPartitions';
import { capturingLogger } from '../../../support/capturingLogger';

const batchOf = (topic: string, partition: number): Batch =>
  ({ topic, partition, messages: [{ offset: '7', key: null, value: Buffer.from('x'), timestamp: '0', attributes: 0, headers: {} }], fetchedOffset: '7', firstOffset: () => '7' }) as unknown as Batch;

const payloadOf = (batch: Batch): EachBatchPayload =>
  ({
    batch,
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    commitOffsetsIfNecessary: async () => undefined,
    uncommittedOffsets: () => ({ topics: [] }),
    isRunning: () => true,
    isStale: () => false,
    pause: () => () => undefined,
  }) as unknown as EachBatchPayload;

describe('a partition whose claim fails', () => {
  it('logs the failure with its topic and partition, and throws it on for kafkajs to retry', async () => {
    const { lines, logger } = capturingLogger();
    // What the coordinator answers while it still completes the previous owner's transaction.
    const refusal = new KafkaJSProtocolError('The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing');
    let acquired = 0;
    const partitions = sequentialPartitions<number, StepOutcome>({
      consumer: () => ({ seek: () => undefined, resume: () => undefined }) as unknown as Consumer,
      admin: {} as Admin,
      publisher: {
        acquire: async () => {
          acquired += 1;
          throw refusal;
        },
        publish: async () => undefined,
        release: async () => undefined,
        close: async () => undefined,
      },
      logger,
      groupId: 'g',
      topics: ['requests'],
      generation: () => 1,
      fromBeginning: true,
      step: {
        claim: (partition) => partition,
        process: async () => {
          throw new Error('a batch of a partition never claimed must not be processed');
        },
        committed: () => undefined,
      },
    });

    await expect(partitions.eachBatch(payloadOf(batchOf('requests', 2)))).rejects.toBe(refusal);
    const warned = lines.filter((line) => line.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ topic: 'requests', partition: 2, msg: 'claiming the partition failed; kafkajs reads the batch again' });
    expect(warned[0]?.err?.message).toContain('another concurrent operation');

    // Read again, the batch is claimed again: nothing was kept of the failed claim.
    await expect(partitions.eachBatch(payloadOf(batchOf('requests', 2)))).rejects.toBe(refusal);
    expect(acquired).toBe(2);
  });
});
