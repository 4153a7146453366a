import type { Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Logger } from '../src/log.js';

/** Listens, tracking connections so that shutdown can drain them (see drain). */
export function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  trackConnections(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export interface ShutdownOptions {
  readonly servers: readonly Server[];
  readonly logger: Logger;
  /** Keep serving this long after the signal while /readyz says not ready. */
  readonly delaySeconds: number;
  /** Then at most this long for in-flight requests before the remaining connections are cut. */
  readonly drainSeconds: number;
  /** Called first: /readyz turns 503. */
  readonly markNotReady: () => void;
  /** Called when the delay is over, before the servers stop listening. */
  readonly stopSources: () => void | Promise<void>;
  /** An idle keep-alive connection is closed once it has been idle this long during the drain. */
  readonly idleCloseMs?: number;
}

/**
 * Closes a server without racing its clients. Node's `server.close()` closes idle keep-alive
 * connections at once, and a request a client has just sent on one is then reset. Instead: stop
 * listening, answer every further request with `Connection: close` (so the client stops using
 * that connection after the answer it is waiting for), and close a connection only once it has
 * been idle for `idleCloseMs`: a client that still wanted it would have sent on it by then.
 */
function drain(server: Server, idleCloseMs: number): Promise<void> {
  const idleSince = new Map<Socket, number>();
  for (const socket of trackedSockets(server)) idleSince.set(socket, socketIdle(socket) ? Date.now() : 0);
  // First in line, before the handler writes its answer: that answer then says Connection: close.
  server.prependListener('request', (req, res) => {
    idleSince.set(req.socket, 0);
    res.shouldKeepAlive = false;
  });
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [socket, since] of idleSince) {
        if (socket.destroyed) idleSince.delete(socket);
        else if (since === 0 && socketIdle(socket)) idleSince.set(socket, now);
        else if (since !== 0 && socketIdle(socket) && now - since >= idleCloseMs) {
          socket.destroy();
          idleSince.delete(socket);
        }
      }
    },
    Math.max(10, Math.floor(idleCloseMs / 4)),
  );
  return new Promise<void>((resolve) => {
    // net.Server#close stops listening and waits for every connection to end, without the
    // http.Server override that closes idle keep-alive connections immediately.
    NetServer.prototype.close.call(server, () => {
      clearInterval(sweep);
      resolve();
    });
  });
}

const sockets = new WeakMap<Server, Set<Socket>>();

function trackConnections(server: Server): void {
  const set = new Set<Socket>();
  sockets.set(server, set);
  server.on('connection', (socket: Socket) => {
    set.add(socket);
    socket.once('close', () => set.delete(socket));
  });
}

function trackedSockets(server: Server): Set<Socket> {
  return sockets.get(server) ?? new Set();
}

/** No request is being answered on the socket. Node marks a parser-attached socket with `_httpMessage` while a response is open. */
function socketIdle(socket: Socket): boolean {
  return !(socket as Socket & { _httpMessage?: unknown })._httpMessage;
}

/**
 * SIGTERM/SIGINT: first keep serving for `delaySeconds` while `/readyz` says not ready (Kubernetes
 * removes the pod from its endpoints asynchronously, so requests keep arriving for a moment), then
 * stop accepting and let in-flight requests and keep-alive clients finish (see drain), and exit 0.
 * After `drainSeconds` the remaining connections are cut.
 */
export function shutdownOnSignals(options: ShutdownOptions): () => Promise<void> {
  const { servers, logger, delaySeconds, drainSeconds, markNotReady, stopSources } = options;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      markNotReady();
      if (delaySeconds > 0) await new Promise((r) => setTimeout(r, delaySeconds * 1000));
      await stopSources();
      const cut = setTimeout(() => {
        for (const s of servers) s.closeAllConnections();
      }, drainSeconds * 1000);
      cut.unref();
      await Promise.all(servers.map((s) => drain(s, options.idleCloseMs ?? 1000)));
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
