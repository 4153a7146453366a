import { createRequire, syncBuiltinESMExports } from 'node:module';

// The unit lane starts no other program: every way to start one throws here, naming the call, so
// a test that needs a program fails loudly in this lane instead of slowing it down.
const childProcess = createRequire(import.meta.url)('node:child_process') as Record<string, unknown>;
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  childProcess[name] = () => {
    throw new Error(`child_process.${name} called in the unit lane (npm run test:unit); move this file to the full suite's list in vitest.unit.config.ts`);
  };
}
syncBuiltinESMExports();
