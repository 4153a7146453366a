import type { Watch } from '@kubernetes/client-node';

/**
 * Why a watch ended, as a metric label and a log line:
 * - `renewed`: the server ended it cleanly at the timeout asked for (the normal case on a quiet cluster);
 * - `closed`: the server ended it cleanly before that;
 * - `gone`: its resourceVersion is no longer in the server's history (410): relist;
 * - `forbidden`, `unauthorized`: 403 or 401 (RBAC not ready after a restart, or a revoked token);
 * - `premature_close`: an accepted stream broke off mid-body (a stopping apiserver closes it without
 *   the last chunk; through some agents the same end surfaces as a reset);
 * - `stalled`: nothing arrived for the idle limit although a renewal was due;
 * - `error`: anything else (refused connection, DNS, TLS, a 5xx).
 */
export type RestartReason = 'renewed' | 'closed' | 'gone' | 'forbidden' | 'unauthorized' | 'premature_close' | 'stalled' | 'error';

export interface ResilientWatchOptions {
  /**
   * No line for this long means the connection is dead: abort it. Longer than `timeoutSeconds`,
   * so a healthy quiet watch is always renewed by the server before it could look dead.
   */
  readonly idleMs: number;
  /** Asked of the server, so a quiet watch ends cleanly and resumes from its resourceVersion. */
  readonly timeoutSeconds: number;
  readonly onEnd: (reason: RestartReason, err: unknown) => void;
  /** The apiserver accepted the watch (HTTP 200): the source is up, whether or not it speaks. */
  readonly onEstablished: () => void;
  /** Delay before re-watching after a watch the server closed at once (ListWatch would spin). */
  readonly quickCloseDelayMs: () => number;
}

type WatchFn = Watch['watch'];

const BROKEN_STREAM = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function reasonOf(err: unknown, stalled: boolean, goneSeen: boolean, established: boolean, elapsedMs: number, timeoutSeconds: number): RestartReason {
  if (stalled) return 'stalled';
  const status = (err as { statusCode?: number } | null)?.statusCode;
  if (status === 410 || goneSeen) return 'gone';
  if (status === 403) return 'forbidden';
  if (status === 401) return 'unauthorized';
  if (err) {
    const { code, errno, message } = err as { code?: string; errno?: string; message?: string };
    const broken = BROKEN_STREAM.has(code ?? '') || BROKEN_STREAM.has(errno ?? '') || /premature close|socket hang up/i.test(message ?? '');
    return established && broken ? 'premature_close' : 'error';
  }
  return elapsedMs >= timeoutSeconds * 1000 * 0.9 ? 'renewed' : 'closed';
}

/**
 * Wraps client-node's Watch (which ListWatch drives) with what it lacks: bookmarks, a server-side
 * timeout, an idle detector for stalled connections (including an apiserver that accepts the
 * connection and never answers), and a reason for every end. ListWatch itself resumes from the
 * last resourceVersion and relists after 410 Gone.
 */
export class ResilientWatch {
  #quickClose = false;
  constructor(
    private readonly inner: Watch,
    private readonly options: ResilientWatchOptions,
  ) {}

  async watch(...[path, queryParams, callback, done]: Parameters<WatchFn>): ReturnType<WatchFn> {
    if (this.#quickClose) await new Promise((r) => setTimeout(r, this.options.quickCloseDelayMs()));
    this.#quickClose = false;
    const started = Date.now();
    let events = 0;
    let goneSeen = false;
    let stalled = false;
    let finished = false;
    let controller: AbortController | undefined;
    let idle: NodeJS.Timeout | undefined;
    let stalledBeforeAnswer: (c: AbortController) => void = () => {};
    const stalledEarly = new Promise<AbortController>((resolve) => (stalledBeforeAnswer = resolve));

    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      const reason = reasonOf(err, stalled, goneSeen, controller !== undefined, Date.now() - started, this.options.timeoutSeconds);
      this.#quickClose = reason === 'closed' && events === 0 && Date.now() - started < 1000;
      this.options.onEnd(reason, err);
      done(err);
    };
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        stalled = true;
        const err = new Error(`nothing from the apiserver for ${Math.round(this.options.idleMs / 1000)} s although the watch was due to be renewed`);
        // Finish first, then abort: the abort's own error ("The user aborted a request.") is not the reason.
        finish(err);
        if (controller) controller.abort();
        else stalledBeforeAnswer(new AbortController()); // the apiserver has not even answered yet
      }, this.options.idleMs);
      idle.unref();
    };

    arm();
    const pending = this.inner.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.options.timeoutSeconds },
      (phase, obj, raw) => {
        if (finished) return;
        arm();
        events++;
        if (phase === 'ERROR' && (obj as { code?: number })?.code === 410) goneSeen = true;
        callback(phase, obj, raw);
      },
      finish,
    );
    const first = await Promise.race([pending, stalledEarly]);
    if (finished && stalled) {
      void pending.then(
        (c) => c.abort(),
        () => undefined,
      );
      return first;
    }
    controller = first;
    // client-node resolves after the response headers; an error status has already called finish.
    if (!finished) this.options.onEstablished();
    return first;
  }
}
