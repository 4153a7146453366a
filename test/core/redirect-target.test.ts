import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/config/issues.js';
import { compileOrigins } from '../../src/config/origins.js';
import { compileRedirectDomains } from '../../src/config/redirect-domains.js';
import { safeRedirect } from '../../src/core/redirect-target.js';
import { REPO_ROOT } from '../helpers/repo.js';

const OWN = 'https://auth.example.com';
const origins = compileOrigins(['https://app.example.com', 'https://*.example.org', 'http://localhost:3000'], 'allowedOrigins', new IssueList());
const check = (t: string) => safeRedirect(t, OWN, origins);

/** The project's own payloads: one per trick, written for these tests. */
const OWN_PAYLOADS = [
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '/%2fevil.example',
  '/%2F%2Fevil.example',
  '/%5cevil.example',
  '/ /evil.example',
  '/\t/evil.example',
  '/%09/evil.example',
  '/./\\evil.example',
  '/../evil.example',
  '/a/../../evil.example',
  'https://evil.example',
  'https://app.example.com.evil.example/',
  'https://app.example.com@evil.example/',
  'https://evil.example\\@app.example.com',
  'https://evil.example%2f@app.example.com',
  'http://app.example.com/',
  'https://app.example.com:8443/',
  'https://example.org/',
  'https://0x7f000001/',
  'https://2130706433/',
  'https://[::ffff:7f00:1]/',
  'https://%65vil.example/',
  'https://evil。example/',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox',
  'ftp://app.example.com/',
  '//app.example.com',
  'https:/evil.example',
  'https:evil.example',
  '/\u2025/evil.example',
  '/ﾟ/evil.example',
  '',
  ' ',
  '/x\r\nLocation: https://evil.example',
  '/?next=//evil.example',
  '/login?rd=https://evil.example/../x//y',
  '%2F%2Fevil.example',
  'https://auth.example.com/%2e%2e//evil.example',
];

describe('safeRedirect', () => {
  it.each(OWN_PAYLOADS)('refuses %j', (payload) => {
    expect(check(payload)).toBeUndefined();
  });

  it.each([
    ['/inbox', '/inbox'],
    ['/inbox/c1?tab=open&x=a%20b#top', '/inbox/c1?tab=open&x=a%20b#top'],
    ['https://auth.example.com/done', 'https://auth.example.com/done'],
    ['https://app.example.com/inbox?c=1', 'https://app.example.com/inbox?c=1'],
    ['https://APP.example.com:443/x', 'https://app.example.com/x'],
    ['https://eu.shop.example.org/', 'https://eu.shop.example.org/'],
    ['http://localhost:3000/', 'http://localhost:3000/'],
  ])('accepts %s', (target, expected) => {
    expect(check(target)).toBe(expected);
  });

  // The shared corpus sits beside the project; it is read here, never copied into it.
  const corpus = join(REPO_ROOT, '..', 'shared', 'corpora', 'openredirects.txt');
  const present = existsSync(corpus);
  it.runIf(present || process.env.CI === 'true')('refuses every line of ../shared/corpora/openredirects.txt, raw and URL-decoded', () => {
    const lines = readFileSync(corpus, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(500);
    const lenient = compileOrigins(['https://www.whitelisteddomain.tld', 'http://www.whitelisteddomain.tld'], 'allowedOrigins', new IssueList());
    // One login for several hosts: redirectDomains opens the login host to these, and to nothing else.
    const hosts = compileRedirectDomains(['www.whitelisteddomain.tld', '*.apps.example.com'], 'redirectDomains', new IssueList());
    const accepted: string[] = [];
    for (const line of lines) {
      let decoded = line;
      try {
        decoded = decodeURIComponent(line.replace(/\+/g, ' '));
      } catch {
        /* keep the raw line */
      }
      for (const t of [line, decoded]) {
        if (safeRedirect(t, OWN, lenient) !== undefined || safeRedirect(t, OWN, lenient, hosts) !== undefined) accepted.push(t);
      }
    }
    expect(accepted).toEqual([]);
  });
  if (!present && process.env.CI !== 'true') console.warn(`SKIPPED the shared redirect corpus: ${corpus} is not there`);
});

describe('redirectDomains: one login host returning to many app hosts', () => {
  const hosts = compileRedirectDomains(['app.example.com', '*.apps.example.com'], 'redirectDomains', new IssueList());
  const own = 'https://auth.example.com';
  it.each([
    ['https://app.example.com/inbox?x=1', 'https://app.example.com/inbox?x=1'],
    ['https://grafana.apps.example.com/d/1', 'https://grafana.apps.example.com/d/1'],
    ['https://a.b.apps.example.com/', 'https://a.b.apps.example.com/'],
    // A bare host means https on 443: neither plain http nor another port of the same host.
    ['http://a.b.apps.example.com:8080/', undefined],
    ['http://app.example.com/', undefined],
    ['https://app.example.com:8443/', undefined],
    ['https://apps.example.com/', undefined],
    ['https://app.example.com.evil.io/', undefined],
    ['https://evilapps.example.com/', undefined],
    ['https://app.example.com@evil.io/', undefined],
    ['//app.example.com/', undefined],
  ])('%s → %s', (target, expected) => {
    expect(safeRedirect(target, own, compileOrigins([], 'allowedOrigins', new IssueList()), hosts)).toBe(expected);
  });

  it('refuses a malformed entry at config time', () => {
    const issues = new IssueList();
    compileRedirectDomains(
      ['*.com', 'exa mple.com', '*', 'ftp://app.example.com', 'https://app.example.com:0', 'https://app.example.com/path'],
      'redirectDomains',
      issues,
    );
    expect(issues.items.map((i) => i.problem)).toHaveLength(6);
  });

  it('an entry that names a scheme and port allows exactly that origin', () => {
    const named = compileRedirectDomains(
      ['http://dev.example.com:8080', 'http://*.test.example.com', 'https://app.example.com:443'],
      'redirectDomains',
      new IssueList(),
    );
    const to = (target: string) => safeRedirect(target, own, compileOrigins([], 'allowedOrigins', new IssueList()), named);
    expect(to('http://dev.example.com:8080/x')).toBe('http://dev.example.com:8080/x');
    expect(to('https://dev.example.com:8080/x')).toBeUndefined();
    expect(to('http://dev.example.com/x')).toBeUndefined();
    expect(to('http://a.test.example.com/')).toBe('http://a.test.example.com/');
    expect(to('http://a.test.example.com:81/')).toBeUndefined();
    expect(to('https://a.test.example.com/')).toBeUndefined();
    expect(to('https://app.example.com/')).toBe('https://app.example.com/');
  });
});
