/**
 * A transaction's outputs go to the broker in slices below its record batch limit, in order: the
 * control plane's clock must stay behind the commands it covers.
 */
import fc from 'fast-check';
import { bySize } from '../../../services/shared/kafka/transactionalPublisher';
import type { EncodedOutput } from '../../../services/merger/redis/codec';

const output = fc.record({ key: fc.string({ maxLength: 20 }), size: fc.integer({ min: 0, max: 3000 }) }).map(({ key, size }): EncodedOutput => ({ stream: 'inbound', key, value: size === 0 ? null : Buffer.alloc(size) }));
const bytes = (o: EncodedOutput) => Buffer.byteLength(o.key) + (o.value?.length ?? 0) + 64;

describe('bySize', () => {
  it('keeps every output once, in order, each slice within the limit unless one output alone is over it', () => {
    fc.assert(
      fc.property(fc.array(output, { maxLength: 200 }), fc.integer({ min: 100, max: 10000 }), (outputs, limit) => {
        const slices = bySize(outputs, limit);
        expect(slices.flat()).toEqual(outputs);
        for (const slice of slices) {
          expect(slice.length).toBeGreaterThan(0);
          if (slice.length > 1) expect(slice.reduce((sum, o) => sum + bytes(o), 0)).toBeLessThanOrEqual(limit);
        }
      }),
    );
  });

  it('a backlog step of 20,000 commands of 200 bytes goes out in slices under 1 MiB', () => {
    const outputs = Array.from({ length: 20_000 }, (_, i): EncodedOutput => ({ stream: 'inbound', key: `ws/a/${i}`, value: Buffer.alloc(200) }));
    const slices = bySize(outputs, 512 * 1024);
    expect(slices.length).toBeGreaterThan(1);
    expect(Math.max(...slices.map((s) => s.reduce((sum, o) => sum + bytes(o), 0)))).toBeLessThanOrEqual(512 * 1024);
  });
});
