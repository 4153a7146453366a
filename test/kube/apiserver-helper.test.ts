import { afterEach, expect, it } from 'vitest';
import { describeWithApiserver, findApiserver, type RealApiserver, startRealApiserver } from '../helpers/real-apiserver.js';

/**
 * The helper itself, both ways it starts the processes: with the apiserver's start.sh/stop.sh,
 * and built in (what a user with only envtest's KUBEBUILDER_ASSETS gets). Each answers, survives
 * a SIGKILL and starts again with its data, and mints ServiceAccount tokens.
 */
describeWithApiserver('a real kube-apiserver for tests', () => {
  let api: RealApiserver | undefined;
  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });

  const starters = (['scripts', 'built-in'] as const).filter((s) => {
    const found = findApiserver();
    return s === 'built-in' || (!('missing' in found) && found.startScript !== undefined);
  });
  for (const starter of starters) {
    it(`(${starter}) keeps its data across a SIGKILL and a start with the same flags, and mints ServiceAccount tokens`, async () => {
      api = await startRealApiserver([], { starter });
      await api.kubectl(['create', 'namespace', 'kept']);
      await api.killApiserver();
      expect(await api.isReady()).toBe(false);
      expect((await api.kubectlResult(['get', 'namespace', 'kept', '--request-timeout=5s'])).status).not.toBe(0);
      await api.startAgain();
      expect(await api.isReady()).toBe(true);
      expect(await api.kubectl(['get', 'namespace', 'kept', '-o', 'name'])).toBe('namespace/kept\n');

      await api.kubectl(['-n', 'kept', 'create', 'serviceaccount', 'reader']);
      const asReader = { ...api.env, KUBECONFIG: await api.kubeconfigFor('kept', 'reader') };
      const denied = await api.kubectlResult(['-n', 'kept', 'get', 'configmaps'], undefined, asReader);
      expect(denied.stderr).toContain('system:serviceaccount:kept:reader');
      expect(denied.stderr).toMatch(/forbidden/i);

      await api.stopApiserver();
      expect(await api.isReady()).toBe(false);
      await api.startAgain();
      expect(await api.isReady()).toBe(true);
    });
  }
});
