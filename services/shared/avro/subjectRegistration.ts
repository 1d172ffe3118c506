/**
 * Registers one schema under its subject so that any number of processes may do it at the same
 * moment on an empty registry — every service registers every subject at start, and `make up`
 * starts three of them at once.
 *
 * The registry client's own register() reads the subject's compatibility, registers, and sets the
 * compatibility only when the subject was new. Two starts racing on a new subject then fail: the
 * second reads the level the registry gives a subject with no rule yet (NONE) and refuses, or its
 * write of the rule collides with the first one's ("A rule named 'COMPATIBILITY' already exists").
 * Here the level is set explicitly before every registration (PUT /config/{subject} is idempotent
 * and works before the subject exists), and an attempt that lost such a race is retried with
 * backoff, since a collision is over by the next attempt. The level is the project's policy for
 * its own subjects: a start puts it back if someone changed it.
 */
import { COMPATIBILITY, SchemaType, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { RegistryConfig } from '../config';
import type { Logger } from '../logger';
import type { LoadedSchema } from './schemaFiles';

export class SubjectRegistrationError extends Error {
  override name = 'SubjectRegistrationError';
}

export interface RegistrationRetry {
  readonly attempts: number;
  readonly initialDelayMs: number;
}

const DEFAULT_RETRY: RegistrationRetry = { attempts: 6, initialDelayMs: 100 };

/** PUT /config/{subject}: the registry's compatibility rule for one subject, set or replaced. */
export async function setSubjectCompatibility(config: RegistryConfig, subject: string, level: COMPATIBILITY): Promise<void> {
  const { url, headers } = registryRequest(config, `/config/${encodeURIComponent(subject)}`);
  const response = await fetch(url, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/json' },
    body: JSON.stringify({ compatibility: level }),
    signal: AbortSignal.timeout(config.timeoutMs),
  });
  if (!response.ok) {
    const body = (await response.text().catch(() => '')).slice(0, 300);
    throw new SubjectRegistrationError(`setting ${subject}'s compatibility to ${level}: HTTP ${response.status} ${body}`);
  }
}

/** Sets the subject's compatibility, registers the schema, answers its id; retried as above. */
export async function registerSubject(
  client: SchemaRegistry,
  config: RegistryConfig,
  schema: LoadedSchema,
  level: COMPATIBILITY,
  logger: Logger,
  retry: RegistrationRetry = DEFAULT_RETRY,
): Promise<number> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await setSubjectCompatibility(config, schema.subject, level);
      const { id } = await client.register({ type: SchemaType.AVRO, schema: schema.text }, { subject: schema.subject, compatibility: level });
      return id;
    } catch (error) {
      const message = (error as Error).message;
      if (!isRaceOrTransient(error)) throw new SubjectRegistrationError(`registering ${schema.subject} failed: ${message}`);
      if (attempt >= retry.attempts) {
        throw new SubjectRegistrationError(`registering ${schema.subject} failed after ${attempt} attempts: ${message}`);
      }
      const delayMs = retry.initialDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
      logger.warn({ subject: schema.subject, attempt, delayMs: Math.round(delayMs), err: error }, 'schema registration failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * What another start racing us, or a registry briefly away, looks like — worth another attempt.
 * A schema the registry refuses (invalid, 422; incompatible with the subject's versions, 409 other
 * than a rule created meanwhile) will be refused again: fail at once with the registry's reason.
 */
function isRaceOrTransient(error: unknown): boolean {
  const status = (error as { status?: unknown }).status;
  const message = (error as Error).message ?? '';
  if (status === 422) return false;
  if (status === 409) return /already exists/i.test(message);
  return true;
}

// fetch() refuses URLs that carry credentials; the registry URL may (https://user:pass@host/...).
export function registryRequest(config: RegistryConfig, path: string): { url: string; headers: Record<string, string> } {
  const base = new URL(config.url);
  const headers: Record<string, string> = {};
  if (base.username || base.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    base.username = '';
    base.password = '';
  }
  return { url: `${base.toString().replace(/\/+$/, '')}${path}`, headers };
}
