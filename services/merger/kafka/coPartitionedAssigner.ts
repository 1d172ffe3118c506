/**
 * A partition assigner for consumers that read co-partitioned topics (Kafka Streams' way): each
 * partition number, across every subscribed topic, goes to one member. The data plane reads
 * inbound partition p and commands partition p together (docs/design-person-operations.md), so
 * both must be owned by the same member; kafkajs' round-robin assigner deals the topics'
 * partitions out independently and would split them.
 *
 * Partition numbers are dealt round-robin over the members in member-id order, so every member
 * computes the same answer; a topic with fewer partitions than another simply has no partition p
 * for the highest numbers (the commands topic is grown to inbound's count at start).
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const CO_PARTITIONED = 'AnonmergeCoPartitioned';

/** Partition number → member, for `members` (any order) and partition numbers 0..count−1. */
export function dealPartitions(members: readonly string[], count: number): Map<number, string> {
  const sorted = [...members].sort();
  const owners = new Map<number, string>();
  if (sorted.length === 0) return owners;
  for (let partition = 0; partition < count; partition += 1) owners.set(partition, sorted[partition % sorted.length] as string);
  return owners;
}

export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITIONED,
  version: 0,
  async assign({ members, topics }) {
    const partitionsOf = new Map(topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId)]));
    const count = Math.max(0, ...[...partitionsOf.values()].map((ids) => (ids.length === 0 ? 0 : Math.max(...ids) + 1)));
    const owners = dealPartitions(
      members.map((m) => m.memberId),
      count,
    );
    const assignment = new Map<string, Record<string, number[]>>(members.map((m) => [m.memberId, {}]));
    for (const [topic, ids] of partitionsOf) {
      for (const partition of [...ids].sort((a, b) => a - b)) {
        const mine = assignment.get(owners.get(partition) as string) as Record<string, number[]>;
        (mine[topic] ??= []).push(partition);
      }
    }
    return [...assignment].map(([memberId, topicPartitions]) => ({ memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: topicPartitions, userData: Buffer.alloc(0) }) }));
  },
  protocol({ topics }) {
    return { name: CO_PARTITIONED, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
