import type { Watch } from '@kubernetes/client-node';

export type RestartReason = 'closed' | 'gone' | 'error' | 'stalled';

export interface ResilientWatchOptions {
  /** No line (event or bookmark) for this long means the connection is dead: abort it. */
  readonly idleMs: number;
  /** Asked of the server, so a healthy watch is renewed regularly. */
  readonly timeoutSeconds: number;
  readonly onEnd: (reason: RestartReason, err: unknown) => void;
  readonly onAlive: () => void;
  /** Delay before re-watching after a watch the server closed at once (ListWatch would spin). */
  readonly quickCloseDelayMs: () => number;
}

type WatchFn = Watch['watch'];

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
      const status = (err as { statusCode?: number } | null)?.statusCode;
      const reason: RestartReason = stalled ? 'stalled' : status === 410 || goneSeen ? 'gone' : err ? 'error' : 'closed';
      this.#quickClose = reason === 'closed' && events === 0 && Date.now() - started < 1000;
      this.options.onEnd(reason, err);
      done(err);
    };
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        stalled = true;
        if (controller) {
          controller.abort();
          finish(new Error(`nothing from the apiserver for ${this.options.idleMs} ms`));
        } else {
          // The apiserver has not even answered: end this watch ourselves; the pending request is
          // aborted whenever it resolves.
          finish(new Error(`no answer from the apiserver for ${this.options.idleMs} ms`));
          stalledBeforeAnswer(new AbortController());
        }
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
        else this.options.onAlive();
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
    return first;
  }
}
