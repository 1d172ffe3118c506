/** A logger that keeps its lines, to check what was (not) logged. */
import { createLogger, type Logger } from '../../services/shared/logger';

export interface LoggedLine {
  readonly level: string;
  readonly msg?: string;
  readonly err?: { stack?: string; message?: string };
  readonly [field: string]: unknown;
}

export function capturingLogger(): { logger: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const logger = createLogger('test', 'debug', { write: (line: string) => lines.push(JSON.parse(line) as LoggedLine) });
  return { logger, lines };
}
