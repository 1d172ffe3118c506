/**
 * One harness and one checker for every fault (issue: reliability).
 *
 *   ChaosStack    a Kafka and a Redis of the suite's own (started by infra/*.sh), so that faults
 *                 never touch the shared stack other tests run on; the registry is shared
 *   ChaosRun      fresh topics, consumer group and key prefix; ingest in-process; mergers as
 *                 child processes that the faults kill, stop, add and remove
 *   LoadGenerator website visitors through the real ingest over HTTP, retrying 503s and network
 *                 errors with the same event id (as SDKs do), keeping a ledger of every 2xx
 *   check()       waits until the merger group has no lag, then reads the inbound log, the output
 *                 topics (read_committed) and Redis, and counts loss, duplicates and wrong merges
 *                 against what SPEC.md says the log must give (the pure decisions over it)
 *
 * The matrix runs against the two-plane merger, the default (docs/design-person-operations.md):
 * ingest writes person operations to person-ops, and the checker's expectation is the reference
 * model's, every record applied in (received_at, id) order (the merger's records later than its
 * reorder bound are counted beside it). CHAOS_MODE=legacy runs it against the legacy merger kept
 * for a rollback, whose expectation is the log order.
 */
import { fetchCommittedOffsets } from '../../services/shared/kafka/committedOffsets';
import { groupLag } from '../support/lag';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { decideAnonymous } from '../../services/merger/decide/anonymous';
import { decidePerson } from '../../services/merger/decide/person';
import type { AnonymousOp, PersonOp } from '../../services/merger/model/ops';
import { PendingLists } from '../support/pendingList';
import type { RunningIngest } from '../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../services/ingest/workspaces';
import { ensureTopics } from '../../services/shared/kafka/topics';
import { personKey } from '../../services/shared/model/person';
import type { InboundRecord } from '../../services/shared/model/inbound';
import { compareRecords } from '../../services/shared/model/recordOrder';
import { loadConfig, type TopicConfig } from '../../services/shared/config';
import { DedicatedKafka } from '../support/dedicatedKafka';
import { DedicatedRedis } from '../support/dedicatedRedis';
import { TcpProxy } from '../support/tcpProxy';
import { basic, readInbound, readInboundAsPlaced, startTestIngest } from '../support/ingest';
import { mergerEnv, OutputReader, spawnMerger } from '../support/merger';
import { isolatedTopics, testLogger, uniqueName } from '../support/stack';
import { resultsPath } from '../support/results';
import { ReferenceModel } from '../../services/merger/reference/referenceModel';

/** The merger the matrix runs against: the legacy one (default) or the two planes. */
export const TWO_PLANES = process.env.CHAOS_MODE !== 'legacy';
/**
 * Every client's metadata refresh (30 s by default): partitions added are seen within it, and
 * until each producer and the merger group have, the new partitions' records wait. Shorter here so
 * that a run with partitions added converges within the check's wait.
 */
const METADATA_MAX_AGE_MS = 5000;

export class ChaosStack {
  readonly kafka: DedicatedKafka;
  readonly redis = new DedicatedRedis();
  /** With proxies, every client reaches Kafka and Redis through them (unreachability faults). */
  readonly kafkaProxy: TcpProxy | null = null;
  readonly redisProxy: TcpProxy | null = null;

  constructor(proxied = false) {
    // Below Linux's ephemeral range (32768–60999), where an outgoing connection may hold a port.
    const base = 25000 + Math.floor(Math.random() * 2000) * 2;
    if (proxied) {
      this.kafka = new DedicatedKafka(base);
      this.kafkaProxy = new TcpProxy(base, this.kafka.port);
      this.redisProxy = new TcpProxy(base + 1, this.redis.port);
    } else {
      this.kafka = new DedicatedKafka();
    }
  }

  async start(): Promise<void> {
    await this.kafkaProxy?.listen();
    await this.redisProxy?.listen();
    this.kafka.start();
    this.redis.start();
  }

