/**
 * A Redis Cluster of a test's own (3 masters, 3 replicas), started by the project's script
 * (infra/redis-cluster.sh) on free ports with a throwaway data folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const script = path.resolve(__dirname, '../../infra/redis-cluster.sh');

export class DedicatedRedisCluster {
  readonly home = mkdtempSync(path.join(tmpdir(), 'anonmerge-redis-cluster-'));
  basePort = DedicatedRedisCluster.pickBase();
  get nodes(): string[] {
    return Array.from({ length: 6 }, (_, i) => `127.0.0.1:${this.basePort + i}`);
  }

  /**
   * Six ports and their cluster bus ports (+ 10000), all below Linux's ephemeral range
   * (32768–60999), where outgoing connections take their local ports.
   */
  private static pickBase(): number {
    return 11000 + Math.floor(Math.random() * 300) * 6;
  }

  private run(...args: string[]): string {
    return execFileSync('bash', [script, ...args], { env: { ...process.env, ANONMERGE_HOME: this.home, REDIS_CLUSTER_PORT: String(this.basePort) }, stdio: 'pipe', timeout: 90000 }).toString();
  }

  /** Starts it; a port taken by something else makes it try other ports (three times). */
  start(): void {
    for (let attempt = 1; ; attempt += 1) {
      try {
        this.run('start');
        break;
      } catch (error) {
        if (attempt === 3 || !String((error as { stderr?: Buffer }).stderr ?? '').includes('is taken')) throw error;
        this.run('stop');
        this.basePort = DedicatedRedisCluster.pickBase();
      }
    }
    this.run('wait');
  }

  destroy(): void {
    try {
      this.run('stop');
    } finally {
      rmSync(this.home, { recursive: true, force: true });
    }
  }
}
