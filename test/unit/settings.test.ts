import { ConfigError, loadConfig } from '../../services/shared/config';
import { addressList, hostPorts, integer, readSettings, url } from '../../services/shared/config/settings';

describe('settings', () => {
  it('uses defaults when nothing is set', () => {
    const config = loadConfig(['kafka', 'redis', 'topics'], {});
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.redis.url).toBe('redis://127.0.0.1:6380');
    expect(config.topics.partitions).toBe(6);
  });

  it('reads overrides', () => {
    const config = loadConfig(['kafka', 'ingest'], { ANONMERGE_KAFKA_BROKERS: 'a:1, b:2', ANONMERGE_INGEST_PORT: '4000' });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.ingest.port).toBe(4000);
  });

  it('names every malformed setting in one error', () => {
    let error: unknown;
    try {
      loadConfig(['kafka', 'ingest', 'redis'], { ANONMERGE_KAFKA_BROKERS: 'no-port', ANONMERGE_INGEST_PORT: '70000', ANONMERGE_REDIS_URL: 'http://x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('ANONMERGE_KAFKA_BROKERS="no-port" is malformed: "no-port" is not host:port');
    expect(message).toContain('ANONMERGE_INGEST_PORT="70000" is malformed: expected at most 65535');
    expect(message).toContain('ANONMERGE_REDIS_URL="http://x" is malformed: expected a URL starting with redis:// or rediss://');
    expect((error as ConfigError).problems).toHaveLength(3);
  });

  it('names a missing required setting', () => {
    const spec = { secret: integer('NEEDED_NUMBER', { description: 'a number we need' }) };
    expect(() => readSettings(spec, {})).toThrow('NEEDED_NUMBER is required (a number we need)');
  });

  it('refuses non-integers, and lists that need items', () => {
    expect(() => readSettings({ n: integer('N', { description: 'n' }) }, { N: '1.5' })).toThrow('expected an integer');
    expect(() => readSettings({ b: hostPorts('B', { description: 'b' }) }, { B: ' , ' })).toThrow('expected at least one host:port');
    expect(() => readSettings({ u: url('U', { description: 'u', protocols: ['http:'] }) }, { U: 'not a url' })).toThrow('expected a URL');
  });
  it('refuses an activity admin token shorter than 16 characters without showing it; empty means none', () => {
    expect(() => loadConfig(['activity'], { ANONMERGE_ACTIVITY_ADMIN_TOKEN: 'admin123' })).toThrow(
      new ConfigError(['ANONMERGE_ACTIVITY_ADMIN_TOKEN=(secret) is malformed: expected at least 16 characters (e.g. openssl rand -hex 24)']),
    );
    expect(loadConfig(['activity'], { ANONMERGE_ACTIVITY_ADMIN_TOKEN: 'a'.repeat(16) }).activity.adminToken).toBe('a'.repeat(16));
    expect(loadConfig(['activity'], {}).activity.adminToken).toBe('');
  });
});

describe('address lists (trusted proxies)', () => {
  const spec = { proxies: addressList('TEST_PROXIES', { default: '', description: 'test' }) };
  it('reads addresses and CIDR ranges, IPv4 and IPv6; empty is none', () => {
    expect(readSettings(spec, {}).proxies).toEqual([]);
    expect(readSettings(spec, { TEST_PROXIES: '10.0.0.1, 10.1.0.0/16,fd00::/8 ,::1' }).proxies).toEqual(['10.0.0.1', '10.1.0.0/16', 'fd00::/8', '::1']);
  });
  it('refuses a typo rather than trusting nobody, or everybody', () => {
    for (const bad of ['10.0.0', '10.0.0.1/33', 'fd00::/129', 'proxy.internal', '10.0.0.1/8/2', '*']) {
      expect(() => readSettings(spec, { TEST_PROXIES: bad })).toThrow(/is not an IP address or CIDR range/);
    }
  });
});
