/**
 * The official SDKs, unchanged, pointed at a running ingest: customerio-node's TrackClient and
 * PipelinesClient (their `url` option), Segment's @segment/analytics-node (its `host` option) and
 * plain HTTP as in the public curl examples. Every record is read back from Kafka and decoded
 * through the registry. Ingest runs as the two-plane merger needs it: person operations go to
 * person-ops, keyed by workspace.
 */
import { IdentifierType, PipelinesClient, TrackClient } from 'customerio-node';
import { Analytics } from '@segment/analytics-node';
import type { RunningIngest } from '../../../services/ingest/service';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { basic, readInbound, startTestIngest } from '../../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

type Found = InboundRecord & { key: string };

describe('official SDKs against ingest', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('sdks');
  let ingest: RunningIngest;

  beforeAll(async () => {
    ingest = await startTestIngest(topics, { personOps: true });
  });
  afterAll(async () => {
    await ingest.close();
    await deleteTopics(kafka, topics);
  });

  const byId = (records: Found[], id: string) => records.find((r) => r.id === id);
  const body = (record: Found | undefined) => record?.command.body as unknown as Record<string, unknown>;

  it('customerio-node TrackClient: identify, events, anonymous and invite events, page view, merge, delete', async () => {
    const cio = new TrackClient('site-a', 'key-a', { url: `${ingest.url}/api/v1` });
    const before = Date.now();
    await cio.identify('Person@Example.com', { email: 'person@example.com', plan: 'pro', anonymous_id: 'anon-track-1', created_at: 1_700_000_000 });
    await cio.track('user-42', { name: 'purchase', data: { amount: 10 }, id: 'trk-evt-1', timestamp: 1_764_000_000 });
    await cio.trackAnonymous('anon-track-1', { name: 'https://example.com/pricing', type: 'page', id: 'trk-anon-1' });
    await cio.trackAnonymous('', { name: 'invite', data: { recipient: 'friend@example.com' }, id: 'trk-invite-1' });
    await cio.trackPageView('user-42', '/dashboard');
    await cio.mergeCustomers(IdentifierType.Id, 'user-42', IdentifierType.Email, 'old@example.com');
    await cio.destroy('cio_abc');

    const records = await readInbound(kafka, topics, 7);
    expect(records).toHaveLength(7);
    for (const record of records) {
      expect(record.workspace_id).toBe('ws-a');
      expect(record.received_at).toBeGreaterThanOrEqual(before);
    }
    const identify = records.find((r) => r.command.kind === 'identify');
    // A person operation: on person-ops, keyed by workspace, for the merger's control plane.
    expect(identify).toMatchObject({ key: 'ws-a', topic: topics.personOps });
    expect(body(identify)).toMatchObject({ person: { id_type: 'EMAIL', value: 'person@example.com' }, anonymous_id: 'anon-track-1' });
    expect(JSON.parse(body(identify)?.attributes_json as string)).toEqual({ email: 'person@example.com', plan: 'pro', created_at: 1_700_000_000 });

    const purchase = byId(records, 'trk-evt-1');
    expect(purchase?.key).toBe('ws-a/p/id:user-42');
    expect(body(purchase)).toMatchObject({ person: { id_type: 'ID', value: 'user-42' }, name: 'purchase', type: 'event', timestamp: 1_764_000_000, data_json: '{"amount":10}' });

    expect(body(byId(records, 'trk-anon-1'))).toMatchObject({ person: null, anonymous_id: 'anon-track-1', type: 'page', name: 'https://example.com/pricing' });
    expect(byId(records, 'trk-anon-1')?.key).toBe('ws-a/a/anon-track-1');
    expect(body(byId(records, 'trk-invite-1'))).toMatchObject({ person: null, anonymous_id: null, data_json: '{"recipient":"friend@example.com"}' });

    const page = records.find((r) => r.command.kind === 'track' && r.command.body.name === '/dashboard');
    expect(body(page)).toMatchObject({ type: 'page', person: { id_type: 'ID', value: 'user-42' } });
    expect(page?.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/); // a ULID assigned by ingest

    const merge = records.find((r) => r.command.kind === 'merge');
    expect(body(merge)).toEqual({ primary: { id_type: 'ID', value: 'user-42' }, secondary: { id_type: 'EMAIL', value: 'old@example.com' } });
    const deletion = records.find((r) => r.command.kind === 'delete');
    expect(body(deletion)).toEqual({ person: { id_type: 'CIO_ID', value: 'abc' } });
    expect(records.every((r) => r.settings.merge_enabled && r.settings.grace_seconds === 300)).toBe(true);
  });

  it('customerio-node PipelinesClient: identify with both ids, track, page, screen, alias, batch', async () => {
    const topicsB = isolatedTopics('pipelines');
    const ingestB = await startTestIngest(topicsB, { personOps: true });
    try {
      const cdp = new PipelinesClient('write-a', { url: `${ingestB.url}/v1` });
      await cdp.identify({ userId: 'u-1', anonymousId: 'anon-cdp', traits: { email: 'u1@example.com' }, messageId: 'cdp-identify' });
      await cdp.track({ anonymousId: 'anon-cdp', event: 'Viewed Plan', properties: { plan: 'pro' }, messageId: 'cdp-track', timestamp: '2025-11-20T10:00:00.000Z' });
      await cdp.page({ anonymousId: 'anon-cdp', name: 'Pricing', properties: { url: 'https://example.com/pricing' }, messageId: 'cdp-page' });
      await cdp.screen({ userId: 'u-1', name: 'Home', messageId: 'cdp-screen' });
      await cdp.alias({ userId: 'u-1', previousId: 'anon-old', messageId: 'cdp-alias' });
      await cdp.batch([
        { type: 'track', userId: 'u-1', event: 'Batched', messageId: 'cdp-batch-1' },
        { type: 'page', anonymousId: 'anon-cdp', name: 'Docs', messageId: 'cdp-batch-2' },
      ]);
      const records = await readInbound(kafka, topicsB, 7);
      expect(records).toHaveLength(7);
      expect(records.every((r) => r.workspace_id === 'ws-a')).toBe(true);
      expect(byId(records, 'cdp-identify')?.command).toEqual({ kind: 'identify', body: { person: { id_type: 'ID', value: 'u-1' }, anonymous_id: 'anon-cdp', attributes_json: '{"email":"u1@example.com"}' } });
      expect(byId(records, 'cdp-identify')).toMatchObject({ key: 'ws-a', topic: topicsB.personOps });
      expect(body(byId(records, 'cdp-track'))).toMatchObject({ person: null, anonymous_id: 'anon-cdp', name: 'Viewed Plan', type: 'event', timestamp: Date.parse('2025-11-20T10:00:00.000Z') / 1000 });
      expect(body(byId(records, 'cdp-page'))).toMatchObject({ anonymous_id: 'anon-cdp', name: 'https://example.com/pricing', type: 'page' });
      expect(body(byId(records, 'cdp-screen'))).toMatchObject({ person: { id_type: 'ID', value: 'u-1' }, name: 'Home', type: 'screen' });
      expect(byId(records, 'cdp-alias')?.command).toEqual({ kind: 'alias', body: { user: { id_type: 'ID', value: 'u-1' }, previous_id: 'anon-old' } });
      expect(body(byId(records, 'cdp-batch-1'))).toMatchObject({ name: 'Batched', person: { id_type: 'ID', value: 'u-1' } });
      expect(body(byId(records, 'cdp-batch-2'))).toMatchObject({ name: 'Docs', type: 'page', anonymous_id: 'anon-cdp' });
    } finally {
      await ingestB.close();
      await deleteTopics(kafka, topicsB);
    }
  });

  it('@segment/analytics-node with host: identify, track, page, screen, alias delivered as a batch', async () => {
    const topicsC = isolatedTopics('segment');
    const ingestC = await startTestIngest(topicsC, { personOps: true });
    try {
      const analytics = new Analytics({ writeKey: 'write-b', host: ingestC.url, flushAt: 10, flushInterval: 200, maxRetries: 1 });
      const failures: unknown[] = [];
      analytics.on('error', (error) => failures.push(error));
      analytics.identify({ userId: 'seg-user', anonymousId: 'seg-anon', traits: { name: 'Seg' }, messageId: 'seg-identify' });
      analytics.track({ anonymousId: 'seg-anon', event: 'Added To Cart', properties: { sku: 'x1' }, messageId: 'seg-track' });
      analytics.page({ anonymousId: 'seg-anon', name: 'Home', properties: { url: 'https://example.com/' }, messageId: 'seg-page' });
      analytics.screen({ userId: 'seg-user', name: 'Settings', messageId: 'seg-screen' });
      analytics.alias({ userId: 'seg-user', previousId: 'seg-anon-old', messageId: 'seg-alias' });
      await analytics.closeAndFlush({ timeout: 15000 });
      expect(failures).toEqual([]);
      const records = await readInbound(kafka, topicsC, 5);
      expect(records).toHaveLength(5);
      // write-b is workspace ws-b, whose settings (merging off, 60 s grace) ride on every record.
      expect(records.every((r) => r.workspace_id === 'ws-b' && r.settings.merge_enabled === false && r.settings.grace_seconds === 60)).toBe(true);
      expect(byId(records, 'seg-identify')?.command.kind).toBe('identify');
      expect(body(byId(records, 'seg-track'))).toMatchObject({ anonymous_id: 'seg-anon', name: 'Added To Cart', data_json: '{"sku":"x1"}' });
      expect(body(byId(records, 'seg-page'))).toMatchObject({ name: 'https://example.com/', type: 'page' });
      expect(body(byId(records, 'seg-screen'))).toMatchObject({ name: 'Settings', type: 'screen' });
      expect(byId(records, 'seg-alias')?.command.kind).toBe('alias');
    } finally {
      await ingestC.close();
      await deleteTopics(kafka, topicsC);
    }
  });

  it('plain HTTP as in the public curl example, gzip-encoded too', async () => {
    const topicsD = isolatedTopics('curl');
    const ingestD = await startTestIngest(topicsD, { personOps: true });
    try {
      const response = await fetch(`${ingestD.url}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: basic('site-a', 'key-a'), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'https://example.com/interesting-page', anonymous_id: 'abc123', type: 'page', data: { first_name: 'Person' }, id: 'curl-1' }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({});
      const { gzipSync } = await import('node:zlib');
      const gzipped = await fetch(`${ingestD.url}/api/v1/customers/person@example.com`, {
        method: 'PUT',
        headers: { authorization: basic('site-a', 'key-a'), 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify({ email: 'user@example.com', anonymous_id: 'abc123' })),
      });
      expect(gzipped.status).toBe(200);
      const records = await readInbound(kafka, topicsD, 2);
      expect(records.map((r) => r.key).sort()).toEqual(['ws-a', 'ws-a/a/abc123']);
      expect(byId(records, 'curl-1')?.command.kind).toBe('track');
      expect(records.find((r) => r.command.kind === 'identify')?.command.body).toMatchObject({ anonymous_id: 'abc123', person: { id_type: 'EMAIL', value: 'person@example.com' } });
    } finally {
      await ingestD.close();
      await deleteTopics(kafka, topicsD);
    }
  });
});
