/**
 * The ingest service as a process: Customer.io Track API v1 and the Segment spec in, Avro
 * records on the inbound topic out.
 */
import { installShutdown } from '../shared/lifecycle/shutdown';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { startIngest, type RunningIngest } from './service';
import { exitIfRefused, workspacesOrExit } from './workspacesAtStart';

async function main(): Promise<void> {
  const config = configOrExit('ingest', ['kafka', 'topics', 'registry', 'log', 'ingest']);
  const logger = createLogger('ingest', config.log.level);
  const workspaces = config.ingest.workspacesSource === 'log' ? 'log' : workspacesOrExit('ingest', config.ingest.workspacesFile);
  let running: RunningIngest | undefined;
  installShutdown(logger, () => running?.closeSteps ?? [], config.ingest.shutdownGraceMs);
  try {
    running = await startIngest(config, logger, workspaces);
  } catch (error) {
    exitIfRefused('ingest', error);
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ingest failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
