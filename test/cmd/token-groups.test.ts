import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, CLI, startAiry } from '../helpers/airy-process.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

const dir = mkdtempSync(join(tmpdir(), 'airy-token-'));
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'token', ...args], { encoding: 'utf8' });

/** The Helm layout: airy.yaml without secrets, and the Secret holding them (base64 under data, as kubectl get -o yaml shows it). */
const SECRET = join(dir, 'secret.yaml');
const b64 = (s: string) => Buffer.from(s).toString('base64');
writeFileSync(
  SECRET,
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: airy-auth\ndata:\n  systemToken: ${b64(TEST_SYSTEM_TOKEN)}\n  jwtSecret: ${b64(TEST_JWT_SECRET)}\n`,
);
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  policies:
    grafana: { allowedGroups: "acme:sre" }
`;

let airy: AiryProcess;
beforeAll(async () => {
  airy = await startAiry(CONFIG);
});
afterAll(() => airy?.stop());

async function status(token: string, policy: string): Promise<number> {
  const res = await request(`${airy.url}/auth?policy=${policy}`, {
    headers: { host: 'airy-auth', 'x-original-url': 'https://grafana.example.com/d/home', authorization: `Bearer ${token}` },
  });
  await res.body.dump();
  return res.statusCode;
}

it('token --groups --secret-file mints a token that a group-gated app accepts, and one without the group is refused', async () => {
  const sre = run('--sub', 'deploy-bot', '--groups', 'acme:sre, acme:ci', '--secret-file', SECRET, '--ttl', '10m');
  expect(sre.status, sre.stderr).toBe(0);
  const other = run('--sub', 'deploy-bot', '--groups', 'acme:ci', '--secret-file', SECRET);
  expect(other.status, other.stderr).toBe(0);
  expect(await status(sre.stdout.trim(), 'grafana')).toBe(200);
  expect(await status(other.stdout.trim(), 'grafana')).toBe(403);
});

it('a Secret with stringData or a flat key file works the same; a Secret without jwtSecret is a clear error', async () => {
  const flat = join(dir, 'flat.yaml');
  writeFileSync(flat, `jwtSecret: "${TEST_JWT_SECRET}"\n`);
  const t = run('--sub', 'ci', '--groups', 'acme:sre', '--secret-file', flat);
  expect(t.status, t.stderr).toBe(0);
  expect(await status(t.stdout.trim(), 'grafana')).toBe(200);
  const noKey = join(dir, 'nokey.yaml');
  writeFileSync(noKey, `apiVersion: v1\nkind: Secret\nstringData:\n  systemToken: "${TEST_SYSTEM_TOKEN}"\n`);
  const r = run('--sub', 'ci', '--secret-file', noKey);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('jwtSecret is not set');
  expect(r.stdout).toBe('');
});

it('--groups with an empty name is a usage error, not a token without groups', () => {
  const r = run('--sub', 'ci', '--groups', 'acme:sre,', '--secret-file', SECRET);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--groups "acme:sre," has an empty group name');
  expect(r.stdout).toBe('');
});
