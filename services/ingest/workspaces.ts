/**
 * The workspace registry: each workspace's credentials and settings, read from a JSON file at
 * start (ANONMERGE_WORKSPACES_FILE). Ingest stamps the settings in force onto every inbound
 * record, which is how the merger learns them: it never reads this file, and a replay of the
 * inbound topic decides with the settings each record was accepted under.
 */
import { readFileSync } from 'node:fs';
import type { WorkspaceSettings } from '../shared/model/inbound';
import { parseBrowserAttributes } from './browserAttributes';
import type { RateLimit } from './rateLimit';
import { weakSecrets } from './secretStrength';
import { keyDigest } from '../shared/workspaces/keyDigest';

export interface Workspace {
  readonly id: string;
  readonly name: string;
  /** Track API v1 Basic auth user. */
  readonly siteId: string;
  /**
   * The live keys of each kind, as SHA-256 digests only (shared/workspaces/keyDigest.ts); several
   * at once while a key is rotated. API: Track API v1 Basic auth password (with `siteId`).
   * WRITE: Segment-spec Basic auth user (empty password). PUBLISHABLE: the browser snippet's key
   * (public: it is in every page), good only for anonymous events, identifies and a known
   * person's events (/js/v1/...), and only from `allowedOrigins`.
   */
  readonly keys: { readonly api: readonly Buffer[]; readonly write: readonly Buffer[]; readonly publishable: readonly Buffer[] };
  /** Refused with 403 (its keys still recognised, so the answer can say why); its data untouched. */
  readonly disabled: boolean;
  /** Origins (scheme://host[:port]) whose pages may use the publishable key. */
  readonly allowedOrigins: readonly string[];
  /**
   * The server-side secret of identity verification (`identity_verification_secret`): with it, a
   * browser identify or person event must carry `user_hash`, an HMAC-SHA256 of the identifier
   * made with it (userHash.ts); without it, the publishable key sends anonymous events only.
   */
  readonly identityVerificationSecret: string | null;
  /** Attributes a browser identify may set (`browser_attributes`); none by default. */
  readonly browserAttributes: readonly string[];
  readonly settings: WorkspaceSettings;
  /** Records and bytes per second this workspace may send (per ingest process), and their bursts. */
  readonly rateLimit: RateLimit;
}

export class WorkspaceFileError extends Error {
  override name = 'WorkspaceFileError';
}

export const DEFAULT_SETTINGS = { merge_enabled: true, retention_days: 30, grace_seconds: 300, trigger_window_hours: 72 } as const;
/**
 * Above what one ingest process sustains here, so that it only stops a runaway sender. Bytes
 * (request bodies once decompressed) too, about 1 KB a record: failed requests are charged as
 * well, and a body of bad items costs its bytes whatever its record count.
 */
export const DEFAULT_RATE_LIMIT = { records_per_second: 10_000, bytes_per_second: 10 * 1024 * 1024 } as const;

export const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function field(object: Record<string, unknown>, key: string, where: string, problems: string[]): unknown {
  if (!(key in object)) problems.push(`${where}.${key} is missing`);
  return object[key];
}

function text(value: unknown, where: string, problems: string[]): string {
  if (typeof value !== 'string' || value.length === 0) {
    problems.push(`${where} must be a non-empty string`);
    return '';
  }
  return value;
}

function positiveInteger(value: unknown, fallback: number, where: string, problems: string[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    problems.push(`${where} must be a non-negative integer`);
    return fallback;
  }
  return value;
}

