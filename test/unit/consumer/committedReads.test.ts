/**
 * The consumer helper refuses a kafkajs that passes records of aborted transactions to
 * read_committed consumers (services/consumer/committedReads.ts). Its check must say yes to the
 * kafkajs this repository installs and no to kafkajs 2.2.4 as published.
 */
import { filtersAbortedTransactions, kafkajsFiltersAbortedTransactions, type AbortFilter } from '../../../services/consumer/committedReads';

/** kafkajs 2.2.4's src/consumer/filterAbortedMessages.js as published (before the repository's patch), in TypeScript. */
const publishedFilter: AbortFilter = ({ messages, abortedTransactions }) => {
  const current = new Map<string, boolean>();
  if (!abortedTransactions.length) return messages;
  const remaining = [...abortedTransactions];
  const isAbortMarker = (key: Buffer | null) => key !== null && Buffer.from(key).equals(Buffer.from([0, 0, 0, 0]));
  return messages.filter((message) => {
    if (remaining.length && BigInt(message.offset) >= BigInt((remaining[0] as { firstOffset: string }).firstOffset)) {
      current.set((remaining.shift() as { producerId: string }).producerId, true);
    }
    const { producerId, inTransaction } = message.batchContext;
    if (isAbortMarker(message.key)) current.delete(producerId);
    else if (current.has(producerId) && inTransaction) return false;
    return true;
  });
};

describe('the consumer helper’s read_committed check', () => {
  it('accepts the kafkajs installed here (patches/kafkajs+2.2.4.patch)', () => {
    expect(kafkajsFiltersAbortedTransactions()).toBe(true);
  });

  it('refuses kafkajs 2.2.4 as published, which lets an interleaved aborted record through', () => {
    expect(filtersAbortedTransactions(publishedFilter)).toBe(false);
  });

  it('refuses a filter that drops nothing', () => {
    expect(filtersAbortedTransactions(({ messages }) => messages)).toBe(false);
  });
});
