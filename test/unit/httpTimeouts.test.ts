import { clientErrorAnswer, deadlineCheckIntervalMs, timeoutOptions } from '../../services/shared/http/timeouts';

describe('HTTP server timeouts', () => {
  it('checks for requests past their deadline at a tenth of it, between 0.1 and 1 s', () => {
    expect(deadlineCheckIntervalMs(30_000)).toBe(1000);
    expect(deadlineCheckIntervalMs(5000)).toBe(500);
    expect(deadlineCheckIntervalMs(200)).toBe(100);
  });

  it('uses the idle timeout for the socket and for kept-alive connections, and the deadline for headers too', () => {
    expect(timeoutOptions({ idleTimeoutMs: 20_000, requestTimeoutMs: 5000 })).toEqual({
      connectionTimeout: 20_000,
      keepAliveTimeout: 20_000,
      requestTimeout: 5000,
      http: { connectionsCheckingInterval: 500, headersTimeout: 5000 },
    });
  });

  it('answers a request past its deadline 408 naming the deadline, huge headers 431, anything else 400', () => {
    const timeouts = { idleTimeoutMs: 30_000, requestTimeoutMs: 7000 };
    expect(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT', timeouts)).toEqual({ status: 408, message: 'the request (headers and body) did not arrive within 7000 ms' });
    expect(clientErrorAnswer('HPE_HEADER_OVERFLOW', timeouts).status).toBe(431);
    expect(clientErrorAnswer('HPE_INVALID_METHOD', timeouts).status).toBe(400);
  });
});
