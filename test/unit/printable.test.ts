import { printable } from '../../services/shared/printable';

describe('printable log text', () => {
  it('writes control characters as visible escapes and leaves other text alone', () => {
    expect(printable('a\u001b[2Jb\nc\r\u0000d\u007f')).toBe('a\\u001b[2Jb\\u000ac\\u000d\\u0000d\\u007f');
    expect(printable('right-to-left \u202e override, \u2066isolate\u2069, line\u2028sep')).toBe('right-to-left \\u202e override, \\u2066isolate\\u2069, line\\u2028sep');
    // Bidi marks and invisible characters disguise a line as well as an override does.
    expect(printable('a\u200fb\u200ec\u061cd\u200be\u200df\ufeffg')).toBe('a\\u200fb\\u200ec\\u061cd\\u200be\\u200df\\ufeffg');
    expect(printable('café ünïcode 日本 😀')).toBe('café ünïcode 日本 😀');
    expect(printable('x'.repeat(600))).toBe(`${'x'.repeat(500)}…`);
  });
});
