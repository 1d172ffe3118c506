/**
 * The data hold (services/merger/ordered/dataBuffer.ts) keeps what it holds in groups sorted by
 * received_at, so that a batch costs what it reads and releases rather than what is held. Here it
 * is checked against the plain version it replaced — one list, every question answered by a scan
 * of it — on random logs of two workspaces on two control partitions, read in random steps:
 * after every step both release the same items in the same order and give the same answers
 * (restart positions, what waits for the frontier and for each clock, the pause).
 */
import fc from 'fast-check';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { clockRecord, commandOf, commandRecord } from '../../../services/merger/ordered/commandRecords';
import {
  committableDataPositions,
  controlClocksAwaited,
  emptyDataBuffer,
  frontierWaitsUntil,
  heldCount,
  heldInbound,
  pausesInbound,
  releaseData,
  type Clocks,
  type HeldItem,
  type LogEntry,
} from '../../../services/merger/ordered/dataBuffer';
import { compareItems, type DataItem } from '../../../services/merger/ordered/dataPlane';

const L = 100;
const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
const controlOf = (workspace: string) => (workspace === 'w2' ? 1 : 0);

/** The hold as it was: one list of held items, scanned whole for every question. */
class ScanningHold {
  held: HeldItem[] = [];
  clocks: Clocks = new Map();
  highest = Number.NEGATIVE_INFINITY;

  private pointOf(workspace: string): number {
    return Math.min(this.clocks.get(controlOf(workspace)) ?? Number.NEGATIVE_INFINITY, this.highest - L);
  }

  release(read: { inbound: readonly LogEntry[]; commands: readonly LogEntry[] }): HeldItem[] {
    for (const { record, offset } of read.commands) {
      if (record.command.kind === 'clock') {
        const partition = record.command.body.control_partition;
        if (record.received_at > (this.clocks.get(partition) ?? Number.NEGATIVE_INFINITY)) this.clocks = new Map(this.clocks).set(partition, record.received_at);
        continue;
      }
      const command = commandOf(record);
      if (command) this.held.push({ log: 'commands', offset, workspace: record.workspace_id, item: { kind: 'command', command }, at: command.at, highestBefore: Number.NEGATIVE_INFINITY, clocksBefore: this.clocks, lateFrom: null });
    }
    for (const { record, offset } of read.inbound) {
      const highestBefore = this.highest;
      if (record.received_at > this.highest) this.highest = record.received_at;
      if (record.command.kind !== 'track') continue;
      const frontier = highestBefore - L;
      const late = record.received_at <= frontier;
      const at = late ? frontier + 1 : record.received_at;
      const item: DataItem = { kind: 'event', record: late ? { ...record, received_at: at } : record };
      this.held.push({ log: 'inbound', offset, workspace: record.workspace_id, item, at, highestBefore, clocksBefore: new Map(), lateFrom: late ? record.received_at : null });
    }
    const ready = this.held.filter((h) => h.at <= this.pointOf(h.workspace));
    this.held = this.held.filter((h) => h.at > this.pointOf(h.workspace));
    return ready.sort((a, b) => compareItems(a.item, b.item));
  }

  positions(next: { inbound: number; commands: number }) {
    const first = (log: 'inbound' | 'commands') => this.held.filter((h) => h.log === log).sort((a, b) => a.offset - b.offset)[0];
    const inbound = first('inbound');
    const commands = first('commands');
    return {
      inbound: inbound ? { offset: inbound.offset, highest: inbound.highestBefore } : { offset: next.inbound, highest: this.highest },
      commands: commands ? { offset: commands.offset, clocks: commands.clocksBefore } : { offset: next.commands, clocks: this.clocks },
    };
  }

  frontierWaitsUntil(): number | null {
    const above = this.held.filter((h) => h.at > this.highest - L).map((h) => h.at);
    return above.length > 0 ? Math.min(...above) + L : null;
  }

  clocksAwaited(): Map<number, number> {
    const awaited = new Map<number, number>();
    for (const h of this.held) {
      const control = controlOf(h.workspace);
      if (h.at > (this.clocks.get(control) ?? Number.NEGATIVE_INFINITY)) awaited.set(control, Math.min(awaited.get(control) ?? Number.POSITIVE_INFINITY, h.at + L));
    }
    return awaited;
  }

  pauses(bound: number): boolean {
    return this.held.filter((h) => h.log === 'inbound').length > bound && this.held.some((h) => h.log === 'inbound' && h.at <= this.highest - L);
  }
}

const track = (id: string, at: number, workspace: string): InboundRecord => ({
  workspace_id: workspace,
  id,
  received_at: at,
  settings,
  command: { kind: 'track', body: { person: null, anonymous_id: `a-${id}`, name: 'n', type: 'page', timestamp: 1, data_json: '{}' } },
});
const tick = (id: string, at: number): InboundRecord => ({ workspace_id: '', id, received_at: at, settings: { ...settings, merge_enabled: false }, command: { kind: 'tick', body: {} } });
const bind = (id: string, at: number, workspace: string): InboundRecord =>
  commandRecord({ kind: 'bind', workspace, at, recordId: id, recordContent: id, anonymousId: `a-${id}`, person: { id_type: 'ID', value: 'p' }, windowEnd: at + 5000, settings }, settings);

