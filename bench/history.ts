/**
 * The history of throughput runs: every `make bench-merger` and `make bench` appends one line to
 * bench/results/history.jsonl (the commit, the machine, and each run's records/s and CPU per
 * record), and prints the last runs of the same size on the same machine beside this one — so a
 * change that costs throughput shows the day it is measured, not months later.
 *
 * Single runs on the two-core bench machine vary by ~10 % back to back, so a run is only called a
 * possible regression when it is below the median of the previous comparable runs by more than
 * REGRESSION_SHARE; one run is a hint, a second one confirms it.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { markdownTable } from '../services/shared/markdownTable';
import { projectRoot } from '../services/shared/projectRoot';
import type { CpuParts } from './cpuUsage';
import type { ThroughputFigures } from './merger';
import { machine, RESULTS_DIR } from './support';

export interface HistoryRun {
  readonly recordsPerSecond: number;
  readonly cpuMicrosPerRecord: number;
  /** CPU seconds per part (the run's own processes, Redis, Kafka, the registry). */
  readonly cpu: CpuParts;
}

export interface HistoryEntry {
  readonly at: string;
  /** Run under the CPU profiler (BENCH_PROFILE=1): kept, but never compared with (it is slower). */
  readonly profiled?: boolean;
  /** `git describe`-like: the short commit, with "+changes" when the work tree differed from it. */
  readonly commit: string;
  readonly command: 'bench-merger' | 'bench';
  readonly records: number;
  readonly machine: { readonly cpu: string; readonly cores: number };
  readonly raw: HistoryRun;
  readonly merger1: HistoryRun;
  readonly merger2: HistoryRun;
}

/** Below the median of the previous comparable runs by more than this: said to be a possible regression. */
export const REGRESSION_SHARE = 0.15;

/**
 * The runs compared with: at most this many of the last comparable ones — enough for the median
 * to shrug off one odd run, few enough that it follows the code as it changes.
 */
export const COMPARED_RUNS = 5;

/** The commit measured, and whether the work tree had changes (a bench of uncommitted work). */
export function currentCommit(root: string): string {
  try {
    const options = { cwd: root, encoding: 'utf8' as const, timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] };
    const commit = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], options).trim();
    // --no-optional-locks: reading the status must not take the index lock from a git the user runs.
    const changed = execFileSync('git', ['--no-optional-locks', 'status', '--porcelain'], options).trim() !== '';
    return changed ? `${commit}+changes` : commit;
  } catch {
    return 'unknown';
  }
}

const isRun = (run: unknown): run is HistoryRun => {
  const r = run as Partial<HistoryRun> | null;
  return typeof r === 'object' && r !== null && typeof r.recordsPerSecond === 'number' && typeof r.cpuMicrosPerRecord === 'number' && typeof r.cpu === 'object' && r.cpu !== null;
};

const isEntry = (value: unknown): value is HistoryEntry => {
  const e = value as Partial<HistoryEntry> | null;
  return typeof e === 'object' && e !== null && typeof e.at === 'string' && typeof e.commit === 'string' && typeof e.records === 'number' && typeof e.machine?.cpu === 'string' && typeof e.machine.cores === 'number' && isRun(e.raw) && isRun(e.merger1) && isRun(e.merger2);
};

/** Reads the history; a line that is not a whole entry (an interrupted write, an older format) is skipped. */
export function readHistory(file: string): HistoryEntry[] {
  if (!existsSync(file)) return [];
  const entries: HistoryEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry: unknown = JSON.parse(line);
      if (isEntry(entry)) entries.push(entry);
    } catch {
      // An interrupted write leaves part of a line: the other runs still count.
    }
  }
  return entries;
}

export function appendHistory(file: string, entry: HistoryEntry): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // After an interrupted write the file ends inside a line: start a new one, or this run is lost with it.
  const cutShort = existsSync(file) && statSync(file).size > 0 && !readFileSync(file, 'utf8').endsWith('\n');
  appendFileSync(file, `${cutShort ? '\n' : ''}${JSON.stringify(entry)}\n`);
}

