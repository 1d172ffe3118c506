import { createHmac } from 'node:crypto';
import { checkUserHash, userHashOf } from '../../../services/ingest/userHash';

const SECRET = 'identity-secret-of-a-site';

describe('user hash (identity verification)', () => {
  it("is the hex HMAC-SHA256 of the identifier exactly as sent, as the docs' Node example computes it", () => {
    expect(userHashOf(SECRET, 'Ada@Example.com')).toBe(createHmac('sha256', SECRET).update('Ada@Example.com').digest('hex'));
    expect(userHashOf(SECRET, 'Ada@Example.com')).not.toBe(userHashOf(SECRET, 'ada@example.com'));
    // A known vector (RFC 4231 test case 2), so the scheme cannot drift from what sites compute.
    expect(userHashOf('Jefe', 'what do ya want for nothing?')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('verifies the right hash, in either hex case', () => {
    const hash = userHashOf(SECRET, 'user-42');
    expect(checkUserHash(SECRET, 'user-42', hash)).toBe('verified');
    expect(checkUserHash(SECRET, 'user-42', hash.toUpperCase())).toBe('verified');
  });

  it('says missing for no hash at all', () => {
    for (const given of [undefined, null, '']) expect(checkUserHash(SECRET, 'user-42', given)).toBe('missing');
  });

  it("refuses another person's hash, another secret's, and anything that is not 64 hex digits", () => {
    const right = userHashOf(SECRET, 'user-42');
    for (const given of [userHashOf(SECRET, 'user-43'), userHashOf('another-secret-of-16', 'user-42'), right.slice(0, 63), `${right}0`, `${right.slice(0, 63)}g`, 'user-42', 42, [right], { hash: right }]) {
      expect(checkUserHash(SECRET, 'user-42', given)).toBe('wrong');
    }
  });
});
