import { minimatch } from 'minimatch';
import { expect, it } from 'vitest';
import { compileGlob, compilePathGlob } from '../../src/config/glob.js';

// The options the config used with minimatch before it had its own linear matcher.
const MINIMATCH = { dot: true, nocomment: true, nonegate: true, noext: true };

const PATH_PATTERNS = [
  '/webhooks/**',
  '/healthz',
  '/a/*',
  '/a/**/b',
  '/a/**b',
  '/a*',
  '/**',
  '/x/**/',
  '/a/?',
  '/a/[bc]',
  '/a/[!b]',
  '/a/[',
  '/s/*.json',
  '/a/\\*',
];
const PATHS = ['/', '/webhooks', '/webhooks/', '/webhooks/a/b', '/healthz', '/healthz/', '/a', '/a/', '/a/b', '/a/c', '/a/x/y/b', '/a/xb', '/a/x/b'];
const MORE_PATHS = ['/ab', '/a/[', '/s/x.json', '/s/x/y.json', '/x/a/', '/x/a', '/a/*', '/.hidden', '/a/.b'];

it.each(PATH_PATTERNS)('path glob %s agrees with minimatch on every sample path', (pattern) => {
  const mine = compilePathGlob(pattern);
  for (const path of [...PATHS, ...MORE_PATHS]) expect(mine(path), `${pattern} vs ${path}`).toBe(minimatch(path, pattern, MINIMATCH));
});

it.each(['*@example.com', 'boss@partner.io', '*@*.example.org', 'a?c@x.io', '[ab]*@x.io', 'j*n*@x.io'])(
  'email glob %s agrees with minimatch (case-insensitive)',
  (pattern) => {
    const mine = compileGlob(pattern, { nocase: true });
    for (const email of [
      'a@example.com',
      'A@EXAMPLE.COM',
      'boss@partner.io',
      'x@a.example.org',
      'x@example.org',
      'abc@x.io',
      'bzz@x.io',
      'john@x.io',
      'jan@x.io',
    ]) {
      expect(mine(email), `${pattern} vs ${email}`).toBe(minimatch(email, pattern, { ...MINIMATCH, nocase: true }));
    }
  },
);

it('matches in time linear in the input: many stars against a long near-miss', () => {
  // A backtracking matcher takes exponential time on this; the automaton reads each character once.
  const glob = compileGlob(`${'*a'.repeat(30)}*@x.io`);
  expect(glob(`${'a'.repeat(50_000)}@x.io`)).toBe(true);
  expect(glob(`${'a'.repeat(29)}${'b'.repeat(50_000)}@x.io`)).toBe(false);
  const path = compilePathGlob(`/${'**/'.repeat(20)}end`);
  expect(path(`${'/seg'.repeat(20_000)}/end`)).toBe(true);
  expect(path(`${'/seg'.repeat(20_000)}/nope`)).toBe(false);
});
