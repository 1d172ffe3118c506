#!/usr/bin/env node
/**
 * anonmerge: the operator's commands.
 *
 *   anonmerge explain --workspace W (--anonymous-id A | --person P) [--json]
 *   anonmerge rebuild [--into PREFIX] [--empty-first] [--compare-with PREFIX]
 *   anonmerge dlq replay [--from-offset N] [--dry-run]
 *   anonmerge partitions add --count N [--stream inbound]
 *   anonmerge migrate two-planes [--if-needed]
 *   anonmerge config-docs [--check]
 *   anonmerge schemas check [--schemas DIR]
 *   anonmerge workspaces seed [--file F]
 *   anonmerge workspaces list | show ID | changes ID | create ID --site-id S [--body JSON] |
 *     update ID --body JSON [--if-match N] | merge ID on|off | disable ID | enable ID |
 *     keys create ID --kind API|WRITE|PUBLISHABLE | keys revoke ID KEY_ID
 *
 * Settings come from the same environment variables as the services (docs/configuration.md).
 */
import { parseArgs } from 'node:util';
import { SchemaCatalog } from '../shared/avro/catalog';
import { STREAMS, type StreamName } from '../shared/avro/schemaFiles';
import { createKafka } from '../shared/kafka/client';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { deleteByPrefix } from '../shared/redis/deleteByPrefix';
import { createRedis } from '../shared/redis/client';
import { KeySpace } from '../merger/redis/keys';
import { configDocs } from './commands/configDocs';
import { replayDeadLetters } from './commands/dlqReplay';
import { explain, renderExplanation } from './commands/explain';
import { addPartitions } from './commands/partitions';
import { compareStates, rebuildState } from './commands/rebuild';
import { compareOrderedStates } from './commands/orderedStateComparison';
import { MigrationRefused, migrateToTwoPlanes, unmigratedPartitions } from './commands/migrate';
import { checkSchemas, renderSchemaCheck } from './commands/schemaCheck';
import { seedWorkspaces } from './commands/workspacesSeed';
import { runWorkspacesCommand, type WorkspacesCommand } from './commands/workspacesAdmin';
import { SealingError } from '../ingest/workspaceChanges';
import { SecretKeyError } from '../shared/workspaces/secretBox';
import { ensureTopicsWith } from '../shared/kafka/topics';
import { workspacesOrExit } from '../ingest/workspacesAtStart';

const USAGE = `usage:
  anonmerge explain --workspace W (--anonymous-id A | --person P) [--json]
  anonmerge rebuild [--into PREFIX] [--empty-first] [--compare-with PREFIX]
  anonmerge dlq replay [--from-offset N] [--dry-run]
  anonmerge partitions add --count N [--stream inbound]
  anonmerge migrate two-planes [--if-needed]   (legacy mergers stopped first: docs/deployment.md)
  anonmerge config-docs [--check]
  anonmerge schemas check [--schemas DIR]      (each schema against its released versions: docs/consuming.md)
  anonmerge workspaces seed [--file F]         (each workspace of the file not on the workspaces log yet, as its version 1: docs/design-workspaces.md)
  anonmerge workspaces list | show ID | changes ID
  anonmerge workspaces create ID --site-id S [--body JSON] | update ID --body JSON [--if-match N]
  anonmerge workspaces merge ID on|off | disable ID | enable ID
  anonmerge workspaces keys create ID --kind API|WRITE|PUBLISHABLE | keys revoke ID KEY_ID
                                               (through the admin API: ANONMERGE_ADMIN_URL, ANONMERGE_ADMIN_TOKEN)`;

function fail(message: string): never {
  process.stderr.write(`anonmerge: ${message}\n${USAGE}\n`);
  process.exit(64);
}