/** Inbound: received_at mostly rising, some a little out of order (two ingest replicas), some long late; ticks among them. */
const inboundLog = fc.array(fc.record({ step: fc.integer({ min: 0, max: 60 }), back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 150 }), fc.integer({ min: 0, max: 2000 })), workspace: fc.constantFrom('w', 'w2'), tick: fc.boolean() }), { maxLength: 120 }).map((specs) => {
  let t = 1000;
  return specs.map((s, i) => {
    t += s.step;
    return s.tick && s.back === 0 ? tick(`t${i}`, t) : track(`e${i}`, t - s.back, s.workspace);
  });
});

/** Commands: binds, in rising received_at per workspace or not (the hold must not rely on it), and each control partition's clock rising. */
const commandsLog = fc.array(fc.record({ step: fc.integer({ min: 0, max: 80 }), back: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 800 })), workspace: fc.constantFrom('w', 'w2'), clock: fc.boolean() }), { maxLength: 80 }).map((specs) => {
  let t = 1000;
  const clocks = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  return specs.map((s, i) => {
    t += s.step;
    if (!s.clock) return bind(`b${i}`, t - s.back, s.workspace);
    const control = controlOf(s.workspace);
    clocks[control] = Math.max(clocks[control] as number, t - 150);
    return clockRecord(control, clocks[control] as number);
  });
});

/** Read sizes for each step: inbound entries, then commands entries. */
const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 })), { minLength: 1, maxLength: 40 });

const idOf = (h: HeldItem) => (h.item.kind === 'event' ? h.item.record.id : h.item.command.recordId);

describe('the data hold, grouped by workspace and sorted, against the one-list hold it replaced', () => {
  it('releases the same items in the same order and answers every question the same, step by step', () => {
    fc.assert(
      fc.property(inboundLog, commandsLog, steps, fc.integer({ min: 0, max: 20 }), (inbound, commands, sizes, bound) => {
        const scanning = new ScanningHold();
        let buffer = emptyDataBuffer();
        let i = 0;
        let c = 0;
        const entries = (log: InboundRecord[], from: number, to: number): LogEntry[] => log.slice(from, to).map((record, k) => ({ offset: from + k, record }));
        for (let s = 0; i < inbound.length || c < commands.length; s += 1) {
          // After the given steps, the rest in steps of five.
          const [inboundSize, commandsSize] = sizes[s] ?? [5, 5];
          const read = { inbound: entries(inbound, i, i + inboundSize), commands: entries(commands, c, c + commandsSize) };
          i = Math.min(inbound.length, i + inboundSize);
          c = Math.min(commands.length, c + commandsSize);
          const expected = scanning.release(read);
          const step = releaseData(buffer, read, controlOf, L);
          buffer = step.buffer;
          expect(step.ready.map(idOf)).toEqual(expected.map(idOf));
          expect(step.ready.map((h) => h.at)).toEqual(expected.map((h) => h.at));
          expect(committableDataPositions(buffer, { inbound: i, commands: c }, L)).toEqual(scanning.positions({ inbound: i, commands: c }));
          expect(frontierWaitsUntil(buffer, L)).toEqual(scanning.frontierWaitsUntil());
          expect(controlClocksAwaited(buffer, new Map(), controlOf, L)).toEqual(scanning.clocksAwaited());
          expect(pausesInbound(buffer, L, bound)).toBe(scanning.pauses(bound));
          expect(heldInbound(buffer)).toBe(scanning.held.filter((h) => h.log === 'inbound').length);
          expect(heldCount(buffer)).toBe(scanning.held.length);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('a batch processed again on the buffer it started from gives the same release (the buffer is never changed)', () => {
    fc.assert(
      fc.property(inboundLog, commandsLog, (inbound, commands) => {
        const half = (log: InboundRecord[]) => log.slice(0, log.length >> 1).map((record, k) => ({ offset: k, record }));
        const rest = (log: InboundRecord[]) => log.slice(log.length >> 1).map((record, k) => ({ offset: (log.length >> 1) + k, record }));
        const first = releaseData(emptyDataBuffer(), { inbound: half(inbound), commands: half(commands) }, controlOf, L);
        const once = releaseData(first.buffer, { inbound: rest(inbound), commands: rest(commands) }, controlOf, L);
        const again = releaseData(first.buffer, { inbound: rest(inbound), commands: rest(commands) }, controlOf, L);
        expect(again.ready.map(idOf)).toEqual(once.ready.map(idOf));
        expect(heldCount(again.buffer)).toBe(heldCount(once.buffer));
      }),
      { numRuns: 300 },
    );
  });
});
