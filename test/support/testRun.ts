/**
 * One test run's identity. globalSetup gives each `jest` invocation an id; every name a test
 * makes (topics, subjects, consumer groups, Redis key prefixes) carries it as `-tr<id>-`, so the
 * run's teardown can find and remove exactly what the run made — and what a run that was killed
 * hours ago left behind — without touching another run in progress or the names `make run` uses.
 */
export const RUN_ENV = 'ANONMERGE_TEST_RUN';

/** A run older than this is over (CI stops a run at 90 minutes); what it left may go. */
export const STALE_RUN_MS = 3 * 60 * 60 * 1000;

const MARKER = /-tr([0-9a-z]{6,12})-/;

/** This process's run id: the one globalSetup chose, or (outside jest's setup) one of its own. */
export function currentRun(): string {
  process.env[RUN_ENV] ??= newRunId();
  return process.env[RUN_ENV];
}

/** A run id is the start time in base 36, so its age can be read back from any name. */
export function newRunId(now = Date.now()): string {
  return now.toString(36);
}

export function runMarker(run = currentRun()): string {
  return `-tr${run}-`;
}

/**
 * Whether a name was made by a test run and may be removed by the run `run` now: made by that
 * run, or by a run that is long over, or a `test-` name from before run ids existed.
 */
export function isRemovableTestName(name: string, run: string, now = Date.now()): boolean {
  const match = MARKER.exec(name);
  if (!match) return name.startsWith('test-');
  const runId = match[1] ?? '';
  if (runId === run) return true;
  const started = parseInt(runId, 36);
  return Number.isFinite(started) && now - started > STALE_RUN_MS;
}
