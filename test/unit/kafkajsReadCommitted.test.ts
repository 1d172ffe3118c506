/**
 * kafkajs 2.2.4 let records of aborted transactions through to read_committed consumers when
 * several transactional producers interleave in a partition (found by the merger's crash test:
 * 800 "duplicates" that the Java console consumer did not see). patches/kafkajs+2.2.4.patch
 * fixes its filter; this checks the installed kafkajs carries the fix.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages') as (input: {
  messages: Array<{ offset: string; key: Buffer | null; batchContext: { producerId: string; inTransaction: boolean } }>;
  abortedTransactions: Array<{ firstOffset: string; producerId: string }>;
}) => Array<{ offset: string }>;

const ABORT = Buffer.from([0, 0, 0, 0]);
const record = (offset: number, producerId: string) => ({ offset: String(offset), key: Buffer.from('k'), batchContext: { producerId, inTransaction: true } });
const abortMarker = (offset: number, producerId: string) => ({ offset: String(offset), key: ABORT, batchContext: { producerId, inTransaction: true } });

describe('kafkajs read_committed filtering (patched)', () => {
  it('drops every record of transactions that were aborted, however they interleave', () => {
    // Producers 1 and 2 both open transactions before offset 10; both are aborted later.
    const messages = [record(10, '1'), record(11, '2'), record(12, '3'), record(13, '1'), abortMarker(14, '1'), record(15, '2'), abortMarker(16, '2'), record(17, '1')];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ firstOffset: '5', producerId: '2' }, { firstOffset: '3', producerId: '1' }] });
    expect(kept.map((m) => m.offset)).toEqual(['12', '14', '16', '17']);
  });

  it('keeps everything when nothing was aborted', () => {
    const messages = [record(1, '1'), record(2, '2')];
    expect(filterAbortedMessages({ messages, abortedTransactions: [] })).toHaveLength(2);
  });
});
