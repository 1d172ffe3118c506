/**
 * Issue 14, item 7: a service started with the demo workspace's keys (public: in the repository
 * and the README) must refuse unless it is told it is a demo (ANONMERGE_DEMO=1).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_KEYS, demoKeysIn, demoKeysRefusal } from '../../../services/ingest/demoKeys';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';

const demoFile = path.resolve(__dirname, '../../../config/workspaces.json');
const demoWorkspaces = WorkspaceRegistry.fromFile(demoFile).workspaces;
const own = parseWorkspaces({ workspaces: [{ id: 'prod', site_id: 'prod-site', api_key: 'a3f1c0de9b7e4d2a8c6f', write_key: 'w9e8d7c6b5a4f3e2d1c0', publishable_key: 'pk_live_1234' }] }, 'test');

describe('demo keys', () => {
  it('are exactly the keys of the demo workspaces file (the image does not carry it)', () => {
    const document = JSON.parse(readFileSync(demoFile, 'utf8')) as { workspaces: Array<Record<string, unknown>> };
    const keys = document.workspaces.flatMap((w) => [w.api_key, w.write_key, w.publishable_key, w.identity_verification_secret]).filter((k): k is string => typeof k === 'string');
    expect([...DEMO_KEYS].sort()).toEqual(keys.sort());
  });

  it('are found wherever a workspace uses one, and in the admin token', () => {
    expect(demoKeysIn(demoWorkspaces)).toEqual(['workspaces[0].api_key', 'workspaces[0].write_key', 'workspaces[0].publishable_key', 'workspaces[0].identity_verification_secret']);
    const mixed = parseWorkspaces({ workspaces: [{ id: 'a', site_id: 'a', api_key: 'a3f1c0de9b7e4d2a8c6f' }, { id: 'b', site_id: 'b', api_key: 'b3f1c0de9b7e4d2a8c6f', publishable_key: 'pk_demo' }] }, 'test');
    expect(demoKeysIn(mixed)).toEqual(['workspaces[1].publishable_key']);
    expect(demoKeysIn(own, 'demo-key-not-secret')).toEqual(['ANONMERGE_ACTIVITY_ADMIN_TOKEN']);
    expect(demoKeysIn(own, '')).toEqual([]);
  });

  it('refuse a start without ANONMERGE_DEMO, naming where they are and the way out', () => {
    const refusal = demoKeysRefusal(demoWorkspaces, { demo: false });
    expect(refusal).toContain('workspaces[0].api_key, workspaces[0].write_key, workspaces[0].publishable_key, workspaces[0].identity_verification_secret');
    expect(refusal).toContain('ANONMERGE_DEMO=1');
  });

  it('allow a start with ANONMERGE_DEMO, or with keys of your own', () => {
    expect(demoKeysRefusal(demoWorkspaces, { demo: true })).toBeNull();
    expect(demoKeysRefusal(own, { demo: false })).toBeNull();
    expect(demoKeysRefusal(own, { demo: false, adminToken: 'a-long-admin-token-of-ours' })).toBeNull();
  });
});
