/**
 * The one place an ioredis client is made, with connect and command timeouts, and errors logged
 * with context instead of thrown into the void.
 */
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import type { RedisConfig } from '../config';
import type { Logger } from '../logger';

export function createRedis(config: RedisConfig, logger: Logger, name: string): Redis {
  const given = (value: string) => value || undefined;
  const caFile = given(config.tlsCaFile);
  const redis = new Redis(config.url, {
    // Credentials from their own settings (a secret file), or else from the URL.
    ...(given(config.username) ? { username: given(config.username) } : {}),
    ...(given(config.password) ? { password: given(config.password) } : {}),
    ...(config.url.startsWith('rediss:') ? { tls: caFile ? { ca: [readFileSync(caFile, 'utf8')] } : {} } : {}),
    connectionName: `anonmerge-${name}`,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    // Commands issued while disconnected wait in the offline queue until the reconnect, bounded
    // by commandTimeout, rather than failing at once.
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: true,
    // Commands issued in the same tick go out as one pipeline: a batch's reads and writes cost a
    // few round trips, not one per entity.
    enableAutoPipelining: true,
  });
  let lastError = '';
  redis.on('error', (error: Error) => {
    // ioredis emits the same connection error on every retry; log each new one once.
    if (error.message !== lastError) logger.warn({ err: error, redis: name }, 'redis client error');
    lastError = error.message;
  });
  redis.on('ready', () => {
    if (lastError) logger.info({ redis: name }, 'redis reconnected');
    lastError = '';
  });
  reconnectWhenSilent(redis, logger, name);
  return redis;
}

/**
 * A connection that stopped answering — a black-holed link, where the socket stays up and nothing
 * comes back — is never noticed by ioredis: commands just time out, one after another, for as
 * long as the operating system keeps the socket (minutes). After a command times out, the
 * connection is dropped; ioredis reconnects and re-sends what was queued. (Found by the chaos
 * suite's proxy stall: the merger timed out for good after Redis came back.)
 */
function reconnectWhenSilent(redis: Redis, logger: Logger, name: string): void {
  const send = redis.sendCommand.bind(redis) as (...args: unknown[]) => unknown;
  let dropping = false;
  (redis as unknown as { sendCommand: (...args: unknown[]) => unknown }).sendCommand = (...args: unknown[]) => {
    const result = send(...args);
    const command = args[0] as { promise?: Promise<unknown> } | undefined;
    command?.promise?.catch((error: Error) => {
      if (error?.message !== 'Command timed out' || dropping) return;
      dropping = true;
      logger.warn({ redis: name }, 'redis stopped answering; dropping the connection to reconnect');
      redis.disconnect(true);
      setTimeout(() => {
        dropping = false;
      }, 1000).unref();
    });
    return result;
  };
}
