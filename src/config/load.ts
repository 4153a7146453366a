import { type CompileResult, compilePolicy } from './compile.js';
import { readAiryYaml } from './read-airy-yaml.js';
import { readFlatData } from './read-flat.js';
import { overlaySettings } from './settings.js';

/** airy.yaml text → compiled policy and every issue. */
export function compileAiryYaml(text: string, source = 'airy.yaml'): CompileResult {
  const read = readAiryYaml(text, source);
  return compilePolicy(read.settings, read.issues);
}

/** ConfigMap data, optionally overlaid by Secret data → compiled policy and every issue. */
export function compileConfigMapData(
  configMap: Readonly<Record<string, string>> | undefined,
  secret: Readonly<Record<string, string>> | undefined,
  names: { configMap: string; secret?: string | undefined },
): CompileResult {
  const base = readFlatData(configMap ?? {}, `configmap ${names.configMap}`);
  const overlay = secret ? readFlatData(secret, `secret ${names.secret ?? ''}`) : undefined;
  const settings = overlay ? overlaySettings(base.settings, overlay.settings) : base.settings;
  return compilePolicy(settings, [...base.issues, ...(overlay?.issues ?? [])]);
}
