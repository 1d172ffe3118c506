/**
 * A whole set of topic names under one prefix, and the environment that points a service at it:
 * how tests, benchmarks and side-by-side deployments keep their streams apart.
 */
import type { TopicConfig } from './index';

export function prefixedTopics(prefix: string, partitions: number, options: { readonly replicationFactor?: number; readonly personOrderPartitions?: number } = {}): TopicConfig {
  return {
    inbound: `${prefix}.inbound`,
    mergedEvents: `${prefix}.merged-events`,
    campaignTriggers: `${prefix}.campaign-triggers`,
    activity: `${prefix}.activity`,
    anonymousEvents: `${prefix}.anonymous-events`,
    deadLetters: `${prefix}.dead-letters`,
    personOps: `${prefix}.person-ops`,
    commands: `${prefix}.commands`,
    personOrder: `${prefix}.person-order`,
    workspaces: `${prefix}.workspaces`,
    requests: `${prefix}.requests`,
    partitions,
    personOrderPartitions: options.personOrderPartitions ?? 1,
    replicationFactor: options.replicationFactor ?? 1,
  };
}

/** The ANONMERGE_TOPIC_* variables that make a service use these topics. */
export function topicEnv(topics: TopicConfig): Record<string, string> {
  return {
    ANONMERGE_TOPIC_INBOUND: topics.inbound,
    ANONMERGE_TOPIC_MERGED_EVENTS: topics.mergedEvents,
    ANONMERGE_TOPIC_CAMPAIGN_TRIGGERS: topics.campaignTriggers,
    ANONMERGE_TOPIC_ACTIVITY: topics.activity,
    ANONMERGE_TOPIC_ANONYMOUS_EVENTS: topics.anonymousEvents,
    ANONMERGE_TOPIC_DEAD_LETTERS: topics.deadLetters,
    ANONMERGE_TOPIC_PERSON_OPS: topics.personOps,
    ANONMERGE_TOPIC_COMMANDS: topics.commands,
    ANONMERGE_TOPIC_PERSON_ORDER: topics.personOrder,
    ANONMERGE_TOPIC_WORKSPACES: topics.workspaces,
    ANONMERGE_TOPIC_REQUESTS: topics.requests,
    ANONMERGE_TOPIC_PARTITIONS: String(topics.partitions),
    ANONMERGE_TOPIC_PERSON_ORDER_PARTITIONS: String(topics.personOrderPartitions),
  };
}
