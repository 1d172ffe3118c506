import calculateSlot from 'cluster-key-slot';
import { groupBySlot, groupSlotsByNode } from '../../../services/merger/redis/slotRouting';
import { KeySpace } from '../../../services/merger/redis/keys';

describe('slot routing of batch script calls (Redis Cluster)', () => {
  const keys = new KeySpace('am');

  it("an entity's four keys share one slot, so any of them routes it", () => {
    for (const anonymousId of ['a', 'b}x', '{weird}', 'x'.repeat(300)]) {
      const k = keys.entity({ kind: 'anonymous', workspace: 'w', anonymousId });
      expect(new Set([k.state, k.pending, k.seen].map((key) => calculateSlot(key))).size).toBe(1);
    }
  });

  it('groups positions by slot, keeping the caller order inside each group', () => {
    const slotKeys = ['a1', 'b2', 'a1', 'c3', 'b2'].map((id) => keys.entity({ kind: 'anonymous', workspace: 'w', anonymousId: id }).state);
    const groups = groupBySlot(slotKeys);
    expect([...groups.values()].sort((x, y) => (x[0] as number) - (y[0] as number))).toEqual([[0, 2], [1, 4], [3]]);
    for (const [slot, indexes] of groups) for (const i of indexes) expect(calculateSlot(slotKeys[i] as string)).toBe(slot);
  });

  it('puts the slots one master serves in one group, and unknown slots in groups of their own', () => {
    const table: string[][] = [];
    for (let slot = 0; slot < 16384; slot += 1) table[slot] = slot < 5461 ? ['10.0.0.1:6379', '10.0.0.4:6379'] : slot < 10923 ? ['10.0.0.2:6379'] : ['10.0.0.3:6379'];
    delete table[16000];
    const groups = groupSlotsByNode([1, 6000, 2, 12000, 16000, 5460], table);
    expect(Object.fromEntries(groups)).toEqual({ '10.0.0.1:6379': [1, 2, 5460], '10.0.0.2:6379': [6000], '10.0.0.3:6379': [12000], 'unknown slot 16000': [16000] });
  });
});
