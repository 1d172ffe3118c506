/**
 * docs/configuration.md is generated from the settings the code reads; this fails when they
 * drift apart (run `bin/anonmerge config-docs` to regenerate it).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configurationReference } from '../../services/shared/config/reference';
import { configGroups } from '../../services/shared/config';

describe('configuration reference', () => {
  it('docs/configuration.md is what the code would write', () => {
    expect(readFileSync(path.resolve(__dirname, '../../docs/configuration.md'), 'utf8')).toBe(configurationReference());
  });

  it('names every setting', () => {
    const text = configurationReference();
    for (const spec of Object.values(configGroups)) for (const setting of Object.values(spec)) expect(text).toContain(`\`${setting.env}\``);
  });
});
