import { describe, expect, it } from 'vitest';
import { formatRevocations, liveCount, parseRevocations, type RevocationEntry, revocationEntry, revocationKey } from '../../src/session/revocation-list.js';

const lines = (...entries: RevocationEntry[]) => ({ revocations: entries.map((e) => `${e.key} ${e.at} ${e.until}\n`).join('') });

const NOW = 1_795_867_200;
const DAY = 86400;

describe('the revocation list format', () => {
  it('keys every kind by a hash that fits the ConfigMap key syntax, whatever the value holds', () => {
    for (const value of ['ann@example.com', 'a/b c:d', '💥', 'x'.repeat(1024), 'CN=Ann,O=Example']) {
      for (const kind of ['jti', 'sid', 'sub', 'email'] as const) {
        const key = revocationKey(kind, value);
        expect(key).toMatch(new RegExp(`^${kind}\\.[A-Za-z0-9_-]{12}$`));
        // Kubernetes' own rule for ConfigMap keys.
        expect(key).toMatch(/^[-._a-zA-Z0-9]{1,253}$/);
      }
    }
    expect(revocationKey('email', 'Ann@Example.COM')).toBe(revocationKey('email', 'ann@example.com'));
    expect(revocationKey('sub', 'Ann')).not.toBe(revocationKey('sub', 'ann'));
    expect(revocationKey('sub', 'ann')).not.toBe(revocationKey('jti', 'ann').replace('jti.', 'sub.'));
  });

  it('reads back what it writes, and skips lines and keys that are not entries', () => {
    const e = revocationEntry('jti', 'abc', NOW, 30 * DAY);
    const all = revocationEntry('all', '', NOW - 10, DAY);
    const written = formatRevocations(parseRevocations({}, [e, all]).list, NOW);
    expect(written).toBe(`${e.key} ${NOW} ${NOW + 30 * DAY}\nall ${NOW - 10} ${NOW - 10 + DAY}\n`);
    const { list, skipped } = parseRevocations({
      revocations: `${written}jti.tooShort ${NOW} ${NOW + 1}\nsub.AAAAAAAAAAAA yesterday 1\n\n`,
      'note.txt': 'hello',
    });
    expect(list.entries.get(e.key)).toEqual({ at: NOW, until: NOW + 30 * DAY });
    expect(list.allBefore).toEqual({ at: NOW - 10, until: NOW - 10 + DAY });
    expect(list.newestAt).toBe(NOW);
    expect(skipped).toEqual(['key note.txt', 'line 3', 'line 4']);
  });

  it('merges the replica’s own entries, the later revocation of one key winning (an all cut-off never moves back)', () => {
    const old = revocationEntry('sub', 'ann', NOW - 100, DAY);
    const again = revocationEntry('sub', 'ann', NOW, DAY);
    expect(parseRevocations(lines(old), [again]).list.entries.get(old.key)).toEqual({ at: NOW, until: NOW + DAY });
    expect(parseRevocations(lines(again), [old]).list.entries.get(old.key)).toEqual({ at: NOW, until: NOW + DAY });
    const later = revocationEntry('all', '', NOW, DAY);
    expect(parseRevocations(lines(later), [revocationEntry('all', '', NOW - 3600, DAY)]).list.allBefore?.at).toBe(NOW);
  });

  it('writes only the entries whose time is not over', () => {
    const live = revocationEntry('jti', 'live', NOW, DAY);
    const over = revocationEntry('jti', 'over', NOW - 2 * DAY, DAY);
    const { list } = parseRevocations(lines(live, over));
    expect(liveCount(list, NOW)).toBe(1);
    expect(formatRevocations(list, NOW)).toBe(`${live.key} ${live.at} ${live.until}\n`);
  });

  it('refuses an empty or absurdly long value', () => {
    expect(() => revocationEntry('jti', '', NOW, DAY)).toThrow(TypeError);
    expect(() => revocationEntry('email', 'x'.repeat(1025), NOW, DAY)).toThrow(TypeError);
  });

  it('keeps 10,000 entries far below the 1 MiB object limit', () => {
    const entries: RevocationEntry[] = [];
    for (let i = 0; i < 10_000; i++) {
      const kind = (['jti', 'sid', 'sub', 'email'] as const)[i % 4]!;
      const value = kind === 'email' ? `someone.with.a.long.name${i}@subsidiary.example.com` : crypto.randomUUID();
      entries.push(revocationEntry(kind, value, NOW + i, 30 * DAY));
    }
    const data = { revocations: formatRevocations(parseRevocations({}, entries).list, NOW) };
    // What the apiserver counts against the limit (keys and values), and the object as JSON on the wire.
    const dataBytes = Buffer.byteLength(data.revocations) + 'revocations'.length;
    const jsonBytes = Buffer.byteLength(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'airy-auth-revocations' }, data }));
    console.log(`10,000 revocations: ${dataBytes} bytes of data, ${jsonBytes} bytes as JSON (limit 1048576)`);
    expect(jsonBytes).toBeLessThan(450 * 1024);
    const started = performance.now();
    const { list, skipped } = parseRevocations(data);
    console.log(`parsed in ${(performance.now() - started).toFixed(1)} ms`);
    expect(skipped).toEqual([]);
    expect(liveCount(list, NOW)).toBe(10_000);
  });
});
