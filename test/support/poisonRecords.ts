/**
 * SPEC R8 on either merger: poison records — not Avro, an unknown schema id, no value, a value
 * that breaks the schema's rules — written to an inbound partition ahead of a good record; each
 * must reach the dead-letter topic with its reason and coordinates, and the good record its
 * place downstream.
 */
import type { TopicConfig } from '../../services/shared/config';
import { anonymousEvent, type InboundWriter, type OutputReader } from './merger';

export async function expectPoisonDeadLettered(writer: InboundWriter, reader: OutputReader, topics: TopicConfig, ws: string, receivedAt: number): Promise<void> {
  await writer.writeRaw([
    { key: `${ws}/a/P`, value: Buffer.from('not avro at all'), partition: 0 },
    { key: `${ws}/a/P`, value: Buffer.from([0, 0, 0, 0x7f, 0x7f, 1, 2, 3]), partition: 0 },
    { key: `${ws}/a/P`, value: null, partition: 0 },
  ]);
  const violating = anonymousEvent(ws, 'P', receivedAt, 'violating');
  await writer.writeRaw([{ key: `${ws}/a/P`, value: writer.encodeRaw({ ...violating, command: { 'dev.anonmerge.inbound.TrackEvent': { ...violating.command.body, data_json: 'not json' } } }), partition: 0 }]);
  await writer.write([anonymousEvent(ws, 'P', receivedAt, 'after-poison')]);
  await reader.until(() => reader.of(ws).anonymousEvents.length === 1 && reader.got.deadLetters.filter((d) => d.key?.toString() === `${ws}/a/P`).length === 4);
  const letters = reader.got.deadLetters.filter((d) => d.key?.toString() === `${ws}/a/P`);
  expect(letters.map((d) => d.reason)).toEqual([
    expect.stringMatching(/^undecodable: unknown magic byte/),
    expect.stringMatching(/^undecodable: schema id 32639 is unknown to the registry/),
    'undecodable: the record has no value',
    'data_json is not JSON',
  ]);
  expect(letters[0]).toMatchObject({ source_topic: topics.inbound, source_partition: 0 });
  expect(letters[0]?.value?.toString()).toBe('not avro at all');
  expect(new Set(letters.map((d) => d.source_offset)).size).toBe(4);
}
