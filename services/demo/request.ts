/**
 * How a demo call goes on the wire: a snippet call as the visitor's browser sends it (publishable
 * key in the query string, the shop's Origin, text/plain, and a signed-in person's user hash from
 * the shop's server); a server call with the Track API key. Apart from main.ts so that a test can
 * send `make run`'s traffic to an ingest of its own.
 */
import { userHashOf } from '../ingest/userHash';
import type { TrackCall } from './visitors';

export interface DemoCredentials {
  readonly ingestUrl: string;
  readonly siteId: string;
  readonly apiKey: string;
  readonly publishableKey: string;
  /** The shop's server's secret for user hashes (the workspace's identity_verification_secret). */
  readonly identitySecret: string;
  /** The visitors' browsers are on this site (one of the workspace's allowed origins). */
  readonly siteOrigin: string;
}

export function demoRequest(call: TrackCall, demo: DemoCredentials): { url: string; init: RequestInit } {
  const snippet = call.via === 'snippet';
  const url = snippet ? `${demo.ingestUrl}${call.path}?site_id=${encodeURIComponent(demo.siteId)}&key=${encodeURIComponent(demo.publishableKey)}` : `${demo.ingestUrl}${call.path}`;
  const body = call.person === undefined ? call.body : { ...call.body, user_hash: userHashOf(demo.identitySecret, call.person) };
  return {
    url,
    init: {
      method: call.method,
      headers: snippet
        ? { origin: demo.siteOrigin, 'content-type': 'text/plain;charset=UTF-8' }
        : { authorization: `Basic ${Buffer.from(`${demo.siteId}:${demo.apiKey}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    },
  };
}
