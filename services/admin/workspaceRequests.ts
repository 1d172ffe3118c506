/**
 * What an operator may ask of a workspace, decided as a pure function of the version in force
 * and the request (docs/design-workspaces.md, "The admin API"): the next version's whole
 * definition, or a 4xx naming every problem. The writer (workspacesWriter.ts) puts the result on
 * the log; nothing here does I/O, so every rule is unit-tested.
 *
 * Field names and units are those of the workspaces file (settings.retention_days, grace_seconds,
 * trigger_window_hours; rate_limit.*; allowed_origins; browser_attributes), validated by the same
 * parsers, so the file and the API cannot drift apart.
 */
import { randomBytes } from 'node:crypto';
import type { WorkspaceChange, WorkspaceDefinition, WorkspaceKey, WorkspaceKeyKind } from '../shared/generated/workspaceTypes';
import { keyDigest } from '../shared/workspaces/keyDigest';
import { parseBrowserAttributes } from '../ingest/browserAttributes';
import { parseOrigins, parseRateLimit, parseSettings, WORKSPACE_ID } from '../ingest/workspaces';

export type WorkspaceRequest =
  | { readonly kind: 'create'; readonly workspaceId: string; readonly body: unknown }
  | { readonly kind: 'update'; readonly body: unknown }
  | { readonly kind: 'disable' }
  | { readonly kind: 'enable' }
  | { readonly kind: 'createKey'; readonly keyKind: unknown }
  | { readonly kind: 'revokeKey'; readonly keyId: string; readonly at?: unknown };

export interface RequestContext {
  readonly operator: string;
  readonly now: number;
  /** A new key's secret: 32 random bytes by default; a test passes its own. */
  readonly newSecret?: () => string;
}

export type RequestOutcome =
  | { readonly ok: true; readonly change: WorkspaceChange; /** A created key's secret: shown once, in the answer, never stored. */ readonly secret?: { readonly keyId: string; readonly kind: WorkspaceKeyKind; readonly value: string } }
  | { readonly ok: false; readonly status: 400 | 404 | 409; readonly problems: readonly string[] };

/** Live keys of one kind a workspace may hold at once: enough to rotate, not a store of keys. */
export const MAX_LIVE_KEYS_PER_KIND = 5;
const MAX_NAME_LENGTH = 200;
const MAX_ORIGINS = 50;
const KEY_KINDS: readonly WorkspaceKeyKind[] = ['API', 'WRITE', 'PUBLISHABLE'];
const SETTABLE = ['name', 'settings', 'rate_limit', 'allowed_origins', 'browser_attributes'] as const;
const CREATE_ONLY = ['site_id'] as const;

const refuse = (status: 400 | 404 | 409, ...problems: string[]): RequestOutcome => ({ ok: false, status, problems });
const generatedSecret = () => randomBytes(32).toString('base64url');

/** The file-shaped view of a definition's settings, which a patch is laid over. */
function fileShape(definition: WorkspaceDefinition) {
  return {
    settings: {
      merge_enabled: definition.settings.merge_enabled,
      retention_days: definition.settings.retention_seconds / 86400,
      grace_seconds: definition.settings.grace_seconds,
      trigger_window_hours: definition.settings.trigger_window_seconds / 3600,
    },
    rate_limit: { ...definition.rate_limit },
  };
}

