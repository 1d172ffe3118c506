/**
 * A Kafka of a test's own, started by the project's script (infra/kafka.sh) on free ports with a
 * throwaway data folder, for tests that stop, kill or cut off the broker without taking the shared
 * one away from tests running beside them. The jars come from the shared download cache.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const script = path.resolve(__dirname, '../../infra/kafka.sh');

export class DedicatedKafka {
  readonly home = mkdtempSync(path.join(tmpdir(), 'anonmerge-kafka-'));
  readonly port = 20000 + Math.floor(Math.random() * 5000);
  readonly controllerPort = this.port + 5000;
  readonly brokers: string[];

  /**
   * advertisedPort: clients are told to connect there (a proxy in front of the broker).
   * extraEnv: e.g. KAFKA_SCRAM_USER/KAFKA_SCRAM_PASSWORD for a SASL/SCRAM listener.
   */
  constructor(
    readonly advertisedPort?: number,
    private readonly extraEnv: Record<string, string> = {},
  ) {
    this.brokers = [`127.0.0.1:${advertisedPort ?? this.port}`];
  }

  private run(...args: string[]): void {
    execFileSync('bash', [script, ...args], {
      env: { ...process.env, ANONMERGE_HOME: this.home, KAFKA_PORT: String(this.port), KAFKA_CONTROLLER_PORT: String(this.controllerPort), KAFKA_ADVERTISED_PORT: String(this.advertisedPort ?? this.port), KAFKA_HEAP: '384m', ...this.extraEnv },
      stdio: 'pipe',
      timeout: 120000,
    });
  }

  start(): void {
    this.run('start');
    this.run('wait', '90');
  }

  /** Graceful stop (SIGTERM, controlled shutdown). */
  stop(): void {
    this.run('stop');
  }

  kill(): void {
    const pid = Number(readFileSync(path.join(this.home, 'run', 'kafka.pid'), 'utf8'));
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
