import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/repo.js';

type Version = [number, number, number];

/** `20`, `20.19`, `4.x`, `0.6.x`: missing or x parts are 0, with how many parts were given. */
function parse(text: string): { v: Version; parts: number } {
  const parts = text.split('.').filter((p) => p !== 'x' && p !== '*' && p !== '');
  const n = parts.map(Number);
  return { v: [n[0] ?? 0, n[1] ?? 0, n[2] ?? 0], parts: parts.length };
}
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** One comparator of a range, for the forms package-lock.json's engines use (npm's semver rules). */
function comparator(v: Version, c: string): boolean {
  const m = /^(>=|<=|>|<|\^|~|=)?\s*v?([\dx*.]+)$/.exec(c.trim());
  if (!m) throw new Error(`range form not understood: "${c}"`);
  const [, op = '', text] = m;
  if (text === '*' || text === 'x') return true;
  const { v: w, parts } = parse(text!);
  const upper = (level: number): Version => (level === 0 ? [w[0] + 1, 0, 0] : level === 1 ? [w[0], w[1] + 1, 0] : [w[0], w[1], w[2] + 1]);
  switch (op) {
    case '>=':
      return cmp(v, w) >= 0;
    case '>':
      return parts === 3 ? cmp(v, w) > 0 : cmp(v, upper(parts - 1)) >= 0;
    case '<=':
      return parts === 3 ? cmp(v, w) <= 0 : cmp(v, upper(parts - 1)) < 0;
    case '<':
      return cmp(v, w) < 0;
    case '^':
      return cmp(v, w) >= 0 && cmp(v, upper(w[0] !== 0 || parts === 1 ? 0 : w[1] !== 0 || parts === 2 ? 1 : 2)) < 0;
    case '~':
      return cmp(v, w) >= 0 && cmp(v, upper(parts === 1 ? 0 : 1)) < 0;
    default:
      return parts === 3 ? cmp(v, w) === 0 : cmp(v, w) >= 0 && cmp(v, upper(parts - 1)) < 0;
  }
}

function satisfies(version: string, range: string): boolean {
  const v = parse(version.replace(/^v/, '')).v;
  return range.split('||').some((alt) => {
    const comps = alt
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return comps.length === 0 || comps.every((c) => comparator(v, c));
  });
}

/** Every minor release line from Node 18 to 26 that the root's engines range admits. */
function namedVersions(range: string): string[] {
  const all: string[] = [];
  for (let major = 18; major <= 26; major++) for (let minor = 0; minor <= 30; minor++) all.push(`${major}.${minor}.0`);
  return all.filter((v) => satisfies(v, range));
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
type LockPackages = Record<string, { engines?: { node?: string }; dev?: boolean; optional?: boolean }>;
const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: LockPackages };

/** Installed (not optional) packages of the lock whose engines refuse `version`, as npm ci would warn. */
function warnings(version: string, dev: boolean, packages: LockPackages = lock.packages): string[] {
  return Object.entries(packages)
    .filter(([path, p]) => path !== '' && !p.optional && (p.dev ?? false) === dev && p.engines?.node !== undefined)
    .filter(([, p]) => !satisfies(version, p.engines!.node!))
    .map(([path]) => path.replace(/^.*node_modules\//, ''));
}

it('the range check reads npm ranges as npm does', () => {
  expect(satisfies('20.20.2', '^20.19.0 || >=22.12.0')).toBe(true);
  expect(satisfies('22.5.0', '^20.19.0 || >=22.12.0')).toBe(false);
  expect(satisfies('20.20.2', '>=22')).toBe(false);
  expect(satisfies('23.1.0', '^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(false);
  expect(satisfies('20.1.0', '18 || 20 || >=22')).toBe(true);
  expect(satisfies('21.0.0', '18 || 20 || >=22')).toBe(false);
  expect(satisfies('6.1.0', '4.x || >=6.0.0')).toBe(true);
  expect(satisfies('20.0.0', '>= 20.16.0')).toBe(false);
  expect(satisfies('20.19.0', '>=0.6.x')).toBe(true);
  expect(satisfies('13.6.0', '^10 || ^12 || ^13.7 || ^14 || >=15.0.1')).toBe(false);
});

it.each([
  ['runtime', false],
  ['dev', true],
])('no %s dependency warns about its engine on any Node version package.json names', (_, dev) => {
  const versions = namedVersions(pkg.engines.node);
  expect(versions).toContain('20.19.0');
  expect(satisfies(process.versions.node, pkg.engines.node), `this Node ${process.versions.node}`).toBe(true);
  for (const version of [...versions, process.versions.node]) expect(warnings(version, dev), `Node ${version}`).toEqual([]);
});

it('the lock check names a dev dependency whose engines refuse a named version, and skips optional ones', () => {
  const packages: LockPackages = {
    ...lock.packages,
    'node_modules/needs-22': { engines: { node: '>=22' }, dev: true },
    'node_modules/a/node_modules/needs-22-too': { engines: { node: '^22.12.0 || >=24' }, dev: true },
    'node_modules/optional-22': { engines: { node: '>=22' }, dev: true, optional: true },
  };
  expect(warnings('20.19.0', true, packages)).toEqual(['needs-22', 'needs-22-too']);
  expect(warnings('22.12.0', true, packages)).toEqual([]);
});
