/**
 * Graceful shutdown: on SIGINT or SIGTERM, run the service's close steps in order (stop taking
 * work, finish the batch, commit, close clients), each bounded by a timeout, then exit. A second
 * signal exits at once. Uncaught errors are logged with context and end the process, because a
 * stream processor in an unknown state must not keep committing.
 */
import type { Logger } from '../logger';

export interface CloseStep {
  readonly name: string;
  readonly close: () => Promise<unknown>;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runCloseSteps(steps: readonly CloseStep[], logger: Logger, stepTimeoutMs: number): Promise<boolean> {
  let clean = true;
  for (const step of steps) {
    try {
      await withTimeout(step.close(), stepTimeoutMs, step.name);
      logger.debug({ step: step.name }, 'closed');
    } catch (error) {
      clean = false;
      logger.error({ err: error, step: step.name }, 'shutdown step failed');
    }
  }
  return clean;
}

export function installShutdown(logger: Logger, steps: () => readonly CloseStep[], stepTimeoutMs = 15000): void {
  let stopping = false;
  const stop = (reason: string, code: number) => {
    if (stopping) {
      logger.warn({ reason }, 'second signal: exiting now');
      process.exit(code || 1);
    }
    stopping = true;
    logger.info({ reason }, 'shutting down');
    void runCloseSteps(steps(), logger, stepTimeoutMs).then((clean) => {
      logger.info({ clean }, 'stopped');
      logger.flush?.();
      process.exit(clean ? code : code || 1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled promise rejection');
    stop('unhandledRejection', 1);
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    stop('uncaughtException', 1);
  });
}
