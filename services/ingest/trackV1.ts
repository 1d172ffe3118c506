/**
 * Customer.io Track API v1 bodies → inbound records. Pure: no I/O, no clock (received_at and
 * new ids come from the caller), so every rule here is unit-tested directly.
 */
import { personFromIdentifier, isEmail, type PersonRef } from '../shared/model/person';
import type { InboundRecord, WorkspaceSettings } from '../shared/model/inbound';
import { checkEventType, checkJsonValue, checkObject, checkText, checkTimestamp, describe, isPlainObject } from './checks';
import { LIMITS, byteLength } from './limits';
import { Problems } from './problems';

export interface RequestContext {
  readonly workspaceId: string;
  readonly settings: WorkspaceSettings;
  /** Milliseconds, stamped once per request. */
  readonly receivedAt: number;
  /** A new ULID, for records the sender gave no id. */
  readonly newId: () => string;
}

/**
 * A refusal is 400 (the content is wrong) unless it says otherwise: the snippet's routes answer
 * 401/403 when the request may not write as the person it names (browserIdentity.ts).
 */
export type Translation = { readonly ok: true; readonly records: InboundRecord[] } | { readonly ok: false; readonly problems: Problems; readonly status?: 401 | 403 };

function envelope(ctx: RequestContext, id: string | undefined): Pick<InboundRecord, 'workspace_id' | 'id' | 'received_at' | 'settings'> {
  return { workspace_id: ctx.workspaceId, id: id ?? ctx.newId(), received_at: ctx.receivedAt, settings: ctx.settings };
}

export function checkIdentifier(raw: string, problems: Problems, field = 'identifier'): PersonRef | undefined {
  const identifier = checkText(raw, field, LIMITS.identifierBytes, problems);
  return identifier === undefined ? undefined : personFromIdentifier(identifier);
}

function bodyObject(body: unknown, problems: Problems): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) {
    problems.add('', `the body must be a JSON object, not ${describe(body)}`);
    return {};
  }
  return body;
}

// Fields of an identify body that steer the call rather than being attributes.
export const IDENTIFY_CONTROL_FIELDS: ReadonlySet<string> = new Set(['anonymous_id', '_update', '_timestamp']);

/** PUT /api/v1/customers/{identifier} */
export function translateIdentify(identifier: string, body: unknown, ctx: RequestContext): Translation {
  const problems = new Problems();
  const person = checkIdentifier(identifier, problems);
  const object = bodyObject(body, problems);
  const anonymousId = checkText(object.anonymous_id, 'anonymous_id', LIMITS.anonymousIdBytes, problems, false);
  if (object._update !== undefined && typeof object._update !== 'boolean') problems.add('_update', 'must be true or false');
  if (object._timestamp !== undefined) checkTimestamp(object._timestamp, '_timestamp', ctx.receivedAt, problems);
  if (object.email !== undefined && object.email !== null && (typeof object.email !== 'string' || !isEmail(object.email))) {
    problems.add('email', 'must be an email address');
  }
  if (object.created_at !== undefined && object.created_at !== null && (typeof object.created_at !== 'number' || !Number.isSafeInteger(object.created_at))) {
    problems.add('created_at', 'must be an integer number of unix seconds');
  }
  // Counted before any attribute is checked: 12,000 bad attributes are one problem, not 12,000.
  const count = Object.keys(object).filter((name) => !IDENTIFY_CONTROL_FIELDS.has(name)).length;
  if (count > LIMITS.attributesPerCall) {
    problems.add('', `at most ${LIMITS.attributesPerCall} attributes per call (got ${count})`);
    return { ok: false, problems };
  }
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(object)) {
    if (IDENTIFY_CONTROL_FIELDS.has(name)) continue;
    if (byteLength(name) > LIMITS.attributeNameBytes) {
      problems.add(name.slice(0, 40), `attribute name must be at most ${LIMITS.attributeNameBytes} bytes`);
      continue;
    }
    if (!checkJsonValue({ [name]: value }, '', problems)) continue;
    const valueBytes = typeof value === 'string' ? byteLength(value) : byteLength(JSON.stringify(value) ?? '');
    if (valueBytes > LIMITS.attributeValueBytes) {
      problems.add(name, `attribute value must be at most ${LIMITS.attributeValueBytes} bytes (got ${valueBytes})`);
      continue;
    }
    attributes[name] = value;
  }
  if (!problems.ok || !person) return { ok: false, problems };
  // The attribute update is stamped with the sender's _timestamp when given (the docs' ordering
  // guarantee for late updates); the merge itself always uses received_at.
  if (typeof object._timestamp === 'number') attributes._timestamp = object._timestamp;
  if (object._update === true) attributes._update = true;
  return {
    ok: true,
    records: [
      {
        ...envelope(ctx, undefined),
        command: { kind: 'identify', body: { person, anonymous_id: anonymousId ?? null, attributes_json: JSON.stringify(attributes) } },
      },
    ],
  };
}

