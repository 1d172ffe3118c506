/**
 * Redis key names. Each entity's keys share a hash tag (the part in braces), so they live in one
 * Redis Cluster slot and one script can change them together:
 *
 *   <prefix>:{<ws>|a|<anonymous id>}:s   hash    version, binding, window, applied offsets, and
 *                                                the outbox: "x:<partition>:<offset>" → outputs
 *   <prefix>:{<ws>|a|<anonymous id>}:q   list    pending events (SPEC R1)
 *   <prefix>:{<ws>|a|<anonymous id>}:d   zset    seen event ids → received_at (SPEC R7)
 *   <prefix>:{<stripe tag>}:n:<ws>       string  compact records (compactRecord.ts): the stripe's
 *                                                number of buckets; its buckets are hashes
 *   <prefix>:{<stripe tag>}:n:<ws>|<i>   hash    12 bytes of SHA-256 of an anonymous id → its record
 *                                                ('' → the day it was last swept)
 *   <prefix>:{<ws>|p|<person key>}:{s,d}          a person's own events, same shapes
 *   <prefix>:{<ws>|p|<person key>}:a     set     the person's anonymous ids
 *   <prefix>:{<ws>|i}:{s,d}                       a workspace's invite events
 *   <prefix>:{<ws>|c}:s                  hash    control state: version, last operation applied
 *   <prefix>:{<ws>|c}:x                  hash    control outbox: operation stamp → outputs
 *   <prefix>:{<ws>|c}:b                  hash    anonymous id → person key it is bound to
 *   <prefix>:{<ws>|c}:m                  hash    person key → primary it was merged into
 *   <prefix>:{<ws>|c}:i:<person key>     set     the person's anonymous ids
 *   <prefix>:{<ws>|c}:f:<person key>     set     the person keys merged into the person
 *   <prefix>:{part|<topic>|<n>}:s        hash    partition: epoch, watermark, event time
 *   <prefix>:{part|<topic>|<n>}:t        zset    grace timers "<ws>/<anonymous id>" → window end
 *   <prefix>:{part|<topic>|<n>}:o        hash    two planes: positions about to be committed (redis/partitionProgress.ts)
 *
 * The stripe tag of a compact record is `<ws>|n` on one Redis — a workspace's records share one
 * linear-hashing table — and, on a Redis Cluster, a tag of the slot the anonymous id's own tag is
 * in (slotTags.ts), so that one script moves an id between its record and its own keys.
 *
 * Workspace ids cannot hold '|' or braces, so a tag never mixes two entities of different
 * workspaces; an anonymous id holding a '}' still gives all of its keys the same tag.
 */
import { personKey, type PersonRef } from '../../shared/model/person';
import type { EntityRef } from '../model/entities';
import { slotOf, slotTag } from './slotTags';

export interface EntityKeys {
  /** state hash (the outbox entries are fields of it: one HSET writes both) */
  readonly state: string;
  /** pending list (unused but same-slot for people and invites) */
  readonly pending: string;
  /** seen ids */
  readonly seen: string;
}

export interface ControlKeys {
  readonly state: string;
  readonly bindings: string;
  readonly mergedInto: string;
  readonly outbox: string;
  /** By person key. */
  readonly idsOf: (person: string) => string;
  readonly mergedFrom: (person: string) => string;
}

export class KeySpace {
  constructor(readonly prefix: string) {}

  private tag(entity: EntityRef): string {
    switch (entity.kind) {
      case 'anonymous':
        return `${this.prefix}:{${entity.workspace}|a|${entity.anonymousId}}`;
      case 'person':
        return `${this.prefix}:{${entity.workspace}|p|${personKey(entity.person)}}`;
      case 'invites':
        return `${this.prefix}:{${entity.workspace}|i}`;
    }
  }

  entity(entity: EntityRef): EntityKeys {
    const tag = this.tag(entity);
    return { state: `${tag}:s`, pending: `${tag}:q`, seen: `${tag}:d` };
  }

  /** The stripe key of an anonymous id's compact record; `bySlot` on a Redis Cluster. */
  compactStripe(workspace: string, anonymousId: string, bySlot: boolean): string {
    const tag = bySlot ? slotTag(slotOf(this.tag({ kind: 'anonymous', workspace, anonymousId }))) : `${workspace}|n`;
    return `${this.prefix}:{${tag}}:n:${workspace}`;
  }

  personIndex(workspace: string, person: PersonRef): string {
    return `${this.tag({ kind: 'person', workspace, person })}:a`;
  }

  /**
   * A workspace's control state (docs/design-person-operations.md): one tag per workspace, so a
   * batch's changes are stored by one script. The cost: a workspace's bindings live on one
   * Redis Cluster shard (about 100 B per identified anonymous id).
   */
  control(workspace: string): ControlKeys {
    const tag = `${this.prefix}:{${workspace}|c}`;
    return { state: `${tag}:s`, bindings: `${tag}:b`, mergedInto: `${tag}:m`, outbox: `${tag}:x`, idsOf: (person) => `${tag}:i:${person}`, mergedFrom: (person) => `${tag}:f:${person}` };
  }

  partition(topic: string, partition: number): { readonly state: string; readonly timers: string; readonly progress: string } {
    const tag = `${this.prefix}:{part|${topic}|${partition}}`;
    return { state: `${tag}:s`, timers: `${tag}:t`, progress: `${tag}:o` };
  }

  /** The member of a partition's timer set for one anonymous id. */
  static timerMember(workspace: string, anonymousId: string): string {
    return `${workspace}/${anonymousId}`;
  }

  static parseTimerMember(member: string): { workspace: string; anonymousId: string } {
    const slash = member.indexOf('/');
    return { workspace: member.slice(0, slash), anonymousId: member.slice(slash + 1) };
  }
}