  get redisUrl(): string {
    return this.redisProxy ? `redis://127.0.0.1:${this.redisProxy.port}` : this.redis.url;
  }

  client(): Kafka {
    return new Kafka({ brokers: this.kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  }

  async destroy(): Promise<void> {
    try {
      this.kafka.destroy();
    } finally {
      this.redis.destroy();
      await this.kafkaProxy?.destroy();
      await this.redisProxy?.destroy();
    }
  }
}

const WORKSPACE = 'chaos';
export const CHAOS_WORKSPACES = new WorkspaceRegistry(
  parseWorkspaces({ workspaces: [{ id: WORKSPACE, site_id: 'chaos-site', api_key: 'chaos-key', settings: { grace_seconds: 2 } }] }, 'chaos'),
);

export interface Merger {
  readonly id: number;
  readonly child: ChildProcess;
  /** Where its log goes (one file per merger, so a failed start shows its own lines). */
  readonly logFile: string;
  /** The port the merger's system-chosen health server listens on, once its log names it. */
  port: number | null;
  exited: boolean;
  exitStatus: string | null;
  /** We asked it to stop (SIGTERM): a clean exit is expected. */
  stopping: boolean;
}

/** A log file's text; empty while the process has not written it yet. */
function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function logTail(file: string, lines: number): string {
  return readLog(file).trimEnd().split('\n').slice(-lines).join('\n');
}

/** The port of the merger's health server, from its "merger consuming" log line (url field). */
function listeningPort(file: string): number | null {
  const match = /"url":"http:\/\/[^"]*:(\d+)"/.exec(readLog(file));
  return match ? Number(match[1]) : null;
}

export class ChaosRun {
  readonly topics: TopicConfig;
  readonly groupId = uniqueName('chaos-group');
  readonly prefix = uniqueName('chaos');
  readonly mergers: Merger[] = [];
  ingest: RunningIngest | null = null;
  private nextId = 0;
  private unexpected: string[] = [];

  constructor(
    readonly stack: ChaosStack,
    readonly name: string,
    partitions = 4,
  ) {
    this.topics = isolatedTopics(`chaos-${name}`, partitions);
  }

  async start(): Promise<void> {
    const admin = this.stack.client().admin();
    await admin.connect();
    await ensureTopics(admin, this.topics, testLogger);
    await admin.disconnect();
    this.ingest = await startTestIngest(this.topics, { brokers: this.stack.kafka.brokers, workspaces: CHAOS_WORKSPACES, sendTimeoutMs: 3000, personOps: TWO_PLANES, metadataMaxAgeMs: METADATA_MAX_AGE_MS });
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...mergerEnv(this.topics, this.groupId, this.prefix, { mode: TWO_PLANES ? 'two-planes' : 'legacy', sessionTimeoutMs: 3000, tickIntervalMs: 500, timerLatenessMs: 1000 }),
      ANONMERGE_KAFKA_BROKERS: this.stack.kafka.brokers.join(','),
      ANONMERGE_REDIS_URL: this.stack.redisUrl,
      ANONMERGE_REDIS_COMMAND_TIMEOUT_MS: '2000',
      ANONMERGE_KAFKA_METADATA_MAX_AGE_MS: String(METADATA_MAX_AGE_MS),
      ANONMERGE_LOG_LEVEL: 'info',
      ...extra,
    };
  }

  /**
   * Starts a merger process; one that exits on its own is recorded as a failure. Its health server
   * takes a port the system picks (0): a port chosen here at random could collide with the test's
   * own Kafka, Redis or proxies, and a merger that cannot listen exits at start.
   */
  spawnMerger(): Merger {
    const id = (this.nextId += 1);
    const logFile = resultsPath(`chaos-${this.name}-${this.prefix}-merger${id}.log`);
    const child = spawnMerger({ ...this.env(), ANONMERGE_MERGER_PORT: '0' }, logFile);
    const merger: Merger = { id, child, logFile, port: null, exited: false, exitStatus: null, stopping: false };
    child.once('exit', (code, signal) => {
      merger.exited = true;
      merger.exitStatus = String(code ?? signal);
      const expected = signal === 'SIGKILL' || (merger.stopping && code === 0);
      if (!expected) this.unexpected.push(`merger ${merger.id} exited with ${code ?? signal}`);
    });
    this.mergers.push(merger);
    return merger;
  }

