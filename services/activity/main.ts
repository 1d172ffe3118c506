/**
 * The activity log as a process: the page at /activity (port 3002 by default), fed by the
 * merger's outbound topics.
 */
import { installShutdown } from '../shared/lifecycle/shutdown';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { WorkspaceFileError, WorkspaceRegistry } from '../ingest/workspaces';
import { startActivity, type RunningActivity } from './service';

async function main(): Promise<void> {
  const config = configOrExit('activity', ['kafka', 'topics', 'registry', 'redis', 'merger', 'ingest', 'activity', 'log']);
  const logger = createLogger('activity', config.log.level);
  let workspaces: WorkspaceRegistry;
  try {
    workspaces = WorkspaceRegistry.fromFile(config.ingest.workspacesFile);
  } catch (error) {
    if (!(error instanceof WorkspaceFileError)) throw error;
    process.stderr.write(`activity: invalid workspaces file (ANONMERGE_WORKSPACES_FILE): ${error.message}\n`);
    process.exit(78);
  }
  let running: RunningActivity | undefined;
  installShutdown(logger, () => running?.closeSteps ?? []);
  running = await startActivity(config, logger, workspaces);
}

main().catch((error: unknown) => {
  process.stderr.write(`activity failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
