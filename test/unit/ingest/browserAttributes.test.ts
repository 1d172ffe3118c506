import { attributesNotAllowed, parseBrowserAttributes } from '../../../services/ingest/browserAttributes';

describe('browser attribute allow-list', () => {
  const none = new Set<string>();

  it('names every attribute the list does not allow, and none of the control fields', () => {
    const body = { anonymous_id: 'a', _update: true, _timestamp: 1_700_000_000, user_hash: 'h', plan: 'pro', email: 'x@example.com', id: '1' };
    expect(attributesNotAllowed(body, ['plan'], new Set(['user_hash']))).toEqual(['email', 'id']);
    expect(attributesNotAllowed(body, [], new Set(['user_hash']))).toEqual(['plan', 'email', 'id']);
    expect(attributesNotAllowed({ anonymous_id: 'a' }, [], none)).toEqual([]);
  });

  it('allows nothing when the workspace lists nothing', () => {
    const problems: string[] = [];
    expect(parseBrowserAttributes(undefined, 'w.browser_attributes', problems)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('takes a list of names; email only when listed; never an identifier', () => {
    const problems: string[] = [];
    expect(parseBrowserAttributes(['first_name', 'email', 'id', 'cio_id', '', 3], 'w.browser_attributes', problems)).toEqual(['first_name', 'email']);
    expect(problems).toEqual([
      'w.browser_attributes[2] "id" is an identifier: it can only be set with the API key',
      'w.browser_attributes[3] "cio_id" is an identifier: it can only be set with the API key',
      'w.browser_attributes[4] must be a non-empty string',
      'w.browser_attributes[5] must be a non-empty string',
    ]);
    const notAList: string[] = [];
    parseBrowserAttributes('plan', 'w.browser_attributes', notAList);
    expect(notAList).toEqual(['w.browser_attributes must be a list of attribute names']);
  });
});
