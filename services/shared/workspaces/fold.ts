/**
 * The workspaces log folded into what is in force (docs/design-workspaces.md): a pure function of
 * the records read, so that every follower — each ingest replica, the activity service — and a
 * replay from the start agree on each workspace's definition at any time.
 *
 * A workspace's definition in force at `now` is its highest version whose `effective_at` is at or
 * before `now`. A version scheduled ahead is superseded by any later version in force: each record
 * carries the whole definition as it was asked for, not a diff.
 */
import type { WorkspaceChange } from '../generated/workspaceTypes';

/** A record of the topic: its key, and its value (null: a tombstone, which erases that key). */
export interface WorkspaceLogEntry {
  readonly key: string;
  readonly change: WorkspaceChange | null;
}

/** Per workspace, its versions by number. */
export type WorkspaceHistory = ReadonlyMap<string, ReadonlyMap<number, WorkspaceChange>>;

const VERSION_DIGITS = 12;

/** The key a change is written under: sorts by workspace, then by version. */
export function changeKey(workspaceId: string, version: number): string {
  return `${workspaceId}/${String(version).padStart(VERSION_DIGITS, '0')}`;
}

/**
 * A key's workspace and version, or null for a key that is not one of ours (refused, and logged by
 * the follower). Only the canonical form counts: `a/5` and `a/000000000005` are different Kafka
 * keys, which compaction would treat apart while the fold took them for one version.
 */
export function parseChangeKey(key: string): { readonly workspaceId: string; readonly version: number } | null {
  const slash = key.lastIndexOf('/');
  if (slash <= 0) return null;
  const digits = key.slice(slash + 1);
  if (!/^[0-9]{12}$/.test(digits)) return null;
  const parsed = { workspaceId: key.slice(0, slash), version: Number(digits) };
  return parsed.version >= 1 && changeKey(parsed.workspaceId, parsed.version) === key ? parsed : null;
}

export const emptyHistory = (): WorkspaceHistory => new Map();

/**
 * The history after some more records, in log order. A tombstone (null value) under a version's
 * key erases that version and every earlier one of the workspace. A value whose key disagrees with its own
 * workspace and version is refused (returned in `refused`): the key decides what compaction
 * keeps, so a mismatch would let a record be erased under another's name.
 */
export function foldEntries(history: WorkspaceHistory, entries: readonly WorkspaceLogEntry[]): { readonly history: WorkspaceHistory; readonly refused: readonly string[] } {
  const next = new Map<string, Map<number, WorkspaceChange>>();
  for (const [workspace, versions] of history) next.set(workspace, new Map(versions));
  const refused: string[] = [];
  for (const entry of entries) {
    const parsed = parseChangeKey(entry.key);
    if (!parsed) {
      refused.push(`key ${JSON.stringify(entry.key)} is not <workspace>/<version>`);
      continue;
    }
    const versions = next.get(parsed.workspaceId) ?? new Map<number, WorkspaceChange>();
    if (entry.change === null) {
      // Erasing version k erases every version up to k: an erasure written newest first, or
      // read across batches, never brings an older definition (a revoked key) back into force.
      for (const version of [...versions.keys()]) if (version <= parsed.version) versions.delete(version);
      if (versions.size === 0) next.delete(parsed.workspaceId);
      continue;
    }
    if (entry.change.workspace_id !== parsed.workspaceId || entry.change.version !== parsed.version) {
      refused.push(`key ${JSON.stringify(entry.key)} holds workspace ${JSON.stringify(entry.change.workspace_id)} version ${entry.change.version}`);
      continue;
    }
    versions.set(parsed.version, entry.change);
    next.set(parsed.workspaceId, versions);
  }
  return { history: next, refused };
}

/** Each workspace's change in force at `now` (workspaces with none yet in force are absent). */
export function inForce(history: WorkspaceHistory, now: number): Map<string, WorkspaceChange> {
  const result = new Map<string, WorkspaceChange>();
  for (const [workspace, versions] of history) {
    let best: WorkspaceChange | null = null;
    for (const change of versions.values()) {
      if (change.effective_at <= now && (best === null || change.version > best.version)) best = change;
    }
    if (best) result.set(workspace, best);
  }
  return result;
}

/**
 * The next time after `now` at which what is in force changes by itself: a version scheduled
 * ahead that would then be the highest in force, or a key's revocation. Null when nothing is due.
 */
export function nextChangeAfter(history: WorkspaceHistory, now: number): number | null {
  let next = Number.POSITIVE_INFINITY;
  const current = inForce(history, now);
  for (const [workspace, versions] of history) {
    const version = current.get(workspace)?.version ?? 0;
    for (const change of versions.values()) {
      if (change.effective_at > now && change.version > version) next = Math.min(next, change.effective_at);
    }
    for (const key of current.get(workspace)?.definition.keys ?? []) {
      if (key.revoked_at !== null && key.revoked_at > now) next = Math.min(next, key.revoked_at);
    }
  }
  return Number.isFinite(next) ? next : null;
}

/** The highest version of a workspace written so far (in force or not): a new change is that plus one. */
export function latestVersion(history: WorkspaceHistory, workspaceId: string): number {
  let latest = 0;
  for (const version of history.get(workspaceId)?.keys() ?? []) latest = Math.max(latest, version);
  return latest;
}
