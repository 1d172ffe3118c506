/**
 * The rules by which a test run's teardown picks what to remove from the shared stack, and how it
 * tells that the run created one of the names `make run` uses.
 */
import { isRemovableTestName, newRunId, STALE_RUN_MS } from '../support/testRun';
import { defaultsCreated, sandboxEnvironment } from '../support/testNamespace';

describe('test run names', () => {
  const now = Date.UTC(2026, 10, 29, 12);
  const run = newRunId(now);

  it("removes the run's own names, whatever they start with", () => {
    expect(isRemovableTestName(`test-fuzz-amt${run}-abc-0f0f0f.inbound`, run, now)).toBe(true);
    expect(isRemovableTestName(`secured-amt${run}-abc-0f0f0f`, run, now)).toBe(true);
    expect(isRemovableTestName(`test-merger-amt${run}-abc-0f0f0f:{demo|a|x}:s`, run, now)).toBe(true);
  });

  it('leaves a run in progress alone, and removes what a run long over left', () => {
    const other = newRunId(now - 60_000);
    expect(isRemovableTestName(`test-fuzz-amt${other}-abc-0f0f0f.inbound`, run, now)).toBe(false);
    const old = newRunId(now - STALE_RUN_MS - 1);
    expect(isRemovableTestName(`test-fuzz-amt${old}-abc-0f0f0f.inbound-value`, run, now)).toBe(true);
  });

  it("never removes the names make run uses, nor a person's own", () => {
    const names = [
      'anonmerge.inbound',
      'anonmerge.merged-events-value',
      'anonmerge-merger',
      'am:{demo|a|anon-1}:s',
      'anonmerge-feed-12-34',
      'contest-results',
      'web-tracking-events',
      'orders-transfers-v2',
      'test-orders',
      'test-orders-2024-archive',
      'x-amtzzzzzzzz-y', // reads as a time far in the future
      'x-amt00000001-y', // reads as 1970
    ];
    for (const name of names) {
      expect(isRemovableTestName(name, run, now)).toBe(false);
    }
  });

  it('removes names of the shape tests used before run ids, once their time is long past', () => {
    expect(isRemovableTestName(`test-fuzz-${newRunId(now - STALE_RUN_MS - 1)}-0f0f0f.inbound`, run, now)).toBe(true);
    expect(isRemovableTestName(`test-merger-${newRunId(now - STALE_RUN_MS - 1)}-0f0f0f:{w|a|x}:s`, run, now)).toBe(true);
    // An older checkout's run in progress keeps its names.
    expect(isRemovableTestName(`test-fuzz-${newRunId(now - 60_000)}-0f0f0f.inbound`, run, now)).toBe(false);
  });

  it("points every default topic, the merger's group and its Redis prefix at the run's own names", () => {
    const env = sandboxEnvironment(run);
    expect(Object.keys(env).sort()).toEqual([
      'ANONMERGE_MERGER_GROUP_ID',
      'ANONMERGE_MERGER_REDIS_PREFIX',
      'ANONMERGE_TOPIC_ACTIVITY',
      'ANONMERGE_TOPIC_ANONYMOUS_EVENTS',
      'ANONMERGE_TOPIC_CAMPAIGN_TRIGGERS',
      'ANONMERGE_TOPIC_COMMANDS',
      'ANONMERGE_TOPIC_DEAD_LETTERS',
      'ANONMERGE_TOPIC_INBOUND',
      'ANONMERGE_TOPIC_MERGED_EVENTS',
      'ANONMERGE_TOPIC_PERSON_OPS',
      'ANONMERGE_TOPIC_PERSON_ORDER',
      'ANONMERGE_TOPIC_REQUESTS',
      'ANONMERGE_TOPIC_WORKSPACES',
    ]);
    for (const value of Object.values(env)) expect(isRemovableTestName(value, run, now)).toBe(true);
  });

  it('a default name that appears during the run is reported; one that was there before is not', () => {
    const before = { topics: ['anonmerge.inbound'], subjects: [], groups: [], redisKeys: false };
    const after = { topics: ['anonmerge.inbound', 'anonmerge.merged-events'], subjects: ['anonmerge.merged-events-value'], groups: [], redisKeys: true };
    expect(defaultsCreated(before, after)).toEqual(['topic anonmerge.merged-events', 'subject anonmerge.merged-events-value', 'Redis keys am:*']);
    expect(defaultsCreated(after, after)).toEqual([]);
  });
});
