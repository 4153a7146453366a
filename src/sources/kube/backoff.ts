/**
 * Exponential backoff with jitter (the delay is random in [cap/2, cap]), so many replicas that
 * lost the apiserver at once do not come back at once. The cap is short (2 s): a failed watch
 * costs the apiserver one refused connection or one small 403, and after a restart the change
 * written as it becomes ready must land within seconds, not after a 30 s back-off.
 * `random` is injected for tests.
 */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly baseMs = 250,
    private readonly maxMs = 2_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(cap * (0.5 + this.random() / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
