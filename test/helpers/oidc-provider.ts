/**
 * oidc-provider, imported without its one known start-up warning: version 9 asks for Node 22 and
 * prints "Unsupported runtime" on Node 20, where the tests run (it works there; see README).
 * Only that exact line is dropped, and only while the module loads; every other warning shows.
 */
const UNSUPPORTED_RUNTIME = /^oidc-provider WARNING: Unsupported runtime\./;
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && UNSUPPORTED_RUNTIME.test(args[0])) return;
  warn(...args);
};
const loaded = await import('oidc-provider').finally(() => {
  console.warn = warn;
});
export const Provider = loaded.default;
