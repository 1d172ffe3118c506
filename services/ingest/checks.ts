/**
 * Field checks shared by both APIs. Each adds a Problem naming the field and returns the clean
 * value (or undefined), so a translator can report every problem of a request at once.
 */
import { EVENT_TYPES, type EventType } from '../shared/model/inbound';
import { LIMITS, byteLength } from './limits';
import type { Problems } from './problems';

export const MAX_JSON_DEPTH = 32;

const hasLoneSurrogate = (value: string): boolean => !value.isWellFormed();

/** A string without NUL or lone surrogates (neither survives UTF-8 and Avro intact). */
function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL (\\u0000)';
  if (hasLoneSurrogate(value)) return 'must be valid Unicode (it has a lone surrogate)';
  return null;
}

export function checkText(value: unknown, field: string, maxBytes: number, problems: Problems, required = true): string | undefined {
  if (value === undefined || value === null) {
    if (required) problems.add(field, 'is required');
    return undefined;
  }
  if (typeof value !== 'string') {
    problems.add(field, `must be a string, not ${describe(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    problems.add(field, 'must not be empty');
    return undefined;
  }
  const bad = textProblem(value);
  if (bad) {
    problems.add(field, bad);
    return undefined;
  }
  if (byteLength(value) > maxBytes) {
    problems.add(field, `must be at most ${maxBytes} bytes (got ${byteLength(value)})`);
    return undefined;
  }
  return value;
}

export function checkEventType(value: unknown, field: string, problems: Problems): EventType {
  if (value === undefined || value === null) return 'event';
  if (typeof value !== 'string' || !(EVENT_TYPES as readonly string[]).includes(value)) {
    problems.add(field, `must be one of ${EVENT_TYPES.join(', ')}`);
    return 'event';
  }
  return value as EventType;
}

/** Unix seconds; defaults to the received time. */
export function checkTimestamp(value: unknown, field: string, receivedAtMs: number, problems: Problems): number {
  const receivedSeconds = Math.floor(receivedAtMs / 1000);
  if (value === undefined || value === null) return receivedSeconds;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    problems.add(field, 'must be an integer number of unix seconds');
    return receivedSeconds;
  }
  if (value < LIMITS.minTimestampSeconds) {
    problems.add(field, `must be unix seconds after 2000-01-01 (${LIMITS.minTimestampSeconds}); got ${value}`);
  } else if (value > receivedSeconds + LIMITS.maxFutureSeconds) {
    problems.add(field, `is more than a day in the future (${value} > ${receivedSeconds + LIMITS.maxFutureSeconds}); milliseconds instead of seconds?`);
  }
  return value;
}

/** A JSON object of at most maxBytes once serialised; returns its JSON text. */
export function checkObject(value: unknown, field: string, maxBytes: number, problems: Problems): string {
  if (value === undefined || value === null) return '{}';
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.add(field, `must be an object, not ${describe(value)}`);
    return '{}';
  }
  if (!checkJsonValue(value, field, problems)) return '{}';
  const json = JSON.stringify(value);
  if (byteLength(json) > maxBytes) {
    problems.add(field, `must be at most ${maxBytes} bytes as JSON (got ${byteLength(json)})`);
    return '{}';
  }
  return json;
}

/**
 * Walks a parsed JSON value: no NUL or lone surrogate in any key or string, no prototype-bearing
 * key, no nesting deeper than MAX_JSON_DEPTH. Reports the first problem with its path.
 */
export function checkJsonValue(root: unknown, rootField: string, problems: Problems): boolean {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: rootField, depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    if (typeof value === 'string') {
      const bad = textProblem(value);
      if (bad) return fail(problems, path, bad);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return fail(problems, path, `is nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(value)) {
      value.forEach((item, index) => stack.push({ value: item, path: `${path}[${index}]`, depth: depth + 1 }));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') return fail(problems, `${path}.${key}`, 'is not an allowed key');
      const bad = textProblem(key);
      if (bad) return fail(problems, path, `has a key that ${bad}`);
      stack.push({ value: (value as Record<string, unknown>)[key], path: `${path}.${key}`, depth: depth + 1 });
    }
  }
  return true;
}

function fail(problems: Problems, field: string, message: string): false {
  problems.add(field, message);
  return false;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
