/**
 * Globs built from configuration, matched in time linear in the input: a pattern is compiled once
 * into tokens and matched by simulating its automaton (every position at once), never by a
 * backtracking regex, so no pattern and no request can make a match slow.
 *
 * Syntax (the subset of minimatch the config has always accepted): `*` any run of characters
 * (within one path segment, for paths), `?` one character, `[abc]`, `[a-z]`, `[!x]` or `[^x]` one
 * character of a class, `\` escapes the next character; for paths, a `**` segment spans segments.
 */

type Token =
  | { readonly kind: 'char'; readonly c: string }
  | { readonly kind: 'one' }
  | { readonly kind: 'class'; readonly negate: boolean; readonly ranges: readonly (readonly [string, string])[] }
  | { readonly kind: 'star' };

/** Matches one string against one compiled glob. */
export type StringMatcher = (text: string) => boolean;

function parseClass(pattern: string, start: number): { token: Token; end: number } | undefined {
  let i = start + 1;
  const negate = pattern[i] === '!' || pattern[i] === '^';
  if (negate) i++;
  const ranges: [string, string][] = [];
  let first = true;
  while (i < pattern.length && (pattern[i] !== ']' || first)) {
    first = false;
    let lo = pattern[i]!;
    if (lo === '\\' && i + 1 < pattern.length) lo = pattern[++i]!;
    if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      ranges.push([lo, pattern[i + 2]!]);
      i += 3;
    } else {
      ranges.push([lo, lo]);
      i++;
    }
  }
  if (i >= pattern.length) return undefined; // no closing "]": the "[" is a literal
  return { token: { kind: 'class', negate, ranges }, end: i };
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) tokens.push({ kind: 'char', c: pattern[++i]! });
    else if (c === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'one' });
    else if (c === '[') {
      const cls = parseClass(pattern, i);
      if (cls) {
        tokens.push(cls.token);
        i = cls.end;
      } else tokens.push({ kind: 'char', c });
    } else tokens.push({ kind: 'char', c });
  }
  return tokens;
}

function accepts(token: Token, c: string): boolean {
  switch (token.kind) {
    case 'char':
      return token.c === c;
    case 'one':
      return true;
    case 'class': {
      const inside = token.ranges.some(([lo, hi]) => c >= lo && c <= hi);
      return inside !== token.negate;
    }
    case 'star':
      return true;
  }
}

/** True when the pattern has no glob syntax at all, so plain equality (or a set look-up) does. */
export function isLiteralGlob(pattern: string): boolean {
  return !/[*?[\\]/.test(pattern);
}

/**
 * One glob over a whole string. O(text length × pattern length): the set of pattern positions
 * reachable after each character is carried forward, so there is nothing to backtrack.
 */
export function compileGlob(pattern: string, options: { nocase?: boolean } = {}): StringMatcher {
  const fold = options.nocase ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (isLiteralGlob(pattern)) {
    const literal = fold(pattern);
    return (text) => fold(text) === literal;
  }
  const tokens = tokenize(fold(pattern));
  const m = tokens.length;
  let cur = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  // A star may match nothing: reaching it reaches what follows it.
  const close = (states: Uint8Array) => {
    for (let i = 0; i < m; i++) if (states[i] && tokens[i]!.kind === 'star') states[i + 1] = 1;
  };
  return (raw) => {
    const text = fold(raw);
    cur.fill(0);
    cur[0] = 1;
    close(cur);
    for (let k = 0; k < text.length; k++) {
      const c = text[k]!;
      next.fill(0);
      let alive = false;
      for (let i = 0; i < m; i++) {
        if (!cur[i]) continue;
        const t = tokens[i]!;
        if (t.kind === 'star') {
          next[i] = 1;
          alive = true;
        } else if (accepts(t, c)) {
          next[i + 1] = 1;
          alive = true;
        }
      }
      if (!alive) return false;
      close(next);
      [cur, next] = [next, cur];
    }
    return cur[m] === 1;
  };
}

/**
 * A path glob, matched segment by segment: `*`, `?` and classes stay within a segment (and never
 * match an empty one), a `**` segment spans any number of segments (at least one when it ends
 * the pattern), and a path with one trailing slash matches a pattern without it. These are the
 * rules minimatch applied to publicPaths before, kept so no configured path changes meaning.
 */
export function compilePathGlob(pattern: string): StringMatcher {
  const segments = pattern.split('/').map((s) => (s === '**' ? undefined : s === '' ? (t: string) => t === '' : compileSegment(s)));
  const p = segments.length;
  const matchSegments = (parts: readonly string[]): boolean => {
    let states = new Set<number>([0]);
    const close = (set: Set<number>) => {
      for (let j = 0; j < p - 1; j++) if (set.has(j) && segments[j] === undefined) set.add(j + 1);
    };
    close(states);
    for (const part of parts) {
      const next = new Set<number>();
      for (const j of states) {
        if (j >= p) continue;
        const seg = segments[j];
        if (seg === undefined) {
          next.add(j);
          if (j === p - 1) next.add(p);
        } else if (seg(part)) next.add(j + 1);
      }
      if (next.size === 0) return false;
      close(next);
      states = next;
    }
    return states.has(p);
  };
  return (path) => {
    const parts = path.split('/');
    if (matchSegments(parts)) return true;
    return parts.length > 2 && parts.at(-1) === '' && matchSegments(parts.slice(0, -1));
  };
}

function compileSegment(pattern: string): StringMatcher {
  const glob = compileGlob(pattern);
  return (text) => text !== '' && glob(text);
}

/**
 * Many globs as one matcher whose cost does not grow with their number for the common shapes:
 * exact strings are a set, `*LITERAL` (such as `*@example.com`) a set per suffix length, and only
 * globs of other shapes are tried one by one. Case-insensitive when `nocase`.
 */
export function compileGlobSet(patterns: readonly string[], options: { nocase?: boolean } = {}): StringMatcher {
  const fold = options.nocase ? (s: string) => s.toLowerCase() : (s: string) => s;
  const exact = new Set<string>();
  const suffixes = new Map<number, Set<string>>();
  const others: StringMatcher[] = [];
  for (const raw of patterns) {
    const pattern = fold(raw);
    if (isLiteralGlob(pattern)) exact.add(pattern);
    else if (/^\*+[^*?[\\]+$/.test(pattern)) {
      const literal = pattern.replace(/^\*+/, '');
      const set = suffixes.get(literal.length) ?? new Set<string>();
      set.add(literal);
      suffixes.set(literal.length, set);
    } else others.push(compileGlob(pattern, options));
  }
  const lengths = [...suffixes.keys()];
  return (raw) => {
    const text = fold(raw);
    if (exact.has(text)) return true;
    for (const n of lengths) if (n <= text.length && suffixes.get(n)!.has(text.slice(text.length - n))) return true;
    for (const m of others) if (m(text)) return true;
    return false;
  };
}
