// The Orders API: a resource server that accepts Portcullis access tokens
// and verifies them itself with npm jose, against the issuer's published
// keys (no call to Portcullis per request). See README.md next to it.
//
//   PORTCULLIS_ISSUER=https://id.example.com RESOURCE=https://orders.example.com \
//     PORT=8081 node server.mjs
//
// Environment:
//   PORTCULLIS_ISSUER  the issuer (discovery gives the JWKS address)
//   RESOURCE           this API's resource URI as registered with
//                      `portcullis resource add --id`: every token for this
//                      API carries exactly it as `aud`
//   PORT, HOST         where to listen (default 8081 on 127.0.0.1; 0: any
//                      free port, printed)
//   PUBLIC_URL         this API's origin as clients call it (behind a proxy:
//                      the proxy's), for DPoP proofs' `htu`; default
//                      http://HOST:PORT
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import * as jose from 'jose';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`set ${name}`);
  return v;
};
const ISSUER = env('PORTCULLIS_ISSUER');
const RESOURCE = env('RESOURCE');
const HOST = env('HOST', '127.0.0.1');
const PORT = Number(env('PORT', '8081'));

// Portcullis signs access tokens with its ES256 key (the "alg" of that key
// in its JWKS). Name the algorithms you accept: one taken from the token's
// own header (none, HS256 with the public key as secret) is never tried.
const ALGORITHMS = ['ES256'];
// Algorithms a client may sign its DPoP proofs with (RFC 9449).
const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'PS256', 'RS256'];
const DPOP_MAX_AGE = 60; // seconds a proof is good for after its iat
const CLOCK_SKEW = 5; // seconds of clock difference tolerated

// The issuer's keys, from its discovery document. createRemoteJWKSet caches
// them and fetches again when a token names a key it has not seen (a
// rotation publishes the new key before it signs anything).
const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
if (discovery.issuer !== ISSUER) throw new Error(`discovery names issuer ${discovery.issuer}, not ${ISSUER}`);
const JWKS = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));

// What each route needs: the scope a token must carry.
const ORDERS = [{ id: 'ord_1', item: 'portcullis', qty: 1 }];
const routes = {
  'GET /orders': {
    scope: 'orders:read',
    handle: (req, token) => ({ status: 200, body: { orders: ORDERS, caller: token.sub } }),
  },
  'POST /orders': {
    scope: 'orders:write',
    handle: (req, token) => ({ status: 201, body: { created: true, caller: token.sub } }),
  },
};

// A refusal: the HTTP status and the WWW-Authenticate challenge (RFC 6750
// §3, RFC 9449 §7.1). error is never a token or a claim value.
class Refused extends Error {
  constructor(status, error, scheme = 'Bearer', extra = '') {
    super(error ?? 'no token');
    this.status = status;
    this.error = error;
    this.scheme = scheme;
    this.extra = extra;
  }
}

const b64uSha256 = (s) => createHash('sha256').update(s).digest('base64url');

// DPoP proof jtis seen in the last DPOP_MAX_AGE + CLOCK_SKEW seconds: a
// proof is good once (one process; several replicas need a shared store).
const seenProofs = new Map();
function firstUse(jti) {
  const now = Date.now();
  for (const [k, until] of seenProofs) if (until < now) seenProofs.delete(k);
  if (seenProofs.has(jti)) return false;
  seenProofs.set(jti, now + (DPOP_MAX_AGE + 2 * CLOCK_SKEW) * 1000);
  return true;
}

