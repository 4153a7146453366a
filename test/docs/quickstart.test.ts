import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI } from '../helpers/airy-process.js';
import { CookieJar, driveLogin } from '../helpers/login-driver.js';
import { freePort, waitForChildHttp } from '../helpers/net.js';
import { nginxInstalled } from '../helpers/nginx.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { describeWithTools, hasProgram } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

/**
 * docs/quickstart.md, run as written: every fenced block carries a `<!-- quickstart: KIND -->`
 * line saying what it is, and is run in order in one directory, as a reader would:
 *   setup          the checkout's `npm ci` (already done here: the built CLI must exist)
 *   file NAME      the block is saved as NAME (a later block of the same name replaces it)
 *   start URL      the block is a long-running command, started; URL must then answer
 *   check          each line runs in one shell; a line ending in `# → TEXT` must print TEXT
 *                  (retried for a while, as a reader re-runs a command while a reload lands)
 * The only changes made: the directory is a fresh one with this checkout's examples/ linked in
 * (the page works in a checkout), the page's ports (8080, 9090, 8000, 9000, 3000) become free
 * ones, `npx airy-auth` runs this checkout's built CLI, and as root nginx's workers stay root
 * (they would become "nobody", who cannot write the temp directories).
 */
const PAGE = readFileSync(join(REPO_ROOT, 'docs', 'quickstart.md'), 'utf8');
const BLOCK = /<!-- quickstart: (.+?) -->\n```(\w*)\n([\s\S]*?)\n```/g;
const blocks = [...PAGE.matchAll(BLOCK)].map((m) => ({
  kind: m[1]!,
  lang: m[2]!,
  body: m[3]!,
  line: PAGE.slice(0, m.index).split('\n').length,
}));
const PAGE_PORTS = ['8080', '9090', '8000', '9000', '3000'] as const;

