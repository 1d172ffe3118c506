/**
 * A small HTTP server for a service that has no API of its own (the merger): /healthz says the
 * process is up, /readyz says whether it can do its work right now.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { baseFastifyOptions } from './fastifyOptions';
import type { Logger } from '../logger';

export interface HealthServerOptions {
  readonly logger: Logger;
  readonly ready: () => boolean;
  /** Extra routes (metrics) registered by the caller. */
  readonly extend?: (app: FastifyInstance) => void;
}

export function buildHealthServer(options: HealthServerOptions): FastifyInstance {
  const app = Fastify(baseFastifyOptions(options.logger));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => (options.ready() ? { status: 'ready' } : reply.status(503).send({ status: 'not ready' })));
  options.extend?.(app);
  return app;
}
