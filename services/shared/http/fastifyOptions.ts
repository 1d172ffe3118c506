/**
 * Options every anonmerge HTTP server shares: our pino logger, and no per-request log lines
 * (at tens of thousands of requests a second they would be most of the log; errors and refusals
 * are logged by the handlers with their context instead).
 */
import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Logger } from '../logger';

export function baseFastifyOptions(logger: Logger): Pick<FastifyServerOptions, 'loggerInstance' | 'logController'> {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  };
}
