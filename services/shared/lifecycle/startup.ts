/**
 * How a service's main() begins: read the configuration or exit with a message that names each
 * bad setting (no stack trace: the person reading it needs the setting, not our call stack).
 */
import { ConfigError, loadConfig, type Config, type GroupName } from '../config';

export function configOrExit<G extends GroupName>(service: string, groups: readonly G[]): Config<G> {
  try {
    return loadConfig(groups);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG from sysexits.h
    }
    throw error;
  }
}
