import { accessOf } from '../../../services/activity/access';
import { matches, RecentView, rowOfActivity, rowOfAnonymous, rowOfMerged } from '../../../services/activity/view';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';

const merged = (id: string, previouslyAnonymous: boolean) =>
  rowOfMerged({ workspace_id: 'w', person: { id_type: 'EMAIL', value: 'ada@example.com' }, event_id: id, name: 'page', type: 'page', timestamp: 1, data_json: '{}', received_at: 10, previously_anonymous: previouslyAnonymous, anonymous_id: previouslyAnonymous ? 'anon-1' : null, associated_at: 5 });

describe('the activity view', () => {
  it('keeps the latest N rows per workspace and tab, newest first, and drops repeats', () => {
    const view = new RecentView(3);
    for (let i = 1; i <= 5; i += 1) expect(view.add('w', merged(`e${i}`, false))).toBe(true);
    expect(view.add('w', merged('e5', false))).toBe(false);
    expect(view.list('w', 'identified').map((r) => r.id)).toEqual(['e5', 'e4', 'e3']);
    // A row that fell off may come back (it is no longer known).
    expect(view.add('w', merged('e1', false))).toBe(true);
    expect(view.list('other', 'identified')).toEqual([]);
  });

  it('marks merged events with the anonymous id they had, and shapes activities and anonymous events', () => {
    expect(merged('e', true)).toMatchObject({ tab: 'identified', person: 'email:ada@example.com', previouslyAnonymous: true, anonymousId: 'anon-1' });
    expect(rowOfAnonymous({ workspace_id: 'w', anonymous_id: 'anon-2', event_id: 'x', name: 'n', type: 'event', timestamp: 1, data_json: '{}', received_at: 3 })).toMatchObject({ tab: 'anonymous', person: null, anonymousId: 'anon-2' });
    const activity = rowOfActivity({ workspace_id: 'w', activity_id: 'a1', person: { id_type: 'ID', value: '42' }, kind: 'ANONYMOUS_DATA_MERGED', at: 7, anonymous_id: 'anon-1', merged_count: 3, oldest_event_timestamp: 99, other_person: null });
    expect(activity).toMatchObject({ tab: 'activity', kind: 'ANONYMOUS_DATA_MERGED', mergedCount: 3, oldestEventTimestamp: 99, person: 'id:42' });
  });

  it('searches by anonymous id, by person key, or by the bare id or email', () => {
    const row = merged('e', true);
    expect(matches(row, 'anon-1')).toBe(true);
    expect(matches(row, 'email:ada@example.com')).toBe(true);
    expect(matches(row, 'ADA@example.com')).toBe(true);
    expect(matches(row, 'ada')).toBe(false);
    expect(matches(row, '')).toBe(true);
  });
});

describe('who may read the activity log', () => {
  const registry = new WorkspaceRegistry(parseWorkspaces({ workspaces: [{ id: 'a', site_id: 'sa', api_key: 'ka' }, { id: 'b', site_id: 'sb', api_key: 'kb' }] }, 'test'));
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it("a workspace's credentials open that workspace only", () => {
    expect(accessOf(basic('sa', 'ka'), registry, 'tok')).toEqual({ ok: true, workspaces: ['a'] });
    expect(accessOf(basic('sa', 'kb'), registry, 'tok').ok).toBe(false);
    expect(accessOf(undefined, registry, 'tok').ok).toBe(false);
  });

  it('the admin token opens every workspace, as a Bearer token or as the password of "admin"; an empty token opens nothing', () => {
    expect(accessOf('Bearer tok', registry, 'tok')).toEqual({ ok: true, workspaces: ['a', 'b'] });
    expect(accessOf(basic('admin', 'tok'), registry, 'tok')).toEqual({ ok: true, workspaces: ['a', 'b'] });
    expect(accessOf('Bearer nope', registry, 'tok').ok).toBe(false);
    expect(accessOf('Bearer ', registry, '').ok).toBe(false);
    expect(accessOf(basic('admin', ''), registry, '').ok).toBe(false);
  });

  it("a disabled workspace's right key is refused 403, saying so; a wrong key is 401 as before", () => {
    const [a, b] = registry.workspaces;
    const withDisabled = new WorkspaceRegistry([{ ...(a as (typeof registry.workspaces)[number]), disabled: true }, b as (typeof registry.workspaces)[number]]);
    expect(accessOf(basic('sa', 'ka'), withDisabled, 'tok')).toEqual({ ok: false, status: 403, reason: 'workspace a is disabled' });
    expect(accessOf(basic('sa', 'wrong'), withDisabled, 'tok')).toEqual({ ok: false, status: 401, reason: 'unknown site_id or wrong api_key' });
    expect(accessOf(basic('sb', 'kb'), withDisabled, 'tok')).toEqual({ ok: true, workspaces: ['b'] });
  });
});
