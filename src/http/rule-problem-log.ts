import type { Logger } from '../log.js';

/** How many distinct mistakes are remembered, so each is said once; a stranger's unique values only churn this set. */
const REMEMBERED = 256;
/** At most this many warnings per window; the rest are counted and said in one line when the window ends. */
const WARNINGS_PER_WINDOW = 10;
const WINDOW_MS = 60_000;
const HOST_SHOWN = 253;

/**
 * The warning for a route rule airy-auth cannot apply. Each distinct mistake is logged once (a
 * misconfigured Ingress would log on every request), with the host that asked, so an operator can
 * find the Ingress. The query is a stranger's to choose on some gateways, so the memory of what was
 * said is bounded, a problem names a parameter but never quotes a value (a reset token or an
 * address in the application's own query would land in the log; route-rules.ts), keys it quotes are
 * truncated, and the lines are rate-limited: unique mistakes by the thousand cost a few lines a minute.
 */
export class RuleProblemLog {
  readonly #said = new Set<string>();
  #windowStart = Number.NEGATIVE_INFINITY;
  #inWindow = 0;
  #suppressed = 0;

  constructor(private readonly logger: Logger) {}

  report(problem: string, host: string, nowMs: number): void {
    const key = `${host}\n${problem}`;
    if (this.#said.has(key)) return;
    if (nowMs - this.#windowStart >= WINDOW_MS) {
      if (this.#suppressed > 0) {
        this.logger.log('warn', 'more routes asked for rules airy-auth cannot apply; those warnings were suppressed', { suppressed: this.#suppressed });
      }
      this.#windowStart = nowMs;
      this.#inWindow = 0;
      this.#suppressed = 0;
    }
    if (this.#inWindow >= WARNINGS_PER_WINDOW) {
      // Not remembered: said once the flood is over, if it comes again.
      this.#suppressed++;
      return;
    }
    this.#inWindow++;
    if (this.#said.size >= REMEMBERED) this.#said.delete(this.#said.values().next().value!);
    this.#said.add(key);
    this.logger.log('warn', 'a route asks for a rule airy-auth cannot apply; its requests are refused', { problem, host: host.slice(0, HOST_SHOWN) });
  }
}
