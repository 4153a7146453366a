/**
 * Counts by two labels on the request path. prom-client's `inc(labels)` hashes and validates its
 * label object on every call (a `labels()` child does the same), which cost thousands of
 * instructions per decision; here a count is two map look-ups on strings and numbers the code
 * already holds, and the counter is handed what accumulated when Prometheus scrapes.
 */
export class LabelTally<A, B> {
  readonly #rows = new Map<A, Map<B, { pending: number }>>();

  add(a: A, b: B): void {
    let row = this.#rows.get(a);
    if (row === undefined) {
      row = new Map();
      this.#rows.set(a, row);
    }
    const cell = row.get(b);
    if (cell === undefined) row.set(b, { pending: 1 });
    else cell.pending++;
  }

  /** Hands every count made since the last flush to `into`, then starts again from zero. */
  flush(into: (a: A, b: B, n: number) => void): void {
    for (const [a, row] of this.#rows) {
      for (const [b, cell] of row) {
        if (cell.pending === 0) continue;
        into(a, b, cell.pending);
        cell.pending = 0;
      }
    }
  }
}
