/**
 * A record of the request topic (schemas/request.avsc) → inbound records, through the very
 * translators of the HTTP routes: a command written to Kafka passes the same checks, with the
 * same limits and messages, as the request that would carry it over HTTP. Pure: the bridge
 * (requestBridge.ts) gives it the decoded record, where it sits in the log, the workspace in force
 * and the time it was read.
 */
import type { InboundRecord } from '../shared/model/inbound';
import type { Request } from '../shared/generated/requestTypes';
import { checkText, isPlainObject } from './checks';
import { LIMITS, byteLength } from './limits';
import { IDENTIFY_CONTROL_FIELDS, translateAnonymousEvent, translateDelete, translateIdentify, translateMergeCustomers, translatePersonEvent, type RequestContext, type Translation } from './trackV1';
import { errorBody, Problems } from './problems';
import { translateSegmentMessage } from './segment';
import type { Workspace } from './workspaces';

/** Where a request record sits, and what Kafka says of it. */
export interface RequestPlace {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The Kafka record's timestamp, epoch milliseconds: the event time when the request gives none. */
  readonly timestampMs: number;
}

export type RequestDecision = { readonly ok: true; readonly records: InboundRecord[] } | { readonly ok: false; readonly reason: string };

/** The id a request without one is given: its place in the log, zero-padded so ids sort in log order. */
export function placeId(place: Pick<RequestPlace, 'partition' | 'offset'>): string {
  return `rq-${String(place.partition).padStart(5, '0')}-${place.offset.padStart(19, '0')}`;
}

/** A JSON object given as text (data_json, attributes_json), its size checked before it is parsed. */
function parseObjectText(text: string | null, field: string, maxBytes: number): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  if (text === null) return { ok: true, value: {} };
  const bytes = byteLength(text);
  if (bytes > maxBytes) return { ok: false, reason: `${field}: must be at most ${maxBytes} bytes (got ${bytes})` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `${field}: is not JSON (${(error as Error).message})` };
  }
  if (!isPlainObject(value)) return { ok: false, reason: `${field}: must be a JSON object` };
  return { ok: true, value };
}

/** The problems as one line: the HTTP answer's meta.errors, joined. */
const reasonOf = (problems: Problems): string => errorBody(problems.list, problems.omitted).meta.errors.join('; ');

/**
 * Decides one request: the inbound records it becomes (stamped with `receivedAt` and the settings
 * in force), or why it is refused — the dead letter's reason.
 * @param workspaceOf the workspace in force with this id, if any
 * @param onlyWorkspace the one workspace this bridge takes (ANONMERGE_INGEST_BRIDGE_WORKSPACE: a
 *   tenant's own topic, docs/producing.md), or null for any the record names
 */
export function decideRequest(request: Request, place: RequestPlace, workspaceOf: (id: string) => Workspace | undefined, onlyWorkspace: string | null, receivedAt: number): RequestDecision {
  if (onlyWorkspace !== null && request.workspace_id !== onlyWorkspace) {
    return { ok: false, reason: `workspace_id: is ${JSON.stringify(request.workspace_id.slice(0, 64))}, but ${place.topic} takes workspace ${onlyWorkspace}'s commands only` };
  }
  const workspace = workspaceOf(request.workspace_id);
  if (!workspace) return { ok: false, reason: `workspace_id: no workspace ${JSON.stringify(request.workspace_id.slice(0, 64))} is in force` };
  if (workspace.disabled) return { ok: false, reason: `workspace_id: workspace ${workspace.id} is disabled` };
  if (request.id !== null) {
    // Every command's id, not only an event's (which the HTTP routes take from the body).
    const problems = new Problems();
    checkText(request.id, 'id', LIMITS.eventIdBytes, problems);
    if (!problems.ok) return { ok: false, reason: reasonOf(problems) };
  }
  const id = request.id ?? placeId(place);
  const ctx: RequestContext = { workspaceId: workspace.id, settings: workspace.settings, receivedAt, newId: () => id };
  const timestamp = request.timestamp ?? Math.floor(place.timestampMs / 1000);
  const command = request.command;
  let translation: Translation;
  if ('dev.anonmerge.requests.Track' in command) {
    const track = command['dev.anonmerge.requests.Track'];
    const data = parseObjectText(track.data_json, 'data_json', LIMITS.eventDataBytes);
    if (!data.ok) return data;
    const body = { id, name: track.name, type: track.type, timestamp, data: data.value };
    if (track.identifier !== null && track.anonymous_id !== null) return { ok: false, reason: 'anonymous_id: must be null when identifier is set (an event of a known person)' };
    translation = track.identifier !== null ? translatePersonEvent(track.identifier, body, ctx) : translateAnonymousEvent({ ...body, anonymous_id: track.anonymous_id }, ctx);
  } else if ('dev.anonmerge.requests.Identify' in command) {
    const identify = command['dev.anonmerge.requests.Identify'];
    // A Track API identify carries at most attributesPerCall attributes of attributeValueBytes.
    const attributes = parseObjectText(identify.attributes_json, 'attributes_json', LIMITS.trackBodyBytes);
    if (!attributes.ok) return attributes;
    const control = Object.keys(attributes.value).find((name) => IDENTIFY_CONTROL_FIELDS.has(name) && name !== '_update');
    if (control !== undefined) return { ok: false, reason: `attributes_json.${control}: is set by the record's own fields (anonymous_id, timestamp), not as an attribute` };
    const body = { ...attributes.value, anonymous_id: identify.anonymous_id ?? undefined, _timestamp: timestamp };
    translation = translateIdentify(identify.identifier, body, ctx);
  } else if ('dev.anonmerge.requests.Delete' in command) {
    translation = translateDelete(command['dev.anonmerge.requests.Delete'].identifier, ctx);
  } else if ('dev.anonmerge.requests.Merge' in command) {
    const merge = command['dev.anonmerge.requests.Merge'];
    translation = translateMergeCustomers({ primary: { [merge.primary.kind]: merge.primary.value }, secondary: { [merge.secondary.kind]: merge.secondary.value } }, ctx);
  } else {
    const alias = command['dev.anonmerge.requests.Alias'];
    translation = translateSegmentMessage('alias', { messageId: id, userId: alias.user_id, previousId: alias.previous_id }, ctx);
  }
  if (!translation.ok) return { ok: false, reason: reasonOf(translation.problems) };
  return { ok: true, records: translation.records };
}
