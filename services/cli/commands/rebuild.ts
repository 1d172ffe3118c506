/**
 * anonmerge rebuild --into PREFIX [--compare-with PREFIX]: derives the merger's whole state again
 * from the inbound topic — and, for the two-plane merger, the person-ops topic and the commands
 * topic its decisions are in — (event sourcing: the log is the truth, Redis a view of it) into keys
 * under a new prefix — or into an emptied live prefix, to repair it — then compares bindings,
 * pending events and people's anonymous ids with another prefix. The inbound topic's retention
 * covers the workspaces' retention (the topic is created so), so nothing the state needs is gone.
 * Compare on a quiet system: live traffic applied after the rebuild's end is a difference.
 */
import type { AnyRedis } from '../../shared/redis/client';
import { scanKeys } from '../../shared/redis/scanKeys';
import type { Logger } from '../../shared/logger';
import { startMerger, type BatchEvent, type MergerConfig } from '../../merger/service';
import { createKafka } from '../../shared/kafka/client';

export interface RebuildReport {
  readonly records: number;
  readonly seconds: number;
}

export async function rebuildState(config: MergerConfig, logger: Logger, into: string, progress: (line: string) => void): Promise<RebuildReport> {
  const kafka = createKafka(config.kafka, logger, 'rebuild');
  const admin = kafka.admin();
  await admin.connect();
  const endsOf = async (topic: string) => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  const ends = await endsOf(config.topics.inbound);
  // The two-plane merger's control state comes from the person-ops topic, and its data plane
  // reads the commands topic beside inbound: read both to their ends too.
  const controlEnds = config.merger.controlPlane ? await endsOf(config.topics.personOps) : new Map<number, number>();
  const commandEnds = config.merger.controlPlane ? await endsOf(config.topics.commands) : new Map<number, number>();
  await admin.disconnect();
  const total = [...ends.values(), ...controlEnds.values(), ...commandEnds.values()].reduce((a, b) => a + b, 0);
  const started = Date.now();
  const merger = await startMerger({ ...config, merger: { ...config.merger, groupId: `${config.merger.groupId}-rebuild-${Date.now().toString(36)}`, redisKeyPrefix: into, fromBeginning: true, port: 0 } }, logger, { listen: false, rebuild: true });
  const reached = new Map<number, number>();
  const controlReached = new Map<number, number>();
  const commandsReached = new Map<number, number>();
  let records = 0;
  await new Promise<void>((resolve) => {
    // A partition's last offsets may be a transaction's commit marker, or the records and abort
    // marker of a transaction that never committed (the two-plane control plane writes its
    // commands and clocks in transactions): no batch delivers them. So a partition
    // one short of its end counts once no batch has come for 1.5 s, and every partition that has
    // delivered something counts once none has come for 5 s (a minute, if one never has).
    const at = (want: Map<number, number>, got: Map<number, number>, slack: number) => [...want].every(([partition, end]) => end === 0 || (got.get(partition) ?? -1) >= end - 1 - slack);
    const done = (slack: number) => at(ends, reached, slack) && at(controlEnds, controlReached, slack) && at(commandEnds, commandsReached, slack);
    if (done(0)) return resolve();
    let quiet: NodeJS.Timeout | undefined;
    const check = () => {
      clearTimeout(quiet);
      if (done(0)) return resolve();
      const started = (want: Map<number, number>, got: Map<number, number>) => [...want].every(([partition, end]) => end === 0 || got.has(partition));
      quiet = setTimeout(resolve, done(1) ? 1500 : started(ends, reached) && started(controlEnds, controlReached) && started(commandEnds, commandsReached) ? 5000 : 60_000);
    };
    const report = () => progress(`rebuilt from ${records.toLocaleString()}/${total.toLocaleString()} records`);
    merger.events.on('batch', (event: BatchEvent) => {
      const got = event.topic === config.topics.commands ? commandsReached : reached;
      got.set(event.partition, Math.max(got.get(event.partition) ?? -1, event.lastOffset));
      records += event.records;
      report();
      check();
    });
    merger.events.on('control-batch', (event: { partition: number; lastOffset: number }) => {
      records += Math.max(0, event.lastOffset - (controlReached.get(event.partition) ?? -1));
      controlReached.set(event.partition, Math.max(controlReached.get(event.partition) ?? -1, event.lastOffset));
      report();
      check();
    });
  });
  await merger.close();
  return { records, seconds: (Date.now() - started) / 1000 };
}

export interface Comparison {
  readonly anonymousIds: number;
  readonly people: number;
  readonly differences: string[];
}

const tagOf = (key: string, prefix: string) => key.slice(prefix.length + 1, key.lastIndexOf(':'));

/** Compares the state two prefixes hold: bindings, pending event ids, people's anonymous ids. */
export async function compareStates(redis: AnyRedis, left: string, right: string): Promise<Comparison> {
  const differences: string[] = [];
  const states = async (prefix: string) => {
    const result = new Map<string, string>();
    for (const key of await scanKeys(redis, `${prefix}:{*|a|*}:s`)) {
      const [person, boundAt, windowEnd] = await redis.hmget(key, 'p', 'b', 'w');
      const pending = (await redis.lrange(key.replace(/:s$/, ':q'), 0, -1)).map((e) => e.slice(13, e.indexOf('\u0000'))).sort();
      if (!person && pending.length === 0) continue; // nothing left to say about this id
      result.set(tagOf(key, prefix), JSON.stringify({ person, boundAt, windowEnd, pending }));
    }
    return result;
  };
  const people = async (prefix: string) => {
    const result = new Map<string, string>();
    for (const key of await scanKeys(redis, `${prefix}:{*|p|*}:a`)) result.set(tagOf(key, prefix), JSON.stringify((await redis.smembers(key)).sort()));
    return result;
  };
  const [a, b, pa, pb] = await Promise.all([states(left), states(right), people(left), people(right)]);
  for (const key of new Set([...a.keys(), ...b.keys()])) if (a.get(key) !== b.get(key)) differences.push(`${key}: ${a.get(key) ?? '(none)'} ≠ ${b.get(key) ?? '(none)'}`);
  for (const key of new Set([...pa.keys(), ...pb.keys()])) if (pa.get(key) !== pb.get(key)) differences.push(`${key}: ${pa.get(key) ?? '(none)'} ≠ ${pb.get(key) ?? '(none)'}`);
  return { anonymousIds: Math.max(a.size, b.size), people: Math.max(pa.size, pb.size), differences };
}
