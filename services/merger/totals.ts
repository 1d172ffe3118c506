/**
 * A consumer's running totals (the "merger totals" log line): one more batch, and each count of
 * the batch's tally added to the total of the same name.
 */
export function addBatchToTotals(totals: object, tally: object): void {
  const sums = totals as Record<string, number>;
  sums.batches = (sums.batches ?? 0) + 1;
  for (const [key, value] of Object.entries(tally as Record<string, number>)) sums[key] = (sums[key] ?? 0) + value;
}
