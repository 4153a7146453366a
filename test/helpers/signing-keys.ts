import { generateKeyPairSync } from 'node:crypto';

/**
 * EC P-256 keys for the signed identity header, made once per test process (no private key is
 * committed): the current key as SEC1 (`EC PRIVATE KEY`, what helm's genPrivateKey "ecdsa" writes)
 * and as PKCS#8, and a previous key as private and as public PEM.
 */
function p256() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    sec1: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey,
    publicKey,
  };
}

export const TEST_SIGNING_KEY = p256();
export const TEST_PREVIOUS_SIGNING_KEY = p256();
/** Another P-256 key: what a forger who does not hold signingKey could sign with. */
export const FORGER_KEY = p256();
