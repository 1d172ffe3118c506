#!/usr/bin/env node
/**
 * TypeScript types for the records of schemas/*.avsc, as avsc decodes them (no logical types:
 * a timestamp-millis is a number; a union with null is `T | null`; bytes are a Buffer). The build
 * runs this before compiling (npm run build, make build, make typecheck), so the types a consumer
 * codes against (`anonmerge/consumer`) are the schemas, never a copy written by hand.
 *
 *   node scripts/generate-avro-types.js [schemaDir] [outFile]
 *
 * Plain JavaScript on purpose: it runs before the TypeScript it writes can be compiled.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const PRIMITIVES = { null: 'null', boolean: 'boolean', int: 'number', long: 'number', float: 'number', double: 'number', bytes: 'Buffer', string: 'string' };

/** `merged-event.avsc` → `MergedEvent`: the exported name of a file's top-level record. */
function pascal(stem) {
  return stem.replace(/(^|[-_.])([a-z0-9])/g, (_, __, c) => c.toUpperCase());
}

function docComment(doc, indent) {
  if (typeof doc !== 'string' || doc.length === 0) return '';
  // A schema's doc must not be able to end the comment it is put in.
  const safe = doc.replace(/\*\//g, '* /');
  return `${indent}/** ${safe} */\n`;
}

/**
 * TypeScript for one schema file. Named types (records, enums, fixed) become exported
 * declarations under their own names, but for a name another file defines too (`clashing`):
 * that one is prefixed with the file's type name (`MergedEventPerson`), so that both fit in one
 * module.
 */
function typesOf(schema, stem, clashing = new Set()) {
  const declarations = [];
  const named = new Map();
  const top = pascal(stem);
  const exportedName = (name, isTop) => {
    const short = name.split('.').pop();
    if (isTop) return top;
    return clashing.has(short) && !short.startsWith(top) ? `${top}${short}` : short;
  };

  function typeOf(node, isTop = false, namespace = '') {
    if (typeof node === 'string') {
      if (PRIMITIVES[node]) return PRIMITIVES[node];
      const short = node.split('.').pop();
      if (named.has(short)) return named.get(short);
      throw new Error(`${stem}: unknown type ${node}`);
    }
    if (Array.isArray(node)) {
      // A union of null and one type decodes as that type or null. With two or more non-null
      // members avsc may wrap values ({ Name: value }) or fold int and long into one number: not
      // something this generator writes, and none of our schemas does it.
      const nonNull = node.filter((member) => member !== 'null');
      if (nonNull.length > 1) {
        // Several records (the request topic's commands): avsc wraps each value in an object keyed
        // by its record's full name, { 'dev.anonmerge.requests.Track': {...} }. Other mixes stay
        // unsupported.
        if (!nonNull.every((member) => typeof member === 'object' && member.type === 'record')) {
          throw new Error(`${stem}: a union of several non-null types other than records is not supported by this generator`);
        }
        const branches = nonNull.map((member) => `{ readonly ${JSON.stringify(fullName(member, namespace))}: ${typeOf(member, false, namespace)} }`);
        return [...(nonNull.length < node.length ? ['null'] : []), ...branches].join(' | ');
      }
      return node.map((member) => typeOf(member, false, namespace)).join(' | ');
    }
    switch (node.type) {
      case 'record':
      case 'error': {
        const name = exportedName(node.name, isTop);
        named.set(node.name.split('.').pop(), name);
        const inner = node.name.includes('.') ? node.name.slice(0, node.name.lastIndexOf('.')) : node.namespace ?? namespace;
        const fields = node.fields.map((field) => `${docComment(field.doc, '  ')}  readonly ${field.name}: ${typeOf(field.type, false, inner)};`).join('\n');
        declarations.push(`${docComment(node.doc, '')}export interface ${name} {\n${fields}\n}`);
        return name;
      }
      case 'enum': {
        const name = exportedName(node.name, isTop);
        named.set(node.name.split('.').pop(), name);
        declarations.push(`${docComment(node.doc, '')}export type ${name} = ${node.symbols.map((s) => JSON.stringify(s)).join(' | ')};`);
        return name;
      }
      case 'fixed': {
        const name = exportedName(node.name, isTop);
        named.set(node.name.split('.').pop(), name);
        declarations.push(`export type ${name} = Buffer;`);
        return name;
      }
      case 'array':
        return `ReadonlyArray<${typeOf(node.items, false, namespace)}>`;
      case 'map':
        return `Readonly<Record<string, ${typeOf(node.values, false, namespace)}>>`;
      default:
        // { "type": "long", "logicalType": ... } and the like: the underlying type.
        return typeOf(node.type, false, namespace);
    }
  }

  typeOf(schema, true);
  return { top, source: declarations.join('\n\n') };
}

/** A named type's full name: its own if dotted, else under its namespace or the enclosing one. */
function fullName(node, enclosing) {
  if (node.name.includes('.')) return node.name;
  const namespace = node.namespace ?? enclosing;
  return namespace ? `${namespace}.${node.name}` : node.name;
}

/** Named types declared inside a schema (not its top-level record). */
function nestedNames(node, out = []) {
  if (Array.isArray(node)) node.forEach((member) => nestedNames(member, out));
  else if (node && typeof node === 'object') {
    if (['record', 'error', 'enum', 'fixed'].includes(node.type)) out.push(node.name.split('.').pop());
    for (const field of node.fields ?? []) nestedNames(field.type, out);
    nestedNames(node.items, out);
    nestedNames(node.values, out);
    if (typeof node.type === 'object') nestedNames(node.type, out);
  }
  return out;
}

function generate(schemaDir, files) {
  const parts = [
    '// Generated by scripts/generate-avro-types.js from schemas/*.avsc at build time. Do not edit:',
    '// change the schema (and see docs/consuming.md, "Schema evolution").',
    '',
  ];
  const schemas = files.map((file) => ({ file, schema: JSON.parse(fs.readFileSync(path.join(schemaDir, file), 'utf8')) }));
  const seen = new Map();
  for (const { schema } of schemas) for (const name of new Set(nestedNames(schema).slice(1))) seen.set(name, (seen.get(name) ?? 0) + 1);
  const clashing = new Set([...seen].filter(([, count]) => count > 1).map(([name]) => name));
  const tops = [];
  for (const { file, schema } of schemas) {
    const stem = path.basename(file, '.avsc');
    const { top, source } = typesOf(schema, stem, clashing);
    tops.push({ top, file });
    parts.push(`// ${file}`, source, '');
  }
  return { source: `${parts.join('\n')}`, tops };
}

const OUTBOUND_SCHEMAS = ['merged-event.avsc', 'campaign-trigger.avsc', 'activity.avsc', 'anonymous-event.avsc', 'dead-letter.avsc'];

module.exports = { generate, typesOf, pascal, OUTBOUND_SCHEMAS };

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const schemaDir = process.argv[2] ?? path.join(root, 'schemas');
  const outFile = process.argv[3] ?? path.join(root, 'services/shared/generated/avroTypes.ts');
  const write = (file, source) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Unchanged output is not rewritten, so make and tsc see nothing new.
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (before !== source) fs.writeFileSync(file, source);
  };
  // The streams downstream consumers read (docs/consuming.md); the internal ones are the merger's.
  const files = OUTBOUND_SCHEMAS.filter((f) => fs.existsSync(path.join(schemaDir, f)));
  write(outFile, generate(schemaDir, files).source);
  // The workspaces log, which ingest and the activity service follow: ours, not a consumer's contract.
  if (process.argv[2] === undefined && fs.existsSync(path.join(schemaDir, 'workspace-change.avsc'))) {
    write(path.join(path.dirname(outFile), 'workspaceTypes.ts'), generate(schemaDir, ['workspace-change.avsc']).source);
  }
  // The request topic's public schema, which the bridge reads (and a Node producer may import).
  if (process.argv[2] === undefined && fs.existsSync(path.join(schemaDir, 'request.avsc'))) {
    write(path.join(path.dirname(outFile), 'requestTypes.ts'), generate(schemaDir, ['request.avsc']).source);
  }
}
