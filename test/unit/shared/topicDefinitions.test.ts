import { loadConfig } from '../../../services/shared/config';
import { prefixedTopics, topicEnv } from '../../../services/shared/config/topicSets';
import { topicDefinitions } from '../../../services/shared/kafka/topics';

describe('the topics the services create', () => {
  const partitionsByName = (definitions: ReturnType<typeof topicDefinitions>) => new Map(definitions.map((t) => [t.topic, t.numPartitions]));

  it('gives the person-order topic one partition by default and every other topic ANONMERGE_TOPIC_PARTITIONS', () => {
    const { topics } = loadConfig(['topics'], {});
    const created = partitionsByName(topicDefinitions(topics));
    expect(created.get(topics.personOrder)).toBe(1);
    for (const [topic, partitions] of created) if (topic !== topics.personOrder) expect([topic, partitions]).toEqual([topic, 6]);
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
