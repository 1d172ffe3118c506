/**
 * anonmerge config-docs [--check]: writes docs/configuration.md from the code's settings, or with
 * --check exits 1 when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configurationReference } from '../../shared/config/reference';
import { projectRoot } from '../../shared/projectRoot';

export const CONFIG_DOC = path.join(projectRoot(), 'docs/configuration.md');

export function configDocs(check: boolean): number {
  const wanted = configurationReference();
  if (check) {
    const current = (() => {
      try {
        return readFileSync(CONFIG_DOC, 'utf8');
      } catch {
        return '';
      }
    })();
    if (current === wanted) return 0;
    process.stderr.write('docs/configuration.md is out of date: run `anonmerge config-docs`\n');
    return 1;
  }
  writeFileSync(CONFIG_DOC, wanted);
  process.stdout.write(`wrote ${CONFIG_DOC}\n`);
  return 0;
}
