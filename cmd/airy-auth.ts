#!/usr/bin/env node
import { UsageError } from './args.js';

const USAGE = `usage:
  airy-auth serve (--config FILE | --configmap [NS/]NAME [--secret [NS/]NAME]) [--host H] [--port 8080] [--metrics-port 9090]
  airy-auth check FILE
  airy-auth token --config FILE --sub ID [--email E] [--name N] [--ttl 30d]
  airy-auth configmap FILE [--name security] [--namespace NS] [--secret-name S]   (prints YAML for kubectl apply -f -)
  airy-auth migrate FILE --to traefik|gateway-api [--gateway NAME] [--gateway-namespace NS] [--allow-partial]
  airy-auth demo            (serves examples/airy.yaml and prints curls to try)
`;

const out = (s: string) => void process.stdout.write(s);
const err = (s: string) => void process.stderr.write(s);

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  // Each command loads only its own modules: `--help` and `check` start fast, and only
  // `serve --configmap` pays for the Kubernetes client.
  switch (command) {
    case 'serve':
      await (await import('./serve.js')).serveCommand(rest);
      return undefined; // keeps running until a signal
    case 'demo':
      await (await import('./demo.js')).demoCommand(rest, out);
      return undefined;
    case 'check':
      return (await import('./check.js')).checkCommand(rest, out);
    case 'token':
      return (await import('./token.js')).tokenCommand(rest, out, err);
    case 'configmap':
      return (await import('./configmap.js')).configmapCommand(rest, out, err);
    case 'migrate':
      return (await import('./migrate.js')).migrateCommand(rest, out, err);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      err(`airy-auth: ${e.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      err(`airy-auth: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
