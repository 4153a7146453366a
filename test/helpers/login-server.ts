import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { startInProcess } from './in-process.js';
import { TEST_JWT_SECRET } from './policies.js';

/** The real server with every route, in this process, from the body of an airy.yaml security block. */
export async function startLoginServer(securityBody: string, now?: () => number, port = 0) {
  const yaml = `security:\n  jwtSecret: "${TEST_JWT_SECRET}"\n${securityBody}`;
  const compiled = compileAiryYaml(yaml);
  if (!compiled.policy) throw new Error(`test config invalid: ${JSON.stringify(compiled.issues)}`);
  // A redirect URI registered at an IdP names a fixed port; retry briefly while it frees up.
  for (let attempt = 0; ; attempt++) {
    try {
      return await startInProcess(compiled, () => allRoutes(), now, port);
    } catch (err) {
      if (attempt > 40 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
