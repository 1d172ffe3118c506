/**
 * The ingest service: Customer.io Track API v1 in, Avro records on the inbound topic out.
 */
import { SchemaCatalog } from '../shared/avro/catalog';
import { createSchemaRegistry } from '../shared/avro/registry';
import { createKafka } from '../shared/kafka/client';
import { ensureTopics } from '../shared/kafka/topics';
import { installShutdown } from '../shared/lifecycle/shutdown';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { buildIngestApp } from './app';
import { InboundProducer } from './inboundProducer';
import { InboundPublisher } from './publisher';
import { WorkspaceFileError, WorkspaceRegistry } from './workspaces';

async function main(): Promise<void> {
  const config = configOrExit('ingest', ['kafka', 'topics', 'registry', 'log', 'ingest']);
  const logger = createLogger('ingest', config.log.level);
  let workspaces: WorkspaceRegistry;
  try {
    workspaces = WorkspaceRegistry.fromFile(config.ingest.workspacesFile);
  } catch (error) {
    if (!(error instanceof WorkspaceFileError)) throw error;
    process.stderr.write(`ingest: invalid workspaces file (ANONMERGE_WORKSPACES_FILE): ${error.message}\n`);
    process.exit(78);
  }

  const kafka = createKafka(config.kafka, logger, 'ingest');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.topics, logger);
  await admin.disconnect();
  const catalog = await SchemaCatalog.open(createSchemaRegistry(config.registry), config.topics, logger);

  const producer = new InboundProducer(kafka, { topic: config.topics.inbound, lingerMs: 2, maxBatchMessages: 2000, sendTimeoutMs: 10000 }, logger);
  await producer.connect();
  const publisher = new InboundPublisher(catalog, producer);

  const app = buildIngestApp({ logger, workspaces, publish: (records) => publisher.publish(records), ready: () => producer.ready });
  installShutdown(logger, () => [
    // Stop taking requests and let in-flight ones finish (their records included), then close.
    { name: 'http server', close: () => app.close() },
    { name: 'kafka producer', close: () => producer.close() },
  ], config.ingest.shutdownGraceMs);
  await app.listen({ host: config.ingest.host, port: config.ingest.port });
  logger.info({ host: config.ingest.host, port: config.ingest.port, workspaces: workspaces.workspaces.length }, 'ingest listening');
}

main().catch((error: unknown) => {
  process.stderr.write(`ingest failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
