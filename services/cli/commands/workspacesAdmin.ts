/**
 * `anonmerge workspaces …` other than `seed`: a client of the admin API (services/admin/app.ts),
 * so that the CLI and any other tool change workspaces the same way, through the one writer and
 * with the operator's own token. Each command is one or two calls; an update reads the workspace
 * first and sends its version as If-Match, so a change made meanwhile is refused, not overwritten.
 */
const CALL_TIMEOUT_MS = 10_000;

export interface AdminClient {
  readonly url: string;
  readonly token: string;
}

export interface CallResult {
  readonly status: number;
  readonly etag: string | null;
  readonly body: unknown;
}

async function call(client: AdminClient, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<CallResult> {
  const response = await fetch(new URL(path, client.url), {
    method,
    headers: { authorization: `Bearer ${client.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: shown as it came
  }
  return { status: response.status, etag: response.headers.get('etag'), body: parsed };
}

const id = (value: string) => encodeURIComponent(value);

/** A PATCH after a read, with the version read as If-Match. */
async function update(client: AdminClient, workspace: string, changes: unknown, ifMatch?: string): Promise<CallResult> {
  let version = ifMatch;
  if (version === undefined) {
    const read = await call(client, 'GET', `/v1/workspaces/${id(workspace)}`);
    if (read.status !== 200) return read;
    version = read.etag ?? '';
  }
  return call(client, 'PATCH', `/v1/workspaces/${id(workspace)}`, changes, { 'if-match': version });
}

export type WorkspacesCommand =
  | { readonly verb: 'list' }
  | { readonly verb: 'show' | 'changes' | 'disable' | 'enable'; readonly workspace: string }
  | { readonly verb: 'create'; readonly workspace: string; readonly siteId: string; readonly changes: Record<string, unknown> }
  | { readonly verb: 'update'; readonly workspace: string; readonly changes: unknown; readonly ifMatch?: string }
  | { readonly verb: 'merge'; readonly workspace: string; readonly enabled: boolean }
  | { readonly verb: 'keys create'; readonly workspace: string; readonly kind: string }
  | { readonly verb: 'keys revoke'; readonly workspace: string; readonly keyId: string };

export function runWorkspacesCommand(client: AdminClient, command: WorkspacesCommand): Promise<CallResult> {
  switch (command.verb) {
    case 'list':
      return call(client, 'GET', '/v1/workspaces');
    case 'show':
      return call(client, 'GET', `/v1/workspaces/${id(command.workspace)}`);
    case 'changes':
      return call(client, 'GET', `/v1/workspaces/${id(command.workspace)}/changes`);
    case 'disable':
    case 'enable':
      return call(client, 'POST', `/v1/workspaces/${id(command.workspace)}/${command.verb}`);
    case 'create':
      return call(client, 'POST', '/v1/workspaces', { ...command.changes, id: command.workspace, site_id: command.siteId });
    case 'update':
      return update(client, command.workspace, command.changes, command.ifMatch);
    case 'merge':
      // SPEC R3: the switch, for identifies accepted from now on.
      return update(client, command.workspace, { settings: { merge_enabled: command.enabled } });
    case 'keys create':
      return call(client, 'POST', `/v1/workspaces/${id(command.workspace)}/keys`, { kind: command.kind });
    case 'keys revoke':
      return call(client, 'DELETE', `/v1/workspaces/${id(command.workspace)}/keys/${id(command.keyId)}`);
  }
}
