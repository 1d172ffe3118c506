import { decodeOutbox, decodePending, decodeStoredPending, encodeOutbox, encodePending, encodePendingEntry, encodePointer, parseAnonymousState, stateFields } from '../../../services/merger/redis/codec';
import { KeySpace } from '../../../services/merger/redis/keys';
import { P, T0 } from './fixtures';

describe('Redis layout', () => {
  it('a pending entry starts with its received_at and id, readable without decoding', () => {
    const event = { id: '01JD0000000000000000000000', receivedAt: T0, name: 'https://example.com/pricing', type: 'page' as const, timestamp: 1_764_000_000, dataJson: '{"plan":"pro"}' };
    const entry = encodePending(event);
    expect(entry.subarray(0, 13).toString()).toBe(String(T0));
    expect(entry.subarray(13, 13 + event.id.length).toString()).toBe(event.id);
    expect(entry[13 + event.id.length]).toBe(0);
    expect(decodePending(entry)).toEqual(event);
  });

  it('state fields round-trip a binding and applied offsets', () => {
    const binding = { person: P, boundAt: T0, windowEnd: T0 + 300000, windowOpen: true, windowCount: 2, windowOldest: 1_764_000_000 };
    const { set } = stateFields({ applied: { 0: 17, 4: 3 }, binding });
    const hash: Record<string, string> = { v: '3' };
    for (let i = 0; i < set.length; i += 2) hash[set[i] as string] = set[i + 1] as string;
    expect(parseAnonymousState(hash, null)).toEqual({ version: 3, binding, pending: null, applied: { 0: 17, 4: 3 } });
    expect(stateFields({ applied: {}, binding: null }).unset).toContain('p');
  });

  it('state fields delete only what the stored binding has', () => {
    const binding = { person: P, boundAt: T0, windowEnd: T0 + 300000, windowOpen: false, windowCount: 0, windowOldest: null };
    expect(stateFields({ applied: { 0: 1 }, binding: null }, null).unset).toEqual([]);
    expect(stateFields({ applied: { 0: 1 }, binding: null }, binding).unset).toEqual(['p', 'b', 'w', 'wo', 'wc', 'wt']);
    expect(stateFields({ applied: { 0: 1 }, binding }, binding).unset).toEqual([]);
    expect(stateFields({ applied: { 0: 1 }, binding }, { ...binding, windowOldest: T0 }).unset).toEqual(['wt']);
    expect(stateFields({ applied: { 0: 1 }, binding }).unset).toEqual(['wt']);
  });

  it('outbox entries keep encoded values and tombstones, or a one-letter code', () => {
    const entry = { outputs: [{ stream: 'mergedEvents' as const, key: 'k', value: Buffer.from([0, 0, 0, 0, 1, 2]) }, { stream: 'mergedEvents' as const, key: 'k2', value: null }], followUps: [{ type: 'index-delete' as const, workspace: 'ws', person: P }] };
    expect(decodeOutbox(encodeOutbox({ code: 'B', entry }))).toEqual({ code: 'B', entry });
    expect(encodeOutbox({ code: 'P' })).toEqual(Buffer.from('P'));
    expect(decodeOutbox(Buffer.from('N'))).toEqual({ code: 'N' });
  });

  it('every key of an anonymous id shares one hash tag, even with braces in the id', () => {
    const keys = new KeySpace('am').entity({ kind: 'anonymous', workspace: 'ws', anonymousId: 'odd}id{' });
    const tags = Object.values(keys).map((key) => key.slice(key.indexOf('{') + 1, key.indexOf('}')));
    expect(new Set(tags).size).toBe(1);
    expect(KeySpace.parseTimerMember(KeySpace.timerMember('ws', 'a/b'))).toEqual({ workspace: 'ws', anonymousId: 'a/b' });
  });
});

describe('pending pointers (docs/design-pending-pointers.md)', () => {
  const event = { id: '01JABCDEF', receivedAt: 1_764_000_000_123, name: 'page', type: 'page' as const, timestamp: 1_764_000_000, dataJson: '{"path":"/"}' };

  it('an event from the inbound log is kept as 15 bytes naming its place and its received_at as applied', () => {
    const entry = encodePendingEntry({ ...event, source: { partition: 65_535, offset: 2 ** 40 + 7 } });
    expect(entry.length).toBe(15);
    expect(decodeStoredPending(entry)).toEqual({ kind: 'pointer', receivedAt: event.receivedAt, partition: 65_535, offset: 2 ** 40 + 7 });
  });

  it('an event without a place (left by the legacy merger) stays a copy, and either kind is read back', () => {
    const copy = encodePendingEntry(event);
    expect(copy.subarray(0, 13).toString()).toBe(String(event.receivedAt));
    expect(decodeStoredPending(copy)).toEqual({ kind: 'copy', event });
    expect(decodeStoredPending(encodePointer({ receivedAt: 1, partition: 0, offset: 0 }))).toEqual({ kind: 'pointer', receivedAt: 1, partition: 0, offset: 0 });
  });
});
