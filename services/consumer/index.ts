/**
 * anonmerge/consumer: read the merger's outbound streams from Node (docs/consuming.md).
 *
 *   const consumer = await OutboundConsumer.open({ kafka, registryUrl, groupId: 'crm-sync', streams: ['mergedEvents'] });
 *   await consumer.run(async (record) => { if (record.stream === 'mergedEvents') … });
 */
export { OutboundConsumer, KafkajsWithoutAbortFilterError, type OutboundConsumerOptions, type OutboundRecord, type OutboundRecordOf, type UndecodableRecord } from './outboundConsumer';
export { parseOutboundKey, type OutboundKey } from './outboundKeys';
export { defaultTopics, OUTBOUND_STREAMS, type OutboundStream, type OutboundValues, type Activity, type AnonymousEvent, type CampaignTrigger, type DeadLetter, type MergedEvent } from './outboundStreams';
export { RegistryDecoder, RegistryUnavailableError, UndecodableRecordError } from './registryDecoder';
export { kafkajsFiltersAbortedTransactions } from './committedReads';
