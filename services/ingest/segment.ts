/**
 * Segment-spec messages (what Customer.io Data Pipelines, Segment and RudderStack SDKs send) →
 * inbound records. Pure, like trackV1.ts.
 *
 *   identify {userId, anonymousId?, traits}  → Identify (the merge request when both ids are set)
 *   track    {userId | anonymousId, event, properties}
 *   page     {userId | anonymousId, name, properties.url}  → type page, named by its URL
 *   screen   {userId | anonymousId, name, properties}      → type screen
 *   alias    {previousId, userId}             → Alias (the merger decides person or anonymous id)
 *   identify with only anonymousId, and group: valid in the spec but carry nothing anonmerge keeps
 *   (anonymous traits, groups); they are accepted and produce no record.
 *
 * messageId is the idempotency key. timestamp (ISO-8601) is the event time; without it,
 * originalTimestamp, then the received time.
 */
import { personFromIdentifier, type PersonRef } from '../shared/model/person';
import type { EventType, InboundRecord } from '../shared/model/inbound';
import { MAX_JSON_DEPTH, checkJsonValue, checkObject, checkText, checkTimestamp, describe, isPlainObject } from './checks';
import { nestsDeeperThan } from './jsonDepth';
import { LIMITS, byteLength } from './limits';
import { Problems } from './problems';
import type { RequestContext, Translation } from './trackV1';

export const SEGMENT_TYPES = ['identify', 'track', 'page', 'screen', 'alias', 'group'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

function isoSeconds(value: unknown, field: string, ctx: RequestContext, problems: Problems): number {
  if (value === undefined || value === null) return checkTimestamp(undefined, field, ctx.receivedAt, problems);
  if (typeof value !== 'string') {
    problems.add(field, `must be an ISO-8601 date-time string, not ${describe(value)}`);
    return Math.floor(ctx.receivedAt / 1000);
  }
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
    problems.add(field, `must be an ISO-8601 date-time (e.g. 2024-05-01T12:00:00Z); got ${JSON.stringify(value.slice(0, 40))}`);
    return Math.floor(ctx.receivedAt / 1000);
  }
  return checkTimestamp(Math.floor(ms / 1000), field, ctx.receivedAt, problems);
}

function userOf(object: Record<string, unknown>, problems: Problems): { person: PersonRef | undefined; anonymousId: string | undefined } {
  // Segment allows numeric ids; they are the same person as their decimal text.
  const asText = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value);
  const userId = checkText(asText(object.userId), 'userId', LIMITS.identifierBytes, problems, false);
  const anonymousId = checkText(asText(object.anonymousId), 'anonymousId', LIMITS.anonymousIdBytes, problems, false);
  return { person: userId === undefined ? undefined : personFromIdentifier(userId), anonymousId };
}

/**
 * One message. `type` comes from the route (/v1/track) or the item (/v1/batch). Returns the
 * records (zero for accepted-but-not-kept messages) or the problems.
 */
