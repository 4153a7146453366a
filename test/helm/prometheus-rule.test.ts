import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { expect, it } from 'vitest';
import { ensureHelm, helm, type K8sObject, renderChart, TEST_IMAGE, type Untyped } from '../helpers/helm.js';
import { validateObject } from '../helpers/k8s-schema.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { describeWithTools, hasProgram } from '../helpers/tools.js';

const CRD = ['--api-versions', 'monitoring.coreos.com/v1/PrometheusRule'];
const ON = ['--set', 'prometheusRule.enabled=true', ...CRD];

interface Rule {
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function ruleObject(args: string[] = []): K8sObject & { spec: { groups: { name: string; rules: Rule[] }[] } } {
  const found = renderChart([...ON, ...args]).filter((o) => o.kind === 'PrometheusRule');
  expect(found).toHaveLength(1);
  return found[0] as Untyped;
}

/** The alerts of the chart's PrometheusRule as a Prometheus rule file, as prometheus-operator hands them over. */
function ruleFile(args: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'airy-rules-'));
  const path = join(dir, 'rules.yaml');
  writeFileSync(path, yaml.dump({ groups: ruleObject(args).spec.groups }));
  return path;
}

/** The annotations Prometheus would send for an alert with these labels (the templates only use $labels). */
function expectedAnnotations(rule: Rule, labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.annotations ?? {})) {
    expect(v, `${rule.alert} ${k} uses only $labels`).not.toMatch(/\$value/);
    out[k] = v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? '');
  }
  return out;
}

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describeWithTools(
  'the chart PrometheusRule (real helm, real promtool)',
  { helm: ensureHelm() !== undefined, promtool: hasProgram('promtool', ['--version']) },
  () => {
    it('is off by default, and with prometheusRule.enabled renders a PrometheusRule that passes its schema and promtool check', async () => {
      expect(renderChart(CRD).filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
      const obj = ruleObject(['--set', 'prometheusRule.labels.release=kube-prometheus-stack', '--set', 'prometheusRule.ruleLabels.team=platform']);
      await validateObject(obj);
      expect(obj.metadata.labels?.release).toBe('kube-prometheus-stack');
      const alerts = obj.spec.groups.flatMap((g) => g.rules);
      expect(alerts.map((r) => r.alert)).toEqual([
        'AiryAuthNoValidConfig',
        'AiryAuthConfigRejected',
        'AiryAuthConfigWatchDown',
        'AiryAuthIdpErrors',
        'AiryAuthIdpCallErrors',
        'AiryAuthInvalidRuleSpike',
      ]);
      for (const r of alerts) expect(r.labels?.team, r.alert).toBe('platform');
      const check = promtool(['check', 'rules', ruleFile()]);
      expect(check.output).toContain('SUCCESS: 6 rules found');
      expect(check.status).toBe(0);
    });

    it('without the CRD it fails with the advice, unless missingCrds=skip', () => {
      const r = helm(['template', 'airy-auth', join('helm', 'airy-auth'), ...TEST_IMAGE, '--set', 'prometheusRule.enabled=true']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('prometheusRule.enabled is set, but this cluster has no monitoring.coreos.com/v1/PrometheusRule');
      expect(renderChart(['--set', 'prometheusRule.enabled=true', '--set', 'missingCrds=skip']).filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
    });

    it('fires each alert on its condition, for its own namespace only, and stays quiet otherwise (promtool test rules)', () => {
      const rules = ruleFile();
      const all = (yaml.load(readFileSync(rules, 'utf8')) as { groups: { rules: Rule[] }[] }).groups[0]!.rules;
      const rule = (name: string) => all.find((r) => r.alert === name)!;
      const alert = (name: string, labels: Record<string, string>) => {
        const full = { ...labels, severity: rule(name).labels!.severity! };
        return { exp_labels: full, exp_annotations: expectedAnnotations(rule(name), { alertname: name, ...full }) };
      };
      // One sample a minute. Pod a: never gets a config, its file source is down from minute 2, it
      // refuses a change at minute 4, and its IdP fails twice. Pod b is healthy. The same failures in
      // namespace "other" belong to another release and must not fire here.
      const series = (ns: string) => [
        { series: `airy_auth_config_generation{namespace="${ns}",pod="a"}`, values: '0x30' },
        { series: `airy_auth_config_generation{namespace="${ns}",pod="b"}`, values: '1x30' },
        { series: `airy_auth_config_source_up{namespace="${ns}",pod="a"}`, values: '1 1 0x28' },
        { series: `airy_auth_config_source_up{namespace="${ns}",pod="b"}`, values: '1x30' },
        { series: `airy_auth_config_reloads_total{namespace="${ns}",pod="a",result="invalid"}`, values: '0 0 0 0 1x26' },
        { series: `airy_auth_config_reloads_total{namespace="${ns}",pod="b",result="invalid"}`, values: '0x30' },
        { series: `airy_auth_logins_total{namespace="${ns}",pod="a",provider="okta",result="idp_unreachable"}`, values: '0 0 0 1 2x26' },
        { series: `airy_auth_logins_total{namespace="${ns}",pod="a",provider="okta",result="email_not_allowed"}`, values: '0+5x30' },
        // A machine-token issuer's JWKS times out from minute 3; its discovery keeps answering.
        {
          series: `airy_auth_idp_request_duration_seconds_count{namespace="${ns}",pod="b",provider="machine-tokens",endpoint="jwks",outcome="timeout"}`,
          values: '0 0 0 1 2 3x25',
        },
        {
          series: `airy_auth_idp_request_duration_seconds_count{namespace="${ns}",pod="b",provider="machine-tokens",endpoint="discovery",outcome="ok"}`,
          values: '0+1x30',
        },
        { series: `airy_auth_decisions_total{namespace="${ns}",pod="b",status="403",reason="invalid_rule"}`, values: '0x10 0+60x20' },
        { series: `airy_auth_decisions_total{namespace="${ns}",pod="b",status="403",reason="group_not_allowed"}`, values: '0+600x30' },
      ];
      const airy = { namespace: 'airy' };
      const test = {
        rule_files: [rules],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [...series('airy'), ...series('other')],
            alert_rule_test: [
              { eval_time: '1m', alertname: 'AiryAuthNoValidConfig', exp_alerts: [] },
              { eval_time: '3m', alertname: 'AiryAuthNoValidConfig', exp_alerts: [alert('AiryAuthNoValidConfig', { ...airy, pod: 'a' })] },
              { eval_time: '3m', alertname: 'AiryAuthConfigRejected', exp_alerts: [] },
              { eval_time: '6m', alertname: 'AiryAuthConfigRejected', exp_alerts: [alert('AiryAuthConfigRejected', { ...airy, pod: 'a' })] },
              { eval_time: '5m', alertname: 'AiryAuthConfigWatchDown', exp_alerts: [] },
              { eval_time: '8m', alertname: 'AiryAuthConfigWatchDown', exp_alerts: [alert('AiryAuthConfigWatchDown', { ...airy, pod: 'a' })] },
              { eval_time: '2m', alertname: 'AiryAuthIdpErrors', exp_alerts: [] },
              {
                eval_time: '6m',
                alertname: 'AiryAuthIdpErrors',
                exp_alerts: [alert('AiryAuthIdpErrors', { ...airy, provider: 'okta', result: 'idp_unreachable' })],
              },
              { eval_time: '2m', alertname: 'AiryAuthIdpCallErrors', exp_alerts: [] },
              {
                eval_time: '6m',
                alertname: 'AiryAuthIdpCallErrors',
                exp_alerts: [alert('AiryAuthIdpCallErrors', { ...airy, provider: 'machine-tokens', endpoint: 'jwks', outcome: 'timeout' })],
              },
              { eval_time: '10m', alertname: 'AiryAuthInvalidRuleSpike', exp_alerts: [] },
              { eval_time: '14m', alertname: 'AiryAuthInvalidRuleSpike', exp_alerts: [] },
              { eval_time: '20m', alertname: 'AiryAuthInvalidRuleSpike', exp_alerts: [alert('AiryAuthInvalidRuleSpike', airy)] },
            ],
          },
        ],
      };
      const file = join(mkdtempSync(join(tmpdir(), 'airy-rules-test-')), 'test.yaml');
      writeFileSync(file, yaml.dump(test));
      const r = promtool(['test', 'rules', file]);
      expect(r.output, r.output).toContain('SUCCESS');
      expect(r.status).toBe(0);
    });

    it("the Grafana dashboard has a panel showing each alert's condition, with the same matchers", () => {
      const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'grafana', 'airy-auth-dashboard.json'), 'utf8')) as {
        panels: { title: string; targets: { expr: string }[] }[];
      };
      const panel = dashboard.panels.find((p) => p.title.startsWith('What the alerts watch'));
      expect(panel, 'the panel of the alert conditions').toBeDefined();
      const exprs = panel!.targets.map((t) => t.expr).join('\n');
      const all = ruleObject().spec.groups.flatMap((g) => g.rules);
      const idpResults = /result=~"([^"]+)"/.exec(all.find((r) => r.alert === 'AiryAuthIdpErrors')!.expr)![1]!;
      for (const needed of [
        'airy_auth_config_generation == 0',
        'airy_auth_config_source_up == 0',
        `result=~"${idpResults}"`,
        'reason="invalid_rule"',
        'outcome!="ok"',
      ]) {
        expect(exprs).toContain(needed);
      }
    });

    it('promtool test rules is real: a wrong expectation fails', () => {
      const rules = ruleFile();
      const file = join(mkdtempSync(join(tmpdir(), 'airy-rules-test-')), 'test.yaml');
      const input_series = [{ series: 'airy_auth_config_source_up{namespace="airy",pod="a"}', values: '1x30' }];
      const wrong = { exp_labels: { severity: 'warning', namespace: 'airy', pod: 'a' } };
      writeFileSync(
        file,
        yaml.dump({
          rule_files: [rules],
          tests: [{ interval: '1m', input_series, alert_rule_test: [{ eval_time: '10m', alertname: 'AiryAuthConfigWatchDown', exp_alerts: [wrong] }] }],
        }),
      );
      expect(promtool(['test', 'rules', file]).status).not.toBe(0);
    });
  },
);
