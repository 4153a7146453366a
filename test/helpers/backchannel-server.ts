import { compileAiryYaml } from '../../src/config/load.js';
import { backchannelLogout } from '../../src/http/backchannel-logout.js';
import type { Revocations } from '../../src/http/deps.js';
import { startInProcess } from './in-process.js';
import { startTestIdp, type TestIdp } from './oidc-idp.js';
import { oidcYaml, PROTECTED, securityYaml } from './policies.js';

export interface BackchannelSetup {
  readonly idp: TestIdp;
  readonly server: Awaited<ReturnType<typeof startInProcess>>;
  close(): Promise<void>;
}

/**
 * A real oidc-provider with the client `airy`, and airy-auth in-process logging in with it and
 * serving POST /backchannel-logout, which records into `revocations`: the tests of the
 * back-channel logout sign their logout tokens with that provider's keys.
 */
export async function startBackchannelServer(revocations: Revocations): Promise<BackchannelSetup> {
  const idp = await startTestIdp({
    accounts: {},
    clients: [
      { client_id: 'airy', client_secret: 'airy-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: ['https://x/cb'] },
    ],
  });
  try {
    const server = await serveBackchannelLogout(`${securityYaml(PROTECTED)}${oidcYaml('idp', idp.issuer)}    sessionTtl: 12h\n`, revocations);
    return {
      idp,
      server,
      async close() {
        await server.close();
        await idp.close();
      },
    };
  } catch (err) {
    await idp.close();
    throw err;
  }
}

/** airy-auth in process with the config `yaml`, serving only POST /backchannel-logout, which records into `revocations`. */
export function serveBackchannelLogout(yaml: string, revocations: Revocations) {
  return startInProcess(compileAiryYaml(yaml), () => ({
    exact: new Map([['/backchannel-logout', (req, res, deps) => backchannelLogout(req, res, { ...deps, revocations })]]),
    prefixes: [],
  }));
}

/** A client of a test provider as these tests register them: `ID`, with the secret `ID-secret-0123456789`. */
export function backchannelClient(id: string) {
  return {
    client_id: id,
    client_secret: `${id}-secret-0123456789`,
    token_endpoint_auth_method: 'client_secret_basic' as const,
    redirect_uris: ['https://x/cb'],
  };
}

/**
 * airy-auth in process with `security.providers`: each NAME logs in at its IdP as the client
 * `NAME-client` (see backchannelClient), and POST /backchannel-logout records into `revocations`.
 */
export function serveProvidersBackchannel(revocations: Revocations, providers: readonly { readonly name: string; readonly idp: TestIdp }[]) {
  const entries = providers.map(
    ({ name, idp }) => `    ${name}:\n      issuerUri: "${idp.issuer}"\n      clientId: ${name}-client\n      clientSecret: ${name}-client-secret-0123456789\n`,
  );
  return serveBackchannelLogout(`${securityYaml(PROTECTED)}  providers:\n${entries.join('')}`, revocations);
}
