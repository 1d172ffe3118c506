/**
 * How request bodies are read, for every route:
 *  - `Content-Encoding: gzip` or `deflate` is decompressed, and each route's size limit applies
 *    to the decompressed bytes; a body that inflates past it is cut off as soon as it does (a
 *    gzip bomb costs us the limit, not its full size);
 *  - the bytes must be UTF-8 (no silent replacement characters) and JSON;
 *  - `__proto__` and `constructor.prototype` keys are refused, not stripped;
 *  - a body nested deeper than MAX_BODY_LEVELS is refused here, before any route's checks (some
 *    of which serialise or recurse) can overflow the stack on it;
 *  - `application/json` and `text/plain` (what `navigator.sendBeacon` sends) are both JSON;
 *  - an empty body is no body (DELETE from the official SDK sends a JSON content type and none).
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { MAX_JSON_DEPTH } from './checks';
import { nestsDeeperThan } from './jsonDepth';

/**
 * The deepest body any route accepts: a field's own MAX_JSON_DEPTH levels under the deepest
 * envelope, a /v1/batch item's properties (body → batch → item → properties). Deeper bodies
 * would be refused by the field checks anyway; this refuses them before those checks run.
 */
export const MAX_BODY_LEVELS = MAX_JSON_DEPTH + 3;

export class BodyError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code = 'ANONMERGE_BAD_BODY',
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Counts inflated bytes; past the limit it fails the stream, which stops the inflater. */
class InflatedLimit extends Transform {
  private inflated = 0;
  /** Read by fastify to check Content-Length against what came over the wire. */
  receivedEncodedLength = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.inflated += chunk.length;
    if (this.inflated > this.limit) {
      callback(new BodyError(413, `the body is larger than ${this.limit} bytes once decompressed`, 'FST_ERR_CTP_BODY_TOO_LARGE'));
      return;
    }
    callback(null, chunk);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new BodyError(400, 'the body is not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = (error as Error).message;
    if (/prototype/i.test(message)) throw new BodyError(400, 'the body has a forbidden key (__proto__ or constructor.prototype)');
    throw new BodyError(400, `the body is not valid JSON: ${message}`);
  }
  if (nestsDeeperThan(parsed, MAX_BODY_LEVELS)) throw new BodyError(400, `the body is nested deeper than ${MAX_BODY_LEVELS} levels (fields such as data, properties and traits: ${MAX_JSON_DEPTH})`);
  return parsed;
}

const bodyBytes = new WeakMap<FastifyRequest, number>();

/** The bytes of a request's body once decompressed (0 without a body): what the request costs. */
export function bodyBytesOf(request: FastifyRequest): number {
  return bodyBytes.get(request) ?? 0;
}

export function registerBodyParsing(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const encoding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity' || encoding === '') return payload;
    if (encoding !== 'gzip' && encoding !== 'deflate') throw new BodyError(415, `unsupported Content-Encoding "${encoding}" (gzip, deflate or none)`);
    const limit = request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 1024 * 1024;
    const guard = new InflatedLimit(limit);
    const inflater = encoding === 'gzip' ? createGunzip() : createInflate();
    const source = payload as Readable;
    source.on('data', (chunk: Buffer) => {
      guard.receivedEncodedLength += chunk.length;
    });
    // Errors are reported on the stream fastify reads (the guard), in our words; a guard that
    // gives up stops the inflater, so a bomb is not inflated to the end for nothing.
    inflater.on('error', (error) => guard.destroy(new BodyError(400, `the body is not valid ${encoding} data: ${error.message}`)));
    guard.on('error', () => {
      source.unpipe(inflater);
      inflater.destroy();
    });
    source.pipe(inflater).pipe(guard);
    return guard;
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, (request, raw, done) => {
    bodyBytes.set(request, (raw as Buffer).length);
    try {
      done(null, parseJsonBody(raw as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
