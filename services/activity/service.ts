/**
 * Wires the activity log together: the outbound topics feed a bounded view; an HTTP server shows
 * it (the page, its API, a live stream) and answers explain from the inbound log and Redis.
 * main.ts runs it as a process; tests run it in-process against the real stack.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { SchemaCatalog } from '../shared/avro/catalog';
import type { Config } from '../shared/config';
import { createKafka } from '../shared/kafka/client';
import { ensureTopicsWith } from '../shared/kafka/topics';
import type { CloseStep } from '../shared/lifecycle/shutdown';
import type { Logger } from '../shared/logger';
import { createRedis } from '../shared/redis/client';
import { explain } from '../cli/commands/explain';
import { KeySpace } from '../merger/redis/keys';
import { refuseDemoKeys } from '../ingest/demoKeys';
import { WorkspaceRegistry } from '../ingest/workspaces';
import { openWorkspaces } from '../ingest/workspacesLog';
import { buildActivityApp } from './app';
import { consumeOutputs } from './outputsConsumer';
import { RecentView } from './view';

export type ActivityConfig = Config<'kafka' | 'topics' | 'registry' | 'redis' | 'merger' | 'ingest' | 'activity'>;

export interface RunningActivity {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly view: RecentView;
  readonly closeSteps: CloseStep[];
  close(): Promise<void>;
}

/** `source`: as for ingest (services/ingest/service.ts). */
export async function startActivity(config: ActivityConfig, logger: Logger, source: WorkspaceRegistry | 'log' = WorkspaceRegistry.fromFile(config.ingest.workspacesFile)): Promise<RunningActivity> {
  // Before anything is connected: the demo's public keys would open this log to anyone.
  const refuseDemo = (registry: WorkspaceRegistry) => refuseDemoKeys(registry.workspaces, { demo: config.ingest.demo, adminToken: config.activity.adminToken });
  if (source !== 'log') refuseDemo(source);
  const kafka = createKafka(config.kafka, logger, 'activity');
  await ensureTopicsWith(kafka, config.topics, logger);
  const catalog = await SchemaCatalog.open(config.registry, config.topics, logger);
  const followed = await openWorkspaces(source, { kafka, catalog, topic: config.topics.workspaces, groupPrefix: 'anonmerge-activity', secretKey: config.ingest.workspacesSecretKey, demo: config.ingest.demo, logger });
  const workspaces = followed.registry;
  if (source === 'log') refuseDemo(workspaces);
  const redis = createRedis(config.redis, logger, 'activity');
  await redis.connect();
  const view = new RecentView(config.activity.recentPerWorkspace);
  const rows = new EventEmitter();
  rows.setMaxListeners(0); // one per open page
  const outputs = await consumeOutputs(kafka, catalog, logger, config.activity.backfillPerPartition, (workspace, row) => {
    if (view.add(workspace, row)) rows.emit('row', workspace, row);
  });
  const keys = new KeySpace(config.merger.redisKeyPrefix);
  const app = buildActivityApp({
    logger,
    view,
    rows,
    workspaces,
    adminToken: config.activity.adminToken,
    explain: (workspace, target) => explain(kafka, catalog, redis, keys, workspace, target, config.merger.controlPlane),
    ready: () => outputs.joined() && redis.status === 'ready',
    timeouts: config.activity,
    loginFailures: { maxFailures: config.activity.loginFailureLimit, windowMs: config.activity.loginFailureWindowMs },
    trustedProxies: config.activity.trustedProxies,
    adminApiUrl: config.activity.adminApiUrl === '' ? undefined : config.activity.adminApiUrl,
  });
  const address = await app.listen({ host: config.activity.host, port: config.activity.port });
  logger.info({ address }, 'activity log listening');
  const closeSteps: CloseStep[] = [
    { name: 'http server', close: () => app.close() },
    { name: 'outbound consumer', close: () => outputs.consumer.disconnect() },
    { name: 'redis', close: () => redis.quit() },
    { name: 'workspaces log', close: () => followed.stop() },
  ];
  return {
    app,
    url: address.replace('[::1]', '127.0.0.1'),
    view,
    closeSteps,
    close: async () => {
      for (const step of closeSteps) await step.close();
    },
  };
}
