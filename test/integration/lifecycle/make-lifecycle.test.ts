/**
 * The README's commands as a person runs them, on a stack of this test's own (its own ports, data
 * folder and so a fresh registry and fresh topics; the downloads come from the shared cache):
 *
 *   make up → every service ready → make up again (nothing restarted) → make down → no
 *   process of ours left, every port free → make run in a terminal, Ctrl-C after the first merged
 *   event → no service left (the stack stays, for a quick restart) → `make up | cat` returns →
 *   make down → nothing left. Also: make status and make logs; a second make run refused; make down
 *   from another terminal ends make run.
 *
 * "Ours" is found by the environment, not by pid files: every process these commands start
 * inherits ANONMERGE_HOME, which is unique to this test, so a service a pid file forgot (the old
 * start script recorded a subshell's pid) is still found.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resultsPath } from '../../support/results';

const root = path.resolve(__dirname, '../../..');
const home = mkdtempSync(path.join(tmpdir(), 'anonmerge-lifecycle-'));

// Ports below the ephemeral range and apart from the other tests' (they draw 17000-30000).
const PORTS = {
  KAFKA_PORT: 15092,
  KAFKA_CONTROLLER_PORT: 15093,
  REGISTRY_PORT: 15081,
  REGISTRY_MANAGEMENT_PORT: 15082,
  REDIS_PORT: 15380,
  ANONMERGE_INGEST_PORT: 15300,
  ANONMERGE_MERGER_PORT: 15301,
  ANONMERGE_ACTIVITY_PORT: 15302,
  ANONMERGE_INGEST_METRICS_PORT: 15303,
  ANONMERGE_ADMIN_PORT: 15304,
  // Not started here, but `make down` looks there: keep it off a developer's cluster (6390-6395).
  REDIS_CLUSTER_PORT: 15390,
} as const;
const STACK_PORTS = [PORTS.KAFKA_PORT, PORTS.KAFKA_CONTROLLER_PORT, PORTS.REGISTRY_PORT, PORTS.REGISTRY_MANAGEMENT_PORT, PORTS.REDIS_PORT];
const SERVICE_PORTS = [PORTS.ANONMERGE_INGEST_PORT, PORTS.ANONMERGE_MERGER_PORT, PORTS.ANONMERGE_ACTIVITY_PORT, PORTS.ANONMERGE_INGEST_METRICS_PORT, PORTS.ANONMERGE_ADMIN_PORT];
const SERVICES = ['merger', 'ingest', 'activity', 'admin'] as const;

/**
 * The environment of a person's shell: none of the test run's own settings (the Makefile would
 * keep an inherited ANONMERGE_KAFKA_BROKERS and point the services at the shared stack), no
 * enclosing make's flags, and the ports and data folder of this test's stack.
 */
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(ANONMERGE_|KAFKA_|REGISTRY_|REDIS_|MAKE|MFLAGS)/.test(name))),
  ...Object.fromEntries(Object.entries(PORTS).map(([name, port]) => [name, String(port)])),
  ANONMERGE_HOME: home,
  ANONMERGE_CACHE: process.env.ANONMERGE_CACHE ?? path.join(root, '.local', 'cache'),
  KAFKA_HEAP: '384m',
};

