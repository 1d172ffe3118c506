/**
 * bench/history.ts: the throughput runs' history (bench/results/history.jsonl) and what a run is
 * compared with — the same number of records on the same machine, the last few runs' median.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendHistory, compareWithHistory, comparableRuns, currentCommit, historyReport, readHistory, REGRESSION_SHARE, type HistoryEntry } from '../../../bench/history';
import { projectRoot } from '../../../services/shared/projectRoot';

const run = (recordsPerSecond: number) => ({ recordsPerSecond, cpuMicrosPerRecord: Math.round(1e6 / recordsPerSecond), cpu: { merger: 50, redis: 14, kafka: 8 } });
const entry = (perSecond: number, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  at: '2026-12-03T17:00:00.000Z',
  commit: 'abc1234',
  command: 'bench-merger',
  records: 1_000_001,
  machine: { cpu: 'Xeon', cores: 2 },
  raw: run(140_000),
  merger1: run(perSecond),
  merger2: run(perSecond * 1.1),
  ...over,
});

describe('bench history', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-history-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one line per run and reads them back, skipping a line cut short and one not whole', () => {
    const file = path.join(dir, 'results', 'history.jsonl');
    expect(readHistory(file)).toEqual([]);
    appendHistory(file, entry(19_000));
    // An interrupted write: no end of line. The next run must still get a line of its own.
    appendFileSync(file, '{"records": 1000001, "merger1": {"recordsPe');
    appendHistory(file, entry(20_000, { commit: 'def5678' }));
    // Valid JSON, but not a whole entry (no raw or merger2 figures).
    appendFileSync(file, `${JSON.stringify({ ...entry(1), raw: undefined, merger2: undefined })}\n`);
    appendHistory(file, entry(21_000, { commit: '0123456' }));
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(5);
    expect(readHistory(file).map((h) => [h.commit, h.merger1.recordsPerSecond])).toEqual([
      ['abc1234', 19_000],
      ['def5678', 20_000],
      ['0123456', 21_000],
    ]);
  });

  it('compares a run only with runs of the same size on the same machine', () => {
    const current = entry(18_000);
    const history = [entry(10_000, { records: 400_003 }), entry(11_000, { machine: { cpu: 'Xeon', cores: 4 } }), entry(12_000, { machine: { cpu: 'EPYC', cores: 2 } }), entry(9_000, { profiled: true }), entry(19_000), current];
    expect(comparableRuns(history, current).map((h) => h.merger1.recordsPerSecond)).toEqual([19_000]);
  });

  it('calls a run a possible regression only when it is well below the median of the last five', () => {
    const previous = [30_000, 19_000, 20_000, 21_000, 19_500, 20_500].map((n) => entry(n));
    // The median of the last five (the 30,000 of an older run is out of them): 20,000.
    const compared = compareWithHistory(previous, entry(18_000));
    expect(compared).toMatchObject({ median: 20_000, regression: false, runs: 5 });
    expect(compared?.change).toBeCloseTo(-0.1, 10);
    // Exactly 15 % below is not more than 15 % below; one record/s further is.
    expect(compareWithHistory(previous, entry(20_000 * (1 - REGRESSION_SHARE)))?.regression).toBe(false);
    expect(compareWithHistory(previous, entry(20_000 * (1 - REGRESSION_SHARE) - 1))?.regression).toBe(true);
    expect(compareWithHistory([], entry(18_000))).toBeNull();
  });

  it('reports the last runs and the verdict', () => {
    const history = [entry(20_000, { commit: 'aaa1111' }), entry(20_400, { commit: 'bbb2222' })];
    const slow = entry(15_000, { commit: 'ccc3333+changes' });
    const report = historyReport(history, slow);
    expect(report).toContain('| aaa1111');
    expect(report).toContain('| ccc3333+changes');
    expect(report).toContain('−26 % against the median of the last 2 comparable run(s) (20,200 records/s)');
    expect(report).toContain('POSSIBLE REGRESSION');
    expect(historyReport([], entry(20_000))).toContain('nothing to compare with yet');
    expect(historyReport(history, entry(20_100))).not.toContain('REGRESSION');
    expect(historyReport(history, entry(20_240))).toContain('±0 % against');
    // A profiled run is slower by the profiler's cost: kept, never compared.
    expect(historyReport(history, entry(9_000, { profiled: true }))).toContain('not compared');
    expect(historyReport([...history, entry(9_000, { profiled: true })], entry(20_200))).toContain('±0 % against the median of the last 2');
  });

  it('names the commit measured, and says when the work tree had changes', () => {
    expect(currentCommit(projectRoot())).toMatch(/^[0-9a-f]{7,}(\+changes)?$/);
    // Not a git work tree: said, not thrown.
    writeFileSync(path.join(dir, 'file'), 'x');
    expect(currentCommit(dir)).toBe('unknown');
  });
});
