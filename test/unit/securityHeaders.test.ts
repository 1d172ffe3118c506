/**
 * The page policy names each inline block by the hash a browser computes (SHA-256 of the text
 * between the tags), leaves out scripts loaded by src, and never falls back to 'unsafe-inline'.
 */
import { createHash } from 'node:crypto';
import { API_POLICY, inlineHashes, pagePolicy, securityHeaders } from '../../services/shared/http/securityHeaders';

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const page = `<!doctype html><html><head>
<script>var a = 1;</script>
<script async src="/js/anonmerge.js" data-key="pk"></script>
<style>body { color: red; }</style>
</head><body><script type="module">console.log("é")</script></body></html>`;

describe('security headers', () => {
  it('hashes every inline script and style, not the ones loaded by src', () => {
    expect(inlineHashes(page, 'script')).toEqual([hash('var a = 1;'), hash('console.log("é")')]);
    expect(inlineHashes(page, 'style')).toEqual([hash('body { color: red; }')]);
  });

  it("a page's policy: its hashes plus the sources it names, nothing inline by default, no framing", () => {
    const policy = pagePolicy(page, { scriptSrc: ["'self'"] });
    expect(policy).toContain(`script-src 'self' ${hash('var a = 1;')} ${hash('console.log("é")')};`);
    expect(policy).toContain(`style-src ${hash('body { color: red; }')};`);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe');
    expect(pagePolicy('<p>no code</p>')).toContain("script-src 'none'; style-src 'none'");
  });

  it('every response gets nosniff, DENY and no-referrer with its policy', () => {
    expect(securityHeaders(API_POLICY)).toEqual({
      'content-security-policy': API_POLICY,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
    expect(API_POLICY).toContain("default-src 'none'");
  });
});
