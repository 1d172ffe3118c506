/**
 * `make run`'s foreground: a live feed of the outbound topics and website-visitor traffic sent
 * through the real ingest API. Ctrl-C stops it (the Makefile then stops the services).
 */
import { SchemaCatalog } from '../shared/avro/catalog';
import { loadConfig } from '../shared/config';
import { createKafka } from '../shared/kafka/client';
import { createLogger } from '../shared/logger';
import { dim, startFeed } from './feed';
import { DEMO_IDENTITY_SECRET } from '../ingest/demoUserHash';
import { demoRequest, type DemoCredentials } from './request';
import { visitorJourney, type TrackCall } from './visitors';

const config = loadConfig(['kafka', 'topics', 'registry', 'ingest']);
// The traffic goes to the ingest that `make run` started: wherever ANONMERGE_INGEST_HOST/PORT put it.
const ingestHost = config.ingest.host === '0.0.0.0' || config.ingest.host === '::' ? '127.0.0.1' : config.ingest.host;
const ingestUrl = process.env.ANONMERGE_DEMO_INGEST_URL ?? `http://${ingestHost.includes(':') ? `[${ingestHost}]` : ingestHost}:${config.ingest.port}`;
const demo: DemoCredentials = {
  ingestUrl,
  siteId: process.env.ANONMERGE_DEMO_SITE_ID ?? 'demo-site',
  apiKey: process.env.ANONMERGE_DEMO_API_KEY ?? 'demo-key-not-secret',
  publishableKey: process.env.ANONMERGE_DEMO_PUBLISHABLE_KEY ?? 'pk_demo',
  identitySecret: process.env.ANONMERGE_DEMO_IDENTITY_SECRET ?? DEMO_IDENTITY_SECRET,
  siteOrigin: 'https://shop.example.com',
};
const visitorEveryMs = Number(process.env.ANONMERGE_DEMO_VISITOR_EVERY_MS ?? 3000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(call: TrackCall): Promise<void> {
  const { url, init } = demoRequest(call, demo);
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10000) });
  const status = response.status;
  await response.arrayBuffer();
  console.log(dim(`${new Date().toISOString().slice(11, 19)}  → ingest    ${call.describe} (${status})`));
}

async function visitor(): Promise<void> {
  for (const call of visitorJourney(demo.siteOrigin)) {
    await sleep(call.delayMs);
    await send(call).catch((error: Error) => console.log(dim(`  ! ${call.describe}: ${error.message}`)));
  }
}

async function main(): Promise<void> {
  const logger = createLogger('demo', 'warn');
  const kafka = createKafka(config.kafka, logger, 'demo');
  const catalog = await SchemaCatalog.open(config.registry, config.topics, logger);
  const consumer = await startFeed(kafka, catalog, (line) => console.log(line));
  console.log(`live feed of ${config.topics.mergedEvents}, ${config.topics.anonymousEvents}, ${config.topics.campaignTriggers}, ${config.topics.activity}, ${config.topics.deadLetters}`);
  console.log(`sending website-visitor traffic to ${ingestUrl} as ${demo.siteId}; Ctrl-C stops\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await consumer.disconnect().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await sleep(1500); // let the feed's consumer join before the first records
  for (;;) {
    void visitor();
    await sleep(visitorEveryMs);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
