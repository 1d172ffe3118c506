/**
 * scripts/generate-avro-types.js: the types the merger and the consumer helper code against come
 * from schemas/*.avsc, written as avsc decodes records.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../../services/shared/projectRoot';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const generator = require('../../../scripts/generate-avro-types.js') as {
  typesOf(schema: unknown, stem: string, clashing?: Set<string>): { top: string; source: string };
  generate(schemaDir: string, files: string[]): { source: string };
  OUTBOUND_SCHEMAS: string[];
};

describe('generated Avro types', () => {
  it('writes each Avro type as avsc decodes it', () => {
    const { source } = generator.typesOf(
      {
        type: 'record',
        name: 'dev.example.Thing',
        doc: 'A thing. */ not the end of the comment',
        fields: [
          { name: 'id', type: 'string', doc: 'Its id.' },
          { name: 'count', type: 'int' },
          { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
          { name: 'maybe', type: ['null', 'string'], default: null },
          { name: 'kind', type: { type: 'enum', name: 'ThingKind', symbols: ['A', 'B'] } },
          { name: 'owner', type: ['null', { type: 'record', name: 'Owner', fields: [{ name: 'name', type: 'string' }] }], default: null },
          { name: 'tags', type: { type: 'array', items: 'string' } },
          { name: 'scores', type: { type: 'map', values: 'double' } },
          { name: 'raw', type: ['null', 'bytes'] },
          { name: 'again', type: 'ThingKind' },
        ],
      },
      'thing',
    );
    expect(source).toContain('export type ThingKind = "A" | "B";');
    expect(source).toContain('export interface Owner {\n  readonly name: string;\n}');
    expect(source).toContain('/** A thing. * / not the end of the comment */\nexport interface Thing {');
    for (const field of [
      '/** Its id. */\n  readonly id: string;',
      'readonly count: number;',
      'readonly at: number;',
      'readonly maybe: null | string;',
      'readonly kind: ThingKind;',
      'readonly owner: null | Owner;',
      'readonly tags: ReadonlyArray<string>;',
      'readonly scores: Readonly<Record<string, number>>;',
      'readonly raw: null | Buffer;',
      'readonly again: ThingKind;',
    ]) {
      expect(source).toContain(field);
    }
  });

  it('prefixes a nested name that two files define, and refuses a union avsc would wrap', () => {
    expect(generator.typesOf({ type: 'record', name: 'Order', fields: [{ name: 'person', type: { type: 'record', name: 'Person', fields: [] } }] }, 'order', new Set(['Person'])).source).toContain('export interface OrderPerson {');
    const twoRecords = { type: 'record', name: 'X', fields: [{ name: 'u', type: [{ type: 'record', name: 'A', fields: [] }, { type: 'record', name: 'B', fields: [] }] }] };
    expect(() => generator.typesOf(twoRecords, 'x')).toThrow(/several named types/);
  });

  it('the generated module is what the schemas make now (the build wrote it; nobody edited it)', () => {
    const root = projectRoot();
    const { source } = generator.generate(path.join(root, 'schemas'), generator.OUTBOUND_SCHEMAS);
    expect(readFileSync(path.join(root, 'services/shared/generated/avroTypes.ts'), 'utf8')).toBe(source);
  });
});
