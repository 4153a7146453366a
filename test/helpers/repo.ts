import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file whether it runs as TypeScript (tests) or compiled (bench). */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || existsSync(join(dir, 'test', 'helpers', 'repo.ts')) === false) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repo root not found');
    dir = parent;
  }
  return dir;
})();

/** The built CLI that `npm install` leaves behind. */
export const CLI = join(REPO_ROOT, 'dist', 'cmd', 'airy-auth.js');
