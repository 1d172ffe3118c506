/**
 * Wires the ingest service together: topics, schemas, the durable producer and the HTTP app.
 * main.ts runs it as a process; integration tests run it in-process against the real stack.
 */
import type { FastifyInstance } from 'fastify';
import { SchemaCatalog } from '../shared/avro/catalog';
import type { StreamName } from '../shared/avro/schemaFiles';
import type { Config } from '../shared/config';
import { createKafka } from '../shared/kafka/client';
import { ensureTopicsWith } from '../shared/kafka/topics';
import type { CloseStep } from '../shared/lifecycle/shutdown';
import type { Logger } from '../shared/logger';
import { buildIngestApp } from './app';
import { refuseDemoKeys } from './demoKeys';
import { createRegistry, serveMetrics } from '../shared/metrics/registry';
import { buildHealthServer } from '../shared/http/healthServer';
import { InboundProducer } from './inboundProducer';
import { InboundPublisher } from './publisher';
import { WorkspaceRegistry } from './workspaces';
import { openWorkspaces } from './workspacesLog';
import { startRequestBridge } from './requestBridge';

export type IngestConfig = Config<'kafka' | 'topics' | 'registry' | 'ingest'>;

export interface RunningIngest {
  readonly app: FastifyInstance;
  /** http://host:port of the listening server. */
  readonly url: string;
  /** http://host:port of the metrics server (/metrics). */
  readonly metricsUrl: string;
  readonly producer: InboundProducer;
  /** In order: stop taking requests (in-flight ones finish, records included), then the producer. */
  readonly closeSteps: CloseStep[];
  close(): Promise<void>;
}

/**
 * `source`: the workspaces read from the file at start, or 'log' to follow the workspaces log
 * (ANONMERGE_WORKSPACES_SOURCE=log; docs/design-workspaces.md).
 */
export async function startIngest(config: IngestConfig, logger: Logger, source: WorkspaceRegistry | 'log' = WorkspaceRegistry.fromFile(config.ingest.workspacesFile)): Promise<RunningIngest> {
  // Before anything is connected or created: a deployment with the demo's public keys stops here.
  if (source !== 'log') refuseDemoKeys(source.workspaces, { demo: config.ingest.demo });
  const kafka = createKafka(config.kafka, logger, 'ingest');
  await ensureTopicsWith(kafka, config.topics, logger);
  const streams: StreamName[] = ['inbound', 'workspaces', ...(config.ingest.personOps ? (['personOps'] as const) : []), ...(config.ingest.bridge ? (['requests', 'deadLetters'] as const) : [])];
  const catalog = await SchemaCatalog.open(config.registry, config.topics, logger, streams);
  const metrics = createRegistry('ingest');
  const followed = await openWorkspaces(source, { kafka, catalog, topic: config.topics.workspaces, groupPrefix: 'anonmerge-ingest', secretKey: config.ingest.workspacesSecretKey, demo: config.ingest.demo, logger, metrics });
  const workspaces = followed.registry;
  if (source === 'log') refuseDemoKeys(workspaces.workspaces, { demo: config.ingest.demo });
  const producerOptions = { lingerMs: config.ingest.lingerMs, maxBatchMessages: 5000, sendTimeoutMs: config.ingest.sendTimeoutMs, metadataMaxAgeMs: config.kafka.metadataMaxAgeMs };
  const producer = new InboundProducer(kafka, { ...producerOptions, topic: config.topics.inbound }, logger);
  await producer.connect();
  // The two-plane merger decides person operations from a topic of their own.
  const personOps = config.ingest.personOps ? new InboundProducer(kafka, { ...producerOptions, topic: config.topics.personOps }, logger) : null;
  await personOps?.connect();
  const publisher = new InboundPublisher(catalog, producer, personOps);
  // Producers on Kafka: their commands, read from the request topic, checked and stamped alike.
  const bridgeAdmin = config.ingest.bridge ? kafka.admin() : null;
  await bridgeAdmin?.connect();
  const bridge = bridgeAdmin
    ? await startRequestBridge({
        kafka,
        admin: bridgeAdmin,
        catalog,
        workspaces,
        requestsTopic: config.topics.requests,
        groupId: config.ingest.bridgeGroupId,
        onlyWorkspace: config.ingest.bridgeWorkspace === '' ? null : config.ingest.bridgeWorkspace,
        personOps: config.ingest.personOps,
        sessionTimeoutMs: config.ingest.bridgeSessionTimeoutMs,
        fetchMaxBytes: config.ingest.bridgeFetchMaxBytes,
        metadataMaxAgeMs: config.kafka.metadataMaxAgeMs,
        logger,
        metrics,
      })
    : null;
  // The HTTP port's readiness is the HTTP routes' alone: a bridge that cannot join its group (a
  // missing ACL, say) must not take the HTTP API out of a load balancer. The metrics port's
  // readiness covers the bridge too (docs/producing.md).
  const httpReady = () => producer.ready && (personOps?.ready ?? true);
  const ready = () => httpReady() && (bridge?.joined() ?? true);
  const app = buildIngestApp({ logger, workspaces, publish: (records) => publisher.publish(records), ready: httpReady, metrics,
    timeouts: config.ingest,
    authFailures: { maxFailures: config.ingest.authFailureLimit, windowMs: config.ingest.authFailureWindowMs },
    trustedProxies: config.ingest.trustedProxies,
    demo: config.ingest.demo,
  });
  // Metrics name workspaces and their volumes: served on a port of their own, which the public
  // can be kept away from (loopback by default; in Kubernetes, the monitoring namespace only).
  const metricsServer = buildHealthServer({ logger, ready, extend: (server) => serveMetrics(server, metrics), timeouts: config.ingest });
  const metricsAddress = await metricsServer.listen({ host: config.ingest.metricsHost, port: config.ingest.metricsPort });
  const address = await app.listen({ host: config.ingest.host, port: config.ingest.port });
  logger.info({ address, metrics: metricsAddress, workspaces: workspaces.workspaces.length }, 'ingest listening');
  const closeSteps: CloseStep[] = [
    { name: 'http server', close: () => app.close() },
    { name: 'metrics server', close: () => metricsServer.close() },
    { name: 'kafka producer', close: () => producer.close() },
    { name: 'person-ops producer', close: async () => personOps?.close() },
    // Its batch in progress is finished and committed, then the group is left.
    { name: 'request bridge', close: async () => {
        await bridge?.stop();
        await bridgeAdmin?.disconnect();
      } },
    { name: 'workspaces log', close: () => followed.stop() },
  ];
  return {
    app,
    url: address.replace('[::1]', '127.0.0.1'),
    metricsUrl: metricsAddress.replace('[::1]', '127.0.0.1'),
    producer,
    closeSteps,
    close: async () => {
      for (const step of closeSteps) await step.close();
    },
  };
}
