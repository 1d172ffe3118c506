import { BodyError, MAX_BODY_LEVELS, parseJsonBody } from '../../../services/ingest/body';

describe('request body parsing', () => {
  it('parses UTF-8 JSON, and treats an empty body as none', () => {
    expect(parseJsonBody(Buffer.from('{"name":"é"}'))).toEqual({ name: 'é' });
    expect(parseJsonBody(Buffer.alloc(0))).toBeUndefined();
    expect(parseJsonBody(Buffer.from('  \n'))).toBeUndefined();
  });

  it('refuses bytes that are not UTF-8 instead of replacing them', () => {
    expect(() => parseJsonBody(Buffer.from([0x22, 0xc3, 0x28, 0x22]))).toThrow(new BodyError(400, 'the body is not valid UTF-8'));
  });

  it('refuses prototype pollution keys and leaves Object.prototype clean', () => {
    expect(() => parseJsonBody(Buffer.from('{"__proto__":{"polluted":1}}'))).toThrow('forbidden key');
    expect(() => parseJsonBody(Buffer.from('{"constructor":{"prototype":{"polluted":1}}}'))).toThrow('forbidden key');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe('request body nesting', () => {
  const nestedText = (levels: number) => `${'{"d":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

  it(`accepts a body nested ${MAX_BODY_LEVELS} levels deep (a batch item's properties at their limit)`, () => {
    expect(parseJsonBody(Buffer.from(nestedText(MAX_BODY_LEVELS)))).toBeDefined();
  });

  it('refuses a body nested 5,000 deep with a 400 that names the limit, instead of overflowing later', () => {
    expect(() => parseJsonBody(Buffer.from(nestedText(5000)))).toThrow(new BodyError(400, `the body is nested deeper than ${MAX_BODY_LEVELS} levels (fields such as data, properties and traits: 32)`));
  });
});
