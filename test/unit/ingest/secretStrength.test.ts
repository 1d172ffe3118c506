import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MIN_SECRET_LENGTH, weakSecrets } from '../../../services/ingest/secretStrength';
import { parseWorkspaces, WorkspaceFileError, WorkspaceRegistry } from '../../../services/ingest/workspaces';

const STRONG = 'k'.repeat(MIN_SECRET_LENGTH);

describe('secret strength of the workspaces file', () => {
  it('names each api_key and write_key shorter than 16 characters, never its value', () => {
    const document = { workspaces: [{ id: 'a', site_id: 'sa', api_key: 'short-key', write_key: STRONG }, { id: 'b', site_id: 'sb', api_key: STRONG, write_key: 'wk', publishable_key: 'pk' }] };
    parseWorkspaces(document, 'test');
    const problems = weakSecrets(document);
    expect(problems).toEqual(['workspaces[0].api_key must be at least 16 characters (e.g. openssl rand -hex 16)', 'workspaces[1].write_key must be at least 16 characters (e.g. openssl rand -hex 16)']);
    expect(problems.join(' ')).not.toContain('short-key');
  });

  it('names an identity_verification_secret shorter than 16 characters: one user hash shown in a page must not give it away', () => {
    const document = { workspaces: [{ id: 'a', site_id: 'sa', api_key: STRONG, publishable_key: 'pk', identity_verification_secret: 'hush' }] };
    parseWorkspaces(document, 'test');
    expect(weakSecrets(document)).toEqual(['workspaces[0].identity_verification_secret must be at least 16 characters (e.g. openssl rand -hex 16)']);
    expect(() => parseWorkspaces({ workspaces: [{ id: 'a', site_id: 'sa', api_key: STRONG, identity_verification_secret: '' }] }, 'test')).toThrow(/workspaces\[0\]\.identity_verification_secret must be a non-empty string/);
  });

  it('leaves the publishable key alone: it is public by design', () => {
    expect(weakSecrets(parseWorkspaces({ workspaces: [{ id: 'a', site_id: 'sa', api_key: STRONG, publishable_key: 'pk' }] }, 'test'))).toEqual([]);
  });

  it('refuses to load a file with a weak key, with a clear error', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'anonmerge-secrets-')), 'workspaces.json');
    writeFileSync(file, JSON.stringify({ workspaces: [{ id: 'a', site_id: 'sa', api_key: 'demo-key' }] }));
    expect(() => WorkspaceRegistry.fromFile(file)).toThrow(new WorkspaceFileError(`${file}: workspaces[0].api_key must be at least 16 characters (e.g. openssl rand -hex 16)`));
  });

  it('loads the shipped demo workspaces file', () => {
    expect(WorkspaceRegistry.fromFile(path.resolve(__dirname, '../../../config/workspaces.json')).workspaces.map((w) => w.id)).toEqual(['demo']);
  });
});
