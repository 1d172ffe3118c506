/**
 * A readable live feed of what anonmerge emits downstream: it reads the outbound topics as a
 * downstream consumer would (read_committed, through the registry) and prints one line per
 * record, so a person can watch anonymous events become a person's.
 */
import type { Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { StreamName } from '../shared/avro/schemaFiles';
import { displayPerson } from '../shared/model/person';
import type { Activity, AnonymousEvent, CampaignTrigger, DeadLetter, MergedEvent } from '../shared/model/outbound';

const color = process.stdout.isTTY ? (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[0m` : () => (text: string) => text;
const dim = color(2);
const yellow = color(33);
const green = color(32);
const cyan = color(36);
const magenta = color(35);
const red = color(31);

const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const shortName = (name: string) => name.replace(/^https?:\/\/[^/]+/, '');

export function formatRecord(stream: StreamName, value: unknown): string {
  switch (stream) {
    case 'anonymousEvents': {
      const e = value as AnonymousEvent;
      return `${time(e.received_at)}  ${yellow('ANONYMOUS')}  ${e.anonymous_id.padEnd(38)} ${e.type.padEnd(6)} ${shortName(e.name)}`;
    }
    case 'mergedEvents': {
      const e = value as MergedEvent;
      const origin = e.previously_anonymous ? cyan(` ← merged from ${e.anonymous_id}`) : '';
      return `${time(e.associated_at)}  ${green('PERSON   ')}  ${displayPerson(e.person).padEnd(38)} ${e.type.padEnd(6)} ${shortName(e.name)}${origin}`;
    }
    case 'campaignTriggers': {
      const t = value as CampaignTrigger;
      const who = t.person ? displayPerson(t.person) : `invite → ${t.recipient}`;
      return `${time(t.associated_at)}  ${magenta('TRIGGER  ')}  ${who.padEnd(38)} ${t.type.padEnd(6)} ${shortName(t.name)}`;
    }
    case 'activity': {
      const a = value as Activity;
      const detail =
        a.kind === 'ANONYMOUS_DATA_MERGED'
          ? `Anonymous Data Merged: ${a.merged_count} event(s), oldest ${a.oldest_event_timestamp === null ? '-' : time(a.oldest_event_timestamp * 1000)}, anonymous id ${a.anonymous_id}`
          : `${a.kind}${a.anonymous_id ? ` ${a.anonymous_id}` : ''}${a.other_person ? ` (other: ${displayPerson(a.other_person)})` : ''}`;
      return `${time(a.at)}  ${cyan('ACTIVITY ')}  ${displayPerson(a.person).padEnd(38)} ${detail}`;
    }
    case 'deadLetters': {
      const d = value as DeadLetter;
      return `${time(d.failed_at)}  ${red('DEAD     ')}  ${d.source_topic}[${d.source_partition}]@${d.source_offset}: ${d.reason}`;
    }
    default:
      return `${stream}: ${JSON.stringify(value)}`;
  }
}

export const FEED_STREAMS: StreamName[] = ['anonymousEvents', 'mergedEvents', 'campaignTriggers', 'activity', 'deadLetters'];

export async function startFeed(kafka: Kafka, catalog: SchemaCatalog, print: (line: string) => void) {
  const consumer = kafka.consumer({ groupId: `anonmerge-feed-${process.pid}-${Date.now()}`, readUncommitted: false });
  await consumer.connect();
  const streamOf = new Map(FEED_STREAMS.map((stream) => [catalog.topic(stream), stream]));
  await consumer.subscribe({ topics: [...streamOf.keys()], fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const stream = streamOf.get(topic);
      if (!stream) return;
      if (message.value === null) {
        print(`${dim(time(Number(message.timestamp)))}  ${red('TOMBSTONE')}  ${message.key?.toString() ?? ''}`);
        return;
      }
      print(formatRecord(stream, await catalog.decode(stream, message.value)));
    },
  });
  return consumer;
}

export { dim };
