/**
 * The headers that tell a browser what a page or an API answer may do: which scripts and styles
 * run (Content-Security-Policy), that it is never framed (clickjacking), never sniffed into
 * another content type, and never leaks its URL in a Referer.
 *
 * Our pages have no build step and keep their script and style inline. Allowing inline code with
 * 'unsafe-inline' would also let an injected <script> or onclick= run, which is what the policy is
 * for; so the policy names the SHA-256 of each inline block instead, computed from the page itself
 * when it is loaded: an edit to a page cannot leave its policy stale, and nothing else inline runs.
 */
import { createHash } from 'node:crypto';

/** What a page may load beyond its own inline blocks, e.g. `["'self'"]` for a script it serves. */
export interface PageSources {
  readonly scriptSrc?: readonly string[];
}

/** For JSON, text and anything that is not a page: nothing may run, load or frame it. */
export const API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** `'sha256-…'` of each inline <script> (without src) or <style> block of the page, in order. */
export function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  const blocks = new RegExp(`<${tag}\\b(?![^>]*\\ssrc=)[^>]*>([\\s\\S]*?)</${tag}>`, 'gi');
  return [...html.matchAll(blocks)].map((match) => `'sha256-${createHash('sha256').update(match[1] ?? '', 'utf8').digest('base64')}'`);
}

/**
 * The policy of one page: its inline blocks by hash, fetches to its own origin (the page's API,
 * the snippet's routes), images from its own origin, nothing else.
 */
export function pagePolicy(html: string, sources: PageSources = {}): string {
  const scripts = [...(sources.scriptSrc ?? []), ...inlineHashes(html, 'script')];
  const styles = inlineHashes(html, 'style');
  return [
    "default-src 'none'",
    `script-src ${scripts.length > 0 ? scripts.join(' ') : "'none'"}`,
    `style-src ${styles.length > 0 ? styles.join(' ') : "'none'"}`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The header set of a response under `policy` (pagePolicy or API_POLICY). */
export function securityHeaders(policy: string): Record<string, string> {
  return {
    'content-security-policy': policy,
    'x-content-type-options': 'nosniff',
    // For browsers that predate frame-ancestors.
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}