it('every fenced block of the quick start is one the suite runs', () => {
  const fences = PAGE.match(/^```/gm)?.length ?? 0;
  expect(fences / 2).toBe(blocks.length);
  expect(blocks.length).toBeGreaterThan(8);
  for (const b of blocks) expect(b.kind, `line ${b.line}`).toMatch(/^(setup|file [\w.-]+|start \S+|check)$/);
});

describeWithTools(
  'docs/quickstart.md, run as written (real nginx, real oidc-provider, real curl)',
  { nginx: nginxInstalled, curl: hasProgram('curl', ['--version']) },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'airy-quickstart-'));
    const ports = new Map<string, string>();
    const children: { child: ChildProcess; output: () => string; what: string }[] = [];
    const local = (text: string) =>
      text
        .replace(new RegExp(`\\b(${PAGE_PORTS.join('|')})\\b`, 'g'), (p) => ports.get(p)!)
        .replaceAll('npx airy-auth', `node ${CLI}`)
        .replaceAll("-g 'daemon off;'", process.getuid?.() === 0 ? "-g 'daemon off; user root;'" : "-g 'daemon off;'");
    const printed = () => children.map((c) => `--- ${c.what}:\n${c.output().slice(-3000)}`).join('\n');

    beforeAll(async () => {
      symlinkSync(join(REPO_ROOT, 'examples'), join(dir, 'examples'));
      for (const p of PAGE_PORTS) ports.set(p, String(await freePort()));
    });
    afterAll(async () => {
      await Promise.all(
        children.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              process.kill(-child.pid!, 'SIGTERM');
            }),
        ),
      );
    });

    async function runCheck(body: string): Promise<{ expected: string; got: string; command: string }[]> {
      const lines = body.split('\n').filter((l) => l.trim() !== '');
      const script = lines
        .map((l, i) => {
          const m = /^(.*?)\s+# → (.*)$/.exec(l);
          return m ? `echo "@@${i}@@"; ${local(m[1]!)}` : local(l);
        })
        .join('\n');
      const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        const child = spawn('bash', ['-c', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', () => resolve({ stdout: out, stderr: err }));
      });
      // The script's output, split at the markers: "@@3@@\n<what line 3 printed>".
      const outputs = new Map<number, string>();
      const parts = stdout.split(/^@@(\d+)@@\n/m);
      for (let i = 1; i + 1 < parts.length; i += 2) outputs.set(Number(parts[i]), parts[i + 1]!.trim());
      return lines.flatMap((l, i) => {
        const m = /^(.*?)\s+# → (.*)$/.exec(l);
        return m ? [{ expected: local(m[2]!.trim()), got: outputs.get(i) ?? `(nothing; stderr: ${stderr.trim().slice(-500)})`, command: m[1]!.trim() }] : [];
      });
    }

    for (const block of blocks) {
      it(`line ${block.line}: ${block.kind}`, async () => {
        if (block.kind === 'setup') {
          expect(block.body).toBe('npm ci');
          expect(existsSync(CLI), 'npm ci builds dist/ (the prepare script)').toBe(true);
        } else if (block.kind.startsWith('file ')) {
          writeFileSync(join(dir, block.kind.slice(5)), `${local(block.body)}\n`);
        } else if (block.kind.startsWith('start ')) {
          const child = spawn('bash', ['-c', local(block.body)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
          let output = '';
          child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
          child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
          children.push({ child, output: () => output, what: block.body.split(' ').slice(0, 4).join(' ') });
          await waitForChildHttp(child, local(block.kind.slice(6)), () => output, block.body);
        } else {
          let last: Awaited<ReturnType<typeof runCheck>> = [];
          const ok = await waitFor(
            async () => {
              last = await runCheck(block.body);
              return last.every((r) => r.got === r.expected) ? true : undefined;
            },
            'the commands to print what the page says',
            20_000,
            250,
          ).catch(() => false);
          expect(last.length).toBeGreaterThan(0);
          if (!ok) expect(last, `the page's expectations vs what the commands printed\n${printed()}`).toEqual(last.map((r) => ({ ...r, got: r.expected })));
        }
      }, 150_000);
    }

    it('the browser login of section 3: alice (group sre) reaches /grafana/, bob is refused with the missing group, / lets both in', async () => {
      const nginx = `http://127.0.0.1:${ports.get('8000')}`;
      for (const [who, grafana, home] of [
        ['alice', 'app: /grafana/ user=alice groups=sre', 'app: / user=alice groups=sre'],
        ['bob', undefined, 'app: / user=bob groups=support'],
      ] as const) {
        const jar = new CookieJar();
        const { hops } = await driveLogin(`${nginx}/grafana/`, who, jar);
        const back = hops.at(-1)!;
        expect(back.status, `${who}: the callback's answer\n${printed()}`).toBe(302);
        expect(back.location).toBe(`${nginx}/grafana/`);
        const page = await request(back.location!, { headers: { cookie: jar.header(nginx) } });
        const body = await page.body.text();
        if (grafana) {
          expect(page.statusCode).toBe(200);
          expect(body.trim()).toBe(grafana);
        } else {
          // nginx's auth_request passes on the status only; airy-auth's log line says why, and whom.
          expect(page.statusCode).toBe(403);
          expect(body).toContain('403 Forbidden');
          const serve = children.find((c) => c.what.includes('serve'))!;
          const refusal = await waitFor(
            () =>
              serve
                .output()
                .split('\n')
                .filter((l) => l.startsWith('{'))
                .map((l) => JSON.parse(l) as Record<string, unknown>)
                .find((l) => l.msg === 'request' && l.reason === 'group_not_allowed' && l.email === 'bob@example.com'),
            "airy-auth's log line for bob's refusal",
          );
          expect(refusal).toMatchObject({ status: 403, path: '/grafana/', user: 'bob', policy: 'query' });
        }
        const root = await request(`${nginx}/`, { headers: { cookie: jar.header(nginx) } });
        expect((await root.body.text()).trim()).toBe(home);
      }
    }, 60_000);
  },
);