/** Runs that can be compared with `entry`: the same number of records on the same machine, not profiled. */
export function comparableRuns(history: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  return history.filter((h) => h !== entry && !h.profiled && h.records === entry.records && h.machine.cpu === entry.machine.cpu && h.machine.cores === entry.machine.cores);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * One merger process's records/s against the median of the last comparable runs before it: the
 * change, and whether it is low enough to be a possible regression. Null with nothing to compare.
 */
export function compareWithHistory(previous: readonly HistoryEntry[], entry: HistoryEntry): { median: number; change: number; regression: boolean; runs: number } | null {
  const last = previous.slice(-COMPARED_RUNS);
  if (last.length === 0) return null;
  const before = median(last.map((h) => h.merger1.recordsPerSecond));
  const change = entry.merger1.recordsPerSecond / before - 1;
  // Compared as records/s, not as the rounded-off change: exactly 15 % below is not "more than".
  return { median: Math.round(before), change, regression: entry.merger1.recordsPerSecond < before * (1 - REGRESSION_SHARE), runs: last.length };
}

const percent = (share: number) => {
  const whole = Math.round(share * 100);
  return `${whole > 0 ? '+' : whole < 0 ? '−' : '±'}${Math.abs(whole)} %`;
};

/** The last comparable runs and this one, oldest first, with what this one changed. */
export function historyReport(history: readonly HistoryEntry[], entry: HistoryEntry, shown = 8): string {
  const previous = comparableRuns(history, entry);
  const earlier = shown > 1 ? previous.slice(-(shown - 1)) : [];
  const rows = [...earlier, entry].map((h) => {
    const parts = `${h.merger1.cpu.merger ?? 0} / ${h.merger1.cpu.redis ?? 0} / ${h.merger1.cpu.kafka ?? 0}`;
    return [h.at.slice(0, 16).replace('T', ' '), h.commit, h.command, h.merger1.recordsPerSecond, h.merger1.cpuMicrosPerRecord, parts, `${(h.merger1.recordsPerSecond / h.raw.recordsPerSecond).toFixed(2)}×`, h.merger2.recordsPerSecond];
  });
  const head = ['run', 'commit', 'command', 'merger × 1 records/s', 'CPU µs/record', 'CPU s: merger / Redis / Kafka', 'of raw', 'merger × 2 records/s'];
  const compared = entry.profiled ? null : compareWithHistory(previous, entry);
  const verdict = entry.profiled
    ? 'run under the CPU profiler: kept in the history, not compared'
    : !compared
    ? 'the first run of this size on this machine: nothing to compare with yet'
    : `merger × 1: ${percent(compared.change)} against the median of the last ${compared.runs} comparable run(s) (${compared.median.toLocaleString('en-US')} records/s)${compared.regression ? ` — POSSIBLE REGRESSION (more than ${REGRESSION_SHARE * 100} % below; runs vary by ~10 %: run it again to confirm)` : ''}`;
  return `${markdownTable(head, rows)}\n\n${verdict}`;
}

/** The history's line for a throughput run. */
export function historyEntryOf(figures: ThroughputFigures, command: HistoryEntry['command'], meta: { at: string; commit: string; machine: { cpu: string; cores: number }; profiled: boolean }): HistoryEntry {
  const run = (d: ThroughputFigures['raw']): HistoryRun => ({ recordsPerSecond: d.recordsPerSecond, cpuMicrosPerRecord: d.cpuMicrosPerRecord, cpu: d.cpu });
  return { at: meta.at, commit: meta.commit, command, ...(meta.profiled ? { profiled: true } : {}), records: figures.records, machine: meta.machine, raw: run(figures.raw), merger1: run(figures.merger1), merger2: run(figures.merger2) };
}

/**
 * Appends the run to bench/results/history.jsonl and gives the report to print. Called once the
 * run's own figures are saved; a failure here is said in the report, it does not lose the run.
 */
export function recordThroughputRun(figures: ThroughputFigures, command: HistoryEntry['command']): { file: string; report: string } {
  const file = path.join(RESULTS_DIR, 'history.jsonl');
  try {
    const facts = machine();
    const entry = historyEntryOf(figures, command, { at: new Date().toISOString(), commit: currentCommit(projectRoot()), machine: { cpu: String(facts.cpu), cores: Number(facts.cores) }, profiled: process.env.BENCH_PROFILE === '1' });
    const history = readHistory(file);
    appendHistory(file, entry);
    return { file, report: historyReport(history, entry) };
  } catch (error) {
    return { file, report: `the history could not be kept: ${(error as Error).message}` };
  }
}
