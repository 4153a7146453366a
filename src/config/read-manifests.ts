import yaml from 'js-yaml';
import { IssueList } from './issues.js';
import { type ReadResult, readAiryYaml } from './read-airy-yaml.js';
import { readFlatData } from './read-flat.js';
import { overlaySettings } from './settings.js';

/**
 * What `check` reads: an airy.yaml, or what the user is about to apply: a ConfigMap manifest (with
 * its Secret beside it, as `airy-auth configmap` prints them), or the whole output of
 * `helm template`, where the Deployment's `--configmap` and `--secret` name the objects that count.
 */
export function readConfigInput(text: string, source: string): ReadResult {
  const objects = manifestObjects(text);
  if (objects === undefined) return readAiryYaml(text, source);
  const issues = new IssueList();
  const refs = servedObjects(objects);
  const configMap = pickObject(objects, 'ConfigMap', refs?.configMap, source, issues);
  const secret = pickObject(objects, 'Secret', refs?.secret, source, issues, refs !== undefined && refs.secret === undefined);
  if (configMap === undefined) return { settings: new Map(), issues: issues.items };
  const base = readFlatData(configMapData(configMap, issues), `configmap ${nameOf(configMap)}`);
  const overlay = secret ? readFlatData(secretData(secret, issues), `secret ${nameOf(secret)}`) : undefined;
  return {
    settings: overlay ? overlaySettings(base.settings, overlay.settings) : base.settings,
    issues: [...issues.items, ...base.issues, ...(overlay?.issues ?? [])],
  };
}

/**
 * A `--secret-file`: a Secret manifest (data decoded, stringData as is; a file with more objects,
 * such as `airy-auth configmap` output, holds one Secret), or a flat map of keys.
 */
export function readSecretInput(text: string, source: string): ReadResult {
  const issues = new IssueList();
  const objects = manifestObjects(text);
  if (objects !== undefined) {
    const secret = pickObject(objects, 'Secret', undefined, source, issues);
    if (secret === undefined) return { settings: new Map(), issues: issues.items };
    const read = readFlatData(secretData(secret, issues), `secret file ${source}`);
    return { settings: read.settings, issues: [...issues.items, ...read.issues] };
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    issues.error(source, `is not valid YAML (${err instanceof yaml.YAMLException ? err.reason : 'unreadable'})`);
    return { settings: new Map(), issues: issues.items };
  }
  if (!isMapping(doc)) {
    issues.error(source, 'is not a Secret manifest or a map of keys');
    return { settings: new Map(), issues: issues.items };
  }
  const data = stringsOf(doc, (key) => issues.error(`${source} key ${key}`, 'is not a string', { fix: 'put the value in double quotes' }));
  const read = readFlatData(data, `secret file ${source}`);
  return { settings: read.settings, issues: [...issues.items, ...read.issues] };
}

type KubeObject = Record<string, unknown> & { kind: string; metadata?: { name?: unknown; namespace?: unknown } };

/** The Kubernetes objects of a YAML stream (Lists unpacked), or undefined when it is not one. */
function manifestObjects(text: string): KubeObject[] | undefined {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, null, { schema: yaml.CORE_SCHEMA });
  } catch {
    return undefined; // the airy.yaml reader reports the syntax error, with its position
  }
  // A hand-written Secret or ConfigMap often lacks apiVersion; an airy.yaml has no `kind`.
  const isObject = (d: unknown): d is KubeObject =>
    isMapping(d) && typeof d.kind === 'string' && (typeof d.apiVersion === 'string' || ['ConfigMap', 'Secret', 'List'].includes(d.kind));
  if (!docs.some(isObject)) return undefined;
  return docs.flatMap((d) => (isObject(d) && d.kind === 'List' && Array.isArray(d.items) ? d.items.filter(isObject) : isObject(d) ? [d] : []));
}

interface ObjectRef {
  readonly namespace: string | undefined;
  readonly name: string;
}

