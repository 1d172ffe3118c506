/**
 * The data plane's assignor (services/merger/kafka/coPartitionedAssigner.ts): partition p of the
 * inbound and the commands topics goes to one member, whatever the members' order.
 */
import { AssignerProtocol } from 'kafkajs';
import { coPartitionedAssigner, dealPartitions } from '../../../services/merger/kafka/coPartitionedAssigner';

describe('the co-partitioned assignor', () => {
  it('deals partition numbers round-robin over the members in id order', () => {
    expect([...dealPartitions(['b', 'a'], 5)]).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'a'],
      [3, 'b'],
      [4, 'a'],
    ]);
    expect(dealPartitions([], 3).size).toBe(0);
  });

  it('gives each member the same partition numbers of every topic', async () => {
    const partitions: Record<string, number[]> = { inbound: [0, 1, 2, 3, 4, 5], commands: [5, 4, 3, 2, 1, 0] };
    const cluster = { findTopicPartitionMetadata: (topic: string) => (partitions[topic] ?? []).map((partitionId) => ({ partitionId })) };
    const assigner = coPartitionedAssigner({ cluster, groupId: 'g', logger: console } as never);
    const members = ['m-3', 'm-1', 'm-2'].map((memberId) => ({ memberId, memberMetadata: Buffer.alloc(0) }));
    const assignment = await assigner.assign({ members, topics: ['inbound', 'commands'] });
    const owned = new Map(assignment.map((a) => [a.memberId, (AssignerProtocol.MemberAssignment.decode(a.memberAssignment) as { assignment: Record<string, number[]> }).assignment]));
    expect(owned.size).toBe(3);
    for (const mine of owned.values()) {
      expect(mine.inbound).toHaveLength(2);
      expect([...(mine.commands ?? [])].sort()).toEqual([...(mine.inbound ?? [])].sort());
    }
    expect(owned.get('m-1')?.inbound).toEqual([0, 3]);
  });

  it('names itself in the group protocol with the topics subscribed', () => {
    const assigner = coPartitionedAssigner({ cluster: {}, groupId: 'g', logger: console } as never);
    const { name, metadata } = assigner.protocol({ topics: ['inbound', 'commands'] });
    expect(name).toBe('AnonmergeCoPartitioned');
    expect(AssignerProtocol.MemberMetadata.decode(metadata)?.topics).toEqual(['inbound', 'commands']);
  });
});
