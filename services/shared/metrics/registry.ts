/**
 * Prometheus metrics (prom-client): one registry per service, with the process defaults (CPU,
 * memory, event-loop lag, handles) under the service's name, served at GET /metrics.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'anonmerge_' });
  return registry;
}

export function serveMetrics(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
