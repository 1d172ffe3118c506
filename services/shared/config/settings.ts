import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * A small declarative reader for settings that come from environment variables.
 *
 * Each setting names its variable, says what it is for, gives a default (or none, which makes it
 * required) and parses its raw text. `readSettings` checks every setting of a spec at once and
 * throws one ConfigError naming each bad one, so a service fails fast at start with a message a
 * person can act on, instead of failing later on the first use of a bad value.
 */

export interface Setting<T> {
  /** The environment variable that holds it. */
  readonly env: string;
  /** One line for people (also the source of docs/configuration.md). */
  readonly description: string;
  /** Raw default text; undefined makes the setting required. */
  readonly default?: string;
  /** Parses raw text; throws an Error whose message says what is wrong with it. */
  parse(raw: string): T;
  /** A secret: its value never appears in a message, and it may be read from `<env>_FILE`. */
  readonly secret?: boolean;
}

export type SettingsSpec = Record<string, Setting<unknown>>;
export type SettingsOf<S extends SettingsSpec> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function readSettings<S extends SettingsSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): SettingsOf<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(spec)) {
    let given = env[setting.env];
    const file = env[`${setting.env}_FILE`];
    if (setting.secret && (given === undefined || given === '') && file) {
      // Secrets may come from a file (a mounted Kubernetes secret, a Docker secret).
      try {
        given = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        problems.push(`${setting.env}_FILE=${JSON.stringify(file)} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        continue;
      }
    }
    const raw = given === undefined || given === '' ? setting.default : given;
    if (raw === undefined) {
      problems.push(`${setting.env} is required (${setting.description})`);
      continue;
    }
    try {
      values[key] = setting.parse(raw);
    } catch (error) {
      const shown = setting.secret ? '(secret)' : JSON.stringify(raw);
      problems.push(`${setting.env}=${shown} is malformed: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as SettingsOf<S>;
}

type Options = { default?: string; description: string };

function define<T>(env: string, options: Options, parse: (raw: string) => T): Setting<T> {
  return { env, description: options.description, default: options.default, parse };
}

export const string = (env: string, options: Options): Setting<string> => define(env, options, (raw) => raw);

export function integer(env: string, options: Options & { min?: number; max?: number }): Setting<number> {
  return define(env, options, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error('expected an integer');
    const value = Number(raw);
    if (options.min !== undefined && value < options.min) throw new Error(`expected at least ${options.min}`);
    if (options.max !== undefined && value > options.max) throw new Error(`expected at most ${options.max}`);
    return value;
  });
}

/** A TCP port; 0 asks the system for a free one (tests, side-by-side instances). */
export const port = (env: string, options: Options): Setting<number> => integer(env, { ...options, min: 0, max: 65535 });

export function boolean(env: string, options: Options): Setting<boolean> {
  return define(env, options, (raw) => {
    const normalized = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
    if (['0', 'false', 'no', 'off'].includes(normalized)) return false;
    throw new Error('expected true or false');
  });
}

/** A URL of one of `protocols`; with `optional`, an empty value too (the feature it names is off). */
export function url(env: string, options: Options & { protocols: readonly string[]; optional?: boolean }): Setting<string> {
  return define(env, options, (raw) => {
    if (options.optional && raw.trim() === '') return '';
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error('expected a URL');
    }
    if (!options.protocols.includes(parsed.protocol)) {
      throw new Error(`expected a URL starting with ${options.protocols.map((p) => `${p}//`).join(' or ')}`);
    }
    return raw.replace(/\/+$/, '');
  });
}

/**
 * A comma-separated list of IP addresses or CIDR ranges (e.g. the proxies in front of a
 * service); empty for none. Each is checked: a typo must not silently trust nobody, or everybody.
 */
export function addressList(env: string, options: Options): Setting<string[]> {
  return define(env, options, (raw) => {
    const entries = raw
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0);
    for (const entry of entries) {
      const [address, bits, ...rest] = entry.split('/');
      const family = isIP(address ?? '');
      const maxBits = family === 6 ? 128 : 32;
      const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
      if (family === 0 || !validBits || rest.length > 0) throw new Error(`${JSON.stringify(entry)} is not an IP address or CIDR range`);
    }
    return entries;
  });
}

/** A comma-separated list of host:port pairs, e.g. Kafka bootstrap servers. */
export function hostPorts(env: string, options: Options): Setting<string[]> {
  return define(env, options, (raw) => {
    const items = raw.split(',').map((item) => item.trim()).filter(Boolean);
    if (items.length === 0) throw new Error('expected at least one host:port');
    for (const item of items) {
      const match = /^([^:\s]+):(\d{1,5})$/.exec(item);
      if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new Error(`"${item}" is not host:port`);
    }
    return items;
  });
}

export function oneOf<T extends string>(env: string, options: Options & { values: readonly T[] }): Setting<T> {
  return define(env, options, (raw) => {
    if (!(options.values as readonly string[]).includes(raw)) throw new Error(`expected one of ${options.values.join(', ')}`);
    return raw as T;
  });
}

/**
 * A secret string (password, key): from the variable or from the file named by `<env>_FILE`.
 * With `minLength`, a non-empty one shorter than that is refused (a guessable token); the
 * message gives the length asked for, never the value.
 */
export function secret(env: string, options: Options & { minLength?: number }): Setting<string> {
  return {
    ...define(env, options, (raw) => {
      if (options.minLength !== undefined && raw !== '' && raw.length < options.minLength) throw new Error(`expected at least ${options.minLength} characters (e.g. openssl rand -hex 24)`);
      return raw;
    }),
    secret: true,
  };
}