/** The ConfigMap and Secret that airy-auth's `serve` reads, from a workload in the stream (rendered chart output). */
function servedObjects(objects: KubeObject[]): { configMap: ObjectRef; secret: ObjectRef | undefined } | undefined {
  for (const obj of objects) {
    const spec = (obj.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec ?? (obj.kind === 'Pod' ? obj.spec : undefined);
    const containers = isMapping(spec) && Array.isArray(spec.containers) ? spec.containers : [];
    for (const c of containers) {
      const args: unknown[] = isMapping(c) && Array.isArray(c.args) ? c.args : [];
      if (args[0] !== 'serve') continue;
      const flag = (name: string) => {
        const i = args.indexOf(name);
        return i >= 0 && typeof args[i + 1] === 'string' ? refOf(args[i + 1] as string) : undefined;
      };
      const configMap = flag('--configmap');
      if (configMap) return { configMap, secret: flag('--secret') };
    }
  }
  return undefined;
}

function refOf(text: string): ObjectRef {
  const slash = text.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: text } : { namespace: text.slice(0, slash), name: text.slice(slash + 1) };
}

/**
 * The one object of a kind that counts: the one the workload names, else the only one in the
 * stream. Several, or a named one that is missing, is an error: checking another would mislead.
 */
function pickObject(
  objects: KubeObject[],
  kind: 'ConfigMap' | 'Secret',
  ref: ObjectRef | undefined,
  source: string,
  issues: IssueList,
  noneWanted = false,
): KubeObject | undefined {
  if (noneWanted) return undefined;
  const candidates = objects.filter((o) => o.kind === kind);
  if (ref !== undefined) {
    const found = candidates.find(
      (o) => o.metadata?.name === ref.name && (ref.namespace === undefined || (o.metadata?.namespace ?? ref.namespace) === ref.namespace),
    );
    const what = `${kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    if (found) return found;
    if (kind === 'ConfigMap') {
      issues.error(source, `airy-auth is served from ${what}, which is not in this file`, {
        fix: 'check that ConfigMap instead (kubectl get configmap -o yaml), or render the chart without config.existingConfigMap',
      });
    } else {
      issues.warn(source, `airy-auth also reads ${what}, which is not in this file, so its keys are not checked`, {
        fix: 'pass it with --secret-file (kubectl get secret -o yaml)',
      });
    }
    return undefined;
  }
  if (candidates.length === 1) return candidates[0];
  if (candidates.length > 1) {
    issues.error(source, `holds ${candidates.length} ${kind}s (${candidates.map(nameOf).join(', ')}), and no airy-auth Deployment says which one it reads`, {
      fix: `check one ${kind} at a time`,
    });
  } else if (kind === 'ConfigMap') {
    issues.error(source, 'holds Kubernetes objects but no ConfigMap with the configuration', {
      fix: 'check the ConfigMap manifest, the output of `airy-auth configmap`, or of `helm template`',
    });
  }
  return undefined;
}

function configMapData(obj: KubeObject, issues: IssueList): Record<string, string> {
  const data = isMapping(obj.data) ? obj.data : {};
  return stringsOf(data, (key) =>
    issues.error(`configmap ${nameOf(obj)} key ${key}`, 'is not a string, and the apiserver refuses ConfigMap data that is not', {
      fix: 'put the value in double quotes',
    }),
  );
}

/** A Secret's keys as the apiserver stores them: `data` base64-decoded, `stringData` winning on the same key. */
function secretData(obj: KubeObject, issues: IssueList): Record<string, string> {
  const problem = (key: string, what: string) => issues.error(`secret ${nameOf(obj)} key ${key}`, what);
  const data = stringsOf(isMapping(obj.data) ? obj.data : {}, (key) => problem(key, 'is not a string'));
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    const compact = value.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
      problem(key, 'is not base64 (the apiserver refuses it); use stringData for plain text');
      continue;
    }
    decoded[key] = Buffer.from(compact, 'base64').toString('utf8');
  }
  return { ...decoded, ...stringsOf(isMapping(obj.stringData) ? obj.stringData : {}, (key) => problem(key, 'is not a string')) };
}

function stringsOf(map: Record<string, unknown>, notString: (key: string) => void): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'string') out[key] = value;
    else notString(key);
  }
  return out;
}

function nameOf(obj: KubeObject): string {
  const { name, namespace } = obj.metadata ?? {};
  return `${typeof namespace === 'string' ? `${namespace}/` : ''}${typeof name === 'string' ? name : '(unnamed)'}`;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
