/**
 * The data consumer's hold (services/merger/ordered/dataBuffer.ts) on hand-picked pairs of logs —
 * inbound (events, ticks) and commands (binding changes, clocks); the model-based test of the two
 * planes (orderedPlanes.property.test.ts) runs it on random ones.
 */
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { clockRecord, commandRecord } from '../../../services/merger/ordered/commandRecords';
import { committableDataPositions, controlClocksAwaited, emptyDataBuffer, frontierWaitsUntil, heldInbound, heldItems, releaseData, releasePoint, type DataBuffer, type HeldItem, type LogEntry } from '../../../services/merger/ordered/dataBuffer';

const L = 100;
const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
const event = (id: string, at: number, workspace = 'w'): InboundRecord => ({
  workspace_id: workspace,
  id,
  received_at: at,
  settings,
  command: { kind: 'track', body: { person: null, anonymous_id: 'a', name: 'n', type: 'page', timestamp: 1, data_json: '{}' } },
});
const bind = (id: string, at: number): InboundRecord =>
  commandRecord({ kind: 'bind', workspace: 'w', at, recordId: id, recordContent: id, anonymousId: 'a', person: { id_type: 'ID', value: 'p' }, windowEnd: at + 5000, settings }, settings);
const tick = (at: number): InboundRecord => ({ workspace_id: '', id: `tick-${at}`, received_at: at, settings: { ...settings, merge_enabled: false }, command: { kind: 'tick', body: {} } });
const clock = (at: number, partition = 0) => clockRecord(partition, at);
/** Entries of a log from `from` on. */
const log = (from: number, ...records: InboundRecord[]): LogEntry[] => records.map((record, i) => ({ offset: from + i, record }));
const idOf = ({ item }: HeldItem) => (item.kind === 'event' ? item.record.id : item.command.recordId);
const atOf = ({ item }: HeldItem) => (item.kind === 'event' ? item.record.received_at : item.command.at);
const idsOf = (items: readonly HeldItem[]) => items.map(idOf);
/** Workspace w on control partition 0, w2 on 1. */
const controlOf = (workspace: string) => (workspace === 'w2' ? 1 : 0);
const release = (buffer: DataBuffer, read: { inbound?: LogEntry[]; commands?: LogEntry[] }) => releaseData(buffer, read, controlOf, L);

