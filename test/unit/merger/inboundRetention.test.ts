import { inboundRetentionProblem } from '../../../services/merger/inboundRetention';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('the inbound topic keeps pending events for every workspace retention (docs/design-pending-pointers.md)', () => {
  it('R1: passes at exactly the longest retention plus the margin, and for a topic kept for ever', () => {
    expect(inboundRetentionProblem('in', { retentionMs: 30 * DAY + 48 * HOUR, retentionBytes: -1 }, 30 * DAY, 48 * HOUR)).toBeNull();
    expect(inboundRetentionProblem('in', { retentionMs: 35 * DAY, retentionBytes: -1 }, 30 * DAY, 48 * HOUR)).toBeNull();
    expect(inboundRetentionProblem('in', { retentionMs: -1, retentionBytes: -1 }, 365 * DAY, 48 * HOUR)).toBeNull();
  });

  it('R1: refuses 1 ms less, naming the topic, both figures and the setting to change', () => {
    const problem = inboundRetentionProblem('anonmerge.inbound', { retentionMs: 30 * DAY + 48 * HOUR - 1, retentionBytes: -1 }, 30 * DAY, 48 * HOUR);
    expect(problem).toContain('anonmerge.inbound');
    expect(problem).toContain('30.00 days');
    expect(problem).toContain(`retention.ms to at least ${30 * DAY + 48 * HOUR}`);
  });

  it('R1: refuses a size limit, which deletes by volume whatever the age', () => {
    expect(inboundRetentionProblem('in', { retentionMs: -1, retentionBytes: 10 ** 12 }, 30 * DAY, 0)).toContain('retention.bytes=1000000000000');
  });
});
