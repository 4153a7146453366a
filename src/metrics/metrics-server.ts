import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** `/metrics` on its own port, so the public port never exposes it. */
export function createMetricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    if ((req.url ?? '').split('?', 1)[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      () => res.writeHead(500).end('metrics failed\n'),
    );
  });
}
