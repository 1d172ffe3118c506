/**
 * docs/consuming.md: a consumer must never see a record of a transaction the merger aborted.
 * The merger is killed with SIGKILL while it is busy (a burst of events in flight) and fenced as a
 * zombie (stopped past its session, a second merger takes its partitions, then it is resumed),
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
import { anonymousEvent, DEFAULT_SETTINGS, deleteRedisPrefix, identify, mergerEnv, spawnMerger, waitForMergerReady } from '../../support/merger';
import { resultsPath } from '../../support/results';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

const LANGUAGES: ExampleLanguage[] = ['node', 'python', 'java'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('example consumers under aborted merger transactions', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('aborts', 3);
  const groupId = uniqueName('abort-merger');
  const prefix = uniqueName('t');
  const children: ChildProcess[] = [];
  let producer: Producer;

  afterAll(async () => {
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
      return child;
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

    let merger = await start();
    // The examples read from the first record on, through every fault, until the topics are quiet.
    const printing = LANGUAGES.map((language) => runExampleConsumer(language, topics, { idleMs: 25_000, timeoutMs: 300_000 }).then((records) => ({ language, records })));

    // Time for each to join its group (Java compiles its source first), so that all read during the faults.
    await sleep(8000);
    // Kills while a burst is being merged: a transaction is open most of that time.
    for (let round = 0; round < 4; round += 1) {
      await writeBurst(2000);
      await sleep(300 + round * 150);
      await kill(merger);
      merger = await start();
    }
    // A zombie: stopped mid-burst past its session; a second merger takes over and fences it.
    await writeBurst(2000);
    await sleep(400);
    merger.kill('SIGSTOP');
    const successor = await start();
    await sleep(8000);
    merger.kill('SIGCONT');
    await sleep(3000);
    await kill(merger);
    await writeBurst(500);
    await waitForMerger(kafka, topics, groupId, true, 120_000);
    await sleep(3000);
    await kill(successor);

    const committed = await readTopics(kafka, topics, { readUncommitted: false });
    const everything = await readTopics(kafka, topics, { readUncommitted: true });
    const place = (r: PrintedRecord) => `${r.topic}/${r.partition}@${r.offset}`;
    const committedPlaces = new Set(committed.map(place));
    const aborted = everything.filter((r) => !committedPlaces.has(place(r)));
    process.stderr.write(`abort test: ${committed.length} committed records, ${aborted.length} records of aborted transactions in the log\n`);
    // The faults did abort merger transactions, with records in them.
    expect(aborted.length).toBeGreaterThan(0);
    expect(committed.length).toBeGreaterThan(10_000);

    for (const { language, records } of await Promise.all(printing)) {
      const printed = inLogOrder(records);
      const leaked = printed.filter((r) => !committedPlaces.has(place(r)));
      expect({ language, leaked: leaked.length }).toEqual({ language, leaked: 0 });
      expect({ language, count: printed.length }).toEqual({ language, count: committed.length });
      expect(printed).toEqual(committed);
    }
  }, 600_000);
});
