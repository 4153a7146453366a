import { afterAll, beforeAll, it } from 'vitest';
import { caddyInstalled } from '../helpers/caddy.js';
import { CORE_TABLE_CONFIG, coreTable, mintCoreTokens } from '../helpers/decision-tables.js';
import { expectRowEverywhere, type Gateway, startGatewayTable } from '../helpers/gateways.js';
import { nginxInstalled } from '../helpers/nginx.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * One decision table, every gateway: the same request must get the same decision whichever
 * gateway carries it (ingress-nginx and NGINX Gateway Fabric shapes through real nginx, Caddy's
 * forward_auth, an Envoy ext_authz HTTP gateway and a Gateway API ExternalAuth gateway).
 */
describeWithTools('the shared decision table through every gateway adapter', { nginx: nginxInstalled, caddy: caddyInstalled }, () => {
  let table: Awaited<ReturnType<typeof startGatewayTable>>;
  const gateways: Gateway[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    table = await startGatewayTable(CORE_TABLE_CONFIG);
    gateways.push(...table.gateways);
    await mintCoreTokens(table.key, tokens);
  }, 60_000);
  afterAll(async () => {
    await table?.close();
  });

  const ROWS = coreTable(tokens);

  it.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => expectRowEverywhere(gateways, row));
});
