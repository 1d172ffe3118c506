/**
 * Issue 13 on the real stack: 100 back-to-back sequences of each kind through the HTTP API —
 * identify → delete, identify → merge_customers, identify → alias, merge → identify of the
 * secondary — on real ingest and merger processes in the two-plane mode, each sequence's outputs
 * equal to the reference model's, activity ids included (R2a–f, R9, R10). The same run in the
 * default mode is `make bench-sequences`. TWO_PLANES_SEQUENCES scales it. The reorder bound is
 * 500 ms here, not 100: on the 2-core CI machine, running other tests, ingest has been seen to
 * append a person operation 109 ms after stamping it, and such a record is applied after the
 * frontier rather than at its place (logged and counted; docs/design-person-operations.md).
 */
import { KINDS, runSequences } from '../../../bench/sequenceRuns';
import { freePort } from '../../support/freePort';
import { uniqueName } from '../../support/stack';

const SEQUENCES = Number(process.env.TWO_PLANES_SEQUENCES ?? 100);

describe('the two-plane merger against the reference model, through the API', () => {
  it(`R2a-f R9 R10: ${SEQUENCES} back-to-back sequences of each kind, each with the model's outputs`, async () => {
    const result = await runSequences({ sequences: SEQUENCES, twoPlanes: true, ingestPort: await freePort(), mergerPort: await freePort(), namePrefix: uniqueName('test-sequences'), reorderMs: 500 });
    process.stdout.write(`two-plane sequences: ${KINDS.map((kind) => `${kind} ${result.figures[kind].agree}/${SEQUENCES}`).join(', ')}\n`);
    for (const kind of KINDS) expect({ kind, ...result.figures[kind] }).toEqual({ kind, agree: SEQUENCES, agreeExceptIds: SEQUENCES, example: null });
  }, 600_000);
});
