/**
 * The configuration reference, generated from the settings the code reads (config/index.ts), so
 * that docs/configuration.md cannot drift: `anonmerge config-docs` writes it, and a test fails
 * when the committed file differs from what the code would write.
 */
import { configGroups } from './index';

const WHO: Record<keyof typeof configGroups, string> = {
  kafka: 'ingest, merger, activity, admin, CLI',
  topics: 'ingest, merger, activity, admin, CLI',
  registry: 'ingest, merger, activity, admin, CLI',
  redis: 'merger, activity (explain), CLI',
  log: 'ingest, merger, activity, admin',
  ingest: 'ingest (the workspaces file and ANONMERGE_DEMO: activity too)',
  merger: 'merger (the Redis prefix: activity and CLI too)',
  activity: 'activity (the activity log page)',
  admin: 'admin (the admin API of workspaces); the URL and token: CLI',
};

export function configurationReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    'Every setting is an environment variable, read once at start; a missing or malformed one stops the',
    'service with a message naming it. Secrets (marked) may also be given as a file: `<NAME>_FILE`.',
    'Generated from `services/shared/config/index.ts` by `anonmerge config-docs`; a test keeps it in step.',
    '',
  ];
  for (const [group, spec] of Object.entries(configGroups) as Array<[keyof typeof configGroups, (typeof configGroups)[keyof typeof configGroups]]>) {
    lines.push(`## ${group}`, '', `Read by: ${WHO[group]}.`, '', '| variable | default | description |', '| --- | --- | --- |');
    for (const setting of Object.values(spec)) {
      const fallback = setting.default === undefined ? '(required)' : setting.default === '' ? '(none)' : `\`${setting.default}\``;
      const secretNote = 'secret' in setting && setting.secret ? ' **Secret.**' : '';
      lines.push(`| \`${setting.env}\` | ${fallback} | ${setting.description.replace(/\|/g, '\\|')}.${secretNote} |`);
    }
    lines.push('');
  }
  lines.push('The workspaces file (`ANONMERGE_WORKSPACES_FILE`) is described in the README.', '');
  return lines.join('\n');
}
