import { describe, it } from 'vitest';

export { hasProgram } from './programs.js';

/**
 * A describe block that needs real programs. Under CI=true a missing program fails the run (one
 * failing test says which); elsewhere the block is skipped and the reason printed.
 */
export function describeWithTools(title: string, tools: Record<string, boolean>, body: () => void): void {
  const missing = Object.entries(tools)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      it(`needs ${missing.join(', ')}`, () => {
        throw new Error(`CI=true and ${missing.join(', ')} is not installed: .ci/run must install it`);
      });
    });
    return;
  }
  console.warn(`SKIPPED "${title}": ${missing.join(', ')} not installed here (under CI=true this fails instead)`);
  describe.skip(title, body);
}
