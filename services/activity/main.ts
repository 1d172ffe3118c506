/**
 * The activity log as a process: the page at /activity (port 3002 by default), fed by the
 * merger's outbound topics.
 */
import { installShutdown } from '../shared/lifecycle/shutdown';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { exitIfRefused, workspacesOrExit } from '../ingest/workspacesAtStart';
import { startActivity, type RunningActivity } from './service';

async function main(): Promise<void> {
  const config = configOrExit('activity', ['kafka', 'topics', 'registry', 'redis', 'merger', 'ingest', 'activity', 'log']);
  const logger = createLogger('activity', config.log.level);
  const workspaces = config.ingest.workspacesSource === 'log' ? 'log' : workspacesOrExit('activity', config.ingest.workspacesFile);
  let running: RunningActivity | undefined;
  installShutdown(logger, () => running?.closeSteps ?? []);
  try {
    running = await startActivity(config, logger, workspaces);
  } catch (error) {
    exitIfRefused('activity', error);
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`activity failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
