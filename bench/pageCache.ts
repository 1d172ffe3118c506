/**
 * Makes a Kafka partition's segments "old" for a benchmark: written back to disk and dropped from
 * the page cache, so that reading them costs what reading days-old data costs a broker whose
 * memory holds only recent segments. Done per file with posix_fadvise(POSIX_FADV_DONTNEED)
 * (through python3, which exposes it; no root needed, unlike /proc/sys/vm/drop_caches), after a
 * sync so that the pages are clean; checked with util-linux's fincore.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Eviction {
  readonly files: number;
  readonly bytes: number;
  /** Bytes of those files in the page cache before and after. */
  readonly residentBefore: number;
  readonly residentAfter: number;
}

function segmentFiles(dataDir: string, topic: string): string[] {
  return readdirSync(dataDir)
    .filter((name) => name.startsWith(`${topic}-`) && /-\d+$/.test(name))
    .flatMap((dir) => readdirSync(path.join(dataDir, dir)).filter((f) => f.endsWith('.log')).map((f) => path.join(dataDir, dir, f)));
}

function residentBytes(files: readonly string[]): number {
  if (files.length === 0) return 0;
  const out = execFileSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', ...files], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .reduce((sum, line) => sum + (Number(line.trim()) || 0), 0);
}

export function evictTopicFromPageCache(dataDir: string, topic: string): Eviction {
  const files = segmentFiles(dataDir, topic);
  const residentBefore = residentBytes(files);
  execFileSync('sync');
  const script = 'import os,sys\nfor f in sys.argv[1:]:\n  fd=os.open(f,os.O_RDONLY)\n  os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)\n  os.close(fd)\n';
  if (files.length > 0) execFileSync('python3', ['-c', script, ...files]);
  return { files: files.length, bytes: files.reduce((sum, f) => sum + statSync(f).size, 0), residentBefore, residentAfter: residentBytes(files) };
}
