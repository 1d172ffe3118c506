/**
 * The one place an ioredis client is made — a single Redis or a Redis Cluster, by configuration —
 * with connect and command timeouts, and errors logged with context instead of thrown into the
 * void.
 */
import { readFileSync } from 'node:fs';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config';
import type { Logger } from '../logger';

/** Either kind of client; code that must tell them apart reads `isCluster`. */
export type AnyRedis = Redis | Cluster;

function connectionOptions(config: RedisConfig, name: string): RedisOptions {
  const given = (value: string) => value || undefined;
  const caFile = given(config.tlsCaFile);
  return {
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
  };
}

export function createRedis(config: RedisConfig, logger: Logger, name: string): AnyRedis {
  const options = connectionOptions(config, name);
  const redis: AnyRedis =
    config.mode === 'cluster'
      ? new Cluster(
          config.clusterNodes.map((node) => {
            const colon = node.lastIndexOf(':');
            return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
          }),
          {
            redisOptions: options,
            lazyConnect: true,
            // Commands issued in the same tick go out as one pipeline per node.
            enableAutoPipelining: true,
            // Reads and writes go to masters: the merger's reads decide its writes.
            scaleReads: 'master',
            clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
            // A node's slots can move (resharding, failover): follow MOVED/ASK a few times.
            maxRedirections: 16,
            slotsRefreshTimeout: config.connectTimeoutMs,
          },
        )
      : new Redis(config.url, {
          ...options,
          lazyConnect: true,
          // Commands issued in the same tick go out as one pipeline: a batch's reads and writes
          // cost a few round trips, not one per entity.
          enableAutoPipelining: true,
        });
  let lastError = '';
  redis.on('error', (error: Error) => {
    // ioredis emits the same connection error on every retry; log each new one once.
    if (error.message !== lastError) logger.warn({ err: error, redis: name, mode: config.mode }, 'redis client error');
    lastError = error.message;
  });
  redis.on('ready', () => {
    if (lastError) logger.info({ redis: name }, 'redis reconnected');
    lastError = '';
  });
  if (redis instanceof Cluster) redis.on('+node', (node: Redis) => logger.debug({ redis: name, node: `${node.options.host}:${node.options.port}` }, 'redis cluster node added'));
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
function reconnectWhenSilent(redis: AnyRedis, logger: Logger, name: string): void {
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
