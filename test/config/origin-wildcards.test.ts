import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/config/issues.js';
import { compileOrigins, normalizeOrigin } from '../../src/config/origins.js';

/**
 * An Origin is chosen by whoever sends the request, and every request with one is matched against
 * allowedOrigins on the one event loop. Matching must cost time linear in the Origin's length.
 */
describe('allowedOrigins with "*." wildcards', () => {
  const origins = compileOrigins(
    ['https://*.example.org', 'https://*.apps.example.com', 'https://*.*.corp.example.net', 'https://*.mid.*.example.net', 'https://app.example.com'],
    'allowedOrigins',
    new IssueList(),
  );

  it('matches one label or more before the fixed part, and nothing else', () => {
    expect(origins.matches('https://a.example.org')).toBe(true);
    expect(origins.matches('https://a.b.c.example.org')).toBe(true);
    expect(origins.matches('https://example.org')).toBe(false);
    expect(origins.matches('https://a.example.org.evil.io')).toBe(false);
    expect(origins.matches('https://x.apps.example.com')).toBe(true);
    expect(origins.matches('https://apps.example.com')).toBe(false);
    expect(origins.matches('https://x.y.corp.example.net')).toBe(true);
    expect(origins.matches('https://x.corp.example.net')).toBe(false);
    expect(origins.matches('http://a.example.org')).toBe(false);
    expect(origins.matches('https://a.mid.b.c.example.net')).toBe(true);
    expect(origins.matches('https://a.b.c.example.net')).toBe(false);
    expect(origins.matches('https://a.example.org:8443')).toBe(false);
    expect(origins.matches(`https://${'a.'.repeat(5000)}example.org`)).toBe(true);
  });

  /** Microseconds per call of what decide does with an Origin: normalize it, then match it; the best of several rounds. */
  function costOf(origin: string): number {
    let best = Number.POSITIVE_INFINITY;
    const calls = Math.max(20, Math.floor(200_000 / origin.length));
    for (let round = 0; round < 7; round++) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) {
        const n = normalizeOrigin(origin);
        if (n === undefined || origins.matches(n)) throw new Error('the crafted origin must be valid and refused');
      }
      best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / calls);
    }
    return best;
  }

  it('costs time linear in the length of the Origin: a 30 KB Origin of dots costs about 30 times a 1 KB one, not 900', () => {
    // Refused (the worst case: every way to match is tried), and made of one-letter labels, so the
    // number of labels grows with the length; one shape for the leading "*." patterns, one that
    // ends like a pattern with a "*" inside, so its labels are walked.
    const crafted = (bytes: number, end: string) => `https://${'a.'.repeat(Math.floor((bytes - 8 - end.length) / 2))}${end}`;
    // 'com': the red-team review's shape, one-letter labels ending in neither pattern's suffix.
    for (const end of ['example.io', 'x.example.net', 'com']) {
      const small = crafted(1_000, end);
      const large = crafted(30_000, end);
      expect(large.length).toBeGreaterThanOrEqual(29_990);
      costOf(small); // warm-up
      const ratio = costOf(large) / costOf(small);
      const lengthRatio = large.length / small.length;
      // Linear: the ratio is close to the length ratio (30). Quadratic: close to its square (900).
      expect(ratio, `"…${end}": 30 KB vs 1 KB cost ratio ${ratio.toFixed(1)} (length ratio ${lengthRatio.toFixed(1)})`).toBeLessThan(lengthRatio * 3);
    }
  });
});
