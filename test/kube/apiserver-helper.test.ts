import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithApiserver, type RealApiserver, startRealApiserver } from '../helpers/real-apiserver.js';

/** The helper itself: a real apiserver that answers, survives a SIGKILL and starts again with its data. */
describeWithApiserver('a real kube-apiserver for tests', () => {
  let api: RealApiserver;
  beforeAll(async () => {
    api = await startRealApiserver();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('keeps its data across a SIGKILL and a start with the same flags', async () => {
    await api.kubectl(['create', 'namespace', 'kept']);
    await api.killApiserver();
    expect(await api.isReady()).toBe(false);
    expect((await api.kubectlResult(['get', 'namespace', 'kept', '--request-timeout=5s'])).status).not.toBe(0);
    await api.startAgain();
    expect(await api.isReady()).toBe(true);
    expect(await api.kubectl(['get', 'namespace', 'kept', '-o', 'name'])).toBe('namespace/kept\n');
  });
});
