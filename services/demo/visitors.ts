/**
 * Sample traffic that behaves like website visitors: anonymous page views under a cookie id, a
 * sign-up that identifies the person with that id, a page view that arrives just after the
 * sign-up (inside the grace window), then events as the known person. Some visitors never sign
 * up (their events stay anonymous); some send an invite to a friend.
 *
 * What a visitor's browser sends goes the way the snippet (/js/anonmerge.js) sends it: POST
 * /js/v1/... with the publishable key, from the shop's origin, and for a signed-in person with the
 * user hash the shop's server gave the page. Invites are sent by the shop's server, with the
 * Track API key.
 */
import { randomBytes, randomInt } from 'node:crypto';

export interface TrackCall {
  /** snippet: the browser's wire format (publishable key, Origin); server: the Track API. */
  readonly via: 'snippet' | 'server';
  readonly method: 'PUT' | 'POST';
  readonly path: string;
  readonly body: Record<string, unknown>;
  /**
   * The person a snippet call names: the shop's server vouches for them with a user hash (the
   * demo adds it when sending, as the shop's server renders it into the signed-in page).
   */
  readonly person?: string;
  /** What a person watching should read. */
  readonly describe: string;
  /** Milliseconds to wait before this call. */
  readonly delayMs: number;
}

const PAGES = ['/', '/pricing', '/features/segments', '/blog/anonymous-events', '/docs/quickstart', '/customers'];
const FIRST = ['ada', 'grace', 'linus', 'margaret', 'alan', 'barbara', 'ken', 'radia', 'edsger', 'frances'];
const LAST = ['lovelace', 'hopper', 'torvalds', 'hamilton', 'turing', 'liskov', 'thompson', 'perlman', 'dijkstra', 'allen'];
const PLANS = ['starter', 'growth', 'enterprise'];

const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)] as T;

export function visitorJourney(site = 'https://shop.example.com'): TrackCall[] {
  const anonymousId = `anon-${randomBytes(4).toString('hex')}`;
  const calls: TrackCall[] = [];
  const pageView = (page: string, delayMs: number, anonymous = true, person?: string): TrackCall =>
    anonymous
      ? { via: 'snippet', method: 'POST', path: '/js/v1/events', body: { name: `${site}${page}`, type: 'page', anonymous_id: anonymousId, data: { path: page } }, describe: `${anonymousId} views ${page}`, delayMs }
      : { via: 'snippet', method: 'POST', path: `/js/v1/customers/${encodeURIComponent(person ?? '')}/events`, person, body: { name: `${site}${page}`, type: 'page', data: { path: page } }, describe: `${person} views ${page}`, delayMs };

  const views = 2 + randomInt(3);
  for (let i = 0; i < views; i += 1) calls.push(pageView(pick(PAGES), 400 + randomInt(1600)));
  const roll = randomInt(100);
  if (roll < 60) {
    const first = pick(FIRST);
    const email = `${first}.${pick(LAST)}+${randomInt(1000)}@example.com`;
    const plan = pick(PLANS);
    calls.push({
      via: 'snippet',
      method: 'POST',
      path: `/js/v1/customers/${encodeURIComponent(email)}`,
      person: email,
      // The email is the identifier (no attribute needed); the rest is on the demo workspace's
      // browser_attributes.
      body: { first_name: first, plan, anonymous_id: anonymousId, created_at: Math.floor(Date.now() / 1000) },
      describe: `${anonymousId} signs up as ${email}`,
      delayMs: 800 + randomInt(1200),
    });
    // A tab still open from before the sign-up: same cookie, seconds later (inside the window).
    calls.push(pageView('/welcome', 300 + randomInt(700)));
    calls.push({ via: 'snippet', method: 'POST', path: `/js/v1/customers/${encodeURIComponent(email)}/events`, person: email, body: { name: 'trial_started', data: { plan } }, describe: `${email} starts a ${plan} trial`, delayMs: 500 + randomInt(1000) });
    calls.push(pageView('/dashboard', 500 + randomInt(1000), false, email));
    if (randomInt(100) < 40) {
      // Another device still carrying the old cookie, long after the sign-up: past the window,
      // so it stays anonymous (SPEC R2d) until a new identify.
      const late = pageView('/pricing', 25_000 + randomInt(15_000));
      calls.push({ ...late, describe: `${anonymousId} views /pricing again, after the grace window (stays anonymous)` });
    }
  } else if (roll < 70) {
    const friend = `${pick(FIRST)}@friends.example.org`;
    calls.push({ via: 'server', method: 'POST', path: '/api/v1/events', body: { name: 'invite_sent', data: { recipient: friend, invited_by: anonymousId } }, describe: `${anonymousId} invites ${friend}`, delayMs: 600 });
  }
  return calls;
}