// Checks the DPoP proof sent with a token bound to the key whose RFC 7638
// thumbprint is jkt (RFC 9449 §4.3, §7.1).
async function checkProof(req, publicUrl, token, jkt) {
  const proof = req.headers.dpop;
  // Exactly one DPoP header (Node joins repeated ones with a comma).
  if (typeof proof !== 'string' || proof.includes(',')) throw new Refused(401, 'invalid_dpop_proof', 'DPoP');
  let p;
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, {
      typ: 'dpop+jwt', algorithms: DPOP_ALGORITHMS, maxTokenAge: DPOP_MAX_AGE, clockTolerance: CLOCK_SKEW,
      requiredClaims: ['jti', 'htm', 'htu', 'iat', 'ath'],
    });
    if (await jose.calculateJwkThumbprint(protectedHeader.jwk) !== jkt) throw new Error('another key');
    p = payload;
  } catch {
    throw new Refused(401, 'invalid_dpop_proof', 'DPoP');
  }
  // Made for this request: method, URL without query or fragment, token.
  const htu = URL.canParse(p.htu) ? new URL(p.htu) : null;
  const here = new URL(req.url, publicUrl);
  if (p.htm !== req.method || !htu || htu.origin + htu.pathname !== here.origin + here.pathname ||
      p.ath !== b64uSha256(token) || !firstUse(String(p.jti))) {
    throw new Refused(401, 'invalid_dpop_proof', 'DPoP');
  }
}

// The token's claims if it is a valid access token for this API, else
// a Refused. Tokens come in the Authorization header only: never in the
// query string, where logs and Referer headers would keep them.
async function authenticate(req, publicUrl) {
  const m = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(req.headers.authorization ?? '');
  if (!m) throw new Refused(401, req.headers.authorization ? 'invalid_request' : undefined);
  const scheme = m[1].toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
  const token = m[2];
  let claims;
  try {
    ({ payload: claims } = await jose.jwtVerify(token, JWKS, {
      issuer: ISSUER,
      audience: RESOURCE,
      typ: 'at+jwt', // RFC 9068: an ID token is not an access token
      algorithms: ALGORITHMS,
      clockTolerance: CLOCK_SKEW,
      requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
    }));
  } catch {
    throw new Refused(401, 'invalid_token', scheme);
  }
  // This API alone: a token also meant for another API could be replayed
  // by that API here.
  if (claims.aud !== RESOURCE) throw new Refused(401, 'invalid_token', scheme);
  // A token bound to a key (cnf.jkt) is good only with a proof by that
  // key: sent as Bearer it is refused, and an unbound one as DPoP too.
  const jkt = claims.cnf?.jkt;
  if ((scheme === 'DPoP') !== (typeof jkt === 'string')) throw new Refused(401, 'invalid_token', scheme);
  if (scheme === 'DPoP') await checkProof(req, publicUrl, token, jkt);
  return { claims, scheme };
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

// One JSON line per request: who (sub, client_id, jti), never the token.
function log(fields) {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');
}

const server = createServer(async (req, res) => {
  const publicUrl = process.env.PUBLIC_URL ?? `http://${HOST}:${server.address().port}`;
  const path = new URL(req.url, publicUrl).pathname;
  const route = routes[`${req.method} ${path}`];
  const entry = { method: req.method, path };
  if (!route) {
    send(res, 404, { error: 'not_found' });
    log({ ...entry, status: 404 });
    return;
  }
  try {
    const { claims, scheme } = await authenticate(req, publicUrl);
    Object.assign(entry, { sub: claims.sub, client_id: claims.client_id, jti: claims.jti, scheme });
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(route.scope)) {
      throw new Refused(403, 'insufficient_scope', scheme, `, scope="${route.scope}"`);
    }
    const out = route.handle(req, claims);
    send(res, out.status, out.body);
    log({ ...entry, status: out.status });
  } catch (e) {
    if (!(e instanceof Refused)) {
      send(res, 500, { error: 'server_error' });
      log({ ...entry, status: 500, failure: String(e?.message ?? e) });
      return;
    }
    let challenge = e.scheme === 'DPoP' ? `DPoP algs="${DPOP_ALGORITHMS.join(' ')}"` : 'Bearer';
    if (e.error) challenge += `, error="${e.error}"${e.extra}`;
    send(res, e.status, { error: e.error ?? 'unauthorized' }, { 'www-authenticate': challenge });
    log({ ...entry, status: e.status, error: e.error ?? 'no_token' });
  }
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  process.stdout.write(`orders API for ${RESOURCE} listening on http://${HOST}:${port}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
