import yaml from 'js-yaml';
import { request } from 'undici';
import { type K8sObject, renderChart } from '../helpers/helm.js';
import type { RealApiserver } from '../helpers/real-apiserver.js';

/** The chart's objects as `helm template airy-auth --namespace NS` renders them, by kind. */
export function chartObjects(namespace: string, setArgs: string[]): Map<string, K8sObject> {
  const objects = renderChart(['--namespace', namespace, ...setArgs]);
  return new Map(objects.map((o) => [o.kind, o]));
}

/** `kubectl apply` of these objects into the namespace (as admin). */
export async function applyObjects(api: RealApiserver, namespace: string, objects: K8sObject[]): Promise<string> {
  return api.kubectl(['-n', namespace, 'apply', '-f', '-'], objects.map((o) => yaml.dump(o)).join('---\n'));
}

/** One metric's value from a Prometheus text page, or undefined when the series is absent. */
export async function metricValue(metricsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const res = await request(metricsUrl);
  const text = await res.body.text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ? m[2].split(',') : [];
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

/** The status of GET /auth on airy-auth with these headers. */
export async function authStatus(url: string, headers: Record<string, string>): Promise<number> {
  const res = await request(`${url}/auth`, { headers });
  await res.body.dump();
  return res.statusCode;
}

/** airy-auth's JSON log lines (non-JSON lines are skipped). */
export function logLines(text: string): { level?: string; msg?: string; reason?: string; [k: string]: unknown }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}
