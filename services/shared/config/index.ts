/**
 * Every setting anonmerge reads, grouped by the part that uses it. A service reads the groups
 * it needs with `loadConfig`; docs/configuration.md is generated from these specs.
 */
import { addressList, boolean, hostPorts, integer, oneOf, port, readSettings, secret, string, url, type SettingsOf, type SettingsSpec } from './settings';

export const kafkaSettings = {
  brokers: hostPorts('ANONMERGE_KAFKA_BROKERS', { default: '127.0.0.1:9092', description: 'Kafka bootstrap servers, comma-separated host:port' }),
  clientId: string('ANONMERGE_KAFKA_CLIENT_ID', { default: 'anonmerge', description: 'Kafka client id prefix' }),
  connectionTimeoutMs: integer('ANONMERGE_KAFKA_CONNECTION_TIMEOUT_MS', { default: '3000', min: 100, description: 'Kafka TCP connect timeout' }),
  requestTimeoutMs: integer('ANONMERGE_KAFKA_REQUEST_TIMEOUT_MS', { default: '30000', min: 100, description: 'Kafka request timeout' }),
  saslMechanism: oneOf('ANONMERGE_KAFKA_SASL_MECHANISM', { default: 'none', values: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'], description: 'SASL mechanism of the Kafka listener' }),
  saslUsername: string('ANONMERGE_KAFKA_SASL_USERNAME', { default: '', description: 'SASL user (with a mechanism other than none)' }),
  saslPassword: secret('ANONMERGE_KAFKA_SASL_PASSWORD', { default: '', description: 'SASL password; or ANONMERGE_KAFKA_SASL_PASSWORD_FILE' }),
  tls: boolean('ANONMERGE_KAFKA_TLS', { default: 'false', description: 'Connect to Kafka with TLS' }),
  tlsCaFile: string('ANONMERGE_KAFKA_TLS_CA_FILE', { default: '', description: 'PEM file of the CA that signed the brokers\' certificates (default: the system store)' }),
  metadataMaxAgeMs: integer('ANONMERGE_KAFKA_METADATA_MAX_AGE_MS', { default: '30000', min: 1000, description: 'How often topic metadata is refreshed (partitions added to a topic are picked up within it)' }),
} satisfies SettingsSpec;

export const topicSettings = {
  inbound: string('ANONMERGE_TOPIC_INBOUND', { default: 'anonmerge.inbound', description: 'Inbound track events and identify commands' }),
  mergedEvents: string('ANONMERGE_TOPIC_MERGED_EVENTS', { default: 'anonmerge.merged-events', description: "Every event of a known person, identified or merged" }),
  campaignTriggers: string('ANONMERGE_TOPIC_CAMPAIGN_TRIGGERS', { default: 'anonmerge.campaign-triggers', description: 'Events that trigger campaigns (SPEC R4)' }),
  activity: string('ANONMERGE_TOPIC_ACTIVITY', { default: 'anonmerge.activity', description: 'Activity records (Anonymous Data Merged, refused rebinds, deletions)' }),
  anonymousEvents: string('ANONMERGE_TOPIC_ANONYMOUS_EVENTS', { default: 'anonmerge.anonymous-events', description: 'Anonymous events as they arrive, for observers' }),
  deadLetters: string('ANONMERGE_TOPIC_DEAD_LETTERS', { default: 'anonmerge.dead-letters', description: 'Records that could not be decoded or broke the contract' }),
  personOps: string('ANONMERGE_TOPIC_PERSON_OPS', { default: 'anonmerge.person-ops', description: "Person operations (identify, alias, delete, merge) keyed by workspace, for the merger's control plane" }),
  commands: string('ANONMERGE_TOPIC_COMMANDS', { default: 'anonmerge.commands', description: "The merger's control plane to its data plane: binding changes and clocks, co-partitioned with the inbound topic (same partition count)" }),
  personOrder: string('ANONMERGE_TOPIC_PERSON_ORDER', {
    default: 'anonmerge.person-order',
    description: "The merger's planes to its order stage: merged events keyed by person, with each data partition's clock, so that a person's merged events are written in the reference model's order",
  }),
  workspaces: string('ANONMERGE_TOPIC_WORKSPACES', {
    default: 'anonmerge.workspaces',
    description: 'Every change of every workspace (compacted, one partition): what ingest and the activity service follow when ANONMERGE_WORKSPACES_SOURCE=log (docs/design-workspaces.md)',
  }),
  requests: string('ANONMERGE_TOPIC_REQUESTS', {
    default: 'anonmerge.requests',
    description: "Commands written straight to Kafka by producers (schemas/request.avsc), which ingest's request bridge validates, stamps and passes on. A tenant's own topic (e.g. anonmerge.requests.shop) is set here on the bridge that serves it, with ANONMERGE_INGEST_BRIDGE_WORKSPACE (docs/producing.md)",
  }),
  partitions: integer('ANONMERGE_TOPIC_PARTITIONS', { default: '6', min: 1, max: 10000, description: 'Partitions of topics the services create (the person-order topic aside)' }),
  personOrderPartitions: integer('ANONMERGE_TOPIC_PERSON_ORDER_PARTITIONS', {
    default: '1',
    min: 1,
    max: 10000,
    description:
      "Partitions of the person-order topic, when the services create it. The order stage commits a transaction per partition it releases something on, so more partitions cost more transactions (0.3 per 1,000 records with 1, 1.4 with 6 in make bench-merger, 12 % of the throughput); raise it when one merger's order stage cannot keep up (its lag grows)",
  }),
  replicationFactor: integer('ANONMERGE_TOPIC_REPLICATION_FACTOR', { default: '1', min: 1, max: 10, description: 'Replication factor of topics the services create' }),
} satisfies SettingsSpec;

export const registrySettings = {
  url: url('ANONMERGE_REGISTRY_URL', {
    default: 'http://127.0.0.1:8081/apis/ccompat/v7',
    protocols: ['http:', 'https:'],
    description: 'Confluent-compatible schema registry base URL (Apicurio: .../apis/ccompat/v7)',
  }),
  timeoutMs: integer('ANONMERGE_REGISTRY_TIMEOUT_MS', { default: '5000', min: 100, description: 'Schema registry request timeout' }),
} satisfies SettingsSpec;

export const redisSettings = {
  mode: oneOf('ANONMERGE_REDIS_MODE', { default: 'single', values: ['single', 'cluster'], description: 'One Redis (ANONMERGE_REDIS_URL) or a Redis Cluster (ANONMERGE_REDIS_CLUSTER_NODES)' }),
  clusterNodes: hostPorts('ANONMERGE_REDIS_CLUSTER_NODES', {
    default: '127.0.0.1:6390',
    description: 'Redis Cluster seed nodes, comma-separated host:port (mode cluster; the rest are discovered). TLS and credentials: the rediss:// scheme of ANONMERGE_REDIS_URL and the settings below',
  }),
  url: url('ANONMERGE_REDIS_URL', { default: 'redis://127.0.0.1:6380', protocols: ['redis:', 'rediss:'], description: 'Redis URL of the merger state (rediss:// for TLS)' }),
  username: string('ANONMERGE_REDIS_USERNAME', { default: '', description: 'Redis ACL user' }),
  password: secret('ANONMERGE_REDIS_PASSWORD', { default: '', description: 'Redis ACL password; or ANONMERGE_REDIS_PASSWORD_FILE' }),
  tlsCaFile: string('ANONMERGE_REDIS_TLS_CA_FILE', { default: '', description: 'PEM file of the CA of the Redis server (rediss://)' }),
  commandTimeoutMs: integer('ANONMERGE_REDIS_COMMAND_TIMEOUT_MS', { default: '5000', min: 10, description: 'Redis command timeout' }),
  connectTimeoutMs: integer('ANONMERGE_REDIS_CONNECT_TIMEOUT_MS', { default: '3000', min: 10, description: 'Redis connect timeout' }),
} satisfies SettingsSpec;

export const logSettings = {
  level: oneOf('ANONMERGE_LOG_LEVEL', { default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'Log level' }),
} satisfies SettingsSpec;

export const ingestSettings = {
  host: string('ANONMERGE_INGEST_HOST', { default: '127.0.0.1', description: 'Address the ingest HTTP server binds' }),
  port: port('ANONMERGE_INGEST_PORT', { default: '3000', description: 'Port of the ingest HTTP server' }),
  metricsHost: string('ANONMERGE_INGEST_METRICS_HOST', {
    default: '127.0.0.1',
    description: "Address of ingest's Prometheus metrics server (/metrics: workspace ids and volumes, so not on the public port; the image sets 0.0.0.0 and the network policy admits only the monitoring namespace)",
  }),
  metricsPort: port('ANONMERGE_INGEST_METRICS_PORT', { default: '3003', description: "Port of ingest's Prometheus metrics server (/metrics, /healthz, /readyz)" }),
  workspacesFile: string('ANONMERGE_WORKSPACES_FILE', { default: 'config/workspaces.json', description: 'Workspace registry file (credentials and settings); ingest and the activity log do not start without one (the image carries none)' }),
  workspacesSource: oneOf('ANONMERGE_WORKSPACES_SOURCE', {
    default: 'file',
    values: ['file', 'log'],
    description: 'Where ingest and the activity service read workspaces: the file (ANONMERGE_WORKSPACES_FILE, read at start), or the workspaces log, followed live (seeded with anonmerge workspaces seed; docs/design-workspaces.md)',
  }),
  workspacesSecretKey: secret('ANONMERGE_WORKSPACES_SECRET_KEY', {
    default: '',
    description: 'AES-256 key (64 hex digits) that seals identity verification secrets on the workspaces log; needed to seed or follow a workspace that has one; or ANONMERGE_WORKSPACES_SECRET_KEY_FILE',
  }),
  demo: boolean('ANONMERGE_DEMO', {
    default: 'false',
    description:
      "A demo, not a deployment (make run and make up set it): the demo workspace's public keys (config/workspaces.json) are accepted, and ingest serves the demo shop page at /demo. Off, a workspaces file (or admin token) holding those keys stops ingest and the activity log at start, and /demo is 404",
  }),
  sendTimeoutMs: integer('ANONMERGE_INGEST_SEND_TIMEOUT_MS', { default: '10000', min: 100, description: 'Deadline for Kafka to acknowledge a request\'s records before it is answered 503' }),
  personOps: boolean('ANONMERGE_INGEST_PERSON_OPS', {
    default: 'true',
    description: 'Write person operations (identify, alias, delete, merge) to the person-ops topic, for the two-plane merger (ANONMERGE_MERGER_CONTROL_PLANE=true); false: to the inbound topic, for the legacy merger kept for a rollback',
  }),
  lingerMs: integer('ANONMERGE_INGEST_LINGER_MS', { default: '2', min: 0, max: 1000, description: 'How long a batch of records waits for more before it is sent' }),
  shutdownGraceMs: integer('ANONMERGE_INGEST_SHUTDOWN_GRACE_MS', { default: '10000', min: 0, description: 'How long shutdown waits for in-flight requests' }),
  idleTimeoutMs: integer('ANONMERGE_INGEST_IDLE_TIMEOUT_MS', {
    default: '30000',
    min: 1000,
    description: 'A connection on which nothing moves for this long is closed (before, between and during requests; keep it above the send timeout, and behind a load balancer above its idle timeout)',
  }),
  requestTimeoutMs: integer('ANONMERGE_INGEST_REQUEST_TIMEOUT_MS', {
    default: '30000',
    min: 1000,
    description: 'Deadline for a whole request, headers and body, to arrive from its first byte; a slower one is answered 408 and its connection closed',
  }),
  authFailureLimit: integer('ANONMERGE_INGEST_AUTH_FAILURE_LIMIT', {
    default: '20',
    min: 0,
    description: 'Failed authentications one client address may make per window before it is answered 429 until the window ends (0: no limit)',
  }),
  authFailureWindowMs: integer('ANONMERGE_INGEST_AUTH_FAILURE_WINDOW_MS', { default: '60000', min: 1000, description: 'The window of ANONMERGE_INGEST_AUTH_FAILURE_LIMIT, from its first failure' }),
  trustedProxies: addressList('ANONMERGE_INGEST_TRUSTED_PROXIES', {
    default: '',
    description: "IP addresses or CIDR ranges of the proxies and load balancers in front of ingest, comma-separated: their X-Forwarded-For names the client whose failed authentications are counted. Empty: the connection's own address",
  }),
  bridge: boolean('ANONMERGE_INGEST_BRIDGE', {
    default: 'false',
    description: "Also run the request bridge: read the request topic (ANONMERGE_TOPIC_REQUESTS), check each command as the HTTP routes do, stamp received_at and the workspace's settings, and write it on to inbound or person-ops in one transaction with the read position (docs/producing.md)",
  }),
  bridgeGroupId: string('ANONMERGE_INGEST_BRIDGE_GROUP_ID', { default: 'anonmerge-bridge', description: "The request bridge's consumer group; its transactional ids derive from it" }),
  bridgeWorkspace: string('ANONMERGE_INGEST_BRIDGE_WORKSPACE', {
    default: '',
    description: "A workspace id: the bridge takes only this workspace's commands (a topic of one tenant, which only that tenant's principals may write); empty: each record names its workspace",
  }),
  bridgeSessionTimeoutMs: integer('ANONMERGE_INGEST_BRIDGE_SESSION_TIMEOUT_MS', {
    default: '30000',
    min: 1000,
    description: "The request bridge's consumer group session timeout: a replica that dies holds its partitions this long before another takes them over (within the broker's group.min/max.session.timeout.ms)",
  }),
  bridgeFetchMaxBytes: integer('ANONMERGE_INGEST_BRIDGE_FETCH_MAX_BYTES', {
    default: '1048576',
    min: 1024,
    description: "Bytes of request records the bridge reads per partition per round, and so passes on in one transaction: larger batches cost less per record; smaller ones hold less in memory and redo less after a crash",
  }),
} satisfies SettingsSpec;

export const mergerSettings = {
  host: string('ANONMERGE_MERGER_HOST', { default: '127.0.0.1', description: "Address of the merger's health and metrics server" }),
  port: port('ANONMERGE_MERGER_PORT', { default: '3001', description: "Port of the merger's health and metrics server" }),
  groupId: string('ANONMERGE_MERGER_GROUP_ID', { default: 'anonmerge-merger', description: 'Kafka consumer group of the merger' }),
  fromBeginning: boolean('ANONMERGE_MERGER_FROM_BEGINNING', { default: 'true', description: 'A new consumer group starts at the oldest inbound record' }),
  partitionsConcurrently: integer('ANONMERGE_MERGER_PARTITIONS_CONCURRENTLY', { default: '6', min: 1, max: 1000, description: 'Inbound partitions one merger processes at the same time' }),
  sessionTimeoutMs: integer('ANONMERGE_MERGER_SESSION_TIMEOUT_MS', { default: '30000', min: 1000, description: 'Consumer group session timeout (a paused merger loses its partitions after it)' }),
  tickIntervalMs: integer('ANONMERGE_MERGER_TICK_INTERVAL_MS', { default: '5000', min: 100, description: 'A quiet partition gets a Tick record this often, so its grace timers fire' }),
  timerLatenessMs: integer('ANONMERGE_MERGER_TIMER_LATENESS_MS', { default: '10000', min: 1000, description: 'A grace timer fires at the first record received this long after the window end (covers clock skew between ingest instances)' }),
  fetchMaxBytes: integer('ANONMERGE_MERGER_FETCH_MAX_BYTES', { default: '262144', min: 1024, description: 'Bytes fetched per partition per round: the batch size (smaller batches measured faster here: less waiting on the slowest partition of a round)' }),
  redisKeyPrefix: string('ANONMERGE_MERGER_REDIS_PREFIX', { default: 'am', description: 'Prefix of every Redis key of the merger' }),
  controlPlane: boolean('ANONMERGE_MERGER_CONTROL_PLANE', {
    default: 'true',
    description: 'The two-plane merger: person operations, read from the person-ops topic (with ANONMERGE_INGEST_PERSON_OPS=true), decided in received_at order (docs/design-person-operations.md); false: the legacy merger, kept for a rollback, which decides them in consumption order',
  }),
  reorderMs: integer('ANONMERGE_MERGER_REORDER_MS', { default: '100', min: 1, max: 60000, description: 'Both planes: a record is decided once its partition shows one received this long after it (ingest appends a record less than this after stamping it; two replicas may append slightly out of order)' }),
  pendingPointers: boolean('ANONMERGE_MERGER_PENDING_POINTERS', {
    default: 'true',
    description:
      'Two planes: keep pending events as pointers into the inbound topic instead of copies in Redis (docs/design-pending-pointers.md); the topic must then keep records longer than the longest workspace retention (checked at start). false: copies, as before; either setting reads both kinds, so it can be switched with a rolling restart',
  }),
  compactRecords: boolean('ANONMERGE_MERGER_COMPACT_RECORDS', {
    default: 'true',
    description:
      'Two planes, with pointers: an anonymous id whose state is only pending events is kept as one compact record in a shared Redis hash (~20 bytes per pending event) instead of three keys of its own (docs/design-pending-pointers.md); false: own keys only. Either setting reads both, so it can be switched with a rolling restart',
  }),
  inboundRetentionMarginHours: integer('ANONMERGE_MERGER_INBOUND_RETENTION_MARGIN_HOURS', {
    default: '48',
    min: 0,
    description:
      'Two planes: pending events are pointers into the inbound topic, so the merger refuses to start unless the topic keeps records at least the longest workspace retention plus this (docs/design-pending-pointers.md)',
  }),
  fileWorkspacesRetentionDays: integer('ANONMERGE_MERGER_FILE_WORKSPACES_RETENTION_DAYS', {
    default: '30',
    min: 1,
    description: "The longest retention among workspaces kept in a file (the merger reads the workspaces log, not the file), for the start-up check of the inbound topic's retention",
  }),
  pendingReadTimeoutMs: integer('ANONMERGE_MERGER_PENDING_READ_TIMEOUT_MS', {
    default: '10000',
    min: 100,
    description: "Two planes: how long reading a bind's pending events back from the inbound topic may take before the batch fails and is retried",
  }),
  pendingReadAheadBytes: integer('ANONMERGE_MERGER_PENDING_READ_AHEAD_BYTES', {
    default: String(32 * 1024 * 1024),
    min: 0,
    description:
      "Two planes, with pointers: memory for pending events read back while their identify waits in the control plane's hold, so that the bind's step finds them read (docs/design-pending-pointers.md, \"Read ahead\"); 0 turns reading ahead off",
  }),
  maxHeldInbound: integer('ANONMERGE_MERGER_MAX_HELD_INBOUND', { default: '2000', min: 100, description: 'Two-plane data consumer: inbound records a partition may hold while some wait for the control clock, before its inbound reads pause (bounds memory after an outage, and leaves the CPU to the control plane catching up)' }),
  orderMaxHeld: integer('ANONMERGE_MERGER_ORDER_MAX_HELD', {
    default: '100000',
    min: 1,
    description:
      "Two planes: merged events one person-order partition holds while they wait for the slowest data partition's clock; past it the order stage drops what it reads and reads it again once it has room (bounds its memory while a data partition is down)",
  }),
  controlTickIntervalMs: integer('ANONMERGE_MERGER_CONTROL_TICK_INTERVAL_MS', {
    default: '400',
    min: 10,
    description:
      'Two planes: a quiet inbound partition gets a tick this often, so its frontier moves on; a person-ops partition gets one only when a data partition waits for its clock (a held record, an open window), at most this often — each control tick costs a transaction. A record held for the reorder bound gets its tick when it is due (docs/design-person-operations.md, "Ticks when due")',
  }),
} satisfies SettingsSpec;

export const activitySettings = {
  host: string('ANONMERGE_ACTIVITY_HOST', { default: '127.0.0.1', description: 'Address of the activity log page server' }),
  port: port('ANONMERGE_ACTIVITY_PORT', { default: '3002', description: 'Port of the activity log page (/activity)' }),
  backfillPerPartition: integer('ANONMERGE_ACTIVITY_BACKFILL', { default: '2000', min: 0, description: 'At start, the activity view reads this many of the latest records of each outbound partition' }),
  recentPerWorkspace: integer('ANONMERGE_ACTIVITY_RECENT', { default: '500', min: 10, max: 100000, description: 'Events (and activities) the view keeps per workspace and tab' }),
  idleTimeoutMs: integer('ANONMERGE_ACTIVITY_IDLE_TIMEOUT_MS', {
    default: '30000',
    min: 1000,
    description: 'A connection on which nothing moves for this long is closed (the live stream sends a keep-alive at half of it)',
  }),
  requestTimeoutMs: integer('ANONMERGE_ACTIVITY_REQUEST_TIMEOUT_MS', {
    default: '30000',
    min: 1000,
    description: 'Deadline for a whole request, headers and body, to arrive from its first byte; a slower one is answered 408 and its connection closed',
  }),
  loginFailureLimit: integer('ANONMERGE_ACTIVITY_LOGIN_FAILURE_LIMIT', {
    default: '10',
    min: 0,
    description: 'Failed logins one client address may make per window before it is answered 429 until the window ends (0: no limit)',
  }),
  loginFailureWindowMs: integer('ANONMERGE_ACTIVITY_LOGIN_FAILURE_WINDOW_MS', { default: '60000', min: 1000, description: 'The window of ANONMERGE_ACTIVITY_LOGIN_FAILURE_LIMIT, from its first failure' }),
  trustedProxies: addressList('ANONMERGE_ACTIVITY_TRUSTED_PROXIES', {
    default: '',
    description: "IP addresses or CIDR ranges of the proxies in front of the activity page, comma-separated: their X-Forwarded-For names the client whose failed logins are counted. Empty: the connection's own address",
  }),
  adminApiUrl: url('ANONMERGE_ACTIVITY_ADMIN_API_URL', {
    default: '',
    optional: true,
    protocols: ['http:', 'https:'],
    description:
      "The admin API the page's settings panel passes an operator's calls to, with the operator's own token (use https beyond one host); empty: no settings panel",
  }),
  adminToken: secret('ANONMERGE_ACTIVITY_ADMIN_TOKEN', {
    default: '',
    minLength: 16,
    description: 'Bearer token that opens every workspace on the activity page (empty: only workspace credentials; otherwise at least 16 characters); or ANONMERGE_ACTIVITY_ADMIN_TOKEN_FILE',
  }),
} satisfies SettingsSpec;

export const adminSettings = {
  host: string('ANONMERGE_ADMIN_HOST', { default: '127.0.0.1', description: 'Address of the admin API (never exposed with ingest: it changes workspaces and their keys)' }),
  port: port('ANONMERGE_ADMIN_PORT', { default: '3004', description: 'Port of the admin API (/v1/workspaces, /openapi.json)' }),
  operatorsFile: string('ANONMERGE_OPERATORS_FILE', {
    default: 'config/operators.json',
    description: 'Who may call the admin API: {"operators": [{"name": …, "token_sha256": …}]}, a SHA-256 (hex) of each operator\'s bearer token; the name is recorded with every change',
  }),
  transactionalId: string('ANONMERGE_ADMIN_TRANSACTIONAL_ID', {
    default: 'anonmerge.workspaces-admin',
    description: 'The admin writer\'s transactional id: one per deployment, so that an admin API started fences the one before it (docs/design-workspaces.md, "One writer")',
  }),
  idleTimeoutMs: integer('ANONMERGE_ADMIN_IDLE_TIMEOUT_MS', { default: '30000', min: 1000, description: 'A connection on which nothing moves for this long is closed' }),
  requestTimeoutMs: integer('ANONMERGE_ADMIN_REQUEST_TIMEOUT_MS', { default: '30000', min: 1000, description: 'Deadline for a whole request to arrive from its first byte; a slower one is answered 408' }),
  authFailureLimit: integer('ANONMERGE_ADMIN_AUTH_FAILURE_LIMIT', { default: '10', min: 0, description: 'Failed authentications one client address may make per window before it is answered 429 until the window ends (0: no limit)' }),
  trustedProxies: addressList('ANONMERGE_ADMIN_TRUSTED_PROXIES', {
    default: '',
    description:
      "IP addresses or CIDR ranges of the proxies in front of the admin API — the activity page's settings panel among them — comma-separated: their X-Forwarded-For names the client whose failed authentications are counted. Empty: the connection's own address",
  }),
  authFailureWindowMs: integer('ANONMERGE_ADMIN_AUTH_FAILURE_WINDOW_MS', { default: '60000', min: 1000, description: 'The window of ANONMERGE_ADMIN_AUTH_FAILURE_LIMIT, from its first failure' }),
  url: url('ANONMERGE_ADMIN_URL', { default: 'http://127.0.0.1:3004', protocols: ['http:', 'https:'], description: 'Where `anonmerge workspaces …` finds the admin API' }),
  token: secret('ANONMERGE_ADMIN_TOKEN', { default: '', description: "The operator's bearer token `anonmerge workspaces …` sends to the admin API; or ANONMERGE_ADMIN_TOKEN_FILE" }),
} satisfies SettingsSpec;

export const configGroups = {
  kafka: kafkaSettings,
  topics: topicSettings,
  registry: registrySettings,
  redis: redisSettings,
  log: logSettings,
  ingest: ingestSettings,
  merger: mergerSettings,
  activity: activitySettings,
  admin: adminSettings,
} as const;

type Groups = typeof configGroups;
export type GroupName = keyof Groups;
export type Config<G extends GroupName> = { readonly [K in G]: SettingsOf<Groups[K]> };
export type KafkaConfig = SettingsOf<typeof kafkaSettings>;
export type TopicConfig = SettingsOf<typeof topicSettings>;
export type RegistryConfig = SettingsOf<typeof registrySettings>;
export type RedisConfig = SettingsOf<typeof redisSettings>;

/**
 * Reads the named groups from the environment. Problems from all groups are reported together.
 */
export function loadConfig<G extends GroupName>(groups: readonly G[], env: NodeJS.ProcessEnv = process.env): Config<G> {
  const merged: SettingsSpec = {};
  for (const group of groups) {
    for (const [key, setting] of Object.entries(configGroups[group])) merged[`${group}.${key}`] = setting;
  }
  const flat = readSettings(merged, env) as Record<string, unknown>;
  const config: Record<string, Record<string, unknown>> = {};
  for (const [path, value] of Object.entries(flat)) {
    const [group, key] = path.split('.') as [string, string];
    (config[group] ??= {})[key] = value;
  }
  return config as Config<G>;
}

export { ConfigError } from './settings';
