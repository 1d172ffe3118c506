/**
 * Structured JSON logs (pino). Secrets never reach a log line: request authorization headers
 * and any field named like a key or password are redacted wherever they appear.
 */
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'api_key',
  '*.api_key',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'write_key',
  '*.write_key',
  'identity_verification_secret',
  '*.identity_verification_secret',
  'identityVerificationSecret',
  '*.identityVerificationSecret',
];

export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