interface Finished {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a shell command line to its end; fails when it has not returned within the deadline. */
function shell(command: string, timeoutMs: number): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`'${command}' had not returned after ${timeoutMs} ms; its output:\n${output}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

interface OurProcess {
  readonly pid: number;
  readonly command: string;
}

/** Every live process (zombies are gone) started with this test's ANONMERGE_HOME. */
function ourProcesses(): OurProcess[] {
  const marker = `ANONMERGE_HOME=${home}\0`;
  const found: OurProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) continue;
      const state = readFileSync(`/proc/${entry}/stat`, 'latin1').replace(/^.*\) /, '').charAt(0);
      if (state === 'Z') continue;
      found.push({ pid: Number(entry), command: readFileSync(`/proc/${entry}/cmdline`, 'latin1').replace(/\0/g, ' ').trim() });
    } catch {
      // the process ended while we looked
    }
  }
  return found.filter((p) => p.pid !== process.pid);
}

const serviceProcesses = () => ourProcesses().filter((p) => /dist\/services\/(merger|ingest|activity|admin)\/main\.js/.test(p.command));
const isStackProcess = (p: OurProcess) => /kafka\.Kafka|quarkus-run\.jar|redis-server/.test(p.command);

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function portsInUse(ports: readonly number[]): Promise<number[]> {
  const used = await Promise.all(ports.map(async (port) => ((await portInUse(port)) ? port : null)));
  return used.filter((port): port is number => port !== null);
}

function pidFileOf(name: string): number {
  return Number(readFileSync(path.join(home, 'run', `${name}.pid`), 'utf8'));
}

/** The pid file names the service's own node process, not a shell around it. */
function expectPidFilesNameTheServices(): Map<string, number> {
  const pids = new Map<string, number>();
  for (const name of SERVICES) {
    const pid = pidFileOf(name);
    const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
    expect(command).toContain(`dist/services/${name}/main.js`);
    expect(command.startsWith('node ')).toBe(true);
    pids.set(name, pid);
  }
  return pids;
}

async function readyz(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })
    .then((response) => response.ok)
    .catch(() => false);
}

/** make down stops everything gracefully (nothing SIGKILLed): no process of ours, no port taken. */
async function expectMakeDownLeavesNothing(): Promise<void> {
  const down = await shell('make down', 180_000);
  expect(down.code).toBe(0);
  expect(down.output).not.toContain('killing it');
  expect(ourProcesses()).toEqual([]);
  expect(await portsInUse([...STACK_PORTS, ...SERVICE_PORTS])).toEqual([]);
}

const stripColours = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

interface MakeRun {
  readonly child: ChildProcess;
  /** Settles once the live feed shows a merged event; rejects when make run ends first. */
  readonly firstMerge: Promise<void>;
  readonly output: () => string;
  /** Waits for make run to end; kills it and fails after the deadline. */
  readonly endsWithin: (ms: number) => Promise<void>;
  /** After a failure: ends whatever make run left, so the next step starts clean. */
  readonly kill: () => void;
}

/**
 * `make run` in a pseudo-terminal, as a person's shell runs it (`script` gives it one; ^C written
 * to it becomes SIGINT for the foreground process group, like a key press).
 */
function startMakeRun(): MakeRun {
  const child = spawn('script', ['-qfec', 'make run', '/dev/null'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const firstMerge = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no merged event within 240 s; output:\n${stripColours(output)}`)), 240_000);
    const look = (chunk: Buffer) => {
      output += chunk.toString();
      // A merged event in the live feed: "PERSON  <person>  page /x ← merged from anon-…".
      if (/PERSON\s+\S+.*merged from/.test(stripColours(output))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`make run ended before a merged event; output:\n${stripColours(output)}`));
    });
  });
  firstMerge.catch(() => undefined);
  return {
    child,
    firstMerge,
    output: () => output,
    endsWithin: async (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          killGroup(child);
          reject(new Error(`make run had not ended after ${ms} ms; output:\n${stripColours(output)}`));
        }, ms);
      });
      try {
        await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    kill: () => {
      // `script` gives make a session of its own, out of reach of killGroup.
      killGroup(child);
      for (const p of ourProcesses().filter((p) => /make run|infra\/run\.sh|services\/demo/.test(p.command))) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    },
  };
}

