import { loadSchema } from '../../../services/shared/avro/schemaFiles';
import type { TopicConfig } from '../../../services/shared/config';
import fc from 'fast-check';
import type { EncodedOutput } from '../../../services/merger/redis/codec';
import { mergedEventRuns, ORDER_RECORD_BYTES, packOrderedOutputs, piecesOfRun, splitMergedEvents, type OrderedOutput } from '../../../services/merger/order/orderRecords';

const output = (stream: string, key: string, bytes: number) => ({ stream, key, value: Buffer.alloc(bytes) });
const ordered = (key: string, recordId: string, bytes = 10): OrderedOutput => ({ controlPartition: 0, at: 1, recordId, content: 'c', index: 0, source: 1, key, values: [Buffer.alloc(bytes)] });

describe('person-order records (order/orderRecords.ts)', () => {
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

  it("packs a step's ordered outputs into one record per partition of their key, in their order, a new record past the byte limit", () => {
    const partitionOf = (key: string) => (key.startsWith('a') ? 0 : 1);
    const outputs = [ordered('a1', 'r1'), ordered('b1', 'r2'), ordered('a2', 'r3'), ordered('b1', 'r4', 5000), ordered('a1', 'r5')];
    const records = packOrderedOutputs(outputs, partitionOf, 1000);
    expect(records.map((record) => [record.partition, record.outputs.map((o) => o.recordId)])).toEqual([
      [0, ['r1', 'r3', 'r5']],
      [1, ['r2']],
      // Above the limit: a record of its own (and the next of that partition starts another).
      [1, ['r4']],
    ]);
    // Per partition, the outputs keep their order: what the order stage reads, it reads in step order.
    expect(records.filter((r) => r.partition === 0).flatMap((r) => r.outputs)).toEqual(outputs.filter((o) => o.key.startsWith('a')));
  });

  it('an OrderedOutputs record (several outputs, each with its key) encodes and decodes with the schema', () => {
    const type = loadSchema('personOrder', { personOrder: 'order' } as unknown as TopicConfig).type;
    const one = { control_partition: 2, at: 5, record_id: 'r', content: 'c', index: 1, source: -3, values: [Buffer.from('v'), null] };
    const record = { entry: { 'dev.anonmerge.order.OrderedOutputs': { outputs: [{ key: 'w/p/id:1', output: one }, { key: 'w/p/id:2', output: { ...one, index: 4 } }] } } };
    expect(type.fromBuffer(type.toBuffer(record))).toEqual(record);
  });

  it("R2b: an item's outputs split into its merged events at its place, run by run in pieces, and the others in order", () => {
    const place = { controlPartition: 1, at: 5, recordId: 'r', content: 'c', source: 2 };
    const anOutput = fc.record({ stream: fc.constantFrom('mergedEvents', 'mergedEvents', 'activity', 'triggers'), key: fc.constantFrom('p', 'q'), bytes: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(ORDER_RECORD_BYTES / 2 + 1)) });
    fc.assert(
      fc.property(fc.array(anOutput, { maxLength: 12 }), (specs) => {
        const outputs = specs.map((o) => output(o.stream, o.key, o.bytes)) as EncodedOutput[];
        const split = splitMergedEvents(outputs, place);
        // What it must equal: each run of one key's merged events in pieces of at most the limit, indexed by its first output.
        const runs = mergedEventRuns(outputs);
        expect(split.others).toEqual(runs.flatMap((part) => (part.kind === 'other' ? [part.output] : [])));
        const expected = runs.flatMap((part) => (part.kind === 'merged' ? piecesOfRun(part.outputs, part.index, ORDER_RECORD_BYTES).map((piece) => ({ ...place, index: piece.index, key: part.outputs[0]?.key, values: piece.outputs.map((o) => o.value) })) : []));
        expect(split.ordered).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
