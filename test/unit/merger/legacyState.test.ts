/**
 * From the legacy merger's Redis state to the two planes' (services/merger/migration/legacyState.ts).
 */
import { controlStatesOf, migrateAnonymous, parseAnonymousStateKey } from '../../../services/merger/migration/legacyState';

describe('migrating legacy state', () => {
  it('reads a workspace and an anonymous id back from a state key, braces in the id included', () => {
    expect(parseAnonymousStateKey('am', 'am:{ws1|a|cookie-1}:s')).toEqual({ workspace: 'ws1', anonymousId: 'cookie-1' });
    expect(parseAnonymousStateKey('am', 'am:{ws1|a|odd}|a|id}:s')).toEqual({ workspace: 'ws1', anonymousId: 'odd}|a|id' });
    expect(parseAnonymousStateKey('am', 'am:{ws1|p|id:p1}:s')).toBeNull();
    expect(parseAnonymousStateKey('am', 'other:{ws1|a|x}:s')).toBeNull();
    expect(parseAnonymousStateKey('am', 'am:{ws1|a|x}:q')).toBeNull();
  });

  it('keeps an open window (R6: its merges so far are reported when it ends) and drops one whose timer fired', () => {
    const open = migrateAnonymous({ v: '7', p: 'id:p1', b: '1000', w: '301000', wo: '1', wc: '2', wt: '1700000000' });
    expect(open).toEqual({ person: { id_type: 'ID', value: 'p1' }, ordered: { p: { id_type: 'ID', value: 'p1' }, w: { openedBy: 'migrated-1000', end: 301000, count: 2, oldest: 1700000000 }, a: null } });
    const fired = migrateAnonymous({ v: '9', p: 'email:a@example.com', b: '1000', w: '301000', wo: '0', wc: '0' });
    expect(fired?.ordered).toEqual({ p: { id_type: 'EMAIL', value: 'a@example.com' }, w: null, a: null });
  });

  it('leaves an id bound to nobody as it is (its pending events are read as they are)', () => {
    expect(migrateAnonymous({ v: '3', 'o:2': '17' })).toBeNull();
  });

  it("builds each workspace's bindings and people's ids (R2f: an id stays bound to its person)", () => {
    const p1 = { id_type: 'ID' as const, value: 'p1' };
    const states = controlStatesOf([
      { workspace: 'w', anonymousId: 'a1', person: p1 },
      { workspace: 'w', anonymousId: 'a2', person: p1 },
      { workspace: 'v', anonymousId: 'a1', person: { id_type: 'EMAIL', value: 'x@example.com' } },
    ]);
    expect([...states.keys()].sort()).toEqual(['v', 'w']);
    expect(states.get('w')?.bindings.get('a2')).toEqual(p1);
    expect([...(states.get('w')?.idsOf.get('id:p1') ?? [])].sort()).toEqual(['a1', 'a2']);
    expect(states.get('v')?.idsOf.get('email:x@example.com')).toEqual(new Set(['a1']));
  });
});
