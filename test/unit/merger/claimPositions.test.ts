/**
 * Where a two-plane consumer reads a partition from when it claims it
 * (services/merger/kafka/sequentialPartitions.ts, claimPositions): Kafka's committed positions,
 * unless Redis's progress record is behind them — Redis lost writes that Kafka committed.
 */
import { claimPositions, type ClaimedPosition, type RecordedProgress } from '../../../services/shared/kafka/sequentialPartitions';

const at = (offset: number, metadata: string | null = `m${offset}`): ClaimedPosition => ({ offset, metadata });
const positions = (inbound: ClaimedPosition, commands: ClaimedPosition) =>
  new Map([
    ['inbound', inbound],
    ['commands', commands],
  ]);
const recorded = (writes: number, map: Map<string, ClaimedPosition>): RecordedProgress => ({ writes, positions: map });
const both = new Set(['inbound', 'commands']);

describe('claim positions', () => {
  it('trusts Kafka when there is no progress log', () => {
    const committed = positions(at(10), at(4));
    expect(claimPositions(committed, both, null, new Map())).toEqual({ readFrom: committed, committed, recovering: false });
  });

  it('reads from Kafka when Redis recorded as far or further (a transaction that failed after the record)', () => {
    const committed = positions(at(10), at(4));
    expect(claimPositions(committed, both, recorded(3, positions(at(10), at(4))), new Map()).recovering).toBe(false);
    expect(claimPositions(committed, both, recorded(4, positions(at(12), at(6))), new Map()).readFrom).toBe(committed);
  });

  it('recovers from the positions Redis recorded when one log is behind, with their metadata', () => {
    const committed = positions(at(10), at(4));
    const claim = claimPositions(committed, both, recorded(2, positions(at(10), at(1, 'old clocks'))), new Map());
    expect(claim.recovering).toBe(true);
    expect(claim.readFrom.get('commands')).toEqual(at(1, 'old clocks'));
    expect(claim.readFrom.get('inbound')).toEqual(at(10));
    expect(claim.committed).toBe(committed);
  });

  it('reads each log again from its start when Redis has no record of a partition the group committed (Redis emptied)', () => {
    const committed = positions(at(10), at(4));
    const claim = claimPositions(committed, both, recorded(0, new Map()), new Map([['inbound', 3], ['commands', 0]]));
    expect(claim.recovering).toBe(true);
    expect(claim.readFrom.get('inbound')).toEqual({ offset: 3, metadata: null });
    expect(claim.readFrom.get('commands')).toEqual({ offset: 0, metadata: null });
  });

  it('does not recover on a first claim: nothing committed by the group, nothing recorded', () => {
    const committed = positions(at(0, null), at(0, null));
    expect(claimPositions(committed, new Set(), recorded(0, new Map()), new Map()).recovering).toBe(false);
  });
});
