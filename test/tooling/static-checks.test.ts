import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/repo.js';

// The static checks CI runs before the tests must be able to fail: a planted mistake is refused.

/** Lints one planted file under src/ with the project's config (the planted folder is git-ignored, so ignore files are not read). */
function lintPlanted(source: string, command: 'lint' | 'check' = 'check') {
  const dir = mkdtempSync(join(REPO_ROOT, 'src', '.planted-'));
  try {
    writeFileSync(join(dir, 'planted.ts'), source);
    return spawnSync('npx', ['biome', command, '--vcs-use-ignore-file=false', join(dir, 'planted.ts')], { cwd: REPO_ROOT, encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('npm run lint refuses a debugger statement in src/, and accepts the same code without it', () => {
  const planted = lintPlanted('export function f(): number {\n  debugger;\n  return 1;\n}\n');
  expect(planted.status, planted.stdout + planted.stderr).not.toBe(0);
  expect(planted.stdout + planted.stderr).toMatch(/noDebugger/);
  const control = lintPlanted('export function f(): number {\n  return 1;\n}\n');
  expect(control.status, control.stdout + control.stderr).toBe(0);
});

it('npm run lint (biome check) refuses unformatted code, and accepts it formatted', () => {
  expect(lintPlanted('export const x = { a:1 }\n').status).not.toBe(0);
  expect(lintPlanted('export const x = { a: 1 };\n').status).toBe(0);
});

it('npm run typecheck covers tests: a type error in a test file fails it', () => {
  const dir = mkdtempSync(join(REPO_ROOT, 'test', '.planted-'));
  try {
    writeFileSync(join(dir, 'planted.test.ts'), "const n: number = 'not a number';\nexport { n };\n");
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.test.json', include: ['planted.test.ts'] }));
    const r = spawnSync('npx', ['tsc', '-p', join(dir, 'tsconfig.json')], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout).toMatch(/planted\.test\.ts.*TS2322/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

it('keeps every source line within 160 characters', () => {
  const listed = spawnSync('git', ['ls-files', '*.ts', '*.mjs', '*.mts'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const long: string[] = [];
  for (const file of listed) {
    readFileSync(join(REPO_ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.length > 160) long.push(`${file}:${i + 1} (${line.length})`);
      });
  }
  expect(long).toEqual([]);
});
