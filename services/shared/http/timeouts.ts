/**
 * How long an HTTP server waits on a client. Node's own limits, as fastify configures them, left
 * a POST that declares 100 kB and sends a byte every 3 s open for a minute or more: the socket
 * timeout was off, and the request deadline is checked only every 30 s. Here:
 *
 *  - idle timeout: a connection on which nothing moves for this long is closed — before its
 *    first request, between requests (keep-alive) and while one is in progress;
 *  - request deadline: the whole request, headers and body, must have arrived within this long
 *    of its first byte, however steadily it trickles; otherwise 408 and the connection closes.
 *    Node checks its connections every CHECK interval, so the cut comes at most that much late.
 *
 * Neither bounds the time we take to answer (ingest's send timeout does that).
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';

export interface HttpTimeouts {
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** How often Node looks for requests past their deadline: a tenth of it, within 0.1–1 s. */
export function deadlineCheckIntervalMs(requestTimeoutMs: number): number {
  return Math.min(1000, Math.max(100, Math.round(requestTimeoutMs / 10)));
}

export function timeoutOptions(timeouts: HttpTimeouts): Pick<FastifyServerOptions, 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout'> & {
  http: { connectionsCheckingInterval: number; headersTimeout: number };
} {
  return {
    connectionTimeout: timeouts.idleTimeoutMs,
    keepAliveTimeout: timeouts.idleTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    // Node refuses a headers timeout longer than the request's; the request deadline covers both.
    http: { connectionsCheckingInterval: deadlineCheckIntervalMs(timeouts.requestTimeoutMs), headersTimeout: timeouts.requestTimeoutMs },
  };
}

/** What a client error (a request that never became one) is answered with, in the service's JSON shape. */
export function clientErrorAnswer(code: string | undefined, timeouts: HttpTimeouts): { status: number; message: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: `the request (headers and body) did not arrive within ${timeouts.requestTimeoutMs} ms` };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'the request headers are too large' };
    default:
      return { status: 400, message: 'the request is not valid HTTP/1.1' };
  }
}

/**
 * fastify's clientErrorHandler: answers with clientErrorAnswer in the body `toBody` makes, then
 * closes the connection (its state is unknown: part of a body may still be on the way).
 */
export function clientErrorHandler(timeouts: HttpTimeouts, toBody: (message: string) => unknown): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const { status, message } = clientErrorAnswer(error.code, timeouts);
    const body = JSON.stringify(toBody(message));
    if (socket.writable) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    }
    socket.destroy(error);
  };
}
