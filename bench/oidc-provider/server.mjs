// The peer for make bench: npm oidc-provider (pinned in package-lock.json,
// installed by bench/run.sh with `npm ci`), configured as close to
// portcullis's defaults as it goes. See bench/README.md, "OAuth against
// oidc-provider", for what is equivalent and what is not.
//
//   node bench/oidc-provider/server.mjs PORT READY_FILE
//
// Listens on 127.0.0.1:PORT with issuer http://127.0.0.1:PORT and, once it
// listens, writes one JSON line to READY_FILE (mode 0600; its own notices
// go to stdout and stderr):
//   {"ok":true,"pid":..,"issuer":..,"clients":{"bench":{client_id,
//    client_secret},"opaque":{...}}}
// Stops on SIGTERM/SIGINT.
//
// - client "bench": confidential, client_secret_basic, grants
//   client_credentials, authorization_code and refresh_token, redirect URI
//   https://127.0.0.1/cb, scopes openid offline_access api.read. Its access
//   tokens are RFC 9068 JWTs signed ES256 (P-256), through the resource
//   indicators feature: every request defaults to the resource
//   "urn:bench:api" whose audience is the issuer (as ours).
// - client "opaque": the same, but its access tokens are opaque (stored in
//   the adapter), because oidc-provider cannot introspect JWT access tokens
//   (reject_structured_tokens.js); the introspection run uses it.
// - rotateRefreshToken: true (every refresh rotates, as ours), PKCE
//   required for every client (as ours), access and ID tokens live 5 min
//   (our access_token_ttl and id_token_ttl defaults), ID tokens RS256 with
//   an RSA-3072 key (ours: RS256, RSA-3072).
// - an in-memory adapter: no durable writes (ours: SQLite). It is the
//   package's own MemoryAdapter on an unbounded Map with the same per-entry
//   expiry, not its default storage: that is an LRU of 1000 entries, which
//   a few seconds of rotations overflow, silently dropping the grants,
//   sessions and refresh tokens seeded for the measured chains (every
//   rotation of the measured run then answered invalid_grant: "0 ok,
//   22895 failed, 8 chains died"). A real deployment's Redis or SQL
//   adapter does not evict live tokens either.
// - devInteractions (its built-in login and consent pages, any login
//   accepted) are how bench/refresh-seed.mjs obtains refresh tokens through a
//   real authorization-code flow.
import crypto from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

const port = Number(process.argv[2]);
const readyFile = process.argv[3];
if (!Number.isInteger(port) || port < 1 || port > 65535 || !readyFile) {
  console.error('usage: server.mjs PORT READY_FILE');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:bench:api';

const jwk = (kp, alg) => ({
  ...kp.privateKey.export({ format: 'jwk' }),
  alg,
  use: 'sig',
  kid: crypto.randomBytes(8).toString('hex'),
});
const ec = jwk(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256');
const rsa = jwk(crypto.generateKeyPairSync('rsa', { modulusLength: 3072 }), 'RS256');

const secret = () => crypto.randomBytes(32).toString('base64url');
const clients = {
  bench: { client_id: 'bench', client_secret: secret() },
  opaque: { client_id: 'bench-opaque', client_secret: secret() },
};
const clientMeta = (c) => ({
  ...c,
  grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: ['https://127.0.0.1/cb'],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'openid offline_access api.read',
});

// The storage interface MemoryAdapter expects (get, set with maxAge,
// delete), without a size bound: entries leave only when they expire or
// are deleted. Expired entries are dropped when read, as in the package's
// LRU; tokens here live 5 min to 1 day, longer than any bench run.
class Store {
  #m = new Map();

  get(key) {
    const e = this.#m.get(key);
    if (e === undefined) return undefined;
    if (e.expiry !== undefined && e.expiry <= Date.now()) {
      this.#m.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key, value, { maxAge } = {}) {
    const expiry = typeof maxAge === 'number' && Number.isFinite(maxAge) ? Date.now() + maxAge : undefined;
    this.#m.set(key, { value, expiry });
    return this;
  }

  delete(key) {
    return this.#m.delete(key);
  }
}
const store = new Store();

const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, store, 15), // 15 s: its default clockTolerance
  clients: Object.values(clients).map(clientMeta),
  jwks: { keys: [ec, rsa] },
  cookies: { keys: [secret()] },
  scopes: ['openid', 'offline_access', 'api.read'],
  // Any account the dev login names exists; claims: sub only.
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    // A client may introspect its own tokens.
    introspection: {
      enabled: true,
      allowedPolicy: (ctx, client, token) => token.clientId === client.clientId,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator, client) => {
        if (indicator !== RESOURCE) throw new Error('unknown resource');
        return {
          scope: 'api.read',
          audience: issuer,
          accessTokenTTL: 300,
          accessTokenFormat: client.clientId === clients.opaque.client_id ? 'opaque' : 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 300,
    ClientCredentials: 300,
    IdToken: 300,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 86400,
    RefreshToken: 86400,
  },
});
// Keep its console quiet: the bench prints a table.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(port, '127.0.0.1', () => {
  writeFileSync(`${readyFile}.tmp`, `${JSON.stringify({ ok: true, pid: process.pid, issuer, clients })}\n`, { mode: 0o600 });
  renameSync(`${readyFile}.tmp`, readyFile);
});
// wrk keeps connections open: as many as it likes, no idle cut under load.
server.keepAliveTimeout = 30_000;
server.headersTimeout = 31_000;
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
