/**
 * An entity's write deletes the outbox entries it still holds whose outputs were published:
 * those of the batch's partition below the committed offset, and not the ones it writes again.
 */
import { publishedOutbox } from '../../../services/merger/applyEntity';

describe('R7: outbox entries of published outputs', () => {
  it('are those of this partition below the committed offset, unless rewritten now', () => {
    const held = ['2:10', '2:11', '2:12', '3:5', '2:9'];
    expect(publishedOutbox(held, 2, 12, new Map())).toEqual(['2:10', '2:11', '2:9']);
    expect(publishedOutbox(held, 2, 12, new Map([['2:11', Buffer.from('P')]]))).toEqual(['2:10', '2:9']);
    expect(publishedOutbox(held, 3, 6, new Map())).toEqual(['3:5']);
    expect(publishedOutbox(held, 2, 0, new Map())).toEqual([]);
    expect(publishedOutbox([], 2, 100, new Map())).toEqual([]);
  });
});
