/**
 * Which held person operations are read ahead (services/merger/pendingReadAhead.ts): identifies
 * with an anonymous id in a workspace that merges, sent to the partition the id is keyed to,
 * reading only what the bind's retention keeps.
 */
import { heldBindOf } from '../../../services/merger/pendingReadAhead';
import { keyPartition } from '../../../services/shared/kafka/keyPartition';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { anonymousKey } from '../../../services/shared/model/keys';
import { off, P, settings, T0 } from './fixtures';

const identify = (anonymousId: string | null, workspaceSettings = settings): InboundRecord => ({
  workspace_id: 'ws',
  id: 'identify-1',
  received_at: T0,
  settings: workspaceSettings,
  command: { kind: 'identify', body: { person: P, anonymous_id: anonymousId, attributes_json: '{}' } },
});

describe('held binds', () => {
  it('an identify with an anonymous id: its partition is where the id is keyed, its cutoff the retention back', () => {
    for (const partitions of [1, 6, 7]) {
      for (const anonymousId of ['a', 'visitor-42', 'ünïcode']) {
        expect(heldBindOf(identify(anonymousId), partitions)).toEqual({
          id: 'identify-1',
          workspace: 'ws',
          anonymousId,
          partition: keyPartition(anonymousKey('ws', anonymousId), partitions),
          cutoff: T0 - settings.retention_seconds * 1000,
        });
      }
    }
  });

  it('not an identify without an anonymous id, one in a workspace that does not merge, nor other operations', () => {
    expect(heldBindOf(identify(null), 6)).toBeNull();
    expect(heldBindOf(identify('a', off), 6)).toBeNull();
    expect(heldBindOf({ workspace_id: 'ws', id: 'd', received_at: T0, settings, command: { kind: 'delete', body: { person: P } } }, 6)).toBeNull();
  });
});
