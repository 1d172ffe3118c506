import { parseOutboundKey } from '../../../services/consumer/outboundKeys';
import { anonymousKey, personRecordKey } from '../../../services/shared/model/keys';

describe('outbound keys (docs/consuming.md, "Keys")', () => {
  it('reads a person key as the merger writes it, an email with its colon-free value', () => {
    expect(parseOutboundKey(personRecordKey('demo', { id_type: 'EMAIL', value: 'ann@example.com' }))).toEqual({ kind: 'person', workspaceId: 'demo', person: { id_type: 'EMAIL', value: 'ann@example.com' }, raw: 'demo/p/email:ann@example.com' });
  });

  it('keeps everything after the id type, colons and slashes included', () => {
    const key = personRecordKey('ws', { id_type: 'ID', value: 'a:b/c' });
    expect(parseOutboundKey(key)).toMatchObject({ kind: 'person', workspaceId: 'ws', person: { id_type: 'ID', value: 'a:b/c' } });
  });

  it('reads anonymous ids and invite recipients', () => {
    expect(parseOutboundKey(anonymousKey('ws', 'cookie/1'))).toEqual({ kind: 'anonymous', workspaceId: 'ws', anonymousId: 'cookie/1', raw: 'ws/a/cookie/1' });
    expect(parseOutboundKey('ws/i/friend@example.com')).toEqual({ kind: 'invite', workspaceId: 'ws', recipient: 'friend@example.com', raw: 'ws/i/friend@example.com' });
  });

  it('answers "other" for anything else rather than guessing', () => {
    for (const raw of ['', 'nokind', '/p/id:x', 'ws/x/thing', 'ws/p/nocolon', 'ws/p/weird:x', 'ws/pp/id:x']) expect(parseOutboundKey(raw)).toEqual({ kind: 'other', raw });
  });
});