describe('the data hold', () => {
  it('an event waits for its workspace clock, read in the commands log', () => {
    // The inbound frontier (300 − L) has passed the event; the clock has not.
    const first = release(emptyDataBuffer(), { inbound: log(0, event('e', 150), tick(300)) });
    expect(first.ready).toEqual([]);
    expect(releasePoint(first.buffer, 0, L)).toBe(Number.NEGATIVE_INFINITY);
    const second = release(first.buffer, { commands: log(0, clock(149)) });
    expect(second.ready).toEqual([]);
    expect(idsOf(release(second.buffer, { commands: log(1, clock(150)) }).ready)).toEqual(['e']);
  });

  it('an event waits for the inbound frontier: the highest received_at read in inbound, less L', () => {
    // The clock has passed the event; events received up to L before it may still come in inbound.
    const first = release(emptyDataBuffer(), { inbound: log(0, event('e', 150)), commands: log(0, clock(1000)) });
    expect(first.ready).toEqual([]);
    expect(releasePoint(first.buffer, 0, L)).toBe(150 - L);
    const second = release(first.buffer, { inbound: log(1, tick(249)) });
    expect(second.ready).toEqual([]);
    const third = release(second.buffer, { inbound: log(2, tick(250)) });
    expect(idsOf(third.ready)).toEqual(['e']);
    expect(releasePoint(third.buffer, 0, L)).toBe(150);
    expect(third.other.map((o) => o.record.id)).toEqual(['tick-250']);
  });

  it("each workspace waits for its own control partition's clock", () => {
    const step = release(emptyDataBuffer(), { inbound: log(0, event('e', 150), event('e2', 150, 'w2'), tick(400)), commands: log(0, clock(300, 0)) });
    expect(idsOf(step.ready)).toEqual(['e']);
    expect(idsOf(heldItems(step.buffer))).toEqual(['e2']);
    expect(releasePoint(step.buffer, 1, L)).toBe(Number.NEGATIVE_INFINITY);
    expect(idsOf(release(step.buffer, { commands: log(1, clock(300, 1)) }).ready)).toEqual(['e2']);
  });

  it('R2b: the bind of an identify received before an event goes first, though read after it', () => {
    // The event (150) is read first; the identify (100) is decided later and its bind written to the commands log.
    const first = release(emptyDataBuffer(), { inbound: log(0, event('e', 150), tick(300)) });
    expect(first.ready).toEqual([]);
    const second = release(first.buffer, { commands: log(0, bind('i', 100), clock(200)) });
    expect(idsOf(second.ready)).toEqual(['i', 'e']);
    expect(committableDataPositions(second.buffer, { inbound: 2, commands: 2 }, L)).toEqual({ inbound: { offset: 2, highest: 300 }, commands: { offset: 2, clocks: new Map([[0, 200]]) } });
  });

  it('releases in (received_at, id) order, whatever the interleaving of the two logs’ reads', () => {
    const inbound = log(0, event('e3', 130), event('e1', 110), event('b', 120), event('a', 120), tick(180), event('e5', 170), tick(400));
    const commands = log(0, bind('i2', 120), clock(125), bind('i4', 160), clock(400));
    const expected = ['e1', 'a', 'b', 'i2', 'e3', 'i4', 'e5'];
    // Read in steps of so many entries of each log; a log read 0 at a time is read whole once the other is.
    const sizes = [0, 1, 2, 3, 7];
    for (const inboundBatch of sizes)
      for (const commandsBatch of sizes) {
        if (inboundBatch + commandsBatch === 0) continue;
        let buffer = emptyDataBuffer();
        const released: HeldItem[] = [];
        for (let i = 0, c = 0; i < inbound.length || c < commands.length; ) {
          const fromInbound = inboundBatch > 0 || c >= commands.length ? inboundBatch || inbound.length : 0;
          const fromCommands = commandsBatch > 0 || i >= inbound.length ? commandsBatch || commands.length : 0;
          const step = release(buffer, { inbound: inbound.slice(i, i + fromInbound), commands: commands.slice(c, c + fromCommands) });
          released.push(...step.ready);
          buffer = step.buffer;
          i += fromInbound;
          c += fromCommands;
        }
        expect({ inboundBatch, commandsBatch, released: idsOf(released) }).toEqual({ inboundBatch, commandsBatch, released: expected });
        expect(heldItems(buffer)).toEqual([]);
      }
  });

  it('moves an inbound event read at or below the frontier to just after it, which a replay does too', () => {
    // 100 and 400 are at or below 500 − L: late (their ingest stalled past L); 401 is not.
    const inbound = log(0, tick(500), event('late', 100), event('edge', 400), event('onTime', 401), tick(700));
    const step = release(emptyDataBuffer(), { inbound, commands: log(0, clock(600)) });
    expect(step.ready.map((h) => [idOf(h), atOf(h), h.lateFrom])).toEqual([
      ['edge', 401, 400],
      ['late', 401, 100],
      ['onTime', 401, null],
    ]);
    // Read again from the late event, with the highest read before it: the same place.
    const again = release(emptyDataBuffer(new Map([[0, 600]]), 500), { inbound: inbound.slice(1) });
    expect(again.ready.map((h) => [idOf(h), atOf(h), h.lateFrom])).toEqual(step.ready.map((h) => [idOf(h), atOf(h), h.lateFrom]));
  });

  it('a restart reads each log again from its first held item (by offset), with what was read before it', () => {
    const inbound = log(0, event('e1', 150), event('e3', 320), tick(260), event('e2', 300), tick(330));
    const commands = log(0, clock(100), bind('i', 250), clock(400));
    const step = release(emptyDataBuffer(), { inbound, commands });
    // Release point min(400, 330 − L) = 230: e1 goes; i (250), e3 (320), e2 (300) are held.
    expect(idsOf(step.ready)).toEqual(['e1']);
    expect(heldInbound(step.buffer)).toBe(2);
    const positions = committableDataPositions(step.buffer, { inbound: 5, commands: 3 }, L);
    expect(positions).toEqual({ inbound: { offset: 1, highest: 150 }, commands: { offset: 1, clocks: new Map([[0, 100]]) } });
    // Restarted there, it holds the same and releases the same later.
    const restarted = release(emptyDataBuffer(positions.commands.clocks, positions.inbound.highest), { inbound: inbound.slice(1), commands: commands.slice(1) });
    expect(restarted.ready).toEqual([]);
    expect(restarted.buffer).toEqual(step.buffer);
    const later = log(5, tick(600));
    expect(idsOf(release(restarted.buffer, { inbound: later }).ready)).toEqual(idsOf(release(step.buffer, { inbound: later }).ready));
    expect(idsOf(release(step.buffer, { inbound: later }).ready)).toEqual(['i', 'e2', 'e3']);
  });

  it('with nothing held in a log, a restart reads it from the next offset, with all that was read', () => {
    const step = release(emptyDataBuffer(), { inbound: log(0, event('e', 150), tick(400)), commands: log(0, bind('i', 100), clock(200), bind('j', 350)) });
    expect(idsOf(step.ready)).toEqual(['i', 'e']);
    expect(committableDataPositions(step.buffer, { inbound: 2, commands: 3 }, L)).toEqual({ inbound: { offset: 2, highest: 400 }, commands: { offset: 2, clocks: new Map([[0, 200]]) } });
    const none = release(step.buffer, { inbound: log(2, tick(500)), commands: log(3, clock(500)) });
    expect(idsOf(none.ready)).toEqual(['j']);
    expect(committableDataPositions(none.buffer, { inbound: 3, commands: 4 }, L)).toEqual({ inbound: { offset: 3, highest: 500 }, commands: { offset: 4, clocks: new Map([[0, 500]]) } });
    expect(committableDataPositions(emptyDataBuffer(), { inbound: 0, commands: 0 }, L)).toEqual({ inbound: { offset: 0, highest: Number.NEGATIVE_INFINITY }, commands: { offset: 0, clocks: new Map() } });
  });

  it('a clock never goes back', () => {
    const step = release(emptyDataBuffer(), { commands: log(0, clock(300), clock(200)) });
    expect(step.buffer.clocks).toEqual(new Map([[0, 300]]));
  });

  it('leaves ticks and person operations in inbound to the caller, and skips records in the wrong log', () => {
    const identify: InboundRecord = { workspace_id: 'w', id: 'x', received_at: 1, settings, command: { kind: 'identify', body: { person: { id_type: 'ID', value: 'p' }, anonymous_id: 'a', attributes_json: '{}' } } };
    const step = release(emptyDataBuffer(), { inbound: log(0, identify, tick(50), bind('b', 60), clock(70)), commands: log(0, event('e', 80), tick(90), identify) });
    expect(step.other.map((o) => o.record.id)).toEqual(['x', 'tick-50']);
    expect(step.misplaced.map((o) => o.record.id)).toEqual(['e', 'tick-90', 'x', 'b', 'clock-0']);
    expect(step.ready).toEqual([]);
    expect(heldItems(step.buffer)).toEqual([]);
    // A clock or a tick in inbound still counts for the frontier; nothing in the wrong log moves a clock.
    expect(step.buffer.highest).toBe(70);
    expect(step.buffer.clocks).toEqual(new Map());
  });

  it('asks for the received_at that releases the oldest item waiting for the frontier, and nothing when none waits for it', () => {
    // Clock far ahead: what is held waits for the inbound frontier only.
    let step = release(emptyDataBuffer(), { commands: log(0, clock(1000)), inbound: log(0, event('e1', 50), event('e2', 60)) });
    expect(idsOf(step.ready)).toEqual([]);
    expect(frontierWaitsUntil(step.buffer, L)).toBe(50 + L);
    // Inbound shows 150: e1 and e2 are released, nothing waits.
    step = release(step.buffer, { inbound: log(2, tick(160)) });
    expect(idsOf(step.ready)).toEqual(['e1', 'e2']);
    expect(frontierWaitsUntil(step.buffer, L)).toBeNull();
    // An item the frontier has passed waits for the clock only: no tick of inbound helps it.
    const behindClock = release(emptyDataBuffer(), { inbound: log(0, event('e3', 10), tick(500)) });
    expect(idsOf(behindClock.ready)).toEqual([]);
    expect(frontierWaitsUntil(behindClock.buffer, L)).toBeNull();
  });

  it('R6: asks each control clock to pass the oldest held item it has not passed, and the first open window of its workspaces', () => {
    // w (control 0) has clock 120; w2 (control 1) has none yet.
    const step = release(emptyDataBuffer(), { inbound: log(0, event('e1', 100), event('e2', 150), event('e3', 170, 'w2'), tick(140)), commands: log(0, clock(120, 0)) });
    expect(idsOf(heldItems(step.buffer))).toEqual(['e1', 'e2', 'e3']);
    // e1 waits for the frontier only (the clock has passed it); e2 and e3 wait for their clocks.
    expect(controlClocksAwaited(step.buffer, new Map(), controlOf, L)).toEqual(new Map([[0, 150 + L], [1, 170 + L]]));
    // A window of a w workspace ends at 130: the clock must pass it, so at 131 + L it is asked for first.
    expect(controlClocksAwaited(step.buffer, new Map([[0, 130]]), controlOf, L)).toEqual(new Map([[0, 131 + L], [1, 170 + L]]));
    // A window the clock has passed waits for the frontier alone; nothing held: nothing asked.
    expect(controlClocksAwaited(step.buffer, new Map([[0, 119]]), controlOf, L).get(0)).toBe(150 + L);
    expect(controlClocksAwaited(emptyDataBuffer(new Map([[0, 500]])), new Map(), controlOf, L)).toEqual(new Map());
  });
});
