/**
 * How ingest and the activity service begin with their workspaces file: loaded, or the process
 * exits 78 (EX_CONFIG) with one line saying what is wrong — no file (the image carries none: a
 * deployment mounts its own), an invalid one, or the demo keys outside a demo (demoKeys.ts). No
 * stack trace: the person reading it needs the file and the setting, not our call stack.
 */
import { existsSync } from 'node:fs';
import { DemoKeysError } from './demoKeys';
import { WorkspaceFileError, WorkspaceRegistry } from './workspaces';

function exitWith(service: string, message: string): never {
  process.stderr.write(`${service}: ${message}\n`);
  process.exit(78);
}

export function workspacesOrExit(service: string, file: string): WorkspaceRegistry {
  if (!existsSync(file)) {
    exitWith(service, `no workspaces file at ${file} (ANONMERGE_WORKSPACES_FILE); mount yours there (docs/deployment.md), or for a demo use config/workspaces.json with ANONMERGE_DEMO=1`);
  }
  try {
    return WorkspaceRegistry.fromFile(file);
  } catch (error) {
    if (!(error instanceof WorkspaceFileError)) throw error;
    exitWith(service, `invalid workspaces file (ANONMERGE_WORKSPACES_FILE): ${error.message}`);
  }
}

/** For a failed start: exits when the service refused its workspaces; otherwise returns. */
export function exitIfRefused(service: string, error: unknown): void {
  if (error instanceof DemoKeysError) exitWith(service, error.message);
}
