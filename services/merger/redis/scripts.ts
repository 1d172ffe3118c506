/**
 * Loads the merger's Lua scripts (one per file under scripts/, named `<name>-<number of keys>.lua`
 * as BullMQ names its commands, or `<name>.lua` when the caller passes the number of keys) as
 * ioredis custom commands, which are sent with EVALSHA and fall back to EVAL when the server does
 * not have them yet (e.g. after a Redis restart).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { projectRoot } from '../../shared/projectRoot';

export const SCRIPT_DIR = path.join(projectRoot(), 'services/merger/redis/scripts');

/**
 * A script's text with each `--@include "<name>"` line replaced by scripts/includes/<name>.lua
 * (BullMQ's idea): Redis runs one self-contained text per script, and code two scripts need is
 * written once.
 */
export function scriptText(file: string): string {
  return readFileSync(path.join(SCRIPT_DIR, file), 'utf8').replace(/^--@include "([A-Za-z]+)"$/gm, (_, name: string) => readFileSync(path.join(SCRIPT_DIR, 'includes', `${name}.lua`), 'utf8'));
}

export interface MergerCommands {
  /** The arguments as one MessagePack array (see scripts/loadEntities.lua). */
  loadEntitiesBuffer(numberOfKeys: number, keys: string[], packedArgs: [Buffer]): Promise<Array<[Buffer[], Buffer[], number[], Buffer[], Buffer[]] | 0>>;
  /** The arguments as one MessagePack array (see scripts/loadOrdered.lua). */
  loadOrderedBuffer(numberOfKeys: number, keys: string[], packedArgs: [Buffer]): Promise<Array<[Buffer | null, Buffer | null, Buffer[], Array<Buffer | null>, Array<Buffer | null>] | [Buffer, Buffer] | 0>>;
  /** The arguments as one MessagePack array (see scripts/commitCompact.lua). */
  commitCompact(numberOfKeys: number, keys: string[], packedArgs: [Buffer]): Promise<number[]>;
  /** The arguments as one MessagePack array (see scripts/commitEntities.lua). */
  commitEntities(numberOfKeys: number, keys: string[], packedArgs: [Buffer]): Promise<number[]>;
  /** The arguments as one MessagePack array (see scripts/cleanOutboxes.lua). */
  cleanOutboxes(numberOfKeys: number, keys: string[], packedArgs: [Buffer]): Promise<number>;
  /** See scripts/commitControl.lua. */
  commitControl(numberOfKeys: number, ...keysThenArgs: Array<string | Buffer>): Promise<number>;
  /** Pairs of timer member and the window end that fired (see scripts/clearFiredTimers-1.lua). */
  clearFiredTimers(timersKey: string, ...memberEndPairs: string[]): Promise<number>;
  /** See scripts/recordProgress-1.lua: the new count, or -1 when Redis holds another. */
  recordProgress(progressKey: string, expectedCount: string, ...fieldValuePairs: string[]): Promise<number>;
  claimPartition(stateKey: string): Promise<[number, string, string]>;
  commitPartition(stateKey: string, epoch: number, lastWatermark: number, watermark: number, eventTime: number): Promise<number>;
}

export type MergerRedis = (Redis | Cluster) & MergerCommands;

export function defineMergerCommands(redis: Redis | Cluster): MergerRedis {
  for (const file of readdirSync(SCRIPT_DIR)) {
    const match = /^([A-Za-z]+)(?:-(\d+))?\.lua$/.exec(file);
    if (!match) continue;
    const [, name, keys] = match as unknown as [string, string, string | undefined];
    const lua = scriptText(file);
    redis.defineCommand(name, keys === undefined ? { lua } : { numberOfKeys: Number(keys), lua });
  }
  return redis as MergerRedis;
}