export function translateSegmentMessage(type: unknown, message: unknown, ctx: RequestContext): Translation {
  const problems = new Problems();
  if (!isPlainObject(message)) {
    problems.add('', `a message must be a JSON object, not ${describe(message)}`);
    return { ok: false, problems };
  }
  if (typeof type !== 'string' || !(SEGMENT_TYPES as readonly string[]).includes(type)) {
    problems.add('type', `must be one of ${SEGMENT_TYPES.join(', ')}`);
    return { ok: false, problems };
  }
  // Before the serialisation below, which overflows the stack on a message nested thousands deep.
  // One level more than a field's limit: the fields (properties, traits, context) sit in it.
  if (nestsDeeperThan(message, MAX_JSON_DEPTH + 1)) {
    problems.add('', `a message must not be nested deeper than ${MAX_JSON_DEPTH + 1} levels (its properties, traits and context: ${MAX_JSON_DEPTH})`);
    return { ok: false, problems };
  }
  const size = byteLength(JSON.stringify(message));
  if (size > LIMITS.segmentMessageBytes) {
    problems.add('', `a message must be at most ${LIMITS.segmentMessageBytes} bytes (got ${size})`);
    return { ok: false, problems };
  }
  const messageId = checkText(message.messageId, 'messageId', LIMITS.eventIdBytes, problems, false);
  const { person, anonymousId } = userOf(message, problems);
  const envelope = { workspace_id: ctx.workspaceId, id: messageId ?? ctx.newId(), received_at: ctx.receivedAt, settings: ctx.settings };
  const timestamp = isoSeconds(message.timestamp ?? message.originalTimestamp, message.timestamp === undefined && message.originalTimestamp !== undefined ? 'originalTimestamp' : 'timestamp', ctx, problems);
  const records: InboundRecord[] = [];

  switch (type as SegmentType) {
    case 'identify': {
      const traitsJson = checkObject(message.traits, 'traits', LIMITS.eventDataBytes, problems);
      if (!person && !anonymousId) problems.add('userId', 'identify needs userId (or at least anonymousId)');
      if (!problems.ok) return { ok: false, problems };
      if (person) records.push({ ...envelope, command: { kind: 'identify', body: { person, anonymous_id: anonymousId ?? null, attributes_json: traitsJson } } });
      break;
    }
    case 'track':
    case 'page':
    case 'screen': {
      if (!person && !anonymousId) problems.add('userId', `${type} needs userId or anonymousId`);
      const dataJson = checkObject(message.properties, 'properties', LIMITS.eventDataBytes, problems);
      const properties = isPlainObject(message.properties) ? message.properties : {};
      let name: string | undefined;
      let eventType: EventType = 'event';
      if (type === 'track') {
        name = checkText(message.event, 'event', LIMITS.eventNameBytes, problems);
      } else {
        eventType = type === 'page' ? 'page' : 'screen';
        // The product names a page view by its URL; a screen (or a page without a URL) by its name.
        const context = isPlainObject(message.context) ? message.context : {};
        const contextPage = isPlainObject(context.page) ? context.page : {};
        const candidate = type === 'page' ? properties.url ?? contextPage.url ?? message.name : message.name;
        name = checkText(candidate ?? type, type === 'page' && properties.url !== undefined ? 'properties.url' : 'name', LIMITS.eventNameBytes, problems);
      }
      if (!problems.ok || name === undefined) return { ok: false, problems };
      records.push({
        ...envelope,
        command: { kind: 'track', body: { person: person ?? null, anonymous_id: person ? null : anonymousId ?? null, name, type: eventType, timestamp, data_json: dataJson } },
      });
      break;
    }
    case 'alias': {
      const previousId = checkText(typeof message.previousId === 'number' ? String(message.previousId) : message.previousId, 'previousId', LIMITS.anonymousIdBytes, problems);
      if (!person) problems.add('userId', 'alias needs userId');
      if (!problems.ok || !person || previousId === undefined) return { ok: false, problems };
      records.push({ ...envelope, command: { kind: 'alias', body: { user: person, previous_id: previousId } } });
      break;
    }
    case 'group': {
      checkJsonValue(message.traits ?? {}, 'traits', problems);
      if (!problems.ok) return { ok: false, problems };
      break;
    }
  }
  return { ok: true, records };
}

/** POST /v1/batch: {batch: [...]} — all items valid, or none written and each bad one named. */
export function translateSegmentBatch(body: unknown, ctx: RequestContext): Translation {
  const problems = new Problems();
  if (!isPlainObject(body) || !Array.isArray(body.batch)) {
    problems.add('batch', 'must be an array of messages');
    return { ok: false, problems };
  }
  if (body.batch.length === 0) {
    problems.add('batch', 'must not be empty');
    return { ok: false, problems };
  }
  // Before any item is looked at: the count is the work the request asks for.
  if (body.batch.length > LIMITS.segmentBatchItems) {
    problems.add('batch', `must have at most ${LIMITS.segmentBatchItems} messages (got ${body.batch.length}); send them in several batches`);
    return { ok: false, problems };
  }
  const records: InboundRecord[] = [];
  body.batch.forEach((item: unknown, index: number) => {
    const result = translateSegmentMessage(isPlainObject(item) ? item.type : undefined, item, ctx);
    if (result.ok) records.push(...result.records);
    else problems.addAll(`batch[${index}]`, result.problems);
  });
  return problems.ok ? { ok: true, records } : { ok: false, problems };
}

/** The records a /v1/batch body asks for, before any of its items is checked (rate limiting). */
export function batchItemCount(body: unknown): number {
  return isPlainObject(body) && Array.isArray(body.batch) ? body.batch.length : 1;
}
