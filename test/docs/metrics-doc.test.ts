import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';
import { REPO_ROOT } from '../helpers/repo.js';

it('docs/metrics.md lists every airy_auth_ metric the process registers, with its labels', async () => {
  const registry = new Registry();
  createMetrics(registry);
  const doc = readFileSync(join(REPO_ROOT, 'docs/metrics.md'), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(airy_auth_\w+)(?:\{([\w,]*)\})?` \|/gm)].map((m) => [m[1]!, m[2]?.split(',') ?? []]));
  const registered = (await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('airy_auth_'));
  expect(registered.length).toBeGreaterThan(5);
  const missing = registered.filter((m) => !documented.has(m.name)).map((m) => m.name);
  expect(missing, 'metrics without a row in docs/metrics.md').toEqual([]);
  for (const m of registered) {
    const labels = [...new Set((m.values as { labels: Record<string, unknown> }[]).flatMap((v) => Object.keys(v.labels)))].filter((l) => l !== 'le');
    for (const label of labels) expect(documented.get(m.name), `${m.name} documents its label ${label}`).toContain(label);
  }
});
