import type { WorkspaceSettings } from '../../../services/shared/model/inbound';
import type { PersonRef } from '../../../services/shared/model/person';
import type { AnonymousOp } from '../../../services/merger/model/ops';
import type { Output } from '../../../services/merger/model/outputs';
import type { AnonymousState } from '../../../services/merger/model/state';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const settings: WorkspaceSettings = { merge_enabled: true, retention_seconds: 30 * 86400, grace_seconds: 300, trigger_window_seconds: 72 * 3600 };
export const off: WorkspaceSettings = { ...settings, merge_enabled: false };
export const P: PersonRef = { id_type: 'EMAIL', value: 'person@example.com' };
export const Q: PersonRef = { id_type: 'ID', value: 'q-42' };
export const T0 = 1_764_000_000_000;

let offset = 0;
export const at = (delta = 1) => ({ partition: 0, offset: (offset += delta) });

export const event = (id: string, receivedAt: number, extra: Partial<{ timestamp: number; name: string; settings: WorkspaceSettings }> = {}): AnonymousOp => ({
  type: 'event',
  position: at(),
  id,
  receivedAt,
  settings: extra.settings ?? settings,
  event: { name: extra.name ?? `page-${id}`, type: 'page', timestamp: extra.timestamp ?? Math.floor(receivedAt / 1000), dataJson: '{}' },
});

export const identify = (person: PersonRef, receivedAt: number, s: WorkspaceSettings = settings): AnonymousOp => ({ type: 'identify', position: at(), receivedAt, settings: s, person });

export const fresh = (): AnonymousState => ({ version: 0, binding: null, pending: [], applied: {} });

export const streams = (outputs: readonly Output[]) => outputs.map((o) => o.stream);
export const of = (outputs: readonly Output[], stream: string) => outputs.filter((o) => o.stream === stream).map((o) => o.value as unknown as Record<string, unknown>);
