import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import type { Revocations } from '../../src/http/deps.js';
import { allRoutes } from '../../src/http/routes.js';
import { mintSession } from '../../src/session/mint.js';
import { EMPTY_REVOCATIONS, parseRevocations, type RevocationEntry, revocationKey } from '../../src/session/revocation-list.js';
import { startInProcess } from '../helpers/in-process.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';

/** As the ConfigMap writer does when the apiserver is down: applied on this replica at once, and the write fails. */
class UnwritableRevocations implements Revocations {
  current = EMPTY_REVOCATIONS;
  applied: RevocationEntry[] = [];
  async record(entries: readonly RevocationEntry[]): Promise<void> {
    this.applied.push(...entries);
    this.current = parseRevocations({}, this.applied).list;
    throw new Error('the apiserver cannot be reached');
  }
}

describe('logout with the revocation list on', () => {
  let server: Awaited<ReturnType<typeof startInProcess>>;
  const revocations = new UnwritableRevocations();
  beforeAll(async () => {
    server = await startInProcess(compileAiryYaml(securityYaml(PROTECTED)), () => allRoutes());
    (server.deps as { revocations?: Revocations }).revocations = revocations;
  });
  afterAll(() => server?.close());

  const auth = async (cookie: string) => {
    const res = await request(`${server.url}/auth`, { headers: { cookie, 'x-original-url': 'https://app.example.com/inbox' } });
    await res.body.dump();
    return res.statusCode;
  };

  it('revokes the session by its jti on this replica even when the list cannot be written, logs that, and still logs out', async () => {
    const token = await mintSession(server.store.current!.sessionKey!, { sub: 'ann', email: 'ann@example.com' }, 3600, Date.now());
    const cookie = `airy_auth_token=${token}`;
    expect(await auth(cookie)).toBe(200);
    const out = await request(`${server.url}/logout`, { method: 'POST', headers: { cookie, origin: server.url } });
    await out.body.dump();
    expect(out.statusCode).toBe(302);
    expect([out.headers['set-cookie'] ?? []].flat().some((c) => /^airy_auth_token=;.*Max-Age=0/.test(c))).toBe(true);
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
    expect(revocations.applied.map((e) => e.key)).toEqual([revocationKey('jti', jti)]);
    expect(await auth(cookie)).toBe(401);
    const warned = server.logger.lines.filter((l) => JSON.stringify(l).includes('revoked on this replica only'));
    expect(warned).toHaveLength(1);
    expect(JSON.stringify(server.logger.lines)).not.toContain(token);
  });

  it('a forged session cookie revokes nothing', async () => {
    const before = revocations.applied.length;
    const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IiLCJqdGkiOiJ2aWN0aW0ifQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const out = await request(`${server.url}/logout`, { method: 'POST', headers: { cookie: `airy_auth_token=${forged}`, origin: server.url } });
    await out.body.dump();
    expect(out.statusCode).toBe(302);
    expect(revocations.applied.length).toBe(before);
  });
});
