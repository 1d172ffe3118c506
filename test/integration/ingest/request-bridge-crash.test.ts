/**
 * The request bridge killed mid-transaction (issue 16): an ingest process running the bridge is
 * SIGKILLed three times while it passes a backlog of request records on, each time while one of
 * its transactions is open; another process then takes its group over. Exactly once: every
 * request is in the inbound topic once for a read_committed reader, and the kills did leave
 * records of transactions that never committed (a read_uncommitted reader sees them), which the
 * next process's fencing aborted.
 *
 * A kill is aimed, not timed: the process is frozen (SIGSTOP) at random points of its loop, and
 * killed at the first freeze where inbound holds records beyond its last stable offset once a
 * commit already sent would have completed. Timed kills (at the first commit seen, plus a delay)
 * missed on a loaded machine, and so did a watch that froze the process only after it saw a
 * transaction open: short transactions committed between the look and the freeze.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { topicEnv } from '../../../services/shared/config/topicSets';
import { fetchCommittedOffsets } from '../../../services/shared/kafka/committedOffsets';
import { ensureTopicsWith } from '../../../services/shared/kafka/topics';
import type { Request } from '../../../services/shared/generated/requestTypes';
import { projectRoot } from '../../../services/shared/projectRoot';
import { freePort } from '../../support/freePort';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

const REQUESTS = 90_000;
const KILLS = 3;
// Alone it takes ~35 s; beside the other suites of `make test` on two cores, four processes
// each starting and passing on thousands of records can take three times that. Every wait
// below has its own deadline, which names the step that did not finish.
const TEST_TIMEOUT_MS = 400_000;

describe('the request bridge killed mid-transaction', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('bridgecrash', 3);
  const groupId = uniqueName('test-bridge-crash-');
  const dir = mkdtempSync(path.join(tmpdir(), 'anonmerge-bridge-crash-'));
  let running: ChildProcess | null = null;
  const watcher = kafka.admin();
  /** Per inbound partition, where it ends for a read_uncommitted reader: open transactions' records included. */
  const written = new Map<number, number>();
  const uncommittedReader = kafka.consumer({ groupId: uniqueName('test-open-'), readUncommitted: true, maxWaitTimeInMs: 20 });

  beforeAll(async () => {
    await ensureTopicsWith(kafka, topics, testLogger);
    await watcher.connect();
    await uncommittedReader.connect();
    await uncommittedReader.subscribe({ topic: topics.inbound, fromBeginning: true });
    await uncommittedReader.run({
      eachBatch: async ({ batch }) => {
        written.set(batch.partition, Math.max(written.get(batch.partition) ?? 0, Number(batch.lastOffset()) + 1));
      },
    });
  });
  afterAll(async () => {
    running?.kill('SIGKILL');
    await uncommittedReader.disconnect();
    await watcher.disconnect();
    await deleteTopics(kafka, topics);
  });

  /** An ingest process with the bridge on, ready (its group joined: the metrics port says so). */
  async function startBridge(n: number): Promise<ChildProcess> {
    const port = await freePort();
    const metricsPort = await freePort();
    const workspacesFile = path.join(dir, 'workspaces.json');
    writeFileSync(workspacesFile, JSON.stringify({ workspaces: [{ id: 'crash', site_id: 'crash-site', api_key: 'crash-api-key-0123456789' }] }));
    const log = openSync(path.join(dir, `ingest-${n}.log`), 'a');
    const child = spawn('node', [path.join(projectRoot(), 'dist/services/ingest/main.js')], {
      cwd: projectRoot(),
      env: {
        ...process.env,
        ...topicEnv(topics),
        ANONMERGE_KAFKA_BROKERS: config.kafka.brokers.join(','),
        ANONMERGE_WORKSPACES_FILE: workspacesFile,
        ANONMERGE_INGEST_PORT: String(port),
        ANONMERGE_INGEST_METRICS_PORT: String(metricsPort),
        ANONMERGE_INGEST_BRIDGE: 'true',
        ANONMERGE_INGEST_BRIDGE_GROUP_ID: groupId,
        // The killed process's partitions come back to the group after this.
        ANONMERGE_INGEST_BRIDGE_SESSION_TIMEOUT_MS: '6000',
        // Transactions of ~900 requests: each process passes the backlog on in dozens of them,
        // so a kill leaves work for the next one. (With the 1 MiB default, a process took the
        // rest of each partition in one batch and could commit it all before its kill.)
        ANONMERGE_INGEST_BRIDGE_FETCH_MAX_BYTES: '131072',
        // Info: the claims, joins and transactions a failure would be explained by.
        ANONMERGE_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', log, log],
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ingest ${n} exited with ${child.exitCode}; see ${dir}/ingest-${n}.log`);
      // The metrics port's readiness includes the bridge's group joined.
      const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok).catch(() => false);
      if (ready) return child;
      if (Date.now() > deadline) throw new Error(`ingest ${n} not ready; see ${dir}/ingest-${n}.log`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * The inbound partitions where a transaction is open: records were written beyond the last
   * stable offset (kafkajs' admin asks ListOffsets with read_committed isolation, which answers
   * that offset). The offsets are read first, what was written after them: a record written and
   * committed between the two reads looks open, which the second look after the freeze settles.
   */
  const openTransactions = async () => {
    const stable = await watcher.fetchTopicOffsets(topics.inbound);
    return stable.filter((partition) => (written.get(partition.partition) ?? 0) > Number(partition.high)).map((partition) => partition.partition);
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /**
   * Waits, with the process frozen, until a commit it sent before has completed (the
   * coordinator finishes it meanwhile) and the read_uncommitted reader has seen all it wrote:
   * its ends unchanged over two looks.
   */
  const settled = async () => {
    await sleep(300);
    let before = JSON.stringify([...written]);
    for (let looks = 0; looks < 50; looks += 1) {
      await sleep(100);
      const now = JSON.stringify([...written]);
      if (now === before) return;
      before = now;
    }
  };
  const committed = async () => [...(await withAdmin(kafka, (admin) => fetchCommittedOffsets(admin, groupId, topics.requests))).values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);

  /**
   * Every record of the inbound topic, as a read_committed or a read_uncommitted reader sees it.
   * The end is told by kafkajs' batch events: the topic ends in transaction markers, which no
   * reader is handed.
   */
  async function readInboundValues(readUncommitted: boolean): Promise<Buffer[]> {
    const ends = new Map((await withAdmin(kafka, async (admin) => admin.fetchTopicOffsets(topics.inbound))).map((e) => [e.partition, Number(e.high)]));
    const remaining = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
    const consumer = kafka.consumer({ groupId: uniqueName('test-inbound-'), readUncommitted, maxWaitTimeInMs: 100 });
    const values: Buffer[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topics.inbound, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the inbound topic was not read to its end; partitions left: ${[...remaining]}`)), 60_000);
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (Number(payload.lastOffset) + 1 >= (ends.get(payload.partition) ?? 0)) remaining.delete(payload.partition);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      void consumer.run({ eachMessage: async ({ message }) => void values.push(message.value as Buffer) });
    });
    await consumer.disconnect();
    return values;
  }

  it('R7: passes every request on exactly once across three kills, the killed transactions aborted', async () => {
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['requests']);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // A backlog, so that each process starts on large batches: a transaction of thousands of
    // records is open most of the time, and a kill lands inside one.
    const ids = Array.from({ length: REQUESTS }, (_, i) => `rq-${String(i).padStart(6, '0')}`);
    for (let from = 0; from < REQUESTS; from += 2000) {
      await producer.send({
        topic: topics.requests,
        acks: -1,
        messages: ids.slice(from, from + 2000).map((id, j) => ({
          key: `anon-${(from + j) % 500}`,
          value: catalog.encode('requests', {
            workspace_id: 'crash',
            id,
            timestamp: null,
            command: { 'dev.anonmerge.requests.Track': { identifier: null, anonymous_id: `anon-${(from + j) % 500}`, name: '/pricing', type: 'page', data_json: null } },
          } satisfies Request),
        })),
      });
    }
    await producer.disconnect();
    const sent = ids.length;

    const killedAt: number[] = [];
    const freezes: number[] = [];
    for (let n = 0; n < KILLS; n += 1) {
      const before = await committed();
      if (before >= sent) throw new Error(`the bridge had passed every request on before kill ${n + 1}: the backlog is too small for the kills`);
      const child = await startBridge(n);
      running = child;
      const deadline = Date.now() + 90_000;
      // Aimed once the process has committed a transaction of its own (the group's positions
      // move; inbound's stable end moves at the predecessor's aborted transaction already): the
      // next one takes over partitions whose last commit is the killed process's.
      while ((await committed()) === before) {
        if (Date.now() > deadline) throw new Error(`ingest ${n} committed nothing in 90 s; see ${dir}/ingest-${n}.log`);
        await sleep(20);
      }
      // Probes: freeze the process at a point of its own loop, let what it had sent settle,
      // look. A frozen process cannot commit, so what is open then stays open; a look while it
      // runs raced its commits (short transactions were missed on a loaded machine).
      let freeze = 0;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`no transaction of ingest ${n} was seen open in 90 s (${await committed()} of ${sent} requests committed); see ${dir}/ingest-${n}.log`);
        freeze += 1;
        child.kill('SIGSTOP');
        await settled();
        if ((await openTransactions()).length > 0) break;
        child.kill('SIGCONT');
        // A random stretch of running, so the next freeze lands elsewhere in its loop.
        await sleep(Math.floor(Math.random() * 40));
      }
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      killedAt.push(await committed());
      freezes.push(freeze);
    }
    running = await startBridge(KILLS);
    const deadline = Date.now() + 180_000;
    while ((await committed()) < sent) {
      if (Date.now() > deadline) throw new Error(`the bridge committed ${await committed()} of ${sent}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const inbound = await SchemaCatalog.open(config.registry, topics, testLogger, ['inbound']);
    const records = await Promise.all((await readInboundValues(false)).map(async (value) => (await inbound.decode<{ id: string }>('inbound', value)).id));
    const seen = new Map<string, number>();
    for (const id of records) seen.set(id, (seen.get(id) ?? 0) + 1);
    const duplicated = [...seen].filter(([, copies]) => copies > 1).map(([id]) => id);
    const missing = ids.filter((id) => !seen.has(id));
    expect({ records: records.length, duplicated: duplicated.slice(0, 5), missing: missing.slice(0, 5) }).toEqual({ records: sent, duplicated: [], missing: [] });
    const everything = (await readInboundValues(true)).length;
    process.stdout.write(`bridge crash: killed at ${killedAt.join(', ')} committed of ${sent} sent, at freeze ${freezes.join(', ')}; inbound holds ${everything} records read_uncommitted, ${records.length} read_committed\n`);
    // The kills did land inside transactions: their records were written and never committed.
    expect(everything).toBeGreaterThan(sent);
  }, TEST_TIMEOUT_MS);
});
