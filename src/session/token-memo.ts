/**
 * Verified tokens and what they carry, so a token seen before is answered without crypto. Keyed by
 * the signature segment (hashing a few dozen characters is much cheaper than a whole token); an
 * entry counts only when the whole token matches exactly. Bounded by the tokens' total size, not
 * their count, so distinct large tokens cannot grow the process past its memory limit; the oldest
 * entries go first (a Map iterates in insertion order).
 */
export class TokenMemo<T> {
  readonly #entries = new Map<string, { token: string; value: T }>();
  readonly #maxChars: number;
  #chars = 0;

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  get(token: string): T | undefined {
    const entry = this.#entries.get(signatureOf(token));
    return entry !== undefined && entry.token === token ? entry.value : undefined;
  }

  set(token: string, value: T): void {
    const signature = signatureOf(token);
    const replaced = this.#entries.get(signature);
    if (replaced) this.#chars -= replaced.token.length;
    this.#entries.set(signature, { token, value });
    this.#chars += token.length;
    for (const [key, old] of this.#entries) {
      if (this.#chars <= this.#maxChars) break;
      this.#entries.delete(key);
      this.#chars -= old.token.length;
    }
  }
}

function signatureOf(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}
