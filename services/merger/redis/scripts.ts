/**
 * Loads the merger's Lua scripts (one per file under scripts/, named `<name>-<number of keys>.lua`
 * as BullMQ names its commands) as ioredis custom commands, which are sent with EVALSHA and
 * fall back to EVAL when the server does not have them yet (e.g. after a Redis restart).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { projectRoot } from '../../shared/projectRoot';

export const SCRIPT_DIR = path.join(projectRoot(), 'services/merger/redis/scripts');

export interface MergerCommands {
  knownIds(seenKey: string, pendingKey: string, ...ids: string[]): Promise<number[]>;
  commitEntity(stateKey: string, pendingKey: string, seenKey: string, outboxKey: string, ...args: (string | Buffer | number)[]): Promise<number>;
  claimPartition(stateKey: string): Promise<[number, string, string]>;
  commitPartition(stateKey: string, epoch: number, watermark: number, eventTime: number): Promise<number>;
  resetWatermark(stateKey: string, epoch: number, watermark: number): Promise<number>;
}

export type MergerRedis = (Redis | Cluster) & MergerCommands;

export function defineMergerCommands(redis: Redis | Cluster): MergerRedis {
  for (const file of readdirSync(SCRIPT_DIR)) {
    const match = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file);
    if (!match) continue;
    const [, name, keys] = match as unknown as [string, string, string];
    redis.defineCommand(name, { numberOfKeys: Number(keys), lua: readFileSync(path.join(SCRIPT_DIR, file), 'utf8') });
  }
  return redis as MergerRedis;
}
