/**
 * The ingest service as a process: Customer.io Track API v1 and the Segment spec in, Avro
 * records on the inbound topic out.
 */
import { installShutdown } from '../shared/lifecycle/shutdown';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { startIngest, type RunningIngest } from './service';
import { WorkspaceFileError, WorkspaceRegistry } from './workspaces';

async function main(): Promise<void> {
  const config = configOrExit('ingest', ['kafka', 'topics', 'registry', 'log', 'ingest']);
  const logger = createLogger('ingest', config.log.level);
  let workspaces: WorkspaceRegistry;
  try {
    workspaces = WorkspaceRegistry.fromFile(config.ingest.workspacesFile);
  } catch (error) {
    if (!(error instanceof WorkspaceFileError)) throw error;
    process.stderr.write(`ingest: invalid workspaces file (ANONMERGE_WORKSPACES_FILE): ${error.message}\n`);
    process.exit(78);
  }
  let running: RunningIngest | undefined;
  installShutdown(logger, () => running?.closeSteps ?? [], config.ingest.shutdownGraceMs);
  running = await startIngest(config, logger, workspaces);
}

main().catch((error: unknown) => {
  process.stderr.write(`ingest failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
