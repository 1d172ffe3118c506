/**
 * docs/consuming.md's example consumers — Node (the repository's consumer helper), Python
 * (Debian's python3-confluent-kafka) and Java (kafka-clients + Apache Avro) — each read the
 * merger's outbound topics after a workload of every kind of output (merged events, triggers,
 * pending anonymous events, the activity of a merge, a rebind refusal, a deletion with its
 * tombstone, a merge of two people), and each prints exactly what a read_committed reading of
 * those topics holds: the same records, at the same offsets, with the same keys and values.
 */
import type { InboundRecord, WorkspaceSettings } from '../../../services/shared/model/inbound';
import { EXAMPLE_STREAMS, inLogOrder, psql, readTopics, runExampleConsumer, runPostgresSink, type ExampleLanguage, type PrintedRecord } from '../../support/exampleConsumers';
import { anonymousEvent, DEFAULT_SETTINGS, deleteRedisPrefix, identify, InboundWriter, OutputReader, personEvent, startTestMerger } from '../../support/merger';
import { deleteTopics, isolatedTopics, testKafka, uniqueName } from '../../support/stack';

/** Windows of 2 s, so that the activity of each merge is out within the test. */
const SHORT: WorkspaceSettings = { ...DEFAULT_SETTINGS, grace_seconds: 2 };

const deleteOf = (ws: string, person: string, at: number): InboundRecord => ({ ...identify(ws, person, null, at, SHORT), command: { kind: 'delete', body: { person: { id_type: 'ID', value: person } } } });
const mergeOf = (ws: string, primary: string, secondary: string, at: number): InboundRecord => ({
  ...identify(ws, primary, null, at, SHORT),
  command: { kind: 'merge', body: { primary: { id_type: 'ID', value: primary }, secondary: { id_type: 'ID', value: secondary } } },
});

/** Every kind of outbound record, for one workspace, stamped from `t` on. */
function workload(ws: string, t: number): InboundRecord[] {
  const records: InboundRecord[] = [];
  for (let i = 0; i < 5; i += 1) {
    const anon = `a-${i}`;
    records.push(anonymousEvent(ws, anon, t + i * 10 + 1, undefined, { settings: SHORT }), anonymousEvent(ws, anon, t + i * 10 + 2, undefined, { settings: SHORT }));
    records.push(identify(ws, `p-${i}`, anon, t + i * 10 + 3, SHORT));
    records.push({ ...personEvent(ws, `p-${i}`, t + i * 10 + 4), settings: SHORT });
  }
  // Stays pending: only on anonymous-events.
  records.push(anonymousEvent(ws, 'never-identified', t + 40, undefined, { settings: SHORT }));
  // A rebind refused (SPEC R2f): a-0 belongs to p-0.
  records.push(identify(ws, 'someone-else', 'a-0', t + 50, SHORT));
  // A deletion: its activity and its tombstone on merged-events.
  records.push(deleteOf(ws, 'p-1', t + 60));
  // Two people merged.
  records.push(mergeOf(ws, 'p-0', 'p-2', t + 70));
  // Two people merged, then the primary deleted: the secondary's events go with it (R9, R10).
  records.push(mergeOf(ws, 'p-4', 'p-3', t + 80));
  records.push(deleteOf(ws, 'p-4', t + 90));
  return records;
}