  async ready(merger: Merger, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (merger.exited) throw new Error(`merger ${merger.id} exited during start (${merger.exitStatus}); its log ends with:\n${logTail(merger.logFile, 20)}`);
      merger.port ??= listeningPort(merger.logFile);
      if (merger.port !== null && (await fetch(`http://127.0.0.1:${merger.port}/readyz`).then((r) => r.ok).catch(() => false))) return;
      await sleep(100);
    }
    throw new Error(`merger ${merger.id} not ready after ${timeoutMs} ms; its log ends with:\n${logTail(merger.logFile, 20)}`);
  }

  async kill(merger: Merger): Promise<void> {
    const exited = new Promise((resolve) => (merger.exited ? resolve(null) : merger.child.once('exit', resolve)));
    merger.child.kill('SIGKILL');
    await exited;
  }

  async stop(merger: Merger): Promise<void> {
    const exited = new Promise((resolve) => (merger.exited ? resolve(null) : merger.child.once('exit', resolve)));
    merger.stopping = true;
    merger.child.kill('SIGTERM');
    await exited;
  }

  live(): Merger[] {
    return this.mergers.filter((m) => !m.exited);
  }

  unexpectedExits(): string[] {
    return [...this.unexpected];
  }

  /** Writes a backlog straight to the inbound topic (keeps a merger busy for a few seconds). */
  async burst(records: number): Promise<void> {
    const { InboundWriter, anonymousEvent } = await import('../support/merger');
    const writer = await new InboundWriter(this.stack.client(), this.topics, { personOps: false }).open();
    // Stamped now, as ingest would stamp what it appends now (stamps in the future would make
    // the two-plane merger treat the real traffic after them as late).
    const now = Date.now();
    const batch = Array.from({ length: records }, (_, i) => anonymousEvent(WORKSPACE, `burst-${this.prefix}-${i % 500}`, now, `burst-${this.prefix}-${String(i).padStart(6, '0')}`));
    for (let i = 0; i < batch.length; i += 2000) await writer.write(batch.slice(i, i + 2000));
    await writer.close();
  }

  /** Lines of the mergers' logs with this message. */
  logCount(message: string): number {
    return this.mergers.reduce((sum, merger) => sum + readLog(merger.logFile).split('\n').filter((line) => line.includes(message)).length, 0);
  }

  async close(): Promise<void> {
    for (const merger of this.live()) await this.kill(merger);
    await this.ingest?.close().catch(() => undefined);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Ledger {
  /** Event ids answered 2xx. */
  readonly events: Set<string>;
  /** anonymous id → person named by an identify answered 2xx. */
  readonly identified: Map<string, string>;
  requests: number;
  retries: number;
}

/** Website visitors against the real ingest; every request retried until 2xx (same ids). */
export class LoadGenerator {
  readonly ledger: Ledger = { events: new Set(), identified: new Map(), requests: 0, retries: 0 };
  private running = false;
  private loops: Promise<void>[] = [];
  private visitor = 0;

  constructor(
    private readonly url: string,
    private readonly concurrency = 8,
  ) {}

  private async send(method: string, pathName: string, body: object): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await fetch(`${this.url}${pathName}`, {
          method,
          headers: { authorization: basic('chaos-site', 'chaos-key'), 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(15000),
        });
        await response.arrayBuffer();
        this.ledger.requests += 1;
        if (response.ok) return;
        if (response.status < 500) throw new Error(`ingest refused a valid request: ${response.status}`);
      } catch (error) {
        if ((error as Error).message.startsWith('ingest refused')) throw error;
      }
      this.ledger.retries += 1;
      await sleep(Math.min(2000, 100 * 2 ** attempt));
    }
  }

  private async journey(): Promise<void> {
    const v = (this.visitor += 1);
    const anonymousId = `v${v}-${Math.random().toString(36).slice(2, 8)}`;
    const person = `person-${v}@example.com`;
    const event = async (name: string, anonymous: boolean) => {
      const id = `${anonymousId}-${name}`;
      if (anonymous) await this.send('POST', '/api/v1/events', { name, type: 'page', anonymous_id: anonymousId, id });
      else await this.send('POST', `/api/v1/customers/${encodeURIComponent(person)}/events`, { name, id });
      this.ledger.events.add(id);
    };
    const views = 2 + Math.floor(Math.random() * 4);
    for (let i = 0; i < views; i += 1) await event(`view${i}`, true);
    if (Math.random() < 0.6) {
      await this.send('PUT', `/api/v1/customers/${encodeURIComponent(person)}`, { email: person, anonymous_id: anonymousId });
      this.ledger.identified.set(anonymousId, person);
      await event('welcome', true); // inside the 2 s window
      await event('trial', false);
      if (Math.random() < 0.25) {
        await sleep(2600); // past the window: stays anonymous (R2d)
        await event('late', true);
      }
    }
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.concurrency; i += 1) {
      this.loops.push(
        (async () => {
          while (this.running) await this.journey();
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/**
 * Time to recover: from now (the fault's end) until the merger group has committed every inbound
 * record that existed now — while traffic keeps flowing.
 */
export async function recoveryTime(run: ChaosRun, boundMs: number): Promise<number> {
  const kafka = run.stack.client();
  const admin = kafka.admin();
  await admin.connect();
  const started = Date.now();
  // The broker may have just restarted: its first answers can be "not the leader".
  const retrying = async <T>(call: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (Date.now() - started > boundMs) throw error;
        await sleep(500);
      }
    }
  };
  try {
    const ends = new Map((await retrying(() => admin.fetchTopicOffsets(run.topics.inbound))).map((p) => [p.partition, Number(p.high)]));
    for (;;) {
      const at = await fetchCommittedOffsets(admin, run.groupId, run.topics.inbound).catch(() => new Map<number, number>());
      // Two planes: the committed offset is the first record still held (until the clocks pass it).
      const slack = TWO_PLANES ? 50 : 0;
      if ([...ends].every(([partition, end]) => (at.get(partition) ?? -1) >= end - slack)) return Date.now() - started;
      if (Date.now() - started > boundMs) throw new Error(`not recovered within ${boundMs} ms`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}

export interface CheckResult {
  readonly records: number;
  readonly ledgerEvents: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly duplicateTriggers: number;
  readonly wrongMerges: number;
  readonly wrongPending: number;
  /** Anonymous ids whose pending list in Redis was compared with the expected one. */
  readonly pendingCompared: number;
  readonly missingFromLog: number;
  readonly lagToZeroMs: number;
  readonly details: string[];
}


/**
 * SPEC's outcome for a log: the pure decisions over each entity's records, in log order — the
 * order of their partition (an entity's records share a key, so a partition), which is the
 * order the merger consumes. Not received_at order: after a Kafka outage, a request that was
 * answered 503 can still be written (the producer retries it) after the client's retry of it,
 * so the copy stamped later comes first in the log and decides; the earlier one is a duplicate
 * (SPEC R7). Sorting by received_at made the checker expect the earlier copy to decide (a
 * "lost" merge in 1 of 5 broker kills of the full matrix).
 */
function expected(records: Array<InboundRecord & { key: string }>) {
  const anonymous = new Map<string, AnonymousOp[]>();
  const people = new Map<string, { person: InboundRecord['command']['body']; ops: PersonOp[] }>();
  let offset = 0;
  for (const record of records) {
    const position = { partition: 0, offset: (offset += 1) };
    const { command } = record;
    if (command.kind === 'track') {
      const { name, type, timestamp, data_json: dataJson } = command.body;
      const op = { type: 'event' as const, position, id: record.id, receivedAt: record.received_at, settings: record.settings, event: { name, type, timestamp, dataJson } };
      if (command.body.anonymous_id) anonymous.set(command.body.anonymous_id, [...(anonymous.get(command.body.anonymous_id) ?? []), op]);
      else if (command.body.person) {
        const key = personKey(command.body.person);
        const entry = people.get(key) ?? { person: command.body.person as never, ops: [] };
        entry.ops.push(op);
        people.set(key, entry);
      }
    } else if (command.kind === 'identify' && command.body.anonymous_id) {
      anonymous.set(command.body.anonymous_id, [...(anonymous.get(command.body.anonymous_id) ?? []), { type: 'identify', position, receivedAt: record.received_at, settings: record.settings, person: command.body.person }]);
    }
  }
  const merged = new Map<string, string>(); // event id → person value
  const triggers = new Set<string>();
  const pending = new Map<string, string[]>();
  for (const [anonymousId, ops] of anonymous) {
    const d = decideAnonymous({ version: 0, binding: null, pending: [], applied: {} }, ops, { workspace: WORKSPACE, anonymousId, knownIds: new Set() });
    for (const r of d.results) for (const o of r.outputs) {
      const value = o.value as { event_id?: string; person?: { value: string } } | null;
      if (o.stream === 'mergedEvents' && value?.event_id) merged.set(value.event_id, value.person?.value ?? '');
      if (o.stream === 'campaignTriggers' && value?.event_id) triggers.add(value.event_id);
    }
    pending.set(anonymousId, (d.state.pending ?? []).map((e) => e.id));
  }
  for (const { person, ops } of people.values()) {
    const d = decidePerson({ version: 0, applied: {} }, ops, { workspace: WORKSPACE, person: person as never, knownIds: new Set() });
    for (const r of d.results) for (const o of r.outputs) {
      const value = o.value as { event_id?: string; person?: { value: string } } | null;
      if (o.stream === 'mergedEvents' && value?.event_id) merged.set(value.event_id, value.person?.value ?? '');
      if (o.stream === 'campaignTriggers' && value?.event_id) triggers.add(value.event_id);
    }
  }
  return { merged, triggers, pending };
}

/**
 * Two planes: the reference model's outcome, every record applied in (received_at, id) order,
 * the windows ended at the end of the log.
 */
function expectedInReceivedOrder(records: InboundRecord[]) {
  const merged = new Map<string, string>();
  const triggers = new Set<string>();
  const horizon = records.reduce((max, r) => Math.max(max, r.received_at), 0) + 1;
  const model = new ReferenceModel();
  for (const record of [...records].sort(compareRecords)) model.apply(record);
  model.advanceTo(horizon);
  for (const output of model.emitted()) {
    const value = output.value as { event_id?: string; person?: { value: string } } | null;
    if (output.stream === 'mergedEvents' && value?.event_id) merged.set(value.event_id, value.person?.value ?? '');
    if (output.stream === 'campaignTriggers' && value?.event_id) triggers.add(value.event_id);
  }
  // What stays pending, as the data plane keeps it in Redis: the same lists the legacy check reads.
  return { merged, triggers, pending: model.pendingIds(WORKSPACE) };
}

export async function check(run: ChaosRun, ledger: Ledger, lagBoundMs: number): Promise<CheckResult> {
  const kafka = run.stack.client();
  const started = Date.now();
  for (;;) {
    // Ticks keep arriving, so "no lag" allows the merger a few records behind (two planes: a few
    // ticks per partition, every 50 ms, and the records held until the clocks pass them).
    if ((await groupLag(kafka, run.groupId, run.topics.inbound).catch(() => Number.POSITIVE_INFINITY)) <= run.topics.partitions * (TWO_PLANES ? 20 : 1)) break;
    if (Date.now() - started > lagBoundMs) throw new Error(`lag did not return to 0 within ${lagBoundMs} ms`);
    await sleep(250);
  }
  const lagToZeroMs = Date.now() - started;
  const details: string[] = [];
  // Two planes: a record ingest appended later than the reorder bound (a Kafka broker kill makes
  // it retry for seconds) is applied where the merger's rule places it, so the model is run on
  // the records as placed (test/support/latePlacement.ts).
  const log = (TWO_PLANES ? await readInboundAsPlaced(kafka, run.topics, loadConfig(['merger']).merger.reorderMs, 60000) : await readInbound(kafka, run.topics, undefined, 60000)).filter((r) => r.workspace_id === WORKSPACE);
  const inLog = new Set(log.map((r) => r.id));
  const missingFromLog = [...ledger.events].filter((id) => !inLog.has(id));
  if (missingFromLog.length) details.push(`answered 2xx but not in the inbound log: ${missingFromLog.slice(0, 5)}`);
  // Two planes: wait until the release points have passed the last record, then a little more.
  if (TWO_PLANES) await sleep(3000);
  const want = TWO_PLANES ? expectedInReceivedOrder(log) : expected(log);

  const reader = await new OutputReader(kafka, run.topics).open();
  await reader.until((g) => g.mergedEvents.filter((e) => e.workspace_id === WORKSPACE).length >= want.merged.size, 60000, 'the merged events').catch((error: Error) => details.push(error.message));
  await sleep(1500);
  const got = reader.of(WORKSPACE);
  await reader.close();

  const mergedIds = got.mergedEvents.map((e) => e.event_id);
  const duplicated = mergedIds.length - new Set(mergedIds).size;
  const triggerIds = got.campaignTriggers.map((t) => t.event_id);
  const duplicateTriggers = triggerIds.length - new Set(triggerIds).size;
  const actual = new Map(got.mergedEvents.map((e) => [e.event_id, e.person.value]));
  const lost = [...want.merged.keys()].filter((id) => !actual.has(id));
  const extra = [...actual.keys()].filter((id) => !want.merged.has(id));
  const wrongPerson = [...want.merged].filter(([id, person]) => actual.has(id) && actual.get(id) !== person);
  // Merges right: every anonymous id identified (2xx) ends with its events on that person.
  for (const [anonymousId, person] of ledger.identified) {
    for (const e of got.mergedEvents.filter((x) => x.anonymous_id === anonymousId)) if (e.person.value !== person) wrongPerson.push([e.event_id, e.person.value]);
  }
  if (lost.length) details.push(`expected on the merged stream but missing: ${lost.slice(0, 5)}`);
  if (extra.length) details.push(`merged but SPEC says not: ${extra.slice(0, 5)}`);

  let wrongPending = 0;
  // Pending lists hold copies (legacy merger) or pointers into inbound (two planes), read back as a bind reads them.
  const lists = await PendingLists.open(kafka, run.topics, run.stack.redisUrl);
  const stored = await lists.idsOf(run.prefix, WORKSPACE, [...want.pending.keys()]);
  for (const [anonymousId, ids] of want.pending) {
    const actualIds = [...(stored.get(anonymousId) ?? [])].sort();
    if (JSON.stringify(actualIds) !== JSON.stringify([...ids].sort())) {
      wrongPending += 1;
      if (wrongPending <= 3) details.push(`pending of ${anonymousId}: ${actualIds} ≠ ${ids}`);
    }
  }
  await lists.close();
  return {
    records: log.length,
    ledgerEvents: ledger.events.size,
    lost: lost.length + missingFromLog.length,
    duplicated,
    duplicateTriggers,
    wrongMerges: wrongPerson.length + extra.length,
    wrongPending,
    pendingCompared: want.pending.size,
    missingFromLog: missingFromLog.length,
    lagToZeroMs,
    details,
  };
}
