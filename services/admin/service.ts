/**
 * Wires the admin API together: topics, the workspaces schema, the one writer of the log, the
 * operators, the HTTP app. main.ts runs it as a process; tests run it in-process.
 */
import type { FastifyInstance } from 'fastify';
import { SchemaCatalog } from '../shared/avro/catalog';
import type { Config } from '../shared/config';
import { createKafka } from '../shared/kafka/client';
import { ensureTopicsWith } from '../shared/kafka/topics';
import type { CloseStep } from '../shared/lifecycle/shutdown';
import type { Logger } from '../shared/logger';
import { buildAdminApp } from './app';
import type { Operator } from './operators';
import { WorkspacesWriter } from './workspacesWriter';

export type AdminConfig = Config<'kafka' | 'topics' | 'registry' | 'admin'>;

export interface RunningAdmin {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly closeSteps: CloseStep[];
  close(): Promise<void>;
}

export async function startAdmin(config: AdminConfig, logger: Logger, operators: readonly Operator[]): Promise<RunningAdmin> {
  const kafka = createKafka(config.kafka, logger, 'admin');
  await ensureTopicsWith(kafka, config.topics, logger);
  const catalog = await SchemaCatalog.open(config.registry, config.topics, logger, ['workspaces']);
  const writer = new WorkspacesWriter({ kafka, catalog, topic: config.topics.workspaces, transactionalId: config.admin.transactionalId, logger });
  await writer.start();
  const app = buildAdminApp({
    logger,
    writer,
    operators,
    timeouts: config.admin,
    authFailures: { maxFailures: config.admin.authFailureLimit, windowMs: config.admin.authFailureWindowMs },
    ready: () => true,
    trustedProxies: config.admin.trustedProxies,
  });
  const address = await app.listen({ host: config.admin.host, port: config.admin.port });
  logger.info({ address, operators: operators.length, workspaces: writer.all().length }, 'admin API listening');
  const closeSteps: CloseStep[] = [
    { name: 'http server', close: () => app.close() },
    { name: 'workspaces writer', close: () => writer.stop() },
  ];
  return {
    app,
    url: address.replace('[::1]', '127.0.0.1'),
    closeSteps,
    close: async () => {
      for (const step of closeSteps) await step.close();
    },
  };
}
