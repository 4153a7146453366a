import type { Server } from 'node:http';
import type { Logger } from '../src/log.js';

export function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * SIGTERM/SIGINT: first keep serving for `delaySeconds` while `/readyz` says not ready (Kubernetes
 * removes the pod from its endpoints asynchronously, so requests keep arriving for a moment), then
 * stop accepting, let in-flight requests finish (idle keep-alive connections are closed at once),
 * and exit 0. After `drainSeconds` the remaining connections are cut.
 */
export function shutdownOnSignals(
  servers: Server[],
  drainSeconds: number,
  logger: Logger,
  stopSources: () => void,
  delaySeconds = 0,
  markNotReady: () => void = () => {},
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      markNotReady();
      if (delaySeconds > 0) await new Promise((r) => setTimeout(r, delaySeconds * 1000));
      stopSources();
      const cut = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), drainSeconds * 1000);
      cut.unref();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeIdleConnections();
            }),
        ),
      );
      clearTimeout(cut);
    })();
    return closing;
  };
  const onSignal = (signal: string) => {
    logger.log('info', 'shutting down: draining in-flight requests', { signal });
    void close().then(() => {
      logger.log('info', 'stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  return close;
}
