import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/repo.js';

// Imports point inward: cmd → http → core/oidc/sources → config → session. A layer may import
// only from the layers listed for it (and from itself).
const ALLOWED: Record<string, readonly string[]> = {
  session: [],
  config: ['session'],
  core: ['config', 'session'],
  oidc: ['config', 'session', 'core', 'metrics', 'log.ts'],
  sources: ['config', 'session', 'metrics', 'log.ts'],
  metrics: [],
  http: ['core', 'oidc', 'config', 'session', 'metrics', 'log.ts'],
  migrate: ['config', 'http'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

it('every import in src/ points inward', () => {
  const src = join(REPO_ROOT, 'src');
  const wrong: string[] = [];
  for (const file of sourceFiles(src)) {
    const layer = relative(src, file).split('/')[0]!;
    const allowed = ALLOWED[layer];
    if (allowed === undefined) continue; // log.ts: a leaf
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(src, join(file, '..', m[1]!)).split('/')[0]!;
      if (target !== layer && !allowed.includes(target.replace(/\.js$/, '.ts'))) wrong.push(`${relative(REPO_ROOT, file)} imports ${m[1]}`);
    }
  }
  expect(wrong).toEqual([]);
});
