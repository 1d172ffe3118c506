/**
 * The ingest service in-process against the real stack, on a free port, with topics and (when
 * asked) a Kafka of the test's own; and the decoding of what it wrote.
 */
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import { loadConfig, type TopicConfig } from '../../services/shared/config';
import { fromWire, type InboundRecord, type InboundRecordWire } from '../../services/shared/model/inbound';
import { startIngest, type RunningIngest } from '../../services/ingest/service';
import { WorkspaceRegistry, parseWorkspaces } from '../../services/ingest/workspaces';
import type { Logger } from '../../services/shared/logger';
import { config, readMessages, readToEnd, testLogger } from './stack';
import { placeLate, type PlacedLog } from './latePlacement';

export const DEMO_WORKSPACES = path.resolve(__dirname, '../../config/workspaces.json');

export function testWorkspaces(): WorkspaceRegistry {
  return new WorkspaceRegistry(
    parseWorkspaces(
      {
        workspaces: [
          { id: 'ws-a', site_id: 'site-a', api_key: 'key-a', write_key: 'write-a' },
          { id: 'ws-b', site_id: 'site-b', api_key: 'key-b', write_key: 'write-b', settings: { merge_enabled: false, grace_seconds: 60 } },
        ],
      },
      'test',
    ),
  );
}

export async function startTestIngest(
  topics: TopicConfig,
  options: { brokers?: string[]; workspaces?: WorkspaceRegistry | 'log'; workspacesSecretKey?: string; sendTimeoutMs?: number; logger?: Logger; timeouts?: { idleTimeoutMs: number; requestTimeoutMs: number }; trustedProxies?: string[]; personOps?: boolean; demo?: boolean; port?: number; metadataMaxAgeMs?: number; bridge?: { groupId: string; workspace?: string } } = {},
): Promise<RunningIngest> {
  const base = loadConfig(['kafka', 'registry', 'ingest'], { ...process.env, ANONMERGE_INGEST_PORT: '1' });
  return startIngest(
    {
      kafka: { ...base.kafka, brokers: options.brokers ?? config.kafka.brokers, requestTimeoutMs: 5000, metadataMaxAgeMs: options.metadataMaxAgeMs ?? base.kafka.metadataMaxAgeMs },
      registry: base.registry,
      topics,
      ingest: {
        ...base.ingest,
        port: options.port ?? 0,
        // Of its own too: two ingests never fight over the default metrics port.
        metricsPort: 0,
        sendTimeoutMs: options.sendTimeoutMs ?? base.ingest.sendTimeoutMs,
        ...options.timeouts,
        trustedProxies: options.trustedProxies ?? base.ingest.trustedProxies,
        personOps: options.personOps ?? base.ingest.personOps,
        demo: options.demo ?? false,
        workspacesSecretKey: options.workspacesSecretKey ?? '',
        bridge: options.bridge !== undefined,
        bridgeGroupId: options.bridge?.groupId ?? base.ingest.bridgeGroupId,
        bridgeWorkspace: options.bridge?.workspace ?? '',
      },
    },
    options.logger ?? testLogger,
    options.workspaces ?? testWorkspaces(),
  );
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * What ingest accepted: reads and decodes `count` records of the inbound and person-ops topics
 * (or what arrives before the timeout; a merger's own records among them count too); without a
 * count, every record they hold now. Person operations are in person-ops, keyed by workspace
 * (ANONMERGE_INGEST_PERSON_OPS).
 */
export async function readInbound(kafka: Kafka, topics: TopicConfig, count?: number, timeoutMs = 20000): Promise<Array<InboundRecord & { key: string; topic: string }>> {
  const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['inbound', 'personOps']);
  const sources = [topics.inbound, topics.personOps];
  const messages =
    count === undefined
      ? (await Promise.all(sources.map(async (topic) => (await readToEnd(kafka, topic, timeoutMs)).map((m) => ({ ...m, topic }))))).flat()
      : await readMessages(kafka, sources, count, timeoutMs);
  const records = await Promise.all(
    messages.map(async (m) => ({
      ...fromWire(await catalog.decode<InboundRecordWire>(m.topic === topics.personOps ? 'personOps' : 'inbound', m.value as Buffer)),
      key: m.key?.toString() ?? '',
      topic: m.topic,
    })),
  );
  // Ingest's own records (not the merger's ticks, clocks and binding commands), in the order
  // ingest took them (two topics have no order between them).
  return records.filter((r) => r.command.kind !== 'tick' && r.command.kind !== 'clock' && r.command.kind !== 'binding').sort((a, b) => a.received_at - b.received_at);
}

/**
 * As readInbound, but every record appended later than the reorder bound placed where the
 * two-plane merger places it (latePlacement.ts): each log read to its end, partition by partition
 * in offset order, ticks included for the frontier.
 */
export async function readInboundAsPlaced(kafka: Kafka, topics: TopicConfig, reorderMs: number, timeoutMs = 20000): Promise<Array<InboundRecord & { key: string; topic: string }>> {
  const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['inbound', 'personOps']);
  const logs: Array<[string, PlacedLog]> = [
    [topics.inbound, 'inbound'],
    [topics.personOps, 'personOps'],
  ];
  const placed = await Promise.all(
    logs.map(async ([topic, log]) => {
      const byPartition = new Map<number, Array<{ key: Buffer | null; value: Buffer | null; offset: string }>>();
      for (const message of await readToEnd(kafka, topic, timeoutMs)) {
        const list = byPartition.get(message.partition) ?? [];
        list.push(message);
        byPartition.set(message.partition, list);
      }
      const out: Array<InboundRecord & { key: string; topic: string }> = [];
      for (const messages of byPartition.values()) {
        messages.sort((a, b) => Number(a.offset) - Number(b.offset));
        const records = await Promise.all(messages.map(async (m) => fromWire(await catalog.decode<InboundRecordWire>(log, m.value as Buffer))));
        placeLate(log, records, reorderMs).forEach((record, i) => out.push({ ...record, key: messages[i]?.key?.toString() ?? '', topic }));
      }
      return out;
    }),
  );
  return placed
    .flat()
    .filter((r) => r.command.kind !== 'tick' && r.command.kind !== 'clock' && r.command.kind !== 'binding')
    .sort((a, b) => a.received_at - b.received_at);
}

/** The version of `workspace` a replica runs, as its metrics say (anonmerge_workspaces_version); NaN before it runs one. */
export async function workspaceVersionOn(replica: RunningIngest, workspace: string): Promise<number> {
  const text = await (await fetch(`${replica.metricsUrl}/metrics`)).text();
  return Number(new RegExp(`anonmerge_workspaces_version\\{[^}]*workspace="${workspace}"[^}]*\\} (\\d+)`).exec(text)?.[1]);
}
