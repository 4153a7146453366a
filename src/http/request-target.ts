/** The path of a request target (or URL), without its query: the one other place a target is cut at `?`. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '';
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

/**
 * The query of a request target (or of a URL written in an annotation), or undefined when it has
 * none. The one place a target is cut at `?`; its pairs are read with URLSearchParams.
 */
export function queryOf(url: string | undefined): string | undefined {
  const q = url === undefined ? -1 : url.indexOf('?');
  return q < 0 || q === url!.length - 1 ? undefined : url!.slice(q + 1);
}
