import { Minimatch, type MinimatchOptions } from 'minimatch';

/** Options shared by every glob in the config: no comments, negation or extglobs, just *, ** , ? and [...]. */
const BASE: MinimatchOptions = { dot: true, nocomment: true, nonegate: true, noext: true };

/** A compiled glob, or undefined when minimatch cannot use the pattern. */
export function compileGlob(pattern: string, options: MinimatchOptions = {}): Minimatch | undefined {
  try {
    const mm = new Minimatch(pattern, { ...BASE, ...options });
    return mm.set.length > 0 ? mm : undefined;
  } catch {
    return undefined;
  }
}
