import { expect, it } from 'vitest';
import { IssueList } from '../../src/config/issues.js';
import { compileOrigins, normalizeOrigin } from '../../src/config/origins.js';

/**
 * Red team, "costs a stranger controls": the Origin is checked before any credential, so anyone
 * chooses its cost. With one `https://*.example.org` entry, an Origin of N one-letter labels makes
 * compileOrigins' index loop build and hash N suffixes of falling length: O(N²) characters. Measured
 * through the server on this branch: 2,011 characters 16 ms, 4,011 40 ms, 8,011 128 ms, 16,011
 * 456 ms per request (Envoy's ext_authz timeout is 200 ms; nginx passes 8 KB header lines).
 * Linear work grows 4× when the input does; this asserts less than 8× (quadratic is about 16×).
 */
function medianMs(fn: () => void, runs = 7): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

it('FAILS TODAY: a wildcard allowedOrigins entry matches a many-label Origin in linear time', () => {
  const issues = new IssueList();
  const origins = compileOrigins(['https://app.example.com', 'https://*.example.org'], 'security.allowedOrigins', issues);
  const originOf = (labels: number) => normalizeOrigin(`https://${'a.'.repeat(labels)}com`)!;
  const small = originOf(2000);
  const large = originOf(8000);
  expect(origins.matches(small)).toBe(false);
  medianMs(() => origins.matches(large), 3); // warm-up
  const ratio = medianMs(() => origins.matches(large)) / medianMs(() => origins.matches(small));
  expect(ratio, `8,000 labels cost ${ratio.toFixed(1)}× 2,000 labels`).toBeLessThan(8);
});
