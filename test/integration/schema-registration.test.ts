/**
 * Schema registration at start is safe when several services start at once on an empty registry
 * (`make up` starts three, and each registers every subject). The registry client's own register()
 * raced there: one start read the level of a subject that had no rule yet (NONE) and refused with
 * "Compatibility does not match the configuration (BACKWARD != NONE)", or hit "A rule named
 * 'COMPATIBILITY' already exists".
 */
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import { COMPATIBILITY_OF } from '../../services/shared/avro/compatibilityPolicy';
import { STREAMS, loadSchema } from '../../services/shared/avro/schemaFiles';
import { setSubjectCompatibility } from '../../services/shared/avro/subjectRegistration';
import { COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { config, isolatedTopics, testLogger } from '../support/stack';

async function compatibilityOf(subject: string): Promise<string> {
  const response = await fetch(`${config.registry.url}/config/${encodeURIComponent(subject)}`, { signal: AbortSignal.timeout(5000) });
  expect(response.ok).toBe(true);
  return ((await response.json()) as { compatibilityLevel: string }).compatibilityLevel;
}

describe('schema registration at start', () => {
  it('six processes opening the same new subjects at once all start, with one id per subject, held to the policy\'s level (FULL_TRANSITIVE)', async () => {
    const topics = isolatedTopics('registration-race');
    const catalogs = await Promise.all(Array.from({ length: 6 }, () => SchemaCatalog.open(config.registry, topics, testLogger)));
    for (const stream of STREAMS) {
      const ids = new Set(catalogs.map((catalog) => catalog.schemaId(stream)));
      expect(ids.size).toBe(1);
      expect(await compatibilityOf(loadSchema(stream, topics).subject)).toBe(COMPATIBILITY_OF[stream]);
      expect(COMPATIBILITY_OF[stream]).toBe('FULL_TRANSITIVE');
    }
  });

  it('a subject left without its rule (a start that died between registering and setting it) is set to the policy\'s level', async () => {
    const topics = isolatedTopics('registration-none');
    const first = await SchemaCatalog.open(config.registry, topics, testLogger, ['mergedEvents']);
    const subject = loadSchema('mergedEvents', topics).subject;
    await setSubjectCompatibility(config.registry, subject, COMPATIBILITY.NONE);
    expect(await compatibilityOf(subject)).toBe('NONE');

    const again = await SchemaCatalog.open(config.registry, topics, testLogger, ['mergedEvents']);
    expect(again.schemaId('mergedEvents')).toBe(first.schemaId('mergedEvents'));
    expect(await compatibilityOf(subject)).toBe('FULL_TRANSITIVE');
  });

  it('a schema the subject cannot take (incompatible with its versions) fails at once with the registry\'s reason, not after retries', async () => {
    const topics = isolatedTopics('registration-incompatible');
    const subject = loadSchema('mergedEvents', topics).subject;
    const earlier = await fetch(`${config.registry.url}/subjects/${encodeURIComponent(subject)}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify({ type: 'string' }) }),
      signal: AbortSignal.timeout(5000),
    });
    expect(earlier.ok).toBe(true);
    await setSubjectCompatibility(config.registry, subject, COMPATIBILITY.FULL_TRANSITIVE);
    const failure = await SchemaCatalog.open(config.registry, topics, testLogger, ['mergedEvents']).then(
      () => null,
      (error: Error) => error,
    );
    expect(failure?.name).toBe('SubjectRegistrationError');
    expect(failure?.message).toContain(`registering ${subject} failed:`);
    expect(failure?.message).not.toContain('attempts');
  });
});
