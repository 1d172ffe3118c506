/**
 * CPU seconds used by the processes of a benchmark run — the service under test, Redis, Kafka and
 * the schema registry — read from /proc, so a run can say what its records cost and what the two
 * shared cores were spent on (Linux only; elsewhere the figures are left out).
 */
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds of one process (its own threads; 0 if it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return 0;
  }
}

/** Processes whose command line holds `needle`. */
export function pidsMatching(needle: string): number[] {
  const pids: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export type CpuParts = Record<string, number>;

/** CPU seconds per named group of processes, now. */
export function cpuSnapshot(groups: Record<string, readonly number[]>): CpuParts {
  const parts: CpuParts = {};
  for (const [name, pids] of Object.entries(groups)) parts[name] = totalCpu(pids);
  return parts;
}

/** CPU seconds of some processes in all, to a tenth (a run's own processes, read before they exit). */
export function cpuOf(pids: readonly number[]): number {
  return Math.round(totalCpu(pids) * 10) / 10;
}

function totalCpu(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** What each group used between two snapshots. */
export function cpuSpent(before: CpuParts, after: CpuParts): CpuParts {
  const spent: CpuParts = {};
  for (const [name, value] of Object.entries(after)) spent[name] = Math.round((value - (before[name] ?? 0)) * 10) / 10;
  return spent;
}
