/**
 * The admin API as a process (port 3004 by default): workspaces changed live through the
 * workspaces log. Exits 78 with one line when its operators file is missing or invalid.
 */
import { installShutdown } from '../shared/lifecycle/shutdown';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { OperatorsFileError, readOperators } from './operators';
import { startAdmin, type RunningAdmin } from './service';

async function main(): Promise<void> {
  const config = configOrExit('admin', ['kafka', 'topics', 'registry', 'admin', 'log']);
  const logger = createLogger('admin', config.log.level);
  let operators;
  try {
    operators = readOperators(config.admin.operatorsFile);
  } catch (error) {
    if (!(error instanceof OperatorsFileError)) throw error;
    process.stderr.write(`admin: invalid operators file (ANONMERGE_OPERATORS_FILE): ${error.message}\n`);
    process.exit(78);
  }
  let running: RunningAdmin | undefined;
  installShutdown(logger, () => running?.closeSteps ?? []);
  running = await startAdmin(config, logger, operators);
}

main().catch((error: unknown) => {
  process.stderr.write(`admin failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