/** A definition with a body's settable fields laid over it; every problem named. */
function patched(base: WorkspaceDefinition, body: unknown, allowed: readonly string[], problems: string[]): WorkspaceDefinition {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    problems.push('the body must be a JSON object');
    return base;
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) if (!allowed.includes(key)) problems.push(`${key}: not a field that can be set here (${allowed.join(', ')})`);
  const current = fileShape(base);
  const mergeObject = (key: 'settings' | 'rate_limit') => {
    const value = fields[key];
    if (value === undefined) return current[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${key} must be an object`);
      return current[key];
    }
    return { ...current[key], ...value };
  };
  const settings = parseSettings(mergeObject('settings'), 'settings', problems);
  const limit = parseRateLimit(mergeObject('rate_limit'), 'rate_limit', problems);
  const origins = fields.allowed_origins === undefined ? base.allowed_origins : parseOrigins(fields.allowed_origins, 'allowed_origins', problems);
  if (origins.length > MAX_ORIGINS) problems.push(`allowed_origins: at most ${MAX_ORIGINS}`);
  const attributes = fields.browser_attributes === undefined ? base.browser_attributes : parseBrowserAttributes(fields.browser_attributes, 'browser_attributes', problems);
  let name = base.name;
  if (fields.name !== undefined) {
    if (typeof fields.name !== 'string' || fields.name.length === 0 || fields.name.length > MAX_NAME_LENGTH) problems.push(`name must be a string of 1 to ${MAX_NAME_LENGTH} characters`);
    else name = fields.name;
  }
  return {
    ...base,
    name,
    settings,
    rate_limit: { records_per_second: limit.recordsPerSecond, burst: limit.burst, bytes_per_second: limit.bytesPerSecond, bytes_burst: limit.bytesBurst },
    allowed_origins: origins,
    browser_attributes: attributes,
  };
}

function newKey(kind: WorkspaceKeyKind, existing: readonly WorkspaceKey[], ctx: RequestContext): { key: WorkspaceKey; secret: string } {
  const secret = (ctx.newSecret ?? generatedSecret)();
  const used = new Set(existing.map((key) => key.key_id));
  let n = existing.filter((key) => key.kind === kind).length + 1;
  while (used.has(`${kind.toLowerCase()}-${n}`)) n += 1;
  return { key: { key_id: `${kind.toLowerCase()}-${n}`, kind, sha256: keyDigest(secret), created_at: ctx.now, created_by: ctx.operator, revoked_at: null }, secret };
}

const EMPTY: WorkspaceDefinition = {
  name: '',
  site_id: '',
  disabled: false,
  keys: [],
  allowed_origins: [],
  identity_secret: null,
  browser_attributes: [],
  settings: { merge_enabled: true, retention_seconds: 0, grace_seconds: 0, trigger_window_seconds: 0 },
  rate_limit: { records_per_second: 0, burst: 0, bytes_per_second: 0, bytes_burst: 0 },
};

/** The change a request makes to `current` (the workspace's latest version, or null: none yet). */
export function decideRequest(current: WorkspaceChange | null, request: WorkspaceRequest, ctx: RequestContext): RequestOutcome {
  const problems: string[] = [];
  const next = (definition: WorkspaceDefinition, workspaceId: string, what: unknown, secret?: { keyId: string; kind: WorkspaceKeyKind; value: string }): RequestOutcome => ({
    ok: true,
    change: { workspace_id: workspaceId, version: (current?.version ?? 0) + 1, effective_at: ctx.now, changed_at: ctx.now, changed_by: ctx.operator, change: JSON.stringify(what), definition },
    ...(secret ? { secret } : {}),
  });

  if (request.kind === 'create') {
    if (current) return refuse(409, `workspace ${request.workspaceId} exists (version ${current.version})`);
    if (!WORKSPACE_ID.test(request.workspaceId)) return refuse(400, `workspace id must match ${WORKSPACE_ID}`);
    const siteId = (request.body as { site_id?: unknown } | null)?.site_id;
    if (typeof siteId !== 'string' || !WORKSPACE_ID.test(siteId)) problems.push(`site_id must match ${WORKSPACE_ID}`);
    // What the file gives a workspace that names nothing: the same defaults.
    const limit = parseRateLimit({}, 'rate_limit', []);
    const defaults: WorkspaceDefinition = {
      ...EMPTY,
      settings: parseSettings({}, 'settings', []),
      rate_limit: { records_per_second: limit.recordsPerSecond, burst: limit.burst, bytes_per_second: limit.bytesPerSecond, bytes_burst: limit.bytesBurst },
    };
    const definition = patched({ ...defaults, name: request.workspaceId, site_id: String(siteId) }, request.body, [...SETTABLE, ...CREATE_ONLY], problems);
    if (problems.length > 0) return refuse(400, ...problems);
    const { key, secret } = newKey('API', [], ctx);
    // The body is recorded as asked: none of its fields is a secret.
    return next({ ...definition, keys: [key] }, request.workspaceId, { create: request.body }, { keyId: key.key_id, kind: 'API', value: secret });
  }

  if (!current) return refuse(404, 'no such workspace');
  const base = current.definition;
  switch (request.kind) {
    case 'update': {
      const definition = patched(base, request.body, SETTABLE, problems);
      if (problems.length > 0) return refuse(400, ...problems);
      return next(definition, current.workspace_id, { update: request.body });
    }
    case 'disable':
    case 'enable': {
      const disabled = request.kind === 'disable';
      if (base.disabled === disabled) return refuse(409, `workspace ${current.workspace_id} is ${disabled ? 'disabled' : 'enabled'} already`);
      return next({ ...base, disabled }, current.workspace_id, { [request.kind]: true });
    }
    case 'createKey': {
      const kind = KEY_KINDS.find((k) => k === request.keyKind);
      if (!kind) return refuse(400, `kind must be one of ${KEY_KINDS.join(', ')}`);
      const live = base.keys.filter((key) => key.kind === kind && (key.revoked_at === null || key.revoked_at > ctx.now));
      if (live.length >= MAX_LIVE_KEYS_PER_KIND) return refuse(409, `workspace ${current.workspace_id} has ${live.length} live ${kind} keys, the most it may hold: revoke one first`);
      const { key, secret } = newKey(kind, base.keys, ctx);
      return next({ ...base, keys: [...base.keys, key] }, current.workspace_id, { createKey: { key_id: key.key_id, kind } }, { keyId: key.key_id, kind, value: secret });
    }
    case 'revokeKey': {
      const key = base.keys.find((k) => k.key_id === request.keyId);
      if (!key) return refuse(404, `no key ${request.keyId}`);
      if (key.revoked_at !== null && key.revoked_at <= ctx.now) return refuse(409, `key ${request.keyId} is revoked already`);
      const at = request.at === undefined ? ctx.now : request.at;
      if (typeof at !== 'number' || !Number.isInteger(at) || at < ctx.now) return refuse(400, 'at must be a time in epoch milliseconds, now or later');
      // The last live API key cannot go: the workspace could no longer be reached, even to read its activity.
      const otherLiveApi = base.keys.some((k) => k.kind === 'API' && k.key_id !== key.key_id && (k.revoked_at === null || k.revoked_at > at));
      if (key.kind === 'API' && !otherLiveApi) return refuse(409, 'the last live API key cannot be revoked: create its successor first');
      return next({ ...base, keys: base.keys.map((k) => (k.key_id === key.key_id ? { ...k, revoked_at: at } : k)) }, current.workspace_id, { revokeKey: { key_id: key.key_id, at } });
    }
  }
}
