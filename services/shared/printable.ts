/**
 * Strings a sender controls (a URL, a parser's message quoting the body, a header) are logged.
 * The JSON log escapes control characters, but the readable view (`make logs`, pino-pretty) and
 * anything else that decodes the line prints them raw: an ESC sequence would drive the reader's
 * terminal, a newline or a bidi override would forge or disguise lines. They are written as
 * visible \u escapes instead, and a long string is cut.
 */

// C0 and C1 controls, DEL, line and paragraph separators, bidi marks (ALM, LRM, RLM),
// embeddings, overrides and isolates, and the invisible zero-width characters and BOM.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

export function printable(text: string, maxLength = 500): string {
  const cut = text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
  return cut.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