/** `make logs` for a moment: the services' own lines, pretty-printed (not pino's JSON). */
async function makeLogsShows(): Promise<string> {
  const child = spawn('bash', ['-c', 'make logs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !SERVICES.every((name) => stripColours(output).includes(`): ${name}: `))) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  killGroup(child);
  return stripColours(output);
}

describe('make up, make down and make run as a person runs them', () => {
  afterAll(async () => {
    // Whatever a failed step left: the scripts first, then anything still carrying our home.
    await shell('make down', 180_000).catch(() => undefined);
    for (const p of ourProcesses()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    // The stack's and services' logs outlive the test, for whoever reads a failure.
    cpSync(path.join(home, 'logs'), resultsPath('lifecycle-logs'), { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('make up starts every service, make up again changes nothing, make down leaves no process and no port', async () => {
    const up = await shell('make up', 300_000);
    if (up.code !== 0) process.stderr.write(up.output);
    expect(up.code).toBe(0);
    for (const port of SERVICE_PORTS) expect(await readyz(port)).toBe(true);
    const pids = expectPidFilesNameTheServices();

    const status = await shell('make status', 60_000);
    expect(status.code).toBe(0);
    for (const name of SERVICES) expect(status.output).toMatch(new RegExp(`${name}\\s+ready\\s+${pids.get(name)}\\s+[0-9hms]+\\s`));

    const logs = await makeLogsShows();
    // pino-pretty's one line per record: "[HH:MM:ss.lll] INFO (<pid>): merger: merger consuming …".
    // Any level: `make logs` shows each file's last lines, and a stack that has just started can
    // end the merger's with kafkajs' warnings of a transaction coordinator still loading.
    for (const name of SERVICES) expect(logs).toMatch(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] (DEBUG|INFO|WARN|ERROR) \\(${pids.get(name)}\\): ${name}: `, 'm'));
    expect(logs).not.toMatch(/^\{"level"/m);

    const again = await shell('make up', 120_000);
    expect(again.code).toBe(0);
    for (const name of SERVICES) {
      expect(again.output).toContain(`${name} already running (pid ${pids.get(name)})`);
      expect(pidFileOf(name)).toBe(pids.get(name));
    }

    await expectMakeDownLeavesNothing();
  }, 600_000);

  it('Ctrl-C on make run stops the services it started; the stack stays for the next run', async () => {
    const run = startMakeRun();
    try {
      await run.firstMerge;
      expect(serviceProcesses().map((p) => p.command)).toHaveLength(SERVICES.length);

      run.child.stdin?.write('\u0003');
      await run.endsWithin(90_000);
      expect(stripColours(run.output())).toContain('stopping the services');
      // Nothing but the stack: no service, no traffic generator, no make.
      expect(ourProcesses().filter((p) => !isStackProcess(p))).toEqual([]);
      expect(await portsInUse(SERVICE_PORTS)).toEqual([]);
      // The stack keeps running (documented): the next make run starts in seconds.
      expect(await portsInUse([PORTS.KAFKA_PORT, PORTS.REGISTRY_PORT, PORTS.REDIS_PORT])).toHaveLength(3);
    } finally {
      run.kill();
    }
  }, 600_000);

  it('a second make run is refused; make down from another terminal ends make run and leaves nothing', async () => {
    const run = startMakeRun();
    try {
      await run.firstMerge;
      const pids = expectPidFilesNameTheServices();

      const second = await shell('make run', 120_000);
      expect(second.code).not.toBe(0);
      expect(second.output).toMatch(/make run is already running \(pid \d+\)/);
      // The refused one touched nothing: the same services, still ready.
      expect(expectPidFilesNameTheServices()).toEqual(pids);
      for (const port of SERVICE_PORTS) expect(await readyz(port)).toBe(true);

      // `make down` elsewhere stops the feed too, so make run ends instead of showing a feed of
      // stopped services; the two stops take turns (a second SIGTERM would cut a service short).
      await expectMakeDownLeavesNothing();
      await run.endsWithin(60_000);
      const logs = SERVICES.map((name) => readFileSync(path.join(home, 'logs', `${name}.log`), 'utf8')).join('\n');
      expect(logs).not.toContain('second signal');
    } finally {
      run.kill();
    }
  }, 600_000);

  it('make up | cat returns once the services are ready, and make down then leaves nothing', async () => {
    // With the old script a subshell holding the pipe lived as long as the services: `cat` never
    // saw the end of its input.
    const piped = await shell('make up 2>&1 | cat', 300_000);
    expect(piped.code).toBe(0);
    expect(piped.output).toContain('activity ready');
    for (const port of SERVICE_PORTS) expect(await readyz(port)).toBe(true);
    expectPidFilesNameTheServices();

    await expectMakeDownLeavesNothing();
  }, 600_000);
});
