/**
 * The repository root, found by walking up to package.json, so that files such as schemas/ are
 * found the same way from the TypeScript sources (tests) and from the compiled dist/ (services).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

export function projectRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  cached = dir;
  return dir;
}
