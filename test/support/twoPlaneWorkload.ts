/**
 * A whole-merger workload for the real stack (issue 13): many independent groups of the property
 * test's random steps (test/support/personOpsWorkload.ts) — anonymous events, identifies and
 * re-identifies, person events, invites, deletes, chained merges, aliases, merging switched off,
 * repeated ids — each group with ids of its own, laid out from a start time so that they overlap,
 * and appended as ingest appends them: about when they were stamped, person operations to
 * person-ops (keyed by workspace), everything else to inbound (keyed as ingest keys it).
 */
import fc from 'fast-check';
import type { Producer } from 'kafkajs';
import type { SchemaCatalog } from '../../services/shared/avro/catalog';
import type { TopicConfig } from '../../services/shared/config';
import { isPersonOperation, toWire, type InboundRecord } from '../../services/shared/model/inbound';
import { inboundKey } from '../../services/shared/model/keys';
import { T0, toRecords, workload, type Step } from './personOpsWorkload';

/** `p1@example.com` → `p1.g7@example.com`, `user-4` → `user-4-g7`, `a1` → `a1-g7`. */
function renamer(group: number): (name: string) => string {
  return (name) => (name.includes('@') ? name.replace('@', `.g${group}@`) : `${name}-g${group}`);
}

function renameStep(step: Step, rename: (name: string) => string): Step {
  switch (step.kind) {
    case 'anonEvent':
      return { ...step, anonymousId: rename(step.anonymousId), eventId: step.eventId && rename(step.eventId) };
    case 'personEvent':
      return { ...step, person: rename(step.person), eventId: step.eventId && rename(step.eventId) };
    case 'invite':
      return step;
    case 'identify':
      return { ...step, person: rename(step.person), anonymousId: step.anonymousId && rename(step.anonymousId) };
    case 'delete':
      return { ...step, person: rename(step.person) };
    case 'merge':
      return { ...step, primary: rename(step.primary), secondary: rename(step.secondary) };
    case 'alias':
      return { ...step, user: rename(step.user), previous: rename(step.previous) };
  }
}

/** Moves a record by `shiftMs` (a whole number of seconds, so event timestamps move with it). */
function shifted(record: InboundRecord, shiftMs: number): InboundRecord {
  const moved = { ...record, received_at: record.received_at + shiftMs };
  if (record.command.kind !== 'track') return moved;
  return { ...moved, command: { ...record.command, body: { ...record.command.body, timestamp: record.command.body.timestamp + shiftMs / 1000 } } };
}

/**
 * `groups` random groups, in workspaces `<prefix>-w1` and `<prefix>-w2`, the first received at
 * `start` (rounded up to a second) and each later one up to `spreadS` seconds after it.
 */
export function twoPlaneWorkload(prefix: string, groups: number, start: number, spreadS: number, seed: number): InboundRecord[] {
  const samples = fc.sample(workload, { seed, numRuns: groups });
  const startS = Math.ceil(start / 1000) * 1000;
  const records: InboundRecord[] = [];
  samples.forEach((steps, group) => {
    const rename = renamer(group);
    const offsetS = (group * 7919) % (spreadS + 1);
    const shift = startS - T0 + offsetS * 1000;
    for (const record of toRecords(steps.map((s) => ({ ...s, step: renameStep(s.step, rename) })))) {
      const own = /^r\d{3}$/.test(record.id) ? `g${group}-${record.id}` : record.id;
      records.push(shifted({ ...record, id: own, workspace_id: `${prefix}-${record.workspace_id}` }, shift));
    }
  });
  return records;
}

/**
 * Appends each record at about its received_at plus a jitter below `jitterMs` (ingest stamps,
 * then appends a little later), each to the topic and with the key ingest would use.
 */
export async function appendLikeIngest(producer: Producer, catalog: SchemaCatalog, topics: TopicConfig, records: readonly InboundRecord[], jitterMs: number): Promise<void> {
  const order = records.map((record, i) => ({ record, appendAt: record.received_at + ((i * 37) % jitterMs) })).sort((a, b) => a.appendAt - b.appendAt);
  for (let i = 0; i < order.length; ) {
    const due: InboundRecord[] = [];
    while (i < order.length && (order[i] as { appendAt: number }).appendAt <= Date.now()) due.push((order[i++] as { record: InboundRecord }).record);
    if (due.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      continue;
    }
    const operations = due.filter(isPersonOperation);
    const rest = due.filter((record) => !isPersonOperation(record));
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic: topics.personOps, messages: operations.map((r) => ({ key: r.workspace_id, value: catalog.encode('personOps', toWire(r)) })) },
        { topic: topics.inbound, messages: rest.map((r) => ({ key: inboundKey(r), value: catalog.encode('inbound', toWire(r)) })) },
      ].filter((t) => t.messages.length > 0),
    });
  }
}
