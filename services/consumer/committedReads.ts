/**
 * Whether the kafkajs this process loaded drops the records of aborted transactions the way the
 * Java consumer does. kafkajs 2.2.4 does not when several transactional producers interleave in
 * one partition — which is how the merger writes its outbound topics (a producer per input
 * partition) — so a read_committed consumer on the stock library sees records of transactions
 * the merger aborted, as duplicates. This repository installs kafkajs with a fix
 * (patches/kafkajs+2.2.4.patch); the consumer helper refuses to start on a kafkajs without it.
 *
 * The check runs the library's own filter on a case the stock code gets wrong: producer 1's
 * transaction is aborted after producer 2's started, interleaved.
 */
interface FilterInput {
  messages: Array<{ offset: string; key: Buffer | null; batchContext: { producerId: string; inTransaction: boolean } }>;
  abortedTransactions: Array<{ firstOffset: string; producerId: string }>;
}

export type AbortFilter = (input: FilterInput) => Array<{ offset: string }>;

/** True when `filter` drops the records of both aborted transactions of the interleaved case. */
export function filtersAbortedTransactions(filter: AbortFilter): boolean {
  const abortMarker = Buffer.from([0, 0, 0, 0]);
  const record = (offset: number, producerId: string, key: Buffer | null = Buffer.from('k')) => ({ offset: String(offset), key, batchContext: { producerId, inTransaction: true } });
  const kept = filter({
    messages: [record(10, '1'), record(11, '2'), record(12, '1'), record(13, '1', abortMarker), record(14, '2'), record(15, '2', abortMarker)],
    abortedTransactions: [{ firstOffset: '11', producerId: '2' }, { firstOffset: '10', producerId: '1' }],
  });
  // Only the two abort markers (control records, which the consumer drops later) may remain.
  return kept.map((m) => m.offset).join(',') === '13,15';
}

/** The check on the kafkajs this process loads. */
export function kafkajsFiltersAbortedTransactions(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return filtersAbortedTransactions(require('kafkajs/src/consumer/filterAbortedMessages') as AbortFilter);
  } catch {
    return false;
  }
}
