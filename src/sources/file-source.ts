import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CompileResult } from '../config/compile.js';
import { compileAiryYaml } from '../config/load.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PolicyStore } from './policy-store.js';

export interface FileSourceEvents {
  /** The file's content changed (or was read for the first time). */
  onText(text: string): void;
  /** The file is not there: `wasRead` says whether it ever was (deleted), or not yet (never created). */
  onMissing(wasRead: boolean): void;
  /** The file could not be read for another reason (permissions, a directory, ...). */
  onError(code: string): void;
}

export interface FileSource {
  /** Reads now; resolves after the callbacks for this read have run. */
  check(): Promise<void>;
  close(): void;
}

/**
 * Watches a config file, including a mounted ConfigMap volume, where kubelet swaps a `..data`
 * symlink in the file's directory instead of writing the file: so the directory is watched, and
 * the file is re-read by its path, following links. A slow poll backs up fs.watch, which can miss
 * events on some filesystems. Unchanged content (by hash) is not reported again.
 *
 * A file is read only once its writing is over: `cp` or an editor writes in pieces, and each
 * piece fires an event, so a file modified less than `settleMs` ago, or that changed while it was
 * being read, is read again once it has settled. Reporting the half-written text would log a
 * false "config rejected". And since a writer may stall longer than that, text that `complete`
 * refuses (a config that does not compile) is only reported once the file has not changed for
 * `patienceMs`: before, it is read again.
 */
export function watchFile(
  path: string,
  events: FileSourceEvents,
  pollMs = 2000,
  settleMs = 250,
  complete?: (text: string) => boolean,
  patienceMs = 5000,
): FileSource {
  let lastHash: string | undefined;
  let lastState: 'text' | 'missing' | 'error' | undefined;
  let everRead = false;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  /** Reads the file and reports it; or answers how many ms to wait while it is still being written. */
  async function readOnce(): Promise<number | undefined> {
    let text: string;
    let modifiedMs: number;
    try {
      const before = await stat(path);
      const age = Date.now() - before.mtimeMs;
      if (age >= 0 && age < settleMs) return settleMs - age;
      text = await readFile(path, 'utf8');
      const after = await stat(path);
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) return settleMs;
      modifiedMs = after.mtimeMs;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') {
        if (lastState !== 'missing') {
          lastState = 'missing';
          lastHash = undefined;
          events.onMissing(everRead);
        }
      } else if (lastState !== 'error') {
        lastState = 'error';
        lastHash = undefined;
        events.onError(code);
      }
      return undefined;
    }
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === lastHash) return undefined;
    if (complete !== undefined && !complete(text)) {
      const age = Date.now() - modifiedMs;
      if (age >= 0 && age < patienceMs) return Math.max(settleMs, patienceMs - age);
    }
    lastHash = hash;
    lastState = 'text';
    everRead = true;
    events.onText(text);
    return undefined;
  }

  // Serialize reads: an event during a read schedules exactly one more read.
  function check(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          const wait = await readOnce();
          if (wait !== undefined && !closed) {
            // Referenced: at start-up nothing else may keep the process alive while it waits.
            await sleep(wait);
            again = true;
          }
        } catch {
          // A callback that throws must not become an unhandled rejection (which ends the process).
          lastHash = undefined;
          lastState = 'error';
          events.onError('EINTERNAL');
        }
      } while (again);
      running = undefined;
    })();
    return running;
  }

  let watcher: FSWatcher | undefined;
  const name = basename(path);
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed === null || changed === name || changed.startsWith('..')) void check();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined; // the directory may not exist yet; the poll still notices the file
  }
  const timer = setInterval(() => void check(), pollMs);
  timer.unref();
  return {
    check,
    close() {
      closed = true;
      clearInterval(timer);
      watcher?.close();
    },
  };
}

/** A running config source: `ready` settles after the first read or list; `stop` ends the watch. */
export interface RunningSource {
  readonly name: string;
  readonly ready: Promise<void>;
  stop(): void | Promise<void>;
}

export interface SourceDeps {
  readonly store: PolicyStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** Live config from a file (a mounted ConfigMap included): every change recompiles, the store keeps the last good one. */
export function startFileSource(path: string, { store, metrics, logger }: SourceDeps): RunningSource & { refresh(): Promise<void> } {
  // The last text compiled, so the completeness check and the apply compile it once.
  let compiled: { text: string; result: CompileResult } | undefined;
  const compile = (text: string): CompileResult => {
    if (compiled?.text !== text) compiled = { text, result: compileAiryYaml(text, path) };
    return compiled.result;
  };
  const source = watchFile(
    path,
    {
      onText: (text) => {
        metrics.sourceUp.set(1);
        store.apply(compile(text), path);
        compiled = undefined;
      },
      onMissing: (wasRead) => {
        metrics.sourceUp.set(0);
        if (wasRead) store.sourceDeleted(path);
        // Never there (a wrong path, or a volume not mounted yet): not a deletion.
        else logger.log('error', 'config file not found; no valid config yet, answering 503 until it appears', { source: path, code: 'ENOENT' });
      },
      onError: (code) => {
        metrics.sourceUp.set(0);
        logger.log('error', 'cannot read config file; keeping the last good config', { source: path, code });
      },
    },
    undefined,
    undefined,
    // A config that does not compile, or that turns authentication off (a file cut before its
    // secrets), may be one still being written: wait before judging it.
    (text) => compile(text).policy?.enabled === true,
  );
  return { name: path, ready: source.check(), stop: () => source.close(), refresh: () => source.check() };
}
