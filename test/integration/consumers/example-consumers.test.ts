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
  for (let i = 0; i < 3; i += 1) {
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

  it.each<ExampleLanguage>(['node', 'python', 'java'])('the %s example prints exactly the committed records, keys and values', async (language) => {
    const printed = inLogOrder(await runExampleConsumer(language, topics));
    expect(printed).toEqual(committed);
  }, 300_000);

  it('the PostgreSQL sink holds each event once under its person, deleted people gone, merged people folded, after restarts', async () => {
    // What the sink should hold, from the committed reading: merged events under their key,
    // folded through PEOPLE_MERGED, without the people a tombstone deleted.
    const personKey = (ws: string, person: { id_type: string; value: string }) => `${ws}/p/${person.id_type.toLowerCase()}:${person.value}`;
    const into = new Map<string, string>();
    for (const r of committed) {
      const activity = r.value as { kind?: string; workspace_id: string; person: { id_type: string; value: string }; other_person: { id_type: string; value: string } | null } | null;
      if (r.topic === topics.activity && activity?.kind === 'PEOPLE_MERGED' && activity.other_person) into.set(personKey(activity.workspace_id, activity.other_person), personKey(activity.workspace_id, activity.person));
    }
    const deleted = new Set(committed.filter((r) => r.topic === topics.mergedEvents && r.value === null).map((r) => r.key as string));
    const expected = committed
      .filter((r) => r.topic === topics.mergedEvents && r.value !== null && !deleted.has(r.key as string))
      .map((r) => [(r.value as { event_id: string }).event_id, into.get(r.key as string) ?? (r.key as string)])
      .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
    // The workload has both: a folded event and a deleted person's events.
    expect(expected.some(([, key]) => into.has(key as string))).toBe(false);
    expect([...into.keys()].length).toBe(1);
    expect(committed.some((r) => r.topic === topics.mergedEvents && r.value !== null && into.has(r.key as string))).toBe(true);
    expect(committed.some((r) => r.topic === topics.mergedEvents && r.value !== null && deleted.has(r.key as string))).toBe(true);

    const rows = async () => JSON.parse(await psql(`SELECT coalesce(json_agg(json_build_array(event_id, person_key) ORDER BY event_id), '[]') FROM "${pgSchema}".person_events`)) as string[][];
    await runPostgresSink(topics, pgSchema, uniqueName('sink'));
    expect(await rows()).toEqual(expected);
    // Restarted: its positions are in PostgreSQL, nothing is applied twice.
    await runPostgresSink(topics, pgSchema, uniqueName('sink'));
    expect(await rows()).toEqual(expected);
    // Positions lost: everything is read again, and the inserts are idempotent.
    await psql(`DELETE FROM "${pgSchema}".kafka_positions`);
    await runPostgresSink(topics, pgSchema, uniqueName('sink'));
    expect(await rows()).toEqual(expected);
  }, 180_000);
});