async function main(argv: string[]): Promise<number> {
  const [command, sub] = argv;
  if (command === undefined || command === 'help' || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n\nSettings come from the environment, as for the services: docs/configuration.md\n`);
    return 0;
  }
  const { values } = parseArgs({
    args: argv.slice(command === 'dlq' || command === 'partitions' || command === 'migrate' || command === 'schemas' || command === 'workspaces' ? 2 : 1),
    options: {
      workspace: { type: 'string' },
      'anonymous-id': { type: 'string' },
      person: { type: 'string' },
      json: { type: 'boolean', default: false },
      into: { type: 'string' },
      'empty-first': { type: 'boolean', default: false },
      'compare-with': { type: 'string' },
      'from-offset': { type: 'string', default: '0' },
      'dry-run': { type: 'boolean', default: false },
      count: { type: 'string' },
      stream: { type: 'string', default: 'inbound' },
      check: { type: 'boolean', default: false },
      'if-needed': { type: 'boolean', default: false },
      schemas: { type: 'string' },
      file: { type: 'string' },
      'site-id': { type: 'string' },
      body: { type: 'string' },
      'if-match': { type: 'string' },
      kind: { type: 'string' },
    },
    allowPositionals: command === 'workspaces',
  });
  if (command === 'config-docs') return configDocs(values.check ?? false);
  if (command === 'workspaces' && sub !== 'seed') return workspacesThroughAdmin(argv.slice(1));
  if (command === 'schemas' && sub === 'check') {
    const registryConfig = configOrExit('anonmerge', ['registry']).registry;
    const rows = await checkSchemas(registryConfig, values.schemas ?? undefined);
    process.stdout.write(`${renderSchemaCheck(rows)}\n`);
    const broken = rows.filter((row) => row.status === 'INCOMPATIBLE');
    const unreleased = rows.filter((row) => row.status === 'NO RELEASED VERSION');
    if (broken.length > 0) process.stderr.write(`anonmerge: ${broken.map((row) => row.file).join(', ')} would break readers of released versions; see docs/consuming.md, "Schema evolution"\n`);
    if (unreleased.length > 0) process.stderr.write(`anonmerge: ${unreleased.map((row) => row.file).join(', ')} has no released version; add it as schemas/released/<name>/v1.avsc\n`);
    if (broken.length > 0 || unreleased.length > 0) return 1;
    return 0;
  }

  const config = configOrExit('anonmerge', ['kafka', 'topics', 'registry', 'redis', 'merger', 'log']);
  const logger = createLogger('cli', process.env.ANONMERGE_LOG_LEVEL ? config.log.level : 'warn');
  const kafka = createKafka(config.kafka, logger, 'cli');

  if (command === 'partitions' && sub === 'add') {
    const count = Number(values.count);
    if (!Number.isInteger(count) || count < 1) fail('--count N is required');
    if (!(STREAMS as string[]).includes(values.stream ?? '')) fail(`--stream must be one of ${STREAMS.join(', ')}`);
    process.stdout.write(`${await addPartitions(kafka, config.topics, values.stream as StreamName, count)}\n`);
    return 0;
  }

  const catalog = await SchemaCatalog.open(config.registry, config.topics, logger);
  if (command === 'workspaces' && sub === 'seed') {
    const { ingest } = configOrExit('anonmerge', ['ingest']);
    const file = values.file ?? ingest.workspacesFile;
    await ensureTopicsWith(kafka, config.topics, logger);
    let report;
    try {
      report = await seedWorkspaces(kafka, catalog, config.topics.workspaces, file, workspacesOrExit('anonmerge', file), ingest.workspacesSecretKey, logger);
    } catch (error) {
      if (!(error instanceof SealingError || error instanceof SecretKeyError)) throw error;
      process.stderr.write(`anonmerge: refused: ${error.message}\n`);
      return 2;
    }
    process.stdout.write(`seeded ${report.written.length} workspace(s) from ${file}${report.written.length > 0 ? `: ${report.written.join(', ')}` : ''}; ${report.alreadyOnTheLog.length} already on the log\n`);
    return 0;
  }
  if (command === 'dlq' && sub === 'replay') {
    const summary = await replayDeadLetters(kafka, catalog, { fromOffset: Number(values['from-offset']), dryRun: values['dry-run'] ?? false, groupId: `anonmerge-dlq-${Date.now()}` });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }

  // The same client the merger makes: single Redis or cluster, TLS, credentials, timeouts.
  const redis = createRedis(config.redis, logger, 'cli');
  try {
    if (command === 'explain') {
      if (!values.workspace || (!values['anonymous-id'] && !values.person)) fail('explain needs --workspace and --anonymous-id or --person');
      const explanations = await explain(kafka, catalog, redis, new KeySpace(config.merger.redisKeyPrefix), values.workspace, { anonymousId: values['anonymous-id'], person: values.person }, config.merger.controlPlane);
      process.stdout.write(values.json ? `${JSON.stringify(explanations, null, 2)}\n` : `${explanations.map(renderExplanation).join('\n\n') || 'nothing known about that'}\n`);
      return 0;
    }
    if (command === 'migrate' && sub === 'two-planes') {
      // --if-needed (make up, make run): only when some partition still has unmoved legacy state.
      if (values['if-needed'] && (await unmigratedPartitions(config, redis)).length === 0) {
        process.stdout.write('nothing to migrate: no legacy merger state without its two-plane record\n');
        return 0;
      }
      try {
        const report = await migrateToTwoPlanes(config, redis, logger, (line) => process.stderr.write(`\r\u001b[2K${line}`));
        process.stderr.write('\n');
        process.stdout.write(`${JSON.stringify(report, null, 2)}\nnext: start the mergers with ANONMERGE_MERGER_CONTROL_PLANE=true, then ingest with ANONMERGE_INGEST_PERSON_OPS=true\n`);
        return 0;
      } catch (error) {
        if (!(error instanceof MigrationRefused)) throw error;
        process.stderr.write(`anonmerge: refused: ${error.message}\n`);
        return 2;
      }
    }
    if (command === 'rebuild') {
      const live = config.merger.redisKeyPrefix;
      const into = values.into ?? `${live}-rebuild-${Date.now().toString(36)}`;
      if (values['empty-first']) process.stderr.write(`emptied ${await deleteByPrefix(redis, into)} keys under ${into}\n`);
      const report = await rebuildState(config, logger, into, (line) => process.stderr.write(`\r\u001b[2K${line}`));
      process.stderr.write(`\nrebuilt ${into} from ${report.records.toLocaleString()} records in ${report.seconds.toFixed(1)} s\n`);
      const other = values['compare-with'] ?? (into === live ? undefined : live);
      if (other) {
        const comparison = config.merger.controlPlane ? await compareOrderedStates(redis, into, other) : await compareStates(redis, into, other);
        process.stdout.write(`${JSON.stringify({ ...comparison, differences: comparison.differences.slice(0, 20), differenceCount: comparison.differences.length }, null, 2)}\n`);
        return comparison.differences.length === 0 ? 0 : 1;
      }
      return 0;
    }
  } finally {
    redis.disconnect();
  }
  fail(`unknown command ${JSON.stringify(argv.join(' '))}`);
}

/** `anonmerge workspaces …` through the admin API; the answer's JSON on stdout, or its errors on stderr. */
async function workspacesThroughAdmin(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'site-id': { type: 'string' }, body: { type: 'string' }, 'if-match': { type: 'string' }, kind: { type: 'string' } } });
  const [verb, first, second, third] = positionals;
  const body = (): Record<string, unknown> => {
    if (values.body === undefined) return {};
    try {
      return JSON.parse(values.body) as Record<string, unknown>;
    } catch {
      return fail('--body must be JSON');
    }
  };
  const need = (value: string | undefined, what: string): string => value ?? fail(`workspaces ${verb ?? ''}: ${what} is required`);
  let command: WorkspacesCommand;
  if (verb === 'list') command = { verb };
  else if (verb === 'show' || verb === 'changes' || verb === 'disable' || verb === 'enable') command = { verb, workspace: need(first, 'ID') };
  else if (verb === 'create') command = { verb, workspace: need(first, 'ID'), siteId: need(values['site-id'], '--site-id'), changes: body() };
  else if (verb === 'update') command = { verb, workspace: need(first, 'ID'), changes: values.body === undefined ? fail('update needs --body JSON') : body(), ifMatch: values['if-match'] === undefined ? undefined : `"${values['if-match']}"` };
  else if (verb === 'merge' && (second === 'on' || second === 'off')) command = { verb, workspace: need(first, 'ID'), enabled: second === 'on' };
  else if (verb === 'keys' && first === 'create') command = { verb: 'keys create', workspace: need(second, 'ID'), kind: need(values.kind, '--kind') };
  else if (verb === 'keys' && first === 'revoke') command = { verb: 'keys revoke', workspace: need(second, 'ID'), keyId: need(third, 'KEY_ID') };
  else return fail(`unknown workspaces command ${JSON.stringify(positionals.join(' '))}`);
  const { admin } = configOrExit('anonmerge', ['admin']);
  if (admin.token === '') return fail('set ANONMERGE_ADMIN_TOKEN (or ANONMERGE_ADMIN_TOKEN_FILE) to an operator token of the admin API');
  const result = await runWorkspacesCommand({ url: admin.url, token: admin.token }, command);
  if (result.status >= 200 && result.status < 300) {
    process.stdout.write(`${JSON.stringify(result.body, null, 2)}\n`);
    return 0;
  }
  const problems = (result.body as { errors?: unknown } | null)?.errors;
  process.stderr.write(`anonmerge: the admin API answered ${result.status}: ${Array.isArray(problems) ? problems.map(String).join('; ') : JSON.stringify(result.body)}\n`);
  return 1;
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`anonmerge: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });

