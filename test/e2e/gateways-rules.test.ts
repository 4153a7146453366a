import { afterAll, beforeAll, it } from 'vitest';
import { caddyInstalled } from '../helpers/caddy.js';
import { mintRulesTokens, RULES_TABLE_CONFIG, RULES_TABLE_POLICY, rulesTable } from '../helpers/decision-tables.js';
import { expectRowEverywhere, type Gateway, startGatewayTable } from '../helpers/gateways.js';
import { nginxInstalled } from '../helpers/nginx.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * The decision table for groups and named policies, through every gateway adapter, each
 * selecting the `grafana` policy the way its protocol allows (a query on the auth URL, Caddy's
 * uri, Envoy's /envoy-policy/NAME prefix, the Gateway API filter's /gateway-api-policy/NAME).
 */
describeWithTools('groups and a named policy through every gateway adapter', { nginx: nginxInstalled, caddy: caddyInstalled }, () => {
  let table: Awaited<ReturnType<typeof startGatewayTable>>;
  const gateways: Gateway[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    table = await startGatewayTable(RULES_TABLE_CONFIG, RULES_TABLE_POLICY);
    gateways.push(...table.gateways);
    await mintRulesTokens(table.key, tokens);
  }, 60_000);
  afterAll(async () => {
    await table?.close();
  });

  const ROWS = rulesTable(tokens);

  it.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => expectRowEverywhere(gateways, row));
});
