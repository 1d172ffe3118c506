/**
 * The schema registry client (@kafkajs/confluent-schema-registry against any Confluent-compatible
 * registry, Apicurio's ccompat API here), with a timeout on every request.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { RegistryConfig } from '../config';

// mappersmith (the HTTP layer of the registry client) takes a per-request timeout; without one a
// hung registry would hang the service's start.
function timeoutMiddleware(timeoutMs: number) {
  return () => ({
    prepareRequest: (next: () => Promise<{ enhance(extras: { timeout: number }): unknown }>) =>
      next().then((request) => request.enhance({ timeout: timeoutMs })),
  });
}

export function createSchemaRegistry(config: RegistryConfig): SchemaRegistry {
  return new SchemaRegistry({
    host: config.url,
    clientId: 'anonmerge',
    retry: { retries: 3, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 2 },
    // The middleware type of the library is mappersmith's; ours matches its shape.
    middlewares: [timeoutMiddleware(config.timeoutMs) as never],
  });
}
