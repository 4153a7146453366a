import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { request } from 'undici';
import { stablePort } from './net.js';
import { waitFor } from './wait.js';

/**
 * The two ways to run etcd and a kube-apiserver for tests: the start.sh/stop.sh scripts that come
 * with the prebuilt apiserver, or, where only envtest's binaries exist (KUBEBUILDER_ASSETS), the
 * same setup done here: a CA, a serving certificate, a ServiceAccount signing key, an admin
 * token, etcd and the apiserver on free loopback ports, RBAC on.
 */
export interface ApiserverProcesses {
  readonly url: string;
  readonly caFile: string;
  readonly adminToken: string;
  readonly kubeconfigPath: string;
  readonly logPath: string;
  /** Starts what is not running, with the same ports, flags and data; resolves once /readyz is 200. */
  startAgain(): Promise<void>;
  stopApiserver(): Promise<void>;
  killApiserver(): Promise<void>;
  stopAll(): Promise<void>;
}

export interface ProcessBinaries {
  readonly apiserver: string;
  readonly etcd: string;
  readonly startScript?: string | undefined;
  readonly stopScript?: string | undefined;
}

const START_BACKSTOP_MS = Number(process.env.START_TIMEOUT ?? 300) * 1000;

/** /readyz's status with the admin token (0 when nothing answers). */
export function readyzStatus(url: string, caFile: string, adminToken: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest(`${url}/readyz`, { ca: readFileSync(caFile), headers: { authorization: `Bearer ${adminToken}` }, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

function logTail(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}

// ---- with start.sh / stop.sh -------------------------------------------------------------

export async function startWithScripts(bins: ProcessBinaries, stateDir: string, extraFlags: string[]): Promise<ApiserverProcesses> {
  const env: NodeJS.ProcessEnv = { ...process.env, ETCD: bins.etcd, START_TIMEOUT: String(START_BACKSTOP_MS / 1000) };
  const logPath = join(stateDir, 'apiserver.log');
  // start.sh keeps the ports it finds in STATEDIR/env; written first, they are below the ephemeral
  // range, so a restart after SIGKILL finds its port still free (see stablePort).
  const envFile = join(stateDir, 'env');
  if (!existsSync(envFile)) {
    const [etcd, peer, api] = [await stablePort(), await stablePort(), await stablePort()];
    const token = randomBytes(24).toString('hex');
    writeFileSync(envFile, `ETCD_CLIENT_PORT=${etcd}\nETCD_PEER_PORT=${peer}\nAPISERVER_PORT=${api}\nADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  }
  await run(bins.startScript!, [bins.apiserver, stateDir, ...(extraFlags.length ? ['--', ...extraFlags] : [])], env, logPath);
  const vars = Object.fromEntries(
    readFileSync(join(stateDir, 'env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const apiserverPid = () => {
    const line = readFileSync(join(stateDir, 'pids'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('kube-apiserver '))
      .pop();
    return line ? Number(line.split(' ')[1]) : undefined;
  };
  // A pid is ours while its command line names the state directory (as the scripts check).
  const alive = (pid: number | undefined) => {
    if (!pid) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${stateDir}/`);
    } catch {
      return false;
    }
  };
  return {
    url: vars.APISERVER_URL!,
    caFile: vars.CA_FILE!,
    adminToken: vars.ADMIN_TOKEN!,
    kubeconfigPath: join(stateDir, 'kubeconfig'),
    logPath,
    // Extra flags were saved by the first start and are reused: later starts must not repeat them.
    startAgain: () => run(bins.startScript!, [bins.apiserver, stateDir], env, logPath).then(() => undefined),
    stopApiserver: () => run(bins.stopScript!, [stateDir, 'apiserver'], env, logPath).then(() => undefined),
    async killApiserver() {
      const pid = apiserverPid();
      if (!alive(pid)) throw new Error(`the apiserver (pid ${pid}) is not running`);
      process.kill(pid!, 'SIGKILL');
      await waitFor(() => !alive(pid), `the apiserver (pid ${pid}) to die after SIGKILL`, 30_000, 20);
    },
    async stopAll() {
      if (existsSync(join(stateDir, 'pids'))) await run(bins.stopScript!, [stateDir], env, logPath).catch(() => undefined);
    },
  };
}

/** Runs a script to its end; on failure the error holds what it printed and the apiserver's log tail. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, logPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) return resolve(out);
      reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${err}${out}\n--- apiserver.log (tail) ---\n${logTail(logPath)}`));
    });
  });
}

// ---- built in (envtest's binaries only) ---------------------------------------------------

export async function startBuiltIn(bins: ProcessBinaries, stateDir: string, extraFlags: string[]): Promise<ApiserverProcesses> {
  const pki = join(stateDir, 'pki');
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('mkdir', ['-p', pki]);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '30',
    '-keyout',
    `${pki}/ca.key`,
    '-out',
    `${pki}/ca.crt`,
    '-subj',
    '/CN=airy-auth-test-apiserver-ca',
  ]);
  writeFileSync(
    `${pki}/serving.ext`,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
      '',
    ].join('\n'),
  );
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', `${pki}/serving.key`, '-out', `${pki}/serving.csr`, '-subj', '/CN=kube-apiserver']);
  openssl([
    'x509',
    '-req',
    '-in',
    `${pki}/serving.csr`,
    '-CA',
    `${pki}/ca.crt`,
    '-CAkey',
    `${pki}/ca.key`,
    '-CAcreateserial',
    '-days',
    '30',
    '-sha256',
    '-extfile',
    `${pki}/serving.ext`,
    '-out',
    `${pki}/serving.crt`,
  ]);
  openssl(['genrsa', '-out', `${pki}/sa.key`, '2048']);
  openssl(['rsa', '-in', `${pki}/sa.key`, '-pubout', '-out', `${pki}/sa.pub`]);
  const adminToken = execFileSync('openssl', ['rand', '-hex', '24'], { encoding: 'utf8' }).trim();
  writeFileSync(`${pki}/tokens.csv`, `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });

  const [etcdPort, peerPort, apiPort] = [await stablePort(), await stablePort(), await stablePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const url = `https://127.0.0.1:${apiPort}`;
  const caFile = `${pki}/ca.crt`;
  const kubeconfigPath = join(stateDir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: local, cluster: {server: "${url}", certificate-authority-data: "${readFileSync(caFile).toString('base64')}"}}]`,
      `users: [{name: admin, user: {token: "${adminToken}"}}]`,
      'contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]',
      'current-context: local',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const logPath = join(stateDir, 'apiserver.log');
  const etcdArgs = [
    '--name',
    'local',
    '--data-dir',
    join(stateDir, 'etcd'),
    '--listen-client-urls',
    etcdUrl,
    '--advertise-client-urls',
    etcdUrl,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `local=http://127.0.0.1:${peerPort}`,
  ];
  const apiserverArgs = [
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--etcd-servers=${etcdUrl}`,
    `--tls-cert-file=${pki}/serving.crt`,
    `--tls-private-key-file=${pki}/serving.key`,
    `--client-ca-file=${pki}/ca.crt`,
    `--token-auth-file=${pki}/tokens.csv`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${pki}/sa.pub`,
    `--service-account-signing-key-file=${pki}/sa.key`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--service-cluster-ip-range=10.0.0.0/24',
    // A loopback address may not be an Endpoints address: without this the log gets an error every 10 s.
    '--endpoint-reconciler-type=none',
    `--cert-dir=${join(stateDir, 'apiserver-certs')}`,
    '--profiling=false',
    '--v=1',
    ...extraFlags,
  ];

  let etcd: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  const running = (c: ChildProcess | undefined): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null;
  const launch = (command: string, args: string[], log: string) => {
    const fd = openSync(log, 'a');
    const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    return child;
  };
  const exited = (c: ChildProcess) => new Promise<void>((resolve) => (running(c) ? c.once('exit', () => resolve()) : resolve()));
  const startMissing = async () => {
    if (!running(etcd)) {
      etcd = launch(bins.etcd, etcdArgs, join(stateDir, 'etcd.log'));
      await waitFor(
        async () => {
          if (!running(etcd)) throw new Error(`etcd exited:\n${logTail(join(stateDir, 'etcd.log'))}`);
          const res = await request(`${etcdUrl}/health`);
          return (await res.body.text()).includes('"health":"true"');
        },
        'etcd /health',
        START_BACKSTOP_MS,
        100,
      );
    }
    if (!running(apiserver)) {
      writeFileSync(logPath, `----- start ${new Date().toISOString()}\n`, { flag: 'a' });
      apiserver = launch(bins.apiserver, apiserverArgs, logPath);
    }
    const child = apiserver;
    try {
      await waitFor(
        async () => {
          if (!running(child)) throw new Error('the apiserver exited');
          return (await readyzStatus(url, caFile, adminToken)) === 200;
        },
        'the apiserver /readyz',
        START_BACKSTOP_MS,
        100,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- apiserver.log (tail) ---\n${logTail(logPath)}`);
    }
  };
  const signal = async (c: ChildProcess | undefined, sig: NodeJS.Signals) => {
    if (!running(c)) return;
    c.kill(sig);
    await exited(c);
  };
  try {
    await startMissing();
  } catch (err) {
    // A failed first start leaves nothing running behind it.
    await signal(apiserver, 'SIGKILL');
    await signal(etcd, 'SIGKILL');
    throw err;
  }
  return {
    url,
    caFile,
    adminToken,
    kubeconfigPath,
    logPath,
    startAgain: startMissing,
    async stopApiserver() {
      const c = apiserver;
      if (!running(c)) return;
      // A v1.24 apiserver waits for open watches to end before it exits: SIGKILL after 15 s, as stop.sh does.
      const kill = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await signal(c, 'SIGTERM');
      clearTimeout(kill);
    },
    async killApiserver() {
      if (!running(apiserver)) throw new Error('the apiserver is not running');
      await signal(apiserver, 'SIGKILL');
    },
    async stopAll() {
      await signal(apiserver, 'SIGKILL');
      await signal(etcd, 'SIGTERM');
    },
  };
}
