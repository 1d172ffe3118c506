/**
 * docs/consuming.md: a consumer must never see a record of a transaction the merger aborted.
 * The merger is killed with SIGKILL inside an open transaction (frozen first, until its records
 * are seen in the log undecided) and fenced as a zombie (frozen the same way past its session, a
 * second merger takes its partitions, then it is resumed),
 * while the three example consumers (Node helper, Python librdkafka, Java client) read the
 * outbound topics. At the end the log holds records of aborted transactions (a read_uncommitted
 * reading has them), and each example printed exactly the committed records — no more, no fewer.
 */
import type { ChildProcess } from 'node:child_process';
import type { Producer } from 'kafkajs';
import { waitForMerger } from '../../../bench/readTopics';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { inboundKey } from '../../../services/shared/model/keys';
import { toWire, type InboundRecord } from '../../../services/shared/model/inbound';
import { inLogOrder, prepareExample, readTopics, runExampleConsumer, type ExampleLanguage, type PrintedRecord } from '../../support/exampleConsumers';
import { anonymousEvent, DEFAULT_SETTINGS, deleteRedisPrefix, identify, mergerEnv, mergerMainTransactions, spawnMerger, waitForMergerReady } from '../../support/merger';
import { resultsPath } from '../../support/results';
import { UndecidedTransactionWatch } from '../../support/undecidedTransactions';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

