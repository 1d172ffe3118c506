/**
 * A Redis of a test's own, started by the project's script (infra/redis.sh: AOF on, appendfsync
 * everysec) on a free port with a throwaway data folder, for tests that kill or restart it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const script = path.resolve(__dirname, '../../infra/redis.sh');

export class DedicatedRedis {
  readonly home = mkdtempSync(path.join(tmpdir(), 'anonmerge-redis-'));
  readonly port = 17000 + Math.floor(Math.random() * 2000);
  readonly url = `redis://127.0.0.1:${this.port}`;

  /** extraEnv: e.g. REDIS_ACL_USER/REDIS_ACL_PASSWORD for an instance that requires them. */
  constructor(private readonly extraEnv: Record<string, string> = {}) {}

  private run(...args: string[]): void {
    execFileSync('bash', [script, ...args], { env: { ...process.env, ANONMERGE_HOME: this.home, REDIS_PORT: String(this.port), ...this.extraEnv }, stdio: 'pipe', timeout: 60000 });
  }

  start(): void {
    this.run('start');
    this.run('wait');
  }

  stop(): void {
    this.run('stop');
  }

  /** SIGKILL: whatever the AOF had not fsynced (up to a second) is lost. */
  kill(): void {
    const pid = Number(readFileSync(path.join(this.home, 'run', 'redis.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
  }

  destroy(): void {
    try {
      this.run('stop');
    } finally {
      rmSync(this.home, { recursive: true, force: true });
    }
  }
}
