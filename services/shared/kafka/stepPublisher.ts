/**
 * What a partition's steps publish through: a transactional producer per owned partition
 * (transactionalPublisher.ts), or — when the state is derived again from the logs (anonmerge
 * rebuild) — nothing at all, since every output was published when its records were first
 * applied and the commands and clocks the control plane decides are in the commands log already.
 */
import type { EncodedOutput } from './encodedOutput';
import type { AlongsidePosition } from './transactionalPublisher';

export interface StepPublisher {
  acquire(partition: number): Promise<void>;
  /** `nextOffset` null: the outputs alone, no position committed (see StepOutcome.positionMayWait). */
  publish(partition: number, outputs: readonly EncodedOutput[], nextOffset: number | null, metadata?: string, alongside?: readonly AlongsidePosition[]): Promise<void>;
  release(partition: number): Promise<void>;
  close(): Promise<void>;
}

/** anonmerge rebuild: the steps run and store their state; nothing is sent and no offset committed. */
export const publishingNothing: StepPublisher = {
  acquire: async () => undefined,
  publish: async () => undefined,
  release: async () => undefined,
  close: async () => undefined,
};