describe('example consumers (docs/consuming.md)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('consumers', 3);
  let committed: PrintedRecord[] = [];
  let prefix = '';

  beforeAll(async () => {
    const merger = await startTestMerger(topics, { mode: 'two-planes' });
    prefix = merger.prefix;
    const writer = await new InboundWriter(kafka, topics, { personOps: true }).open();
    const reader = await new OutputReader(kafka, topics).open();
    const ws = uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');
    await writer.write(workload(ws, Math.ceil((Date.now() + 2000) / 1000) * 1000));
    // Every kind of output is out (the merges' activity comes when their 2 s windows end).
    await reader.until((got) => {
      const kinds = new Set(got.activity.map((a) => a.kind));
      return got.tombstones.length >= 1 && ['ANONYMOUS_DATA_MERGED', 'ANONYMOUS_ID_REBIND_REFUSED', 'PERSON_DELETED', 'PEOPLE_MERGED'].every((k) => kinds.has(k as never)) && got.anonymousEvents.length >= 7;
    }, 60_000);
    await merger.close();
    await writer.close();
    await reader.close();
    committed = await readTopics(kafka, topics, { readUncommitted: false });
  }, 180_000);

  const pgSchema = uniqueName('sink').toLowerCase().replace(/[^a-z0-9_]/g, '_');

  afterAll(async () => {
    await psql(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`).catch(() => undefined);
    await deleteRedisPrefix(prefix);
    await deleteTopics(kafka, topics);
  });

  it('the committed reading holds every kind of output', () => {
    const topicsRead = new Set(committed.map((r) => r.topic));
    expect([...topicsRead].sort()).toEqual(EXAMPLE_STREAMS.map((s) => topics[s]).sort());
    expect(committed.some((r) => r.topic === topics.mergedEvents && r.value === null)).toBe(true);
  });

  it.each<ExampleLanguage>(['node', 'python', 'java'])('R7: the %s example prints exactly the committed records, keys and values', async (language) => {
    const printed = inLogOrder(await runExampleConsumer(language, topics));
    expect(printed).toEqual(committed);
  }, 300_000);

  it('R7, R9, R10: the PostgreSQL sink holds each event once under its person, merged people folded, deleted people gone, after restarts', async () => {
    // The workload's people at the end: p-0 with p-2 merged into it; p-1 deleted; p-3 merged into
    // p-4, then p-4 deleted. So the table holds the merged events of p-0 and p-2, all under p-0.
    const key = (person: string) => committed.find((r) => r.topic === topics.mergedEvents && (r.key as string).endsWith(`/p/id:${person}`))?.key as string;
    const expected = committed
      .filter((r) => r.topic === topics.mergedEvents && r.value !== null && [key('p-0'), key('p-2')].includes(r.key as string))
      .map((r) => [(r.value as { event_id: string }).event_id, key('p-0')])
      .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
    for (const person of ['p-0', 'p-1', 'p-2', 'p-3', 'p-4']) expect(key(person)).toBeDefined();
    expect(expected.length).toBeGreaterThanOrEqual(4);
    // Where the sink must stand after reading everything: past the last record of each partition.
    const ends = new Map<string, number>();
    for (const r of committed) if (r.topic === topics.mergedEvents || r.topic === topics.activity) ends.set(`${r.topic}/${r.partition}`, Math.max(ends.get(`${r.topic}/${r.partition}`) ?? 0, r.offset + 1));
    const applicable = committed.filter((r) => r.topic === topics.mergedEvents || r.topic === topics.activity).length;

    const rows = async () => JSON.parse(await psql(`SELECT coalesce(json_agg(json_build_array(event_id, person_key) ORDER BY event_id), '[]') FROM "${pgSchema}".person_events`)) as string[][];
    const positions = async () => new Map((JSON.parse(await psql(`SELECT coalesce(json_agg(json_build_array(topic || '/' || partition, next_offset)), '[]') FROM "${pgSchema}".kafka_positions`)) as Array<[string, number]>).map(([k, v]) => [k, Number(v)]));
    expect(await runPostgresSink(topics, pgSchema, uniqueName('sink'))).toEqual({ applied: applicable });
    expect(await rows()).toEqual(expected);
    expect(await positions()).toEqual(ends);
    // Restarted: it resumes from the positions it stored with the rows, and applies nothing again.
    expect(await runPostgresSink(topics, pgSchema, uniqueName('sink'))).toEqual({ applied: 0 });
    expect(await rows()).toEqual(expected);
    // Positions lost: everything is read and applied again, and the table is the same.
    await psql(`DELETE FROM "${pgSchema}".kafka_positions`);
    expect(await runPostgresSink(topics, pgSchema, uniqueName('sink'))).toEqual({ applied: applicable });
    expect(await rows()).toEqual(expected);
  }, 180_000);
});