interface EventFields {
  readonly id: string | undefined;
  readonly name: string | undefined;
  readonly type: 'event' | 'page' | 'screen';
  readonly timestamp: number;
  readonly dataJson: string;
  readonly data: Record<string, unknown>;
}

function eventFields(object: Record<string, unknown>, ctx: RequestContext, problems: Problems): EventFields {
  const id = checkText(object.id, 'id', LIMITS.eventIdBytes, problems, false);
  const name = checkText(object.name, 'name', LIMITS.eventNameBytes, problems);
  const type = checkEventType(object.type, 'type', problems);
  const timestamp = checkTimestamp(object.timestamp, 'timestamp', ctx.receivedAt, problems);
  const dataJson = checkObject(object.data, 'data', LIMITS.eventDataBytes, problems);
  const data = isPlainObject(object.data) ? object.data : {};
  return { id, name, type, timestamp, dataJson, data };
}

/** POST /api/v1/customers/{identifier}/events */
export function translatePersonEvent(identifier: string, body: unknown, ctx: RequestContext): Translation {
  const problems = new Problems();
  const person = checkIdentifier(identifier, problems);
  const object = bodyObject(body, problems);
  const event = eventFields(object, ctx, problems);
  if (!problems.ok || !person || event.name === undefined) return { ok: false, problems };
  return {
    ok: true,
    records: [
      {
        ...envelope(ctx, event.id),
        command: { kind: 'track', body: { person, anonymous_id: null, name: event.name, type: event.type, timestamp: event.timestamp, data_json: event.dataJson } },
      },
    ],
  };
}

/**
 * POST /api/v1/events: an anonymous event (anonymous_id set) or an invite event (no
 * anonymous_id, data.recipient an email) (SPEC R1, R4).
 */
export function translateAnonymousEvent(body: unknown, ctx: RequestContext): Translation {
  const problems = new Problems();
  const object = bodyObject(body, problems);
  const anonymousId = checkText(object.anonymous_id, 'anonymous_id', LIMITS.anonymousIdBytes, problems, false);
  const event = eventFields(object, ctx, problems);
  if (object.anonymous_id === undefined || object.anonymous_id === null) {
    const recipient = event.data.recipient;
    if (recipient === undefined) problems.add('anonymous_id', 'is required unless data.recipient is set (an invite event)');
    else if (typeof recipient !== 'string' || !isEmail(recipient)) problems.add('data.recipient', 'must be an email address');
  }
  if (!problems.ok || event.name === undefined) return { ok: false, problems };
  return {
    ok: true,
    records: [
      {
        ...envelope(ctx, event.id),
        command: { kind: 'track', body: { person: null, anonymous_id: anonymousId ?? null, name: event.name, type: event.type, timestamp: event.timestamp, data_json: event.dataJson } },
      },
    ],
  };
}

/** DELETE /api/v1/customers/{identifier} (SPEC R10). */
export function translateDelete(identifier: string, ctx: RequestContext): Translation {
  const problems = new Problems();
  const person = checkIdentifier(identifier, problems);
  if (!problems.ok || !person) return { ok: false, problems };
  return { ok: true, records: [{ ...envelope(ctx, undefined), command: { kind: 'delete', body: { person } } }] };
}

const MERGE_ID_TYPES = { id: 'ID', email: 'EMAIL', cio_id: 'CIO_ID' } as const;

function mergeParty(value: unknown, field: string, problems: Problems): PersonRef | undefined {
  if (!isPlainObject(value)) {
    problems.add(field, 'must be an object with one of id, email or cio_id');
    return undefined;
  }
  const keys = Object.keys(value);
  const key = keys[0] as keyof typeof MERGE_ID_TYPES | undefined;
  if (keys.length !== 1 || key === undefined || !(key in MERGE_ID_TYPES)) {
    problems.add(field, 'must have exactly one of id, email or cio_id');
    return undefined;
  }
  const text = checkText(value[key], `${field}.${key}`, LIMITS.identifierBytes, problems);
  if (text === undefined) return undefined;
  if (key === 'email') {
    if (!isEmail(text)) {
      problems.add(`${field}.email`, 'must be an email address');
      return undefined;
    }
    return { id_type: 'EMAIL', value: text.toLowerCase() };
  }
  return { id_type: MERGE_ID_TYPES[key], value: text };
}

/** POST /api/v1/merge_customers: {primary: {id|email|cio_id}, secondary: {...}} (SPEC R9). */
export function translateMergeCustomers(body: unknown, ctx: RequestContext): Translation {
  const problems = new Problems();
  const object = bodyObject(body, problems);
  const primary = mergeParty(object.primary, 'primary', problems);
  const secondary = mergeParty(object.secondary, 'secondary', problems);
  if (primary && secondary && primary.id_type === secondary.id_type && primary.value === secondary.value) {
    problems.add('secondary', 'must be a different person than primary');
  }
  if (!problems.ok || !primary || !secondary) return { ok: false, problems };
  return { ok: true, records: [{ ...envelope(ctx, undefined), command: { kind: 'merge', body: { primary, secondary } } }] };
}
