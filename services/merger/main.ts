/**
 * The merger as a process: consumes the inbound topic, keeps its state in Redis, and emits merged
 * events, campaign triggers, activity, anonymous events and dead letters, exactly once.
 */
import { installShutdown } from '../shared/lifecycle/shutdown';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { startMerger, type RunningMerger } from './service';

async function main(): Promise<void> {
  const config = configOrExit('merger', ['kafka', 'topics', 'registry', 'redis', 'log', 'merger']);
  const logger = createLogger('merger', config.log.level);
  let running: RunningMerger | undefined;
  installShutdown(logger, () => running?.closeSteps ?? []);
  running = await startMerger(config, logger);
}

main().catch((error: unknown) => {
  process.stderr.write(`merger failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
