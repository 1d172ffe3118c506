/**
 * From the legacy merger's Redis state to the two-plane merger's (docs/deployment.md, "Moving a
 * deployment to the two planes"). Pure: the caller scans and writes.
 *
 * Most of the layout is shared: pending lists, seen ids, person entities, the timer index and
 * versions are read by the data plane as the legacy merger left them. What differs:
 *   - a bound anonymous id's binding and open window live in the data plane's ordered state (the
 *     "o" field of the entity's hash) instead of the legacy fields;
 *   - the control plane keeps, per workspace, every anonymous id's person and each person's ids.
 * Merges decided by the legacy merger (R9) moved ids and bindings, which carry over; the legacy
 * merger did not keep who was merged into whom, so a secondary named later starts as itself.
 */
import { personFromKey, personKey, type PersonRef } from '../../shared/model/person';
import { emptyControlState, type ControlState } from '../ordered/controlPlane';
import type { DataWindow } from '../ordered/dataPlane';

/** A legacy anonymous entity's state hash key, read back: `<prefix>:{<workspace>|a|<anonymous id>}:s`. */
export function parseAnonymousStateKey(prefix: string, key: string): { workspace: string; anonymousId: string } | null {
  const head = `${prefix}:{`;
  if (!key.startsWith(head) || !key.endsWith('}:s')) return null;
  const tag = key.slice(head.length, -'}:s'.length);
  // Workspace ids cannot hold '|': the first "|a|" ends the workspace.
  const marker = tag.indexOf('|a|');
  if (marker <= 0) return null;
  return { workspace: tag.slice(0, marker), anonymousId: tag.slice(marker + '|a|'.length) };
}

export interface MigratedAnonymous {
  /** The data plane's ordered state, as stored ("o"). */
  readonly ordered: { readonly p: PersonRef; readonly w: DataWindow | null; readonly a: null };
  readonly person: PersonRef;
}

/**
 * A bound legacy anonymous entity's data-plane state, or null for one bound to nobody (its
 * pending list and seen ids are read as they are). The window stays open only if the legacy
 * grace timer has not fired; it is named by the identify's received_at, the legacy state not
 * keeping the identify's id (its report's activity id differs from one the two planes open).
 */
export function migrateAnonymous(hash: Readonly<Record<string, string>>): MigratedAnonymous | null {
  const stored = hash.p;
  if (!stored) return null;
  const person = personFromKey(stored);
  const open = hash.wo === '1';
  const window: DataWindow | null = open
    ? { openedBy: `migrated-${hash.b ?? '0'}`, end: Number(hash.w), count: Number(hash.wc ?? 0), oldest: hash.wt === undefined ? null : Number(hash.wt) }
    : null;
  return { ordered: { p: person, w: window, a: null }, person };
}

/** The control plane's state of each workspace, from its bound anonymous ids. */
export function controlStatesOf(bindings: Iterable<{ readonly workspace: string; readonly anonymousId: string; readonly person: PersonRef }>): Map<string, ControlState> {
  const states = new Map<string, ControlState>();
  for (const { workspace, anonymousId, person } of bindings) {
    let state = states.get(workspace);
    if (!state) states.set(workspace, (state = emptyControlState()));
    state.bindings.set(anonymousId, person);
    const key = personKey(person);
    let ids = state.idsOf.get(key);
    if (!ids) state.idsOf.set(key, (ids = new Set()));
    ids.add(anonymousId);
  }
  return states;
}
