import { IDLE_COMMIT_MS, publishMode } from '../../../services/shared/kafka/sequentialPartitions';

describe('what a two-plane step publishes', () => {
  it('a step that stored something or decided something commits its outputs and positions', () => {
    expect(publishMode({}, 0)).toBe('all');
    expect(publishMode({ nothingToCommit: false, positionMayWait: false }, 10)).toBe('all');
  });

  it('a step that wrote nothing sends nothing while the position is fresh', () => {
    expect(publishMode({ nothingToCommit: true, positionMayWait: true }, IDLE_COMMIT_MS - 1)).toBe('nothing');
  });

  it('a clock-only control step sends its clock records without a position while the position is fresh', () => {
    expect(publishMode({ nothingToCommit: false, positionMayWait: true }, 0)).toBe('outputs');
    expect(publishMode({ positionMayWait: true }, IDLE_COMMIT_MS - 1)).toBe('outputs');
  });

  it('once the position has waited IDLE_COMMIT_MS, any step commits it, so a quiet partition shows no lag', () => {
    expect(publishMode({ nothingToCommit: true }, IDLE_COMMIT_MS)).toBe('all');
    expect(publishMode({ positionMayWait: true }, IDLE_COMMIT_MS + 500)).toBe('all');
  });
});
