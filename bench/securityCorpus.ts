/**
 * The attack corpus of issue 14, replayable against any running ingest and activity log: each
 * attack is sent as an attacker would send it, and what came back is checked against what the
 * service must answer. `make security` runs it against `make up`'s stack and prints the table;
 * test/integration/security-corpus.test.ts runs it against test services in `make test`.
 *
 * What an attack may cost us is measured too: the ingest's resident memory before and after the
 * corpus (when its pid is known).
 */
import { gzipSync } from 'node:zlib';
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { trickleRequest } from './slowRequest';

export interface Target {
  readonly ingestUrl: string;
  readonly activityUrl: string;
  readonly siteId: string;
  readonly apiKey: string;
  readonly writeKey: string;
  readonly publishableKey: string;
  /** An origin the workspace allows for its browser key. */
  readonly allowedOrigin: string;
  /** Ingest's whole-request deadline: a slow body must be cut within it. */
  readonly requestTimeoutMs: number;
  /** Failed authentications one address may make before it is slowed down. */
  readonly authFailureLimit: number;
}

export interface AttackResult {
  readonly attack: string;
  readonly expected: string;
  readonly got: string;
  readonly held: boolean;
}

interface Attack {
  readonly attack: string;
  readonly expected: string;
  /** Slow attacks (whole-request deadline) can be left out where time matters. */
  readonly slow?: boolean;
  readonly run: (target: Target) => Promise<{ got: string; held: boolean }>;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`);

/**
 * fetch, sent again once when the connection closed before any answer came. That is a pooled
 * keep-alive connection the server closed as it went idle, just as the client reused it (browsers
 * retry those too); the attack is then tried on a fresh connection, where the server must hold.
 */
async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const code = ((error as Error).cause as { code?: string } | undefined)?.code;
    if (!(error instanceof TypeError) || !['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(code ?? '')) throw error;
    return fetch(url, init);
  }
}

async function answer(response: Response): Promise<{ status: number; size: number; text: string }> {
  const text = await response.text();
  return { status: response.status, size: Buffer.byteLength(text), text };
}

function browserUrl(target: Target, route: string): string {
  return `${target.ingestUrl}${route}?site_id=${encodeURIComponent(target.siteId)}&key=${encodeURIComponent(target.publishableKey)}`;
}

const browserPost = (target: Target, route: string, body: unknown, origin = target.allowedOrigin) =>
  send(browserUrl(target, route), { method: 'POST', headers: { origin, 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });

/** A raw request (headers the fetch API refuses to send), the status line's code and the answer's size. */
function rawRequest(url: string, request: string): Promise<{ status: number; size: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error('no answer within 15 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), size: text.length });
    });
    socket.on('connect', () => socket.end(request));
  });
}

/** Into a double-quoted attribute (the event id) and into an element (the event name). */
const XSS_ATTRIBUTE = `x" autofocus onfocus="globalThis.__anonmergeXss=1" x="`;
const XSS_ELEMENT = '<img src=x onerror=globalThis.__anonmergeXss=1>';

export const ATTACKS: readonly Attack[] = [
  {
    attack: 'stored XSS: script in an event id and name, browser key, forged Origin',
    expected: 'kept as data (200); the page builds rows as text (its Chromium test)',
    run: async (t) => {
      const response = await browserPost(t, '/js/v1/events', { name: XSS_ELEMENT, type: 'page', anonymous_id: `sec-xss-${Date.now()}`, id: `${XSS_ATTRIBUTE}${Date.now()}` });
      const { status, text } = await answer(response);
      // A script in the answer itself (an error echoing the input as HTML) would be the hole.
      return { got: `${status}, ${response.headers.get('content-type')}${status === 200 ? '' : ` ${text.slice(0, 120)}`}`, held: status === 200 && (response.headers.get('content-type') ?? '').startsWith('application/json') };
    },
  },
  {
    attack: 'gzip bomb: 519-byte body of 160,000 {} items on /v1/batch',
    expected: '4xx, an answer under 2 kB',
    run: async (t) => {
      const body = gzipSync(`{"batch":[${Array(160_000).fill('{}').join(',')}]}`, { level: 9 });
      const { status, size } = await answer(await send(`${t.ingestUrl}/v1/batch`, { method: 'POST', headers: { authorization: basic(t.writeKey, ''), 'content-type': 'application/json', 'content-encoding': 'gzip' }, body, signal: AbortSignal.timeout(15_000) }));
      return { got: `${status}, ${kb(size)} answer to ${body.length} B`, held: status >= 400 && status < 500 && size < 2048 };
    },
  },
  {
    attack: '4 such bombs at once',
    expected: 'each 4xx under 2 kB',
    run: async (t) => {
      const body = gzipSync(`{"batch":[${Array(160_000).fill('{}').join(',')}]}`, { level: 9 });
      const answers = await Promise.all(
        Array.from({ length: 4 }, async () => answer(await send(`${t.ingestUrl}/v1/batch`, { method: 'POST', headers: { authorization: basic(t.writeKey, ''), 'content-type': 'application/json', 'content-encoding': 'gzip' }, body, signal: AbortSignal.timeout(15_000) }))),
      );
      return { got: answers.map((a) => `${a.status}/${kb(a.size)}`).join(' '), held: answers.every((a) => a.status >= 400 && a.status < 500 && a.size < 2048) };
    },
  },
  {
    attack: 'properties nested 5,000 deep on /v1/track',
    expected: '400 naming the depth, not 500',
    run: async (t) => {
      const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
      const body = `{"userId":"u1","event":"deep","properties":${deep}}`;
      const { status, text } = await answer(await send(`${t.ingestUrl}/v1/track`, { method: 'POST', headers: { authorization: basic(t.writeKey, ''), 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) }));
      return { got: `${status} ${text.slice(0, 60)}`, held: status === 400 && /deep|depth|nest/i.test(text) };
    },
  },
  {
    attack: 'browser key identifies a known person (no user hash), to overwrite their email',
    expected: '401 or 403, nothing stored',
    run: async (t) => {
      const { status, text } = await answer(await browserPost(t, '/js/v1/customers/victim%40example.com', { anonymous_id: `sec-${Date.now()}`, email: 'attacker@example.com' }));
      return { got: `${status} ${text.slice(0, 60)}`, held: status === 401 || status === 403 };
    },
  },
  {
    attack: 'browser key sends an event as a known person (no user hash), to trigger a campaign',
    expected: '401 or 403',
    run: async (t) => {
      const { status } = await answer(await browserPost(t, '/js/v1/customers/victim%40example.com/events', { name: 'purchase' }));
      return { got: String(status), held: status === 401 || status === 403 };
    },
  },
  {
    attack: 'browser key with a user hash made with a guessed secret',
    expected: '401',
    run: async (t) => {
      const userHash = createHmac('sha256', 'guessed-secret').update('victim@example.com').digest('hex');
      const { status } = await answer(await browserPost(t, '/js/v1/customers/victim%40example.com/events', { name: 'purchase', user_hash: userHash }));
      return { got: String(status), held: status === 401 };
    },
  },
  {
    attack: 'browser key from an origin the workspace does not allow',
    expected: '403',
    run: async (t) => {
      const { status } = await answer(await browserPost(t, '/js/v1/events', { name: 'x', type: 'page', anonymous_id: 'sec-origin' }, 'https://evil.example'));
      return { got: String(status), held: status === 403 };
    },
  },
  {
    attack: 'slow body: declares 100 kB, sends a byte every 3 s',
    expected: 'cut within the request deadline',
    slow: true,
    run: async (t) => {
      const head = `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(t.siteId, t.apiKey)}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
      const outcome = await trickleRequest(t.ingestUrl, head, '{'.repeat(100), 3000, t.requestTimeoutMs + 15_000);
      return { got: Number.isFinite(outcome.closedAfterMs) ? `cut after ${(outcome.closedAfterMs / 1000).toFixed(1)} s` : 'still open', held: outcome.closedAfterMs <= t.requestTimeoutMs + 5000 };
    },
  },
  {
    attack: 'guessing API keys: wrong keys from one address, as fast as it can',
    expected: '429 with Retry-After once past the failure limit',
    run: async (t) => {
      let first429 = 0;
      let retryAfter: string | null = null;
      for (let i = 1; i <= t.authFailureLimit + 10 && first429 === 0; i += 1) {
        const response = await send(`${t.ingestUrl}/api/v1/events`, { method: 'POST', headers: { authorization: basic(t.siteId, `wrong-${i}`), 'content-type': 'application/json' }, body: '{"name":"x","anonymous_id":"a"}', signal: AbortSignal.timeout(15_000) });
        await response.arrayBuffer();
        if (response.status === 429) (first429 = i), (retryAfter = response.headers.get('retry-after'));
      }
      return { got: first429 ? `429 at attempt ${first429}, Retry-After ${retryAfter}` : `no 429 in ${t.authFailureLimit + 10}`, held: first429 > 0 && first429 <= t.authFailureLimit + 1 && retryAfter !== null };
    },
  },
  {
    attack: '64 kB of headers',
    expected: '431',
    run: async (t) => {
      const { status } = await rawRequest(t.ingestUrl, `GET /readyz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\nConnection: close\r\n\r\n`);
      return { got: String(status), held: status === 431 };
    },
  },
  {
    attack: 'invalid UTF-8 in a JSON body',
    expected: '400',
    run: async (t) => {
      const body = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","anonymous_id":"a"}')]);
      const { status } = await answer(await send(`${t.ingestUrl}/api/v1/events`, { method: 'POST', headers: { authorization: basic(t.siteId, t.apiKey), 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) }));
      return { got: String(status), held: status === 400 };
    },
  },
  {
    attack: '__proto__ keys in the body',
    expected: '4xx or kept as plain data; no prototype polluted',
    run: async (t) => {
      const { status } = await answer(await send(`${t.ingestUrl}/api/v1/events`, { method: 'POST', headers: { authorization: basic(t.siteId, t.apiKey), 'content-type': 'application/json' }, body: '{"name":"x","anonymous_id":"a","data":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}', signal: AbortSignal.timeout(15_000) }));
      return { got: String(status), held: status < 500 && ({} as Record<string, unknown>).polluted === undefined };
    },
  },
  {
    attack: '/metrics on the public ingest port (workspace ids and volumes)',
    expected: '404',
    run: async (t) => {
      const { status } = await answer(await send(`${t.ingestUrl}/metrics`, { signal: AbortSignal.timeout(15_000) }));
      return { got: String(status), held: status === 404 };
    },
  },
  {
    attack: 'activity page framed, sniffed or cached',
    expected: "CSP with frame-ancestors 'none', nosniff; API no-store",
    run: async (t) => {
      const page = await send(`${t.activityUrl}/activity`, { headers: { authorization: basic(t.siteId, t.apiKey) }, signal: AbortSignal.timeout(15_000) });
      await page.arrayBuffer();
      const api = await send(`${t.activityUrl}/activity/api/rows`, { headers: { authorization: basic(t.siteId, t.apiKey) }, signal: AbortSignal.timeout(15_000) });
      await api.arrayBuffer();
      const csp = page.headers.get('content-security-policy') ?? '';
      const got = `CSP ${csp ? 'set' : 'missing'}, frame-ancestors ${/frame-ancestors 'none'/.test(csp) ? "'none'" : 'missing'}, nosniff ${page.headers.get('x-content-type-options') ?? 'missing'}, API cache ${api.headers.get('cache-control') ?? 'missing'}`;
      return { got, held: /frame-ancestors 'none'/.test(csp) && page.headers.get('x-content-type-options') === 'nosniff' && /no-store/.test(api.headers.get('cache-control') ?? '') };
    },
  },
];

/** Runs the corpus in order (the brute-force row last but one would slow the rest: it runs late). */
export async function runCorpus(target: Target, options: { readonly slow: boolean; readonly progress?: (line: string) => void }): Promise<AttackResult[]> {
  const results: AttackResult[] = [];
  const ordered = [...ATTACKS.filter((a) => !/guessing/.test(a.attack)), ...ATTACKS.filter((a) => /guessing/.test(a.attack))];
  for (const attack of ordered) {
    if (attack.slow && !options.slow) continue;
    options.progress?.(`${attack.attack}…`);
    try {
      const { got, held } = await attack.run(target);
      results.push({ attack: attack.attack, expected: attack.expected, got, held });
    } catch (error) {
      results.push({ attack: attack.attack, expected: attack.expected, got: `error: ${(error as Error).message}${(error as Error).cause ? ` (${String(((error as Error).cause as { code?: string }).code ?? (error as Error).cause)})` : ''}`, held: false });
    }
  }
  return results;
}
