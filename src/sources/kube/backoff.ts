/**
 * Exponential backoff with full jitter (the delay is random in [0, cap]), so many replicas that
 * lost the apiserver at once do not come back at once. `random` is injected for tests.
 */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly baseMs = 250,
    private readonly maxMs = 30_000,
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
