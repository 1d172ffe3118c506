/**
 * Shared pieces of the benchmark commands: an isolated set of topics per run, spawning a service
 * as the real compiled process, machine facts, and where results go.
 */
import { markdownTable } from '../services/shared/markdownTable';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TopicConfig } from '../services/shared/config';
import { prefixedTopics, topicEnv } from '../services/shared/config/topicSets';
import { projectRoot } from '../services/shared/projectRoot';

export const RESULTS_DIR = path.join(projectRoot(), 'bench', 'results');

export function benchTopics(label: string, partitions: number): TopicConfig {
  return prefixedTopics(`bench-${label}-${Date.now().toString(36)}`, partitions);
}

export { topicEnv };

export interface SpawnedService {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a compiled script (dist/...) and, given a readiness URL, waits for it. */
export async function spawnScript(entry: string, env: Record<string, string>, readyUrl: string | null, logFile: string, nodeArgs: string[] = []): Promise<SpawnedService> {
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'a');
  const child = spawn('node', [...nodeArgs, path.join(projectRoot(), entry)], { cwd: projectRoot(), env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
  const deadline = Date.now() + 60000;
  while (readyUrl) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}; see ${logFile}`);
    try {
      if ((await fetch(readyUrl, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > deadline) throw new Error(`${entry} not ready after 60 s; see ${logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Starts dist/services/<name>/main.js and waits for its /readyz. */
export function spawnService(name: 'ingest' | 'merger', env: Record<string, string>, readyUrl: string, logFile: string, nodeArgs: string[] = []): Promise<SpawnedService> {
  return spawnScript(`dist/services/${name}/main.js`, env, readyUrl, logFile, nodeArgs);
}

export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` };
}

export function saveResult(name: string, result: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** The benches' tables: services/shared/markdownTable.ts. */
export const table = markdownTable;

export const round = (value: number, digits = 0) => Number(value.toFixed(digits));

/** The nearest-rank percentile `p` (0–100) of `values`, which need not be sorted; 0 when empty. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
