import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestCa, tlsOptions } from './test-ca.js';

/**
 * A fake kube-apiserver for the real @kubernetes/client-node, over https with the test CA.
 *
 * Reproduced as a real kube-apiserver 1.24 (RBAC, etcd 3.4) was measured to behave:
 * - watch BOOKMARKs are rare: at most one per `bookmarkMs` (default 60 s, as the real server),
 *   carrying the last resourceVersion written to that resource type; after a restart none at all
 *   for a type nobody has written since (the real server has no resourceVersion to put in one);
 * - after a restart (`restart()`), every watch resuming from a resourceVersion older than the
 *   restart gets 410 Gone, and for `forbiddenMs` every request gets 403 (RBAC not ready yet);
 * - stopping (`goAway()`) cuts open watch streams mid-body: the client sees a premature close,
 *   not a clean end;
 * - a watch honours `timeoutSeconds`, ending the stream cleanly when it is up.
 *
 * Also reproduced, as kube-apiserver does it:
 * - LIST and WATCH of namespaced `configmaps` and `secrets` (`/api/v1/namespaces/{ns}/{resource}`),
 *   with `fieldSelector=metadata.name=NAME` (other field selectors: 400), a global, increasing
 *   `resourceVersion` on every write, list `metadata.resourceVersion`, and watch replay of every
 *   change after the given resourceVersion as newline-delimited JSON events (ADDED, MODIFIED,
 *   DELETED);
 * - a watch from a compacted (too old) resourceVersion: HTTP 200, one `ERROR` event carrying a
 *   `Status` with code 410 (reason Expired), then the stream closes;
 * - `BOOKMARK` events (an object with only metadata.resourceVersion) when `allowWatchBookmarks=true`;
 * - the server ending a watch after `timeoutSeconds`;
 * - bearer-token authentication (401 Status otherwise) and RBAC by resourceNames (403 Status for
 *   an object outside the allowed names, and for a list or watch without a name field selector);
 * - POST of core/v1 `events` (kept for tests to read).
 * Test controls: drop every watch connection, stall watches (connection open, nothing sent), go
 * away entirely (connections cut, port closed) and come back on the same port, compact history.
 * Not reproduced: other resources, label selectors, chunked lists (limit/continue), protobuf,
 * server-side apply, admission, and Table output.
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; uid?: string; [k: string]: unknown };
  data?: Record<string, string>;
  [k: string]: unknown;
}

type Resource = 'configmaps' | 'secrets';
interface Change {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: Resource;
  object: KubeObject;
}
interface Watcher {
  res: ServerResponse;
  resource: Resource;
  namespace: string;
  name: string;
  bookmarks: boolean;
  timer?: NodeJS.Timeout;
}

const TOKEN = 'fake-apiserver-token';

export async function startFakeApiserver(options: { allowedNames?: string[]; bookmarkMs?: number } = {}) {
  const ca = ensureTestCa();
  if (!ca) throw new Error('openssl is needed to make the test CA');
  let rv = 100;
  /** The last resourceVersion written per resource type since the last restart; bookmarks carry it. */
  const lastWritten = new Map<Resource, number>();
  /** Until this time (ms), every request is refused with 403, as while RBAC starts after a restart. */
  let forbiddenUntil = 0;
  let compactedBelow = 0;
  let stalled = false;
  const objects = new Map<string, { resource: Resource; object: KubeObject }>();
  const history: Change[] = [];
  const watchers = new Set<Watcher>();
  const sockets = new Set<Socket>();
  const events: KubeObject[] = [];
  const log: { method: string; path: string; query: Record<string, string> }[] = [];
  const key = (resource: Resource, ns: string, name: string) => `${resource}/${ns}/${name}`;

  const status = (res: ServerResponse, code: number, reason: string, message: string): void => {
    res
      .writeHead(code, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  };

  function send(w: Watcher, event: unknown): void {
    // A watch the server has just ended (its timeout) may still be in the set until 'close'.
    if (stalled || w.res.writableEnded || w.res.destroyed) return;
    w.res.write(`${JSON.stringify(event)}\n`);
  }

  function write(resource: Resource, type: Change['type'], object: KubeObject): void {
    rv += 1;
    lastWritten.set(resource, rv);
    const stored: KubeObject = JSON.parse(JSON.stringify(object));
    stored.metadata.resourceVersion = String(rv);
    const k = key(resource, stored.metadata.namespace, stored.metadata.name);
    if (type === 'DELETED') objects.delete(k);
    else {
      stored.metadata.uid = objects.get(k)?.object.metadata.uid ?? randomUUID();
      objects.set(k, { resource, object: stored });
    }
    const change: Change = { rv, type, resource, object: stored };
    history.push(change);
    for (const w of watchers) {
      if (w.resource === resource && w.namespace === stored.metadata.namespace && w.name === stored.metadata.name) send(w, { type, object: stored });
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const query = Object.fromEntries(url.searchParams);
    log.push({ method: req.method ?? '', path: url.pathname, query });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (Date.now() < forbiddenUntil) {
      return status(res, 403, 'Forbidden', `forbidden: User "system:serviceaccount:airy:airy-auth" cannot access ${url.pathname}: RBAC: not ready`);
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/(configmaps|secrets|events)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const [, namespace, resource, nameInPath] = m as unknown as [string, string, Resource | 'events', string | undefined];
    if (resource === 'events') {
      if (req.method !== 'POST') return status(res, 405, 'MethodNotAllowed', 'only create');
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const ev = JSON.parse(body) as KubeObject;
        rv += 1;
        ev.metadata = { ...ev.metadata, namespace, resourceVersion: String(rv), uid: randomUUID(), name: ev.metadata?.name ?? `event.${rv}` };
        events.push(ev);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(ev));
      });
      return;
    }
    const selector = /^metadata\.name=([a-z0-9.-]+)$/.exec(query.fieldSelector ?? '');
    const name = nameInPath ?? selector?.[1];
    if (query.fieldSelector !== undefined && !selector) return status(res, 400, 'BadRequest', `unsupported field selector ${query.fieldSelector}`);
    if (options.allowedNames && (name === undefined || !options.allowedNames.includes(name))) {
      return status(
        res,
        403,
        'Forbidden',
        `${resource} is forbidden: cannot ${query.watch ? 'watch' : 'list'} resource "${resource}" in namespace "${namespace}"`,
      );
    }
    if (nameInPath) {
      const found = objects.get(key(resource, namespace, nameInPath));
      return found
        ? void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(found.object))
        : status(res, 404, 'NotFound', `${resource} "${nameInPath}" not found`);
    }
    if (query.watch === 'true') return startWatch(res, resource, namespace, name!, query);
    const items = [...objects.values()]
      .filter((o) => o.resource === resource && o.object.metadata.namespace === namespace && o.object.metadata.name === name)
      .map((o) => o.object);
    const kind = resource === 'configmaps' ? 'ConfigMapList' : 'SecretList';
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind, apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items }));
  }

  function startWatch(res: ServerResponse, resource: Resource, namespace: string, name: string, query: Record<string, string>): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // The real apiserver sends the 200 at once, before any event: a quiet watch is still an accepted one.
    res.flushHeaders();
    const since = Number(query.resourceVersion ?? '0');
    const w: Watcher = { res, resource, namespace, name, bookmarks: query.allowWatchBookmarks === 'true' };
    if (since > 0 && since < compactedBelow) {
      send(w, {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${since} (${compactedBelow})`,
          reason: 'Expired',
          code: 410,
        },
      });
      res.end();
      return;
    }
    watchers.add(w);
    for (const c of history) {
      if (c.rv > since && c.resource === resource && c.object.metadata.namespace === namespace && c.object.metadata.name === name)
        send(w, { type: c.type, object: c.object });
    }
    if (w.bookmarks) {
      w.timer = setInterval(() => {
        const last = lastWritten.get(resource);
        if (last === undefined) return; // nothing written since the (re)start: nothing to put in a bookmark
        send(w, {
          type: 'BOOKMARK',
          object: { kind: resource === 'configmaps' ? 'ConfigMap' : 'Secret', apiVersion: 'v1', metadata: { resourceVersion: String(last) } },
        });
      }, options.bookmarkMs ?? 60_000);
      w.timer.unref();
    }
    const timeout = Number(query.timeoutSeconds ?? '0');
    const ender =
      timeout > 0
        ? setTimeout(() => {
            watchers.delete(w);
            res.end();
          }, timeout * 1000)
        : undefined;
    res.on('close', () => {
      watchers.delete(w);
      clearInterval(w.timer);
      clearTimeout(ender);
    });
  }

  let server: Server = createServer(tlsOptions(ca), handle);
  const track = (s: Server) =>
    s.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}`;

  const dir = mkdtempSync(join(tmpdir(), 'airy-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${url}
    certificate-authority-data: ${readFileSync(ca.caCert).toString('base64')}
users:
- name: airy-auth
  user:
    token: ${TOKEN}
contexts:
- name: fake
  context: {cluster: fake, user: airy-auth, namespace: airy}
current-context: fake
`,
  );

  const cutEverything = () => {
    // A stopping apiserver closes its connections (TLS close_notify, FIN) in the middle of each
    // watch's chunked body: the client sees a premature close, not a reset and not a clean end.
    // The TCP socket under each watch's TLS socket gets a FIN mid-body, with no final chunk.
    const streams = new Set([...watchers].map((w) => (w.res.socket as (Socket & { _parent?: Socket }) | null)?._parent));
    for (const s of sockets) {
      if (streams.has(s)) s.end();
      else s.destroy();
    }
  };

  return {
    url,
    kubeconfig,
    events,
    log,
    get resourceVersion() {
      return rv;
    },
    get watchCount() {
      return watchers.size;
    },
    apply(resource: Resource, object: KubeObject): void {
      const exists = objects.has(key(resource, object.metadata.namespace, object.metadata.name));
      write(resource, exists ? 'MODIFIED' : 'ADDED', object);
    },
    remove(resource: Resource, namespace: string, name: string): void {
      const found = objects.get(key(resource, namespace, name));
      if (found) write(resource, 'DELETED', found.object);
    },
    /** Forget history up to now: a watch resuming from an older resourceVersion gets 410 Gone. */
    compact(): void {
      compactedBelow = rv + 1;
      history.length = 0;
    },
    /** Cut every open watch (as a load balancer or apiserver restart would). */
    dropWatches(): void {
      for (const w of watchers) w.res.destroy();
    },
    /** Keep connections open but send nothing (a hung apiserver or a black-holed network). */
    stall(on: boolean): void {
      stalled = on;
    },
    /** The apiserver goes away: connections cut, the port refuses new ones. */
    async goAway(): Promise<void> {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        cutEverything();
      });
    },
    /** The apiserver comes back on the same port, with everything it stored. */
    async comeBack(): Promise<void> {
      server = createServer(tlsOptions(ca), handle);
      track(server);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    /**
     * A restart as a real apiserver does one: it goes away (streams cut mid-body), comes back with
     * its data but an empty watch cache (every resume from before: 410; no bookmark for a type
     * until someone writes it) and answers 403 for `forbiddenMs` while RBAC starts.
     * Resolves when it is listening again.
     */
    async restart(options: { downMs?: number; forbiddenMs?: number } = {}): Promise<void> {
      await this.goAway();
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
      // Its revision has moved on meanwhile (leases, events): every resourceVersion from before is
      // older than the restart, and the first list after it returns the current one.
      rv += 1;
      compactedBelow = rv;
      history.length = 0;
      lastWritten.clear();
      forbiddenUntil = Date.now() + (options.forbiddenMs ?? 0);
      await this.comeBack();
    },
    /** When the 403 warm-up of the last restart ends (ms since the epoch). */
    get readyAt(): number {
      return forbiddenUntil;
    },
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeApiserver = Awaited<ReturnType<typeof startFakeApiserver>>;

export function configMap(namespace: string, name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export function secret(namespace: string, name: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, namespace },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}