const LANGUAGES: ExampleLanguage[] = ['node', 'python', 'java'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('example consumers under aborted merger transactions', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('aborts', 3);
  const groupId = uniqueName('abort-merger');
  const prefix = uniqueName('t');
  const children: ChildProcess[] = [];
  const examples = new AbortController();
  let producer: Producer;
  let stopWatch: (() => Promise<void>) | null = null;

  afterAll(async () => {
    examples.abort();
    await stopWatch?.();
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await producer?.disconnect();
    await deleteRedisPrefix(prefix);
    await deleteTopics(kafka, topics);
  });

  it('R7: each example prints exactly the committed records while merger transactions are aborted under it', async () => {
    // Fetched first (Debian's packages, Maven's jars), so that every example is reading before the faults.
    await Promise.all(LANGUAGES.map(prepareExample));
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['inbound', 'personOps']);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const ws = uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');
    const env = { ...mergerEnv(topics, groupId, prefix, { mode: 'two-planes', sessionTimeoutMs: 3000 }), ANONMERGE_LOG_LEVEL: 'info' };
    const start = async () => {
      const logFile = resultsPath(`abort-merger-${uniqueName('m')}.log`);
      const child = spawnMerger(env, logFile);
      children.push(child);
      await waitForMergerReady(logFile);
      return { child, logFile };
    };
    const kill = async (child: ChildProcess) => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };
    let burst = 0;
    /** A burst of anonymous events (each an anonymous-events output) and identifies (merged events), written as ingest writes them. */
    const writeBurst = async (size: number) => {
      burst += 1;
      const at = Date.now();
      const records: InboundRecord[] = [];
      for (let i = 0; i < size; i += 1) records.push(anonymousEvent(ws, `b${burst}-a${i % 50}`, at + (i % 200), undefined, { settings: DEFAULT_SETTINGS }));
      for (let i = 0; i < 50; i += 10) records.push(identify(ws, `b${burst}-p${i}`, `b${burst}-a${i}`, at + 200 + i));
      const operations = records.filter((r) => r.command.kind === 'identify');
      const rest = records.filter((r) => r.command.kind !== 'identify');
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic: topics.personOps, messages: operations.map((r) => ({ key: r.workspace_id, value: catalog.encode('personOps', toWire(r)) })) },
          { topic: topics.inbound, messages: rest.map((r) => ({ key: inboundKey(r), value: catalog.encode('inbound', toWire(r)) })) },
        ],
      });
    };

    /**
     * Ready is not consuming: a merger started after a kill waits out the dead member's session
     * before it is given partitions. A trickle of events until it has committed a transaction
     * proves it is consuming.
     */
    const waitUntilConsuming = async (logFile: string) => {
      const deadline = Date.now() + 90_000;
      while ((await mergerMainTransactions(logFile)) < 1) {
        if (Date.now() > deadline) throw new Error(`the merger of ${logFile} committed no transaction in 90 s`);
        await writeBurst(20);
        await sleep(200);
      }
    };
    /**
     * Freezes the merger (SIGSTOP) at a moment its transaction is open with records in the log,
     * while events keep coming: freeze, look, and if nothing is undecided resume and try again a
     * little later. A kill's timing alone hits that window rarely on a loaded machine (the outputs
     * are sent just before the commit). Each look is short, and the merger runs longer between
     * looks than it stays frozen: a transaction left open across a look holds every
     * read_committed reader of its partitions back, and the examples must keep reading.
     */
    const freezeInOpenTransaction = async (child: ChildProcess) => {
      let feeding = true;
      const fed = (async () => {
        while (feeding) {
          await writeBurst(100);
          await sleep(100);
        }
      })();
      try {
        for (let attempt = 1; attempt <= 150; attempt += 1) {
          child.kill('SIGSTOP');
          const deadline = Date.now() + 250;
          while (Date.now() < deadline) {
            if (await watch.holdsUndecidedRecords()) return attempt;
            await sleep(40);
          }
          child.kill('SIGCONT');
          await sleep(300 + ((attempt * 37) % 100));
        }
        throw new Error('the merger was never seen with an open transaction holding records in 150 tries');
      } finally {
        feeding = false;
        await fed;
      }
    };

    const watch = await UndecidedTransactionWatch.start(kafka, [topics.mergedEvents, topics.campaignTriggers, topics.activity, topics.anonymousEvents]);
    stopWatch = () => watch.stop();
    let merger = await start();
    // Committed records before the examples start: each stops after 40 s without a new one, and
    // once the faults begin little becomes readable (a killed merger's open transactions hold
    // back read_committed readers until its successor claims their partitions). Started before
    // the first commit, on a loaded machine, they read nothing at all in their first 25 s.
    await waitUntilConsuming(merger.logFile);
    // The examples read from the first record on, through every fault, until the topics are quiet.
    const printing = LANGUAGES.map((language) =>
      runExampleConsumer(language, topics, { idleMs: 40_000, timeoutMs: 400_000, signal: examples.signal }).then((records) => ({ language, records })),
    );
    // If the test fails before it reads them, the examples must not outlive it.
    printing.forEach((p) => p.catch(() => undefined));

    // Time for each to join its group (Java compiles its source first), so that all read during the faults.
    await sleep(8000);
    // Kills inside an open transaction: the next owner of its partition aborts it.
    for (let round = 0; round < 4; round += 1) {
      await waitUntilConsuming(merger.logFile);
      const attempts = await freezeInOpenTransaction(merger.child);
      process.stderr.write(`abort test: round ${round + 1} froze the merger inside a transaction at try ${attempts}\n`);
      await kill(merger.child);
      merger = await start();
    }
    // A zombie: frozen inside a transaction past its session; a second merger takes over and
    // fences it, then the zombie is resumed (its commit is refused) and killed.
    await waitUntilConsuming(merger.logFile);
    await freezeInOpenTransaction(merger.child);
    const successor = await start();
    await sleep(8000);
    merger.child.kill('SIGCONT');
    await sleep(3000);
    await kill(merger.child);
    await writeBurst(500);
    await waitForMerger(kafka, topics, groupId, true, 120_000);
    await sleep(3000);
    await kill(successor.child);
    await watch.stop();
    stopWatch = null;

    const committed = await readTopics(kafka, topics, { readUncommitted: false });
    const everything = await readTopics(kafka, topics, { readUncommitted: true });
    const place = (r: PrintedRecord) => `${r.topic}/${r.partition}@${r.offset}`;
    const committedPlaces = new Set(committed.map(place));
    const aborted = everything.filter((r) => !committedPlaces.has(place(r)));
    process.stderr.write(`abort test: ${committed.length} committed records, ${aborted.length} records of aborted transactions in the log\n`);
    // The faults did abort merger transactions, with records in them.
    expect(aborted.length).toBeGreaterThan(0);
    expect(committed.length).toBeGreaterThan(2000);

    for (const { language, records } of await Promise.all(printing)) {
      const printed = inLogOrder(records);
      const leaked = printed.filter((r) => !committedPlaces.has(place(r)));
      expect({ language, leaked: leaked.length }).toEqual({ language, leaked: 0 });
      expect({ language, count: printed.length }).toEqual({ language, count: committed.length });
      expect(printed).toEqual(committed);
    }
  }, 600_000);
});
