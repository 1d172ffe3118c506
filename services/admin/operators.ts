/**
 * Who may change workspaces (docs/design-workspaces.md, "The admin API"): operators, each with a
 * bearer token of their own, so that every change records who made it. The operators file holds
 * a name and the SHA-256 of each token, never the token:
 *
 *   {"operators": [{"name": "alice", "token_sha256": "<64 hex digits>"}]}
 *
 * (`printf %s "$TOKEN" | sha256sum`). A presented token is hashed and compared with every
 * operator's digest in constant time, as workspace keys are.
 */
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { keyDigest } from '../shared/workspaces/keyDigest';

export interface Operator {
  readonly name: string;
  readonly tokenDigest: Buffer;
}

export class OperatorsFileError extends Error {
  override name = 'OperatorsFileError';
}

const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export function parseOperators(document: unknown, source: string): Operator[] {
  const list = (document as { operators?: unknown })?.operators;
  if (!Array.isArray(list)) throw new OperatorsFileError(`${source}: expected {"operators": [...]}`);
  const problems: string[] = [];
  const operators = list.map((entry: unknown, i): Operator => {
    const { name, token_sha256: digest } = (entry ?? {}) as { name?: unknown; token_sha256?: unknown };
    if (typeof name !== 'string' || !NAME.test(name)) problems.push(`operators[${i}].name must match ${NAME}`);
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) problems.push(`operators[${i}].token_sha256 must be 64 lower-case hex digits (the SHA-256 of the token)`);
    return { name: String(name), tokenDigest: Buffer.from(String(digest), 'hex') };
  });
  if (problems.length > 0) throw new OperatorsFileError(`${source}: ${problems.join('; ')}`);
  return operators;
}

export function readOperators(file: string): Operator[] {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new OperatorsFileError(`${file}: ${(error as Error).message}`);
  }
  return parseOperators(document, file);
}

/** The operator whose token this is, or null. Every digest is compared, with no early exit. */
export function operatorOf(authorization: string | undefined, operators: readonly Operator[]): Operator | null {
  const token = /^Bearer\s+(\S{1,512})\s*$/i.exec(authorization ?? '')?.[1];
  if (token === undefined) return null;
  const digest = keyDigest(token);
  let found: Operator | null = null;
  for (const operator of operators) if (operator.tokenDigest.length === digest.length && timingSafeEqual(operator.tokenDigest, digest)) found = operator;
  return found;
}
