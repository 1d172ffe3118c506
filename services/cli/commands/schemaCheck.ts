/**
 * anonmerge schemas check (make schema-check): does each schema under schemas/ keep the
 * compatibility its subjects are held to (services/shared/avro/compatibilityPolicy.ts) with every
 * version released so far (schemas/released/<name>/v<N>.avsc)? Decided by the schema registry's
 * own compatibility API, not by a rule of ours: the released versions are registered under a
 * scratch subject, the subject is set to the policy's level, the working schema is tested against
 * each released version (POST /compatibility/subjects/{subject}/versions/{version}), and the
 * scratch subject is deleted.
 *
 * A schema that differs from its last released version but passes is reported as a change to
 * release: copy it to schemas/released/<name>/v<N+1>.avsc with the release that ships it. A schema
 * without any released version fails (a new one is added with its v1).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RegistryConfig } from '../../shared/config';
import { compatibilityOfFile } from '../../shared/avro/compatibilityPolicy';
import { registryRequest } from '../../shared/avro/subjectRegistration';
import { markdownTable } from '../../shared/markdownTable';
import { SCHEMA_DIR, SCHEMA_FILE_OF } from '../../shared/avro/schemaFiles';

export type SchemaCheckStatus = 'unchanged' | 'compatible change, to release' | 'INCOMPATIBLE' | 'NO RELEASED VERSION';

export interface SchemaCheckRow {
  readonly file: string;
  readonly level: string;
  readonly released: number;
  readonly status: SchemaCheckStatus;
  /** Which released versions the working schema cannot be used with. */
  readonly incompatibleWith: readonly number[];
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** One registry call (credentials in the URL as Basic auth), with the configured timeout; the body of a non-2xx answer in the error. */
async function registry(config: RegistryConfig, method: string, route: string, body?: unknown): Promise<unknown> {
  const { url, headers } = registryRequest(config, route);
  const response = await fetch(url, {
    method,
    headers: { ...headers, 'content-type': CONTENT_TYPE, accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(config.timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text.length > 0 ? (JSON.parse(text) as unknown) : null;
}

const canonical = (text: string) => JSON.stringify(JSON.parse(text));

/** Released versions of one schema file, oldest first: their texts. */
export function releasedVersions(releasedDir: string, file: string): string[] {
  const dir = path.join(releasedDir, path.basename(file, '.avsc'));
  if (!existsSync(dir)) return [];
  const versions = readdirSync(dir)
    .map((name) => /^v(\d+)\.avsc$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
  versions.forEach((version, i) => {
    if (version !== i + 1) throw new Error(`${dir}: versions must be v1, v2, … without gaps; found v${version} as the ${i + 1}th`);
  });
  return versions.map((version) => readFileSync(path.join(dir, `v${version}.avsc`), 'utf8'));
}

export async function checkSchemas(config: RegistryConfig, schemaDir = SCHEMA_DIR, releasedDir = path.join(schemaDir, 'released')): Promise<SchemaCheckRow[]> {
  const files = [...new Set(Object.values(SCHEMA_FILE_OF))].sort();
  const run = `anonmerge-schema-check.${process.pid}-${randomBytes(4).toString('hex')}`;
  const rows: SchemaCheckRow[] = [];
  for (const file of files) {
    const level = compatibilityOfFile(file);
    const working = readFileSync(path.join(schemaDir, file), 'utf8');
    const released = releasedVersions(releasedDir, file);
    if (released.length === 0) {
      // Deleting a schema's history must not switch its check off: a new schema is released as v1
      // in the change that adds it.
      rows.push({ file, level, released: 0, status: 'NO RELEASED VERSION', incompatibleWith: [] });
      continue;
    }
    const subject = encodeURIComponent(`${run}.${path.basename(file, '.avsc')}-value`);
    try {
      // The released history goes in as it is (it was checked when each was released), then the
      // subject takes the policy's level for the question that matters.
      await registry(config, 'PUT', `/config/${subject}`, { compatibility: 'NONE' });
      for (const text of released) await registry(config, 'POST', `/subjects/${subject}/versions`, { schema: canonical(text) });
      await registry(config, 'PUT', `/config/${subject}`, { compatibility: level });
      const incompatibleWith: number[] = [];
      for (let version = 1; version <= released.length; version += 1) {
        const answer = (await registry(config, 'POST', `/compatibility/subjects/${subject}/versions/${version}`, { schema: canonical(working) })) as { is_compatible?: unknown };
        if (answer.is_compatible !== true) incompatibleWith.push(version);
      }
      const unchanged = canonical(working) === canonical(released[released.length - 1] as string);
      rows.push({ file, level, released: released.length, status: incompatibleWith.length > 0 ? 'INCOMPATIBLE' : unchanged ? 'unchanged' : 'compatible change, to release', incompatibleWith });
    } finally {
      const left = (error: Error) => process.stderr.write(`anonmerge: could not delete the scratch subject ${decodeURIComponent(subject)}: ${error.message}\n`);
      await registry(config, 'DELETE', `/subjects/${subject}`).catch(left);
      await registry(config, 'DELETE', `/subjects/${subject}?permanent=true`).catch(left);
    }
  }
  return rows;
}

export function renderSchemaCheck(rows: readonly SchemaCheckRow[]): string {
  return markdownTable(
    ['schema', 'policy', 'released', 'working tree'],
    rows.map((row) => [row.file, row.level, row.released === 0 ? '-' : `v1–v${row.released}`, row.status === 'INCOMPATIBLE' ? `INCOMPATIBLE with ${row.incompatibleWith.map((v) => `v${v}`).join(', ')}` : row.status]),
  );
}
