/**
 * The activity page's settings panel: an operator reads a workspace's settings, switches merging
 * on or off (R3) and rotates its keys from the page. The activity service holds no power of its
 * own over workspaces: each call is passed to the admin API (ANONMERGE_ADMIN_URL) with the
 * operator's own token, which the page sends in a header of its own and keeps in memory only.
 * So the admin API authenticates the operator, decides the change, and records who made it, as
 * for the CLI; the page adds only that the caller must also be logged in to this workspace.
 *
 * Four calls, nothing else of the admin API: read one workspace, set merge_enabled (with the
 * version read, as If-Match), create a key, revoke a key. Cross-site requests cannot make them: a
 * form cannot set the token header, and a script of another origin would need a CORS preflight
 * that is never granted.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../shared/logger';

/** The header the page sends the operator's token in (never a cookie: it must not ride along by itself). */
export const OPERATOR_TOKEN_HEADER = 'x-anonmerge-operator-token';
/** Longer tokens are refused before anything is sent on. */
const MAX_TOKEN_LENGTH = 512;
/** The panel's bodies are a boolean and a version, or a key kind. */
export const SETTINGS_BODY_LIMIT = 1024;
/** The admin API answers a change once it has read it back from the log: seconds at most. */
const ADMIN_TIMEOUT_MS = 10_000;
/** An answer of the admin API larger than this is not passed on (a workspace is a few KiB). */
const MAX_ADMIN_ANSWER_BYTES = 256 * 1024;
const KEY_ID = /^[a-z]{1,16}-[0-9]{1,9}$/;

export interface SettingsRouteDependencies {
  /** ANONMERGE_ADMIN_URL. */
  readonly adminApiUrl: string;
  readonly logger: Logger;
  /** The workspace asked for, if the page's credentials open it; otherwise the reply is sent. */
  readonly workspaceOf: (request: FastifyRequest, reply: FastifyReply) => string | null;
  /** Counts a refused operator token against the caller's address, as a failed login. */
  readonly tokenRefused: (request: FastifyRequest) => void;
  readonly timeoutMs?: number;
}

interface AdminCall {
  readonly method: 'GET' | 'PATCH' | 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: unknown;
  readonly ifMatch?: number;
}

/** A call the panel asked for, checked: the admin API's call, or the problem to answer 400 with. */
type Asked = { ok: true; call: (workspace: string) => AdminCall } | { ok: false; problem: string };

const workspacePath = (workspace: string) => `/v1/workspaces/${encodeURIComponent(workspace)}`;

export function askedMerge(body: unknown): Asked {
  const { merge_enabled: mergeEnabled, version } = (body ?? {}) as { merge_enabled?: unknown; version?: unknown };
  if (typeof mergeEnabled !== 'boolean') return { ok: false, problem: 'merge_enabled: true or false' };
  if (!Number.isSafeInteger(version) || (version as number) < 1) return { ok: false, problem: 'version: the version of the workspace the panel shows (a positive integer)' };
  return { ok: true, call: (workspace) => ({ method: 'PATCH', path: workspacePath(workspace), body: { settings: { merge_enabled: mergeEnabled } }, ifMatch: version as number }) };
}

export function askedNewKey(body: unknown): Asked {
  const { kind } = (body ?? {}) as { kind?: unknown };
  if (typeof kind !== 'string' || kind.length > 16) return { ok: false, problem: 'kind: API, WRITE or PUBLISHABLE' };
  return { ok: true, call: (workspace) => ({ method: 'POST', path: `${workspacePath(workspace)}/keys`, body: { kind } }) };
}

export function askedRevoke(keyId: string): Asked {
  if (!KEY_ID.test(keyId)) return { ok: false, problem: 'key id: such as api-2, as the panel lists them' };
  return { ok: true, call: (workspace) => ({ method: 'DELETE', path: `${workspacePath(workspace)}/keys/${keyId}` }) };
}

const readSettings: Asked = { ok: true, call: (workspace) => ({ method: 'GET', path: workspacePath(workspace) }) };

