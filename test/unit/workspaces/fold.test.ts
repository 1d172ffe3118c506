import fc from 'fast-check';
import type { WorkspaceChange } from '../../../services/shared/generated/workspaceTypes';
import { changeKey, emptyHistory, foldEntries, inForce, latestVersion, nextChangeAfter, parseChangeKey, type WorkspaceLogEntry } from '../../../services/shared/workspaces/fold';

const change = (workspace: string, version: number, effectiveAt: number, extra: Partial<WorkspaceChange['definition']> = {}): WorkspaceChange => ({
  workspace_id: workspace,
  version,
  effective_at: effectiveAt,
  changed_at: effectiveAt,
  changed_by: 'test',
  change: '{}',
  definition: {
    name: `${workspace} v${version}`,
    site_id: `${workspace}-site`,
    disabled: false,
    keys: [],
    allowed_origins: [],
    identity_secret: null,
    browser_attributes: [],
    settings: { merge_enabled: version % 2 === 1, retention_seconds: 86400, grace_seconds: 300, trigger_window_seconds: 3600 },
    rate_limit: { records_per_second: 10, burst: 20, bytes_per_second: 1000, bytes_burst: 2000 },
    ...extra,
  },
});
const entry = (value: WorkspaceChange): WorkspaceLogEntry => ({ key: changeKey(value.workspace_id, value.version), change: value });
const versionsInForce = (entries: readonly WorkspaceLogEntry[], now: number) => Object.fromEntries([...inForce(foldEntries(emptyHistory(), entries).history, now)].map(([w, c]) => [w, c.version]));

describe('the workspaces log folded (docs/design-workspaces.md)', () => {
  it('keys sort by workspace then version, and read back', () => {
    expect(changeKey('shop', 7)).toBe('shop/000000000007');
    expect(changeKey('shop', 7) < changeKey('shop', 10)).toBe(true);
    expect(parseChangeKey('shop/000000000007')).toEqual({ workspaceId: 'shop', version: 7 });
    expect(parseChangeKey('no-version')).toBeNull();
    expect(parseChangeKey('shop/7x')).toBeNull();
    // Only the canonical key: another spelling of the same version is another Kafka key.
    expect(parseChangeKey('shop/7')).toBeNull();
    expect(parseChangeKey('shop/000000000000')).toBeNull();
  });

  it('puts in force the highest version whose effective time has come', () => {
    const log = [entry(change('a', 1, 100)), entry(change('a', 2, 200)), entry(change('b', 1, 150)), entry(change('a', 3, 500))];
    expect(versionsInForce(log, 99)).toEqual({});
    expect(versionsInForce(log, 150)).toEqual({ a: 1, b: 1 });
    expect(versionsInForce(log, 499)).toEqual({ a: 2, b: 1 });
    expect(versionsInForce(log, 500)).toEqual({ a: 3, b: 1 });
  });

  it('a version scheduled ahead is superseded by a later version already in force', () => {
    const log = [entry(change('a', 1, 100)), entry(change('a', 2, 900)), entry(change('a', 3, 200))];
    expect(versionsInForce(log, 300)).toEqual({ a: 3 });
    expect(versionsInForce(log, 1000)).toEqual({ a: 3 });
    expect(nextChangeAfter(foldEntries(emptyHistory(), log).history, 300)).toBeNull();
  });

  it('says when the next change comes into force by itself: a scheduled version, or a key revoked ahead', () => {
    const key = { key_id: 'api-1', kind: 'API' as const, sha256: Buffer.alloc(32), created_at: 0, created_by: 't', revoked_at: 700 };
    const { history } = foldEntries(emptyHistory(), [entry(change('a', 1, 100, { keys: [key] })), entry(change('b', 1, 100)), entry(change('b', 2, 400))]);
    expect(nextChangeAfter(history, 150)).toBe(400);
    expect(nextChangeAfter(history, 400)).toBe(700);
    expect(nextChangeAfter(history, 700)).toBeNull();
  });

  it('a tombstone erases its version and every earlier one: an erasure written newest first never brings an older definition back', () => {
    const log = [entry(change('a', 1, 100)), entry(change('a', 2, 200)), entry(change('a', 3, 250)), { key: changeKey('a', 2), change: null }];
    expect(versionsInForce(log, 300)).toEqual({ a: 3 });
    expect(latestVersion(foldEntries(emptyHistory(), log).history, 'a')).toBe(3);
    const newestFirst = [entry(change('a', 1, 100)), entry(change('a', 2, 200)), { key: changeKey('a', 2), change: null }];
    expect(versionsInForce(newestFirst, 300)).toEqual({});
    expect(versionsInForce([...newestFirst, { key: changeKey('a', 1), change: null }], 300)).toEqual({});
  });

  it('refuses a record whose key names another workspace or version, and a key that is not ours', () => {
    const forged = { key: changeKey('a', 5), change: change('b', 5, 100) };
    const folded = foldEntries(emptyHistory(), [entry(change('a', 1, 100)), forged, { key: 'junk', change: change('a', 9, 100) }]);
    expect(folded.refused).toHaveLength(2);
    expect(Object.fromEntries([...inForce(folded.history, 1000)].map(([w, c]) => [w, c.version]))).toEqual({ a: 1 });
  });

  it('gives the same registry however the log is split into batches, at any time', () => {
    const arbitraryLog = fc.array(
      fc.oneof(
        fc.record({ workspace: fc.constantFrom('a', 'b', 'c'), version: fc.integer({ min: 1, max: 6 }), at: fc.integer({ min: 0, max: 1000 }) }).map(({ workspace, version, at }) => entry(change(workspace, version, at))),
        fc.record({ workspace: fc.constantFrom('a', 'b', 'c'), version: fc.integer({ min: 1, max: 6 }) }).map(({ workspace, version }) => ({ key: changeKey(workspace, version), change: null })),
      ),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(arbitraryLog, fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }), fc.integer({ min: 0, max: 1100 }), (log, cuts, now) => {
        let history = emptyHistory();
        let start = 0;
        for (const cut of [...cuts].sort((x, y) => x - y).concat(log.length)) {
          history = foldEntries(history, log.slice(start, Math.max(start, cut))).history;
          start = Math.max(start, cut);
        }
        const whole = inForce(foldEntries(emptyHistory(), log).history, now);
        const split = inForce(history, now);
        expect([...split].map(([w, c]) => [w, c.version, c.effective_at])).toEqual([...whole].map(([w, c]) => [w, c.version, c.effective_at]));
      }),
      { numRuns: 500 },
    );
  });
});
