#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { nearestFlag, UsageError } from './args.js';

const COMMANDS = ['serve', 'check', 'explain', 'token', 'revoke', 'configmap', 'migrate', 'demo', 'version', 'help'];

const USAGE = `usage: airy-auth COMMAND [flags]     (airy-auth COMMAND --help lists a command's flags)

commands:
  serve       serve the auth endpoints, with live config from a file or a ConfigMap (+ Secret)
  check       validate an airy.yaml: every problem at once (--strict for CI)
  explain     what the server would answer to one request under a config, and which rule decided
  token       print a session JWT for a service account or script
  revoke      revoke a session, a user or every session before a time, on every replica (--revocations)
  configmap   print a ConfigMap and Secret for an airy.yaml, for kubectl apply -f -
  migrate     translate ingress-nginx auth annotations to Traefik or Gateway API
  demo        serve examples/airy.yaml and print curls to try (npm start)

  airy-auth --version
`;

const out = (s: string) => void process.stdout.write(s);
// A reader that stops early (`airy-auth check FILE | head -1`) closes the pipe: stop quietly, as
// Unix tools do, instead of crashing with a stack trace on the next write.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});
const err = (s: string) => void process.stderr.write(s);

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  // Each command loads only its own modules: `--help` and `check` start fast, and only
  // `serve --configmap` pays for the Kubernetes client.
  switch (command) {
    case 'serve':
      await (await import('./serve.js')).serveCommand(rest, out);
      return undefined; // keeps running until a signal (or printed --help)
    case 'demo':
      await (await import('./demo.js')).demoCommand(rest, out);
      return undefined;
    case 'check':
      return (await import('./check.js')).checkCommand(rest, out);
    case 'explain':
      return (await import('./explain.js')).explainCommand(rest, out, err);
    case 'token':
      return (await import('./token.js')).tokenCommand(rest, out, err);
    case 'revoke':
      return (await import('./revoke.js')).revokeCommand(rest, out, err);
    case 'configmap':
      return (await import('./configmap.js')).configmapCommand(rest, out, err);
    case 'migrate':
      return (await import('./migrate.js')).migrateCommand(rest, out, err);
    case '--version':
    case '-v':
    case 'version':
      out(`airy-auth ${version()}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return command === undefined ? 2 : 0;
    default: {
      const near = command.startsWith('-') ? undefined : nearestFlag(command, COMMANDS);
      throw new UsageError(`unknown command "${command}"${near ? `; did you mean ${near}?` : ''}`);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      err(`airy-auth: ${e.message}\n\n${e.usage ?? USAGE}`);
      process.exitCode = 2;
    } else {
      err(`airy-auth: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
