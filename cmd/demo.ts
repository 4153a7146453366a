import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readAiryYaml } from '../src/config/read-airy-yaml.js';
import { type CommandSpec, parseCommand, usageOf } from './args.js';
import { serveCommand } from './serve.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/airy.yaml', import.meta.url));

/**
 * `npm start`: serves the example config and prints curls to try. It prints the example's
 * systemToken, so it refuses any config whose token is not visibly a demo value.
 */
export const DEMO: CommandSpec = {
  name: 'demo',
  summary: 'Serves examples/airy.yaml (demo secrets, never for real use) on 127.0.0.1 and prints curls to try. `npm start` runs it.',
  flags: {
    port: { type: 'string', value: 'PORT', default: '8080', help: 'port of the auth endpoints' },
    'metrics-port': { type: 'string', value: 'PORT', default: '9090', help: 'port of /metrics' },
  },
};

export async function demoCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const parsed = parseCommand(argv, DEMO);
  if (parsed === 'help') return out(usageOf(DEMO));
  const values = parsed.values as Record<string, string>;
  const token = readAiryYaml(await readFile(EXAMPLE, 'utf8')).settings.get('systemToken')?.value;
  if (typeof token !== 'string' || !token.startsWith('DEMO-')) throw new Error(`${EXAMPLE}: the demo needs a systemToken starting with DEMO-`);
  const running = await serveCommand(['--config', EXAMPLE, '--host', '127.0.0.1', '--port', values.port!, '--metrics-port', values['metrics-port']!], out);
  if (!running) return;
  const { port, metricsPort } = running;
  const base = `http://127.0.0.1:${port}`;
  out(`
airy-auth is running on ${base} with examples/airy.yaml (demo secrets, never use them for real).

  # no credentials: 401
  curl -i ${base}/auth

  # the example's systemToken: 200, with X-Auth-Request-User: system-token
  curl -i -H "Authorization: Bearer ${token}" ${base}/auth

  # metrics
  curl -s http://127.0.0.1:${metricsPort}/metrics | grep airy_auth_decisions_total

Edit examples/airy.yaml and save: the change is applied without a restart. Ctrl-C stops.
`);
}
