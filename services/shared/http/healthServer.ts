/**
 * A small HTTP server for a service that has no API of its own (the merger): /healthz says the
 * process is up, /readyz says whether it can do its work right now.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { baseFastifyOptions } from './fastifyOptions';
import { clientErrorHandler, timeoutOptions, type HttpTimeouts } from './timeouts';
import type { Logger } from '../logger';

export interface HealthServerOptions {
  readonly logger: Logger;
  readonly ready: () => boolean;
  /** Extra routes (metrics) registered by the caller. */
  readonly extend?: (app: FastifyInstance) => void;
  /** Default: 30 s each, like the other servers' defaults (it serves only probes and metrics). */
  readonly timeouts?: HttpTimeouts;
}

export function buildHealthServer(options: HealthServerOptions): FastifyInstance {
  const timeouts = options.timeouts ?? { idleTimeoutMs: 30000, requestTimeoutMs: 30000 };
  const app = Fastify({ ...baseFastifyOptions(options.logger), ...timeoutOptions(timeouts), clientErrorHandler: clientErrorHandler(timeouts, (message) => ({ error: message })) });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => (options.ready() ? { status: 'ready' } : reply.status(503).send({ status: 'not ready' })));
  options.extend?.(app);
  return app;
}