export function registerSettingsRoutes(app: FastifyInstance, deps: SettingsRouteDependencies): void {
  const timeoutMs = deps.timeoutMs ?? ADMIN_TIMEOUT_MS;

  const forward = async (request: FastifyRequest, reply: FastifyReply, asked: Asked) => {
    // The page's own login first: a caller who cannot open this workspace learns nothing more.
    const workspace = deps.workspaceOf(request, reply);
    if (workspace === null) return reply;
    const token = request.headers[OPERATOR_TOKEN_HEADER];
    if (typeof token !== 'string' || token.trim() === '') return reply.status(401).send({ error: `an operator token is needed to read or change settings (header ${OPERATOR_TOKEN_HEADER})` });
    if (token.length > MAX_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
      deps.tokenRefused(request);
      return reply.status(401).send({ error: 'the operator token is not one the admin API could have issued' });
    }
    if (!asked.ok) return reply.status(400).send({ error: asked.problem });
    const call = asked.call(workspace);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${deps.adminApiUrl}${call.path}`, {
        method: call.method,
        headers: {
          authorization: `Bearer ${token}`,
          // Whose failed token the admin API brakes: the caller, not this service (an admin API
          // that trusts this host as a proxy, ANONMERGE_ADMIN_TRUSTED_PROXIES, reads it).
          'x-forwarded-for': request.ip,
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(call.ifMatch === undefined ? {} : { 'if-match': `"${call.ifMatch}"` }),
        },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(timeoutMs),
        // The operator's token goes to the configured address only, never where a redirect points.
        redirect: 'error',
      });
      const announced = Number(response.headers.get('content-length') ?? 0);
      if (announced > MAX_ADMIN_ANSWER_BYTES) {
        await response.body?.cancel();
        deps.logger.warn({ workspace, bytes: announced }, 'settings panel: the admin API answer is too large to pass on');
        return reply.status(502).send({ error: 'the admin API answer was too large' });
      }
      text = await response.text();
    } catch (error) {
      deps.logger.warn({ err: error, workspace, method: call.method, path: call.path }, 'settings panel: the admin API did not answer');
      return reply.status(503).send({ error: 'the admin API did not answer; nothing was changed unless the settings show it when read again' });
    }
    if (response.status === 401) {
      deps.tokenRefused(request);
      return reply.status(401).send({ error: 'the admin API refused this operator token' });
    }
    if (Buffer.byteLength(text) > MAX_ADMIN_ANSWER_BYTES) {
      deps.logger.warn({ workspace, bytes: Buffer.byteLength(text) }, 'settings panel: the admin API answer is too large to pass on');
      return reply.status(502).send({ error: 'the admin API answer was too large' });
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      deps.logger.warn({ workspace, status: response.status }, 'settings panel: the admin API answered something other than JSON');
      return reply.status(502).send({ error: 'the admin API answered something other than JSON' });
    }
    if (!response.ok) {
      const problems = (answer as { errors?: unknown }).errors;
      const error = Array.isArray(problems) && problems.every((p) => typeof p === 'string') ? problems.join('; ') : `the admin API answered ${response.status}`;
      const retryAfter = response.headers.get('retry-after');
      if (retryAfter !== null) void reply.header('retry-after', retryAfter);
      // 5xx of the admin API is ours to report as a bad gateway; its 4xx are the caller's.
      return reply.status(response.status >= 500 ? 502 : response.status).send({ error });
    }
    return reply.status(response.status).send(answer);
  };

  const withBodyLimit = { bodyLimit: SETTINGS_BODY_LIMIT };
  app.get('/activity/api/settings', async (request, reply) => forward(request, reply, readSettings));
  app.post('/activity/api/settings/merge', withBodyLimit, async (request, reply) => forward(request, reply, askedMerge(request.body)));
  app.post('/activity/api/settings/keys', withBodyLimit, async (request, reply) => forward(request, reply, askedNewKey(request.body)));
  app.delete('/activity/api/settings/keys/:keyId', withBodyLimit, async (request, reply) => forward(request, reply, askedRevoke((request.params as { keyId: string }).keyId)));
}
