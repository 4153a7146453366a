import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { freePort, waitForChildHttp } from '../helpers/net.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { hasProgram } from '../helpers/programs.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { describeWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

interface PromAnswer {
  status: string;
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

describeWithTools("a real Prometheus scrapes airy-auth and answers the dashboard's queries", { prometheus: hasProgram('prometheus', ['--version']) }, () => {
  let airy: AiryProcess;
  let prom: ChildProcess;
  let promUrl: string;

  beforeAll(async () => {
    airy = await startAiry(securityYaml(PROTECTED));
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'airy-prom-'));
    // What the chart's ServiceMonitor asks of prometheus-operator: the metrics port, /metrics, an interval.
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: airy-auth
    metrics_path: /metrics
    scrape_interval: 1s
    static_configs:
      - targets: ['${new URL(airy.metricsUrl).host}']
`,
    );
    prom = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let promLog = '';
    prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    promUrl = `http://127.0.0.1:${port}`;
    await waitForChildHttp(prom, `${promUrl}/-/ready`, () => promLog, 'prometheus');
  }, 60_000);
  afterAll(async () => {
    prom?.kill('SIGTERM');
    await airy?.stop();
  });

  const query = async (expr: string): Promise<PromAnswer> =>
    (await (await request(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).body.json()) as PromAnswer;

  it('sees the decisions driven through airy-auth in airy_auth_decisions_total', async () => {
    for (let i = 0; i < 20; i++) {
      for (const headers of [{ authorization: TEST_SYSTEM_TOKEN }, {}, { authorization: 'Bearer wrong' }])
        await (await request(`${airy.url}/auth`, { headers })).body.dump();
    }
    const answer = await waitFor(
      async () => {
        const a = await query('sum by (status, reason) (airy_auth_decisions_total{job="airy-auth"})');
        return a.data.result.length >= 3 && a.data.result.every((r) => Number(r.value[1]) >= 20) ? a : undefined;
      },
      'Prometheus to scrape the decisions',
      20_000,
      250,
    );
    const byReason = Object.fromEntries(answer.data.result.map((r) => [`${r.metric.status} ${r.metric.reason}`, Number(r.value[1])]));
    expect(byReason).toMatchObject({ '200 system_token': 20, '401 no_credentials': 20, '401 invalid_token': 20 });
  }, 40_000);

  it('evaluates every query of the Grafana dashboard without error', async () => {
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'grafana', 'airy-auth-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const needed of ['Decisions by status and reason', 'latency p50', 'latency p99', 'reloads', 'Logins', 'watch restarts'])
      expect(titles).toContain(needed);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const answer = await query(target.expr);
        expect(answer.status, `${panel.title}: ${answer.error ?? ''}`).toBe('success');
      }
    }
    const rate = await waitFor(
      async () => ((await query(dashboard.panels[0]!.targets[0]!.expr)).data.result.length > 0 ? true : undefined),
      'a rate over two scrapes',
      20_000,
      250,
    );
    expect(rate).toBe(true);
  }, 40_000);
});
