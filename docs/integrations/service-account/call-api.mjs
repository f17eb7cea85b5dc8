// A service account calls the Orders API: it gets an access token for the
// API with client_credentials, authenticating with its private key
// (private_key_jwt, RFC 7523: no shared secret exists anywhere), bound to a
// key pair of this process (DPoP, RFC 9449: a stolen token is useless
// without that key), and sends it to the API. See README.md next to it.
//
//   PORTCULLIS_ISSUER=https://id.example.com API_URL=https://orders.example.com/orders \
//     node --env-file=orders-bot.env call-api.mjs
//
// Environment (orders-bot.env, written by setup.sh, has the first four):
//   CLIENT_ID     the service account's client, pcc_...
//   KEY_ID        its key's id, the "kid" registered with the client
//   KEY_FILE      its private key, PKCS #8 PEM (readable by this user only)
//   RESOURCE      the API's resource URI: the token's audience
//   PORTCULLIS_ISSUER, API_URL (the address to call), SCOPE (orders:read)
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as oidc from 'openid-client';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`set ${name}`);
  return v;
};
const issuer = new URL(env('PORTCULLIS_ISSUER'));
const apiUrl = new URL(env('API_URL'));
const resource = env('RESOURCE');
const scope = env('SCOPE', 'orders:read');

// The private key, as a non-extractable WebCrypto key (what openid-client
// signs with).
const der = createPrivateKey(readFileSync(env('KEY_FILE'))).export({ type: 'pkcs8', format: 'der' });
const key = await crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);

// openid-client refuses plain http; allow it for a loopback issuer only
// (a development server on this machine), never for a real one.
const loopback = issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
const config = await oidc.discovery(issuer, env('CLIENT_ID'), {},
  oidc.PrivateKeyJwt({ key, kid: env('KEY_ID') }),
  loopback ? { execute: [oidc.allowInsecureRequests] } : undefined);

// A DPoP key pair for this process only, never stored: the tokens are
// bound to it.
const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));

// One token, reused until shortly before it expires.
let cached;
async function accessToken() {
  if (!cached || cached.expiresAt - 30_000 < Date.now()) {
    const t = await oidc.clientCredentialsGrant(config, { scope, resource }, { DPoP });
    cached = { token: t.access_token, expiresAt: Date.now() + (t.expires_in ?? 60) * 1000 };
  }
  return cached.token;
}

const res = await oidc.fetchProtectedResource(config, await accessToken(), apiUrl, 'GET', undefined, undefined, { DPoP });
const body = await res.text();
console.log(`GET ${apiUrl.href}: ${res.status}`);
console.log(body);
process.exitCode = res.ok ? 0 : 1;
