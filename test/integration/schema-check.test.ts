/**
 * make schema-check (`anonmerge schemas check`): a change to schemas/*.avsc is tested by the
 * registry's own compatibility API against every released version, at the policy's level
 * (FULL_TRANSITIVE, docs/consuming.md "Schema evolution"). Each case edits a copy of the schemas.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkSchemas, renderSchemaCheck, type SchemaCheckRow } from '../../services/cli/commands/schemaCheck';
import { SCHEMA_DIR } from '../../services/shared/avro/schemaFiles';
import { config } from '../support/stack';

interface RecordSchema {
  type: 'record';
  name: string;
  fields: Array<{ name: string; type: unknown; default?: unknown }>;
}

describe('make schema-check', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'schema-check-'));
    cpSync(SCHEMA_DIR, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const edit = (file: string, change: (schema: RecordSchema) => void) => {
    const schema = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as RecordSchema;
    change(schema);
    writeFileSync(path.join(dir, file), JSON.stringify(schema, null, 2));
  };
  const row = (rows: SchemaCheckRow[], file: string) => rows.find((r) => r.file === file) as SchemaCheckRow;

  it("the repository's schemas keep every released version readable both ways", async () => {
    const rows = await checkSchemas(config.registry);
    expect(rows.map((r) => r.file).sort()).toEqual(['activity.avsc', 'anonymous-event.avsc', 'campaign-trigger.avsc', 'dead-letter.avsc', 'inbound-record.avsc', 'merged-event.avsc', 'person-order-record.avsc', 'request.avsc', 'workspace-change.avsc']);
    expect(rows.filter((r) => r.status === 'INCOMPATIBLE')).toEqual([]);
    expect(rows.every((r) => r.level === 'FULL_TRANSITIVE' && r.released >= 1)).toBe(true);
  });

  it('an added optional field (with a default) passes, as a change to release', async () => {
    edit('merged-event.avsc', (s) => s.fields.push({ name: 'source_ip', type: ['null', 'string'], default: null }));
    const rows = await checkSchemas(config.registry, dir);
    expect(row(rows, 'merged-event.avsc').status).toBe('compatible change, to release');
    expect(row(rows, 'activity.avsc').status).toBe('unchanged');
    expect(renderSchemaCheck(rows)).toContain('| merged-event.avsc');
  });

  it('an added field without a default fails: an upgraded consumer could not read the records already in the topic', async () => {
    edit('merged-event.avsc', (s) => s.fields.push({ name: 'source_ip', type: 'string' }));
    const broken = row(await checkSchemas(config.registry, dir), 'merged-event.avsc');
    expect(broken).toMatchObject({ status: 'INCOMPATIBLE', incompatibleWith: [1] });
  });

  it('a removed field without a default fails: a consumer still on v1 could not read the new records', async () => {
    edit('merged-event.avsc', (s) => (s.fields = s.fields.filter((f) => f.name !== 'name')));
    expect(row(await checkSchemas(config.registry, dir), 'merged-event.avsc').status).toBe('INCOMPATIBLE');
  });

  it('a new activity kind fails: a v1 consumer could not decode the symbol (an enum needs a default first)', async () => {
    edit('activity.avsc', (s) => {
      const kind = s.fields.find((f) => f.name === 'kind') as { type: { symbols: string[] } };
      kind.type.symbols.push('PERSON_SUPPRESSED');
    });
    expect(row(await checkSchemas(config.registry, dir), 'activity.avsc').status).toBe('INCOMPATIBLE');
  });

  it('is transitive: a change that only the oldest released version cannot take still fails, naming it', async () => {
    // v2 added an optional field; the working schema makes it required: fine against v2, not v1.
    const v2 = JSON.parse(readFileSync(path.join(dir, 'merged-event.avsc'), 'utf8')) as RecordSchema;
    v2.fields.push({ name: 'channel', type: ['null', 'string'], default: null });
    mkdirSync(path.join(dir, 'released/merged-event'), { recursive: true });
    writeFileSync(path.join(dir, 'released/merged-event/v2.avsc'), JSON.stringify(v2));
    edit('merged-event.avsc', (s) => s.fields.push({ name: 'channel', type: ['null', 'string'] }));
    expect(row(await checkSchemas(config.registry, dir), 'merged-event.avsc')).toMatchObject({ status: 'INCOMPATIBLE', incompatibleWith: [1] });
  });

  it('a schema with no released version fails: deleting its history does not switch its check off', async () => {
    rmSync(path.join(dir, 'released/merged-event'), { recursive: true, force: true });
    expect(row(await checkSchemas(config.registry, dir), 'merged-event.avsc')).toMatchObject({ status: 'NO RELEASED VERSION', released: 0 });
  });

  it('takes a registry URL that carries credentials (sent as Basic auth, as the services do)', async () => {
    const withCredentials = new URL(config.registry.url);
    withCredentials.username = 'operator';
    withCredentials.password = 'not-checked-by-this-registry';
    const rows = await checkSchemas({ ...config.registry, url: withCredentials.toString() });
    expect(rows).toHaveLength(9);
    expect(rows.filter((r) => r.status === 'INCOMPATIBLE')).toEqual([]);
  });
});
