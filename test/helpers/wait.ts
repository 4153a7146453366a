/**
 * Polls until `check` returns a truthy value (returned). `ms` is only a backstop against a
 * condition that never comes, long enough for a busy machine; the wait ends with the event.
 */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, ms = 60_000, everyMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
