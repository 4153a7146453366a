import { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { allRoutes } from '../../src/http/routes.js';
import { Backoff } from '../../src/sources/kube/backoff.js';
import { startKubeSource } from '../../src/sources/kube/kube-source.js';
import { configMap, type FakeApiserver, secret, startFakeApiserver } from './fake-apiserver.js';
import { startInProcess } from './in-process.js';

export const NS = 'airy';

/** airy-auth in this process, fed by the real client-node from a fake apiserver. */
export async function startKubeHarness(
  options: { secret?: boolean; idleMs?: number; allowedNames?: string[]; productionTimings?: boolean; bookmarkMs?: number } = {},
) {
  const api: FakeApiserver = await startFakeApiserver({
    allowedNames: options.allowedNames ?? ['security', 'security-secrets'],
    ...(options.bookmarkMs ? { bookmarkMs: options.bookmarkMs } : {}),
  });
  const srv = await startInProcess(undefined, () => allRoutes());
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfig);
  const source = startKubeSource({
    kubeConfig: kc,
    configMap: { namespace: NS, name: 'security' },
    secret: options.secret ? { namespace: NS, name: 'security-secrets' } : undefined,
    store: srv.store,
    metrics: srv.deps.metrics,
    logger: srv.logger,
    // Production timings (idle limit 90 s, watch timeout 60 s, backoff capped at 2 s), or short
    // ones that keep the other tests quick.
    ...(options.productionTimings ? {} : { idleMs: options.idleMs ?? 2000, backoff: () => new Backoff(20, 500) }),
  });
  const status = async (headers: Record<string, string> = {}, path = '/auth') => {
    const res = await request(`${srv.url}${path}`, { headers });
    await res.body.dump();
    return res.statusCode;
  };
  return {
    api,
    srv,
    source,
    status,
    setConfigMap: (data: Record<string, string>) => api.apply('configmaps', configMap(NS, 'security', data)),
    setSecret: (data: Record<string, string>) => api.apply('secrets', secret(NS, 'security-secrets', data)),
    async close() {
      await source.stop();
      await srv.close();
      await api.close();
    },
  };
}
export type KubeHarness = Awaited<ReturnType<typeof startKubeHarness>>;
