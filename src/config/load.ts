import { type CompileResult, compilePolicy } from './compile.js';
import { readAiryYaml } from './read-airy-yaml.js';
import { readFlatData } from './read-flat.js';
import { overlaySettings } from './settings.js';

/** airy.yaml text → compiled policy and every issue. Never throws, whatever the text. */
export function compileAiryYaml(text: string, source = 'airy.yaml'): CompileResult {
  return neverThrows(source, () => {
    const read = readAiryYaml(text, source);
    return compilePolicy(read.settings, read.issues);
  });
}

/** ConfigMap data, optionally overlaid by Secret data → compiled policy and every issue. */
export function compileConfigMapData(
  configMap: Readonly<Record<string, string>> | undefined,
  secret: Readonly<Record<string, string>> | undefined,
  names: { configMap: string; secret?: string | undefined },
): CompileResult {
  return neverThrows(`configmap ${names.configMap}`, () => {
    const base = readFlatData(configMap ?? {}, `configmap ${names.configMap}`);
    const overlay = secret ? readFlatData(secret, `secret ${names.secret ?? ''}`) : undefined;
    const settings = overlay ? overlaySettings(base.settings, overlay.settings) : base.settings;
    return compilePolicy(settings, [...base.issues, ...(overlay?.issues ?? [])]);
  });
}

/**
 * A config that makes the reader or compiler throw is a bad config, not a crash: on a live
 * reload an exception here would escape as an unhandled rejection and end the process on every
 * replica at once. The error is reported like any other, so the last good config stays.
 */
function neverThrows(source: string, compile: () => CompileResult): CompileResult {
  try {
    return compile();
  } catch (err) {
    const what = err instanceof Error ? err.name : typeof err;
    return {
      policy: undefined,
      issues: [{ severity: 'error', path: source, problem: `could not be read (${what}); this is a bug in airy-auth, please report it` }],
    };
  }
}