export function parseSettings(raw: unknown, where: string, problems: string[]): WorkspaceSettings {
  const settings = (raw ?? {}) as Record<string, unknown>;
  if (typeof settings !== 'object' || Array.isArray(settings)) problems.push(`${where} must be an object`);
  const merge = settings.merge_enabled ?? DEFAULT_SETTINGS.merge_enabled;
  if (typeof merge !== 'boolean') problems.push(`${where}.merge_enabled must be true or false`);
  return {
    merge_enabled: merge === true,
    retention_seconds: positiveInteger(settings.retention_days, DEFAULT_SETTINGS.retention_days, `${where}.retention_days`, problems) * 86400,
    grace_seconds: positiveInteger(settings.grace_seconds, DEFAULT_SETTINGS.grace_seconds, `${where}.grace_seconds`, problems),
    trigger_window_seconds: positiveInteger(settings.trigger_window_hours, DEFAULT_SETTINGS.trigger_window_hours, `${where}.trigger_window_hours`, problems) * 3600,
  };
}

export function parseRateLimit(raw: unknown, where: string, problems: string[]): Workspace['rateLimit'] {
  const limit = (raw ?? {}) as Record<string, unknown>;
  const recordsPerSecond = positiveInteger(limit.records_per_second, DEFAULT_RATE_LIMIT.records_per_second, `${where}.records_per_second`, problems);
  // Two seconds' worth by default: room for a client's batch, not for a flood.
  const burst = positiveInteger(limit.burst, 2 * recordsPerSecond, `${where}.burst`, problems);
  const bytesPerSecond = positiveInteger(limit.bytes_per_second, DEFAULT_RATE_LIMIT.bytes_per_second, `${where}.bytes_per_second`, problems);
  const bytesBurst = positiveInteger(limit.bytes_burst, 2 * bytesPerSecond, `${where}.bytes_burst`, problems);
  return { recordsPerSecond, burst: Math.max(1, burst), bytesPerSecond, bytesBurst: Math.max(1, bytesBurst) };
}

export function parseOrigins(raw: unknown, where: string, problems: string[]): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${where} must be a list of origins`);
    return [];
  }
  return raw.flatMap((value, i) => {
    let origin = '';
    try {
      origin = new URL(String(value)).origin;
    } catch {
      // reported below
    }
    if (typeof value !== 'string' || origin !== value) {
      problems.push(`${where}[${i}] must be an origin such as https://www.example.com (scheme, host, port; no path or trailing slash)`);
      return [];
    }
    return [value];
  });
}

/** Validates a parsed workspaces file; throws one error listing every problem. */
export function parseWorkspaces(document: unknown, source: string): Workspace[] {
  const problems: string[] = [];
  const list = (document as { workspaces?: unknown })?.workspaces;
  if (!Array.isArray(list)) throw new WorkspaceFileError(`${source}: expected {"workspaces": [...]}`);
  const writeKeys: Array<string | null> = [];
  const workspaces = list.map((entry: unknown, index): Workspace => {
    const where = `workspaces[${index}]`;
    const object = (entry ?? {}) as Record<string, unknown>;
    const id = text(field(object, 'id', where, problems), `${where}.id`, problems);
    if (id && !WORKSPACE_ID.test(id)) problems.push(`${where}.id must match ${WORKSPACE_ID}`);
    const writeKey = object.write_key === undefined ? null : text(object.write_key, `${where}.write_key`, problems);
    const publishableKey = object.publishable_key === undefined ? null : text(object.publishable_key, `${where}.publishable_key`, problems);
    const identitySecret = object.identity_verification_secret === undefined ? null : text(object.identity_verification_secret, `${where}.identity_verification_secret`, problems);
    const apiKey = text(field(object, 'api_key', where, problems), `${where}.api_key`, problems);
    writeKeys.push(writeKey);
    return {
      id,
      name: typeof object.name === 'string' ? object.name : id,
      siteId: text(field(object, 'site_id', where, problems), `${where}.site_id`, problems),
      keys: { api: [keyDigest(apiKey)], write: writeKey === null ? [] : [keyDigest(writeKey)], publishable: publishableKey === null ? [] : [keyDigest(publishableKey)] },
      disabled: false,
      allowedOrigins: parseOrigins(object.allowed_origins, `${where}.allowed_origins`, problems),
      identityVerificationSecret: identitySecret,
      browserAttributes: parseBrowserAttributes(object.browser_attributes, `${where}.browser_attributes`, problems),
      settings: parseSettings(object.settings, `${where}.settings`, problems),
      rateLimit: parseRateLimit(object.rate_limit, `${where}.rate_limit`, problems),
    };
  });
  const seen = (values: (string | null)[], what: string) => {
    const found = new Set<string>();
    for (const value of values) {
      if (value === null || value === '') continue;
      if (found.has(value)) problems.push(`${what} "${what === 'id' || what === 'site_id' ? value : '…'}" is used by two workspaces`);
      found.add(value);
    }
  };
  seen(workspaces.map((w) => w.id), 'id');
  seen(workspaces.map((w) => w.siteId), 'site_id');
  seen(writeKeys, 'write_key');
  if (problems.length > 0) throw new WorkspaceFileError(`${source}: ${problems.join('; ')}`);
  return workspaces;
}

