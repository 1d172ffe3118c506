/**
 * One test run's identity. globalSetup gives each `jest` invocation an id; every name a test
 * makes (topics, subjects, consumer groups, Redis key prefixes) carries it as `-tr<id>-`, so the
 * run's teardown can find and remove exactly what the run made — and what a run that was killed
 * hours ago left behind — without touching another run in progress or the names `make run` uses.
 */
export const RUN_ENV = 'ANONMERGE_TEST_RUN';

/** A run older than this is over (CI stops a run at 90 minutes); what it left may go. */
export const STALE_RUN_MS = 3 * 60 * 60 * 1000;

// "-amt" and a run id of exactly eight base-36 digits (a start time from 1997 to 2059): rare
// enough in a name a person chose, and the id must also read as a time this test suite could have
// started at, or the name is left alone.
const MARKER = /-amt([0-9a-z]{8})-/;
// uniqueName's shape before run ids: test-<label>-<time in base 36>-<6 hex digits>.
const LEGACY = /^test-[a-z0-9-]*?-([0-9a-z]{8})-[0-9a-f]{6}(?:$|[.:-])/;
const EARLIEST_RUN = Date.UTC(2025, 0, 1);

/** This process's run id: the one globalSetup chose, or (outside jest's setup) one of its own. */
export function currentRun(): string {
  process.env[RUN_ENV] ??= newRunId();
  return process.env[RUN_ENV];
}

/** A run id is the start time in base 36, so its age can be read back from any name. */
export function newRunId(now = Date.now()): string {
  return now.toString(36).padStart(8, '0');
}

export function runMarker(run = currentRun()): string {
  return `-amt${run}-`;
}

/**
 * Whether a name was made by a test run and may be removed by the run `run` now: made by that
 * run, or by a run that is long over (older names included), never anything else.
 */
export function isRemovableTestName(name: string, run: string, now = Date.now()): boolean {
  const marked = MARKER.exec(name);
  if (marked) return marked[1] === run || isLongOver(marked[1] ?? '', now);
  const legacy = LEGACY.exec(name);
  return legacy !== null && isLongOver(legacy[1] ?? '', now);
}

function isLongOver(runId: string, now: number): boolean {
  const started = parseInt(runId, 36);
  return Number.isFinite(started) && started >= EARLIEST_RUN && started <= now && now - started > STALE_RUN_MS;
}
