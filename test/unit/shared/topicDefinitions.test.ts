import { loadConfig } from '../../../services/shared/config';
import { prefixedTopics, topicEnv } from '../../../services/shared/config/topicSets';
import { topicDefinitions } from '../../../services/shared/kafka/topics';

describe('the topics the services create', () => {
  const partitionsByName = (definitions: ReturnType<typeof topicDefinitions>) => new Map(definitions.map((t) => [t.topic, t.numPartitions]));

  it('gives the person-order topic one partition by default, the workspaces log always one, and every other topic ANONMERGE_TOPIC_PARTITIONS', () => {
    const { topics } = loadConfig(['topics'], {});
    const created = partitionsByName(topicDefinitions(topics));
    expect(created.get(topics.personOrder)).toBe(1);
    expect(created.get(topics.workspaces)).toBe(1);
    for (const [topic, partitions] of created) if (topic !== topics.personOrder && topic !== topics.workspaces) expect([topic, partitions]).toEqual([topic, 6]);
  });

  it('compacts the workspaces log, whose every key is a change kept for good, and expires the others', () => {
    const { topics } = loadConfig(['topics'], {});
    for (const definition of topicDefinitions(topics)) {
      const policy = definition.configEntries?.find((entry) => entry.name === 'cleanup.policy')?.value;
      expect([definition.topic, policy]).toEqual([definition.topic, definition.topic === topics.workspaces ? 'compact' : 'delete']);
    }
  });

  it('reads the person-order count from its own setting, which a prefixed topic set passes on to a service', () => {
    const { topics } = loadConfig(['topics'], { ANONMERGE_TOPIC_PARTITIONS: '12', ANONMERGE_TOPIC_PERSON_ORDER_PARTITIONS: '3' });
    expect(partitionsByName(topicDefinitions(topics)).get(topics.personOrder)).toBe(3);
    expect(partitionsByName(topicDefinitions(topics)).get(topics.inbound)).toBe(12);
    const sandbox = prefixedTopics('x', 4, { personOrderPartitions: 2 });
    const passedOn = loadConfig(['topics'], topicEnv(sandbox)).topics;
    expect([passedOn.partitions, passedOn.personOrderPartitions, passedOn.personOrder]).toEqual([4, 2, 'x.person-order']);
  });
});
