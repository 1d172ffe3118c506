import { mergedEventRuns, piecesOfRun } from '../../../services/merger/order/orderRecords';

const output = (stream: string, key: string, bytes: number) => ({ stream, key, value: Buffer.alloc(bytes) });

describe('person-order records (order/orderRecords.ts)', () => {
  it("groups an item's consecutive merged events of one key into runs, each with the index of its first output", () => {
    const outputs = [output('mergedEvents', 'p', 1), output('mergedEvents', 'p', 1), output('campaignTriggers', 'p', 1), output('mergedEvents', 'p', 1), output('mergedEvents', 'q', 1)];
    expect(mergedEventRuns(outputs).map((part) => (part.kind === 'other' ? 'other' : `${part.index}:${part.outputs.length}`))).toEqual(['0:2', 'other', '3:1', '4:1']);
  });

  it('R2b: splits a run into pieces of at most the byte limit, in order, each indexed by its first output, so none is above what Kafka takes in one record', () => {
    const run = [300, 300, 300, 900, 100, 100, 2000, 50].map((bytes) => output('mergedEvents', 'p', bytes));
    const pieces = piecesOfRun(run, 7, 1000);
    expect(pieces.map((piece) => [piece.index, piece.outputs.map((o) => o.value.length)])).toEqual([
      [7, [300, 300, 300]],
      [10, [900, 100]],
      [12, [100]],
      // One output above the limit goes alone rather than not at all.
      [13, [2000]],
      [14, [50]],
    ]);
    expect(pieces.flatMap((piece) => piece.outputs)).toEqual(run);
  });
});
