/**
 * scripts/generate-avro-types.js: the types the merger and the consumer helper code against come
 * from schemas/*.avsc, written as avsc decodes records.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { projectRoot } from '../../../services/shared/projectRoot';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const generator = require('../../../scripts/generate-avro-types.js') as {
  typesOf(schema: unknown, stem: string, clashing?: Set<string>): { top: string; source: string };
  generate(schemaDir: string, files: string[]): { source: string };
  pascal(stem: string): string;
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

  it('prefixes a nested name that two files define, and refuses a union avsc would fold', () => {
    expect(generator.typesOf({ type: 'record', name: 'Order', fields: [{ name: 'person', type: { type: 'record', name: 'Person', fields: [] } }] }, 'order', new Set(['Person'])).source).toContain('export interface OrderPerson {');
    const intOrLong = { type: 'record', name: 'Y', fields: [{ name: 'n', type: ['null', 'int', 'long'] }] };
    expect(() => generator.typesOf(intOrLong, 'y')).toThrow(/several non-null types other than records/);
    const recordOrString = { type: 'record', name: 'Z', fields: [{ name: 'n', type: [{ type: 'record', name: 'A', fields: [] }, 'string'] }] };
    expect(() => generator.typesOf(recordOrString, 'z')).toThrow(/several non-null types other than records/);
  });

  it('writes a union of records as avsc wraps it: one object keyed by the full name of its branch', () => {
    const schema = {
      type: 'record',
      name: 'X',
      namespace: 'dev.example',
      fields: [
        { name: 'u', type: [{ type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] }, { type: 'record', name: 'other.B', fields: [] }] },
        { name: 'maybe', type: ['null', { type: 'record', name: 'C', fields: [] }, { type: 'record', name: 'D', fields: [{ name: 'd', type: 'int' }] }], default: null },
      ],
    };
    const { source } = generator.typesOf(schema, 'x');
    expect(source).toContain('readonly u: { readonly "dev.example.A": A } | { readonly "other.B": B };');
    expect(source).toContain('readonly maybe: null | { readonly "dev.example.C": C } | { readonly "dev.example.D": D };');
    // The shape the types promise is the one avsc decodes and encodes.
    const type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: 'auto' });
    const value = { u: { 'other.B': {} }, maybe: { 'dev.example.D': { d: 1 } } };
    expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
  });

  it('each outbound record avsc decodes has exactly the fields its generated interface declares', () => {
    const root = projectRoot();
    const { source } = generator.generate(path.join(root, 'schemas'), generator.OUTBOUND_SCHEMAS);
    for (const file of generator.OUTBOUND_SCHEMAS) {
      const type = avro.Type.forSchema(JSON.parse(readFileSync(path.join(root, 'schemas', file), 'utf8')) as avro.Schema);
      const top = generator.pascal(path.basename(file, '.avsc'));
      const body = new RegExp(`export interface ${top} \\{\\n([\\s\\S]*?)\\n\\}`).exec(source)?.[1] ?? '';
      const declared = [...body.matchAll(/^  readonly (\w+):/gm)].map((m) => m[1]);
      // A record as the merger's catalog decodes it (random values of the schema, through the wire).
      const decoded = type.fromBuffer(type.toBuffer(type.random())) as Record<string, unknown>;
      expect({ file, fields: declared }).toEqual({ file, fields: Object.keys(decoded) });
    }
  });
});
