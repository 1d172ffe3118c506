import { packArgs } from '../../../services/merger/redis/packArgs';

describe('packArgs', () => {
  it('writes a MessagePack array of 32-bit raws, bytes untouched', () => {
    const packed = packArgs(['ab', Buffer.from([0, 255])]);
    expect(packed.toString('hex')).toBe(['dd00000002', 'db00000002', '6162', 'db00000002', '00ff'].join(''));
  });
});
