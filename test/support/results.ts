/**
 * Where tests leave artefacts a person reads after a run (child process logs, chaos tables).
 * The folder is ignored by git, so a fresh clone does not have it: create it on first use.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export const RESULTS_DIR = path.resolve(__dirname, '../../test-results');

export function resultsPath(fileName: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return path.join(RESULTS_DIR, fileName);
}
