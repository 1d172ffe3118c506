/**
 * The Avro schemas under schemas/ are the contract downstream consumers code against. This maps
 * each topic to its schema file and loads them as avsc types.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import type { TopicConfig } from '../config';
import { projectRoot } from '../projectRoot';

export const SCHEMA_DIR = path.join(projectRoot(), 'schemas');

/** Logical names of the streams; the topic each one uses comes from configuration. */
export type StreamName = 'inbound' | 'mergedEvents' | 'campaignTriggers' | 'activity' | 'anonymousEvents' | 'deadLetters' | 'personOps' | 'commands' | 'personOrder' | 'workspaces' | 'requests';

export const SCHEMA_FILE_OF: Record<StreamName, string> = {
  inbound: 'inbound-record.avsc',
  mergedEvents: 'merged-event.avsc',
  campaignTriggers: 'campaign-trigger.avsc',
  activity: 'activity.avsc',
  anonymousEvents: 'anonymous-event.avsc',
  deadLetters: 'dead-letter.avsc',
  // Person operations are inbound records, on a topic of their own (docs/design-person-operations.md).
  personOps: 'inbound-record.avsc',
  // The control plane's binding changes and clocks, for the data plane: inbound records too.
  commands: 'inbound-record.avsc',
  // The planes' merged events and clocks, for the order stage that writes them out in order.
  personOrder: 'person-order-record.avsc',
  // Each workspace's definitions, one record per change (docs/design-workspaces.md).
  workspaces: 'workspace-change.avsc',
  // Commands written straight to Kafka by producers, for ingest's request bridge (docs/producing.md).
  requests: 'request.avsc',
};

export const STREAMS = Object.keys(SCHEMA_FILE_OF) as StreamName[];

export interface LoadedSchema {
  readonly stream: StreamName;
  readonly topic: string;
  /** The registry subject, `<topic>-value` (Confluent's TopicNameStrategy). */
  readonly subject: string;
  readonly text: string;
  readonly type: avro.Type;
}

export function loadSchema(stream: StreamName, topics: TopicConfig, schemaDir = SCHEMA_DIR): LoadedSchema {
  const file = path.join(schemaDir, SCHEMA_FILE_OF[stream]);
  const text = readFileSync(file, 'utf8');
  const topic = topics[stream];
  // Re-serialise so the registry sees the canonical JSON, not our formatting.
  const parsed: unknown = JSON.parse(text);
  return { stream, topic, subject: `${topic}-value`, text: JSON.stringify(parsed), type: avro.Type.forSchema(parsed as avro.Schema) };
}