/**
 * The workspaces in force, looked up by site id or write key. Replaced whole when the workspaces
 * log says something changed (shared/workspaces/follower.ts): a request sees one set or the other,
 * never a mix.
 */
export class WorkspaceRegistry {
  private byIdentity = new Map<string, Workspace>();
  private bySite = new Map<string, Workspace>();
  private byWrite = new Map<string, Workspace>();
  private current: readonly Workspace[] = [];

  constructor(workspaces: readonly Workspace[]) {
    this.replace(workspaces);
  }

  get workspaces(): readonly Workspace[] {
    return this.current;
  }

  /**
   * Puts these workspaces in force. Two that claim one site id or one write key cannot both be
   * served: the first keeps it, the later one is left out, and each such conflict is returned
   * (the file parser refuses them; the log has no such check at write time yet).
   */
  replace(workspaces: readonly Workspace[]): string[] {
    const bySite = new Map<string, Workspace>();
    const byWrite = new Map<string, Workspace>();
    const kept: Workspace[] = [];
    const conflicts: string[] = [];
    for (const workspace of workspaces) {
      const siteOwner = bySite.get(workspace.siteId);
      const writeOwner = workspace.keys.write.map((digest) => byWrite.get(digest.toString('hex'))).find((owner) => owner !== undefined);
      const owner = siteOwner ?? writeOwner;
      if (owner) {
        conflicts.push(`workspace ${workspace.id} is left out: its ${siteOwner ? 'site_id' : 'write key'} is workspace ${owner.id}'s`);
        continue;
      }
      bySite.set(workspace.siteId, workspace);
      for (const digest of workspace.keys.write) byWrite.set(digest.toString('hex'), workspace);
      kept.push(workspace);
    }
    this.byIdentity = new Map(kept.map((workspace) => [workspace.id, workspace]));
    this.bySite = bySite;
    this.byWrite = byWrite;
    this.current = kept;
    return conflicts;
  }

  static fromFile(file: string): WorkspaceRegistry {
    let document: unknown;
    try {
      document = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new WorkspaceFileError(`${file}: ${(error as Error).message}`);
    }
    const workspaces = parseWorkspaces(document, file);
    const weak = weakSecrets(document);
    if (weak.length > 0) throw new WorkspaceFileError(`${file}: ${weak.join('; ')}`);
    return new WorkspaceRegistry(workspaces);
  }

  /** The workspace with this id (the request bridge: the record names its workspace). */
  byId(id: string): Workspace | undefined {
    return this.byIdentity.get(id);
  }

  bySiteId(siteId: string): Workspace | undefined {
    return this.bySite.get(siteId);
  }

  /** The workspace one of whose write keys has this digest (the caller compares the key itself in constant time). */
  byWriteKey(writeKey: string): Workspace | undefined {
    return this.byWrite.get(keyDigest(writeKey).toString('hex'));
  }
}
