// Workload federation (issue 14 item 5; SECURITY.md TX-05, JW-01..06,
// DS-05), with a real external issuer: a node https server on loopback
// (its certificate from a throwaway CA made here with openssl) serves the
// issuer's JWKS and counts its hits; tokens are signed with npm jose. The
// server trusts it through `portcullis federation add --jwks-uri` with
// outbound_allow_networks 127.0.0.0/8, the server's port and the CA file.
// A workload exchanges its platform token at /token (RFC 8693) for a
// service account's access token; every attack ends in 400 with no token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID, createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import * as jose from 'jose';
import { startServer, stopClean, tempDir } from './lib/server.mjs';
import { auditRows, cliAt } from './lib/web.mjs';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const RESOURCE = 'https://api.example.com';
const ISSUER = 'https://ci.example.test';
const FILE_ISSUER = 'https://k8s.example.test';

let srv, jwksServer, jwksPort, hits = 0, published, keys, evil, svc, trust, fileTrust, caFile, res;

function openssl(args, cwd) {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

// A CA and a certificate for 127.0.0.1 signed by it (EC keys: fast).
function makeCerts() {
  const d = tempDir('pc-fed-ca-');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=pc-test-ca'], d);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1'], d);
  writeFileSync(join(d, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'srv.pem', '-days', '1', '-extfile', 'ext.cnf'], d);
  return { dir: d, ca: join(d, 'ca.pem'), key: readFileSync(join(d, 'srv.key')), cert: readFileSync(join(d, 'srv.pem')) };
}

async function keyPair(alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, publicKey, privateKey, jwk };
}

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  const certs = makeCerts();
  caFile = certs.ca;
  keys = { es: await keyPair('ES256', 'k1'), rs: await keyPair('RS256', 'k-rsa') };
  evil = await keyPair('ES256', 'k1');
  published = [keys.es.jwk, keys.rs.jwk];
  jwksServer = https.createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    if (req.url === '/jwks') {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: published }));
    } else if (req.url === '/broken') {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>maintenance</html>');
    } else if (req.url === '/redirect') {
      hits++;
      res.writeHead(302, { location: `https://127.0.0.1:${jwksPort}/jwks` });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksPort = jwksServer.address().port;
  srv = await startServer({
    config: {
      outbound_allow_networks: '127.0.0.0/8',
      outbound_allow_ports: String(jwksPort),
      outbound_ca_file: caFile,
    },
  });
  res = JSON.parse(cli(['resource', 'add', '--id', RESOURCE, '--scope', 'orders:read orders:write', '--json']));
  svc = JSON.parse(cli(['service-account', 'add', '--name', 'deployer', '--scope', 'orders:read orders:write', '--json'])).id;
  trust = JSON.parse(cli(['federation', 'add', '--issuer', ISSUER, '--jwks-uri', `https://127.0.0.1:${jwksPort}/jwks`,
    '--max-lifetime', '10m', '--json'])).id;
  cli(['federation', 'rule', 'add', '--trust', trust, '--sub', 'repo:acme/api:ref:refs/heads/*',
    '--claim', 'repository_owner=acme', '--service-account', svc, '--scope', 'orders:read']);
  const file = join(srv.dataDir, 'k8s.jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [keys.es.jwk] }));
  fileTrust = JSON.parse(cli(['federation', 'add', '--issuer', FILE_ISSUER, '--jwks-file', file,
    '--audience', 'portcullis', '--json'])).id;
  cli(['federation', 'rule', 'add', '--trust', fileTrust, '--sub', 'system:serviceaccount:prod:*', '--service-account', svc]);
});

after(async () => {
  await stopClean(srv);
  await new Promise((r) => jwksServer.close(r));
});

const now = () => Math.floor(Date.now() / 1000);

// A platform token: claims/header overrides; undefined removes a claim.
async function platformToken({ key = keys.es, claims = {}, header = {} } = {}) {
  const t = now();
  const payload = {
    iss: ISSUER, sub: 'repo:acme/api:ref:refs/heads/main', repository_owner: 'acme',
    aud: srv.issuer, iat: t, exp: t + 300, jti: randomUUID(), ...claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

async function exchange(subjectToken, extra = {}, headers = {}) {
  const form = { grant_type: EXCHANGE, subject_token_type: JWT_TYPE, subject_token: subjectToken, resource: RESOURCE, ...extra };
  for (const k of Object.keys(form)) if (form[k] === undefined) delete form[k];
  const res = await fetch(srv.url + '/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function refused(tokenPromise, what, extra = {}) {
  const r = await exchange(await tokenPromise, extra);
  assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error, 'invalid_grant', what);
  assert.equal(r.body.access_token, undefined, what);
  return r;
}

const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

test('TX-05: a trusted workload token exchanges for a 5-minute token of its service account', async () => {
  const r = await exchange(await platformToken());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.expires_in, 300);
  assert.equal(r.body.scope, 'orders:read'); // the rule narrows the account's
  assert.equal(r.body.refresh_token, undefined);
  // A resource server verifies it offline with our JWKS and its own aud.
  const jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  const { payload, protectedHeader } = await jose.jwtVerify(r.body.access_token, jwks,
    { issuer: srv.issuer, audience: RESOURCE, typ: 'at+jwt' });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sub, svc);
  assert.equal(payload.client_id, trust);
  assert.equal(payload.scope, 'orders:read');
  // TX-07: the mint is audited with the trust as actor, the account as target.
  const row = auditRows(srv).reverse().find((e) => e.event === 'token.issue' && e.actor === trust);
  assert.ok(row, 'token.issue audit row');
  assert.equal(row.target, svc);
});

test('TX-05: a replayed subject token (same jti) is refused', async () => {
  const t = await platformToken();
  assert.equal((await exchange(t)).status, 200);
  await refused(Promise.resolve(t), 'replay');
});

test('TX-05: a refused request does not spend the workload token', async () => {
  const t = await platformToken();
  const r = await exchange(t, { scope: 'orders:write' }); // beyond the rule
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_scope');
  assert.equal((await exchange(t)).status, 200);
});

test('JW-05: wrong issuer, missing or foreign aud, a key of another issuer', async () => {
  await refused(platformToken({ claims: { iss: 'https://evil.example.test' } }), 'unknown issuer');
  await refused(platformToken({ claims: { iss: undefined } }), 'no iss');
  await refused(platformToken({ claims: { aud: undefined } }), 'no aud');
  await refused(platformToken({ claims: { aud: 'https://someone-else.example' } }), 'foreign aud');
  await refused(platformToken({ claims: { aud: ['x', 'y'] } }), 'aud array without ours');
  // The file trust's issuer with the https trust's audience: its own
  // audience is "portcullis".
  await refused(platformToken({ claims: { iss: FILE_ISSUER, sub: 'system:serviceaccount:prod:api' } }), 'other trust aud');
  await refused(platformToken({ key: evil }), 'signed by an attacker key with the same kid');
  const ok = await exchange(await platformToken({ claims: { aud: ['x', srv.issuer] } }));
  assert.equal(ok.status, 200, 'an aud array holding ours passes');
});

test('JW-04: expired, not yet valid, issued in the future, too long-lived', async () => {
  const t = now();
  await refused(platformToken({ claims: { iat: t - 400, exp: t - 60 } }), 'expired');
  await refused(platformToken({ claims: { exp: undefined } }), 'no exp');
  await refused(platformToken({ claims: { nbf: t + 300, exp: t + 600 } }), 'not yet valid');
  await refused(platformToken({ claims: { iat: t + 300, exp: t + 600 } }), 'iat ahead');
  await refused(platformToken({ claims: { exp: t + 3600 } }), 'longer than the trust max 10m');
});

test('TX-05: an unmatched sub or claim maps to no service account', async () => {
  await refused(platformToken({ claims: { sub: 'repo:evil/api:ref:refs/heads/main' } }), 'other repository');
  await refused(platformToken({ claims: { sub: 'repo:acme/api:pull_request' } }), 'not a branch');
  await refused(platformToken({ claims: { repository_owner: 'evil' } }), 'claim differs');
  await refused(platformToken({ claims: { jti: undefined } }), 'no jti');
  // The file trust: its pattern, its audience.
  const k8s = await platformToken({ claims: { iss: FILE_ISSUER, sub: 'system:serviceaccount:prod:api', aud: 'portcullis', repository_owner: undefined } });
  const r = await exchange(k8s);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.scope, 'orders:read orders:write');
  await refused(platformToken({ claims: { iss: FILE_ISSUER, sub: 'system:serviceaccount:dev:api', aud: 'portcullis' } }), 'other namespace');
});

test('JW-01, JW-02: alg none and HS256 keyed with the public key are refused', async () => {
  const t = now();
  const payload = b64({ iss: ISSUER, sub: 'repo:acme/api:ref:refs/heads/main', repository_owner: 'acme', aud: srv.issuer, iat: t, exp: t + 300, jti: randomUUID() });
  for (const alg of ['none', 'None', 'NONE']) {
    await refused(Promise.resolve(`${b64({ alg, kid: 'k1' })}.${payload}.`), `alg ${alg}`);
  }
  for (const secret of [JSON.stringify(keys.rs.jwk), JSON.stringify({ keys: published }),
    (await jose.exportSPKI(keys.rs.publicKey))]) {
    const h = b64({ alg: 'HS256', kid: 'k-rsa' });
    const sig = createHmac('sha256', secret).update(`${h}.${payload}`).digest('base64url');
    await refused(Promise.resolve(`${h}.${payload}.${sig}`), 'HS256 with the public key');
  }
  // A key carried in the token (JW-03).
  const jwk = await jose.exportJWK(evil.publicKey);
  await refused(platformToken({ key: evil, header: { jwk } }), 'embedded jwk');
  await refused(platformToken({ header: { jku: `https://127.0.0.1:${jwksPort}/jwks` } }), 'jku');
});

test('JW-06: a token of another kind (typ at+jwt) is refused', async () => {
  await refused(platformToken({ header: { typ: 'at+jwt' } }), 'at+jwt');
  assert.equal((await exchange(await platformToken({ header: { typ: 'JWT' } }))).status, 200);
});

test('JW-03, DS-05: an unknown kid refetches the JWKS at most once per interval', async () => {
  // Warm: the set is cached, nothing is fetched.
  assert.equal((await exchange(await platformToken())).status, 200);
  const before = hits;
  assert.equal((await exchange(await platformToken())).status, 200);
  assert.equal(hits, before, 'a cached set is not fetched again');
  // The issuer rotates: a token under the new kid triggers one refetch.
  const k2 = await keyPair('ES256', 'k2');
  published = [...published, k2.jwk];
  const r = await exchange(await platformToken({ key: k2 }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(hits, before + 1);
  // A flood of made-up kids within the interval costs the issuer nothing.
  for (let i = 0; i < 5; i++) {
    const bogus = await keyPair('ES256', `made-up-${i}`);
    await refused(platformToken({ key: bogus }), `unknown kid ${i}`);
  }
  assert.equal(hits, before + 1, 'no refetch for the made-up kids');
});

test('TX-05: client credentials sent along with a workload token are refused as ambiguous', async () => {
  const t = await platformToken();
  let r = await exchange(t, {}, { authorization: 'Basic ' + Buffer.from('pcc_x:secret').toString('base64') });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
  r = await exchange(t, { client_id: res.client_id, client_secret: res.client_secret });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
  // Refused before the token was looked at: it is still unspent.
  assert.equal((await exchange(t)).status, 200);
});

test('invalid_target: the resource is required and must be registered', async () => {
  let r = await exchange(await platformToken(), { resource: undefined });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_target');
  r = await exchange(await platformToken(), { resource: 'https://unknown.example.com' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_target');
});

test('DS-05: a jwks_uri on a private address is never fetched without the allow-list', async () => {
  // A second server that allows the port but no private network: the
  // trust can be configured, but the loopback JWKS is refused at fetch
  // time, before any connection (the JWKS server sees no hit): 503.
  const other = await startServer({ config: { outbound_allow_ports: String(jwksPort), outbound_ca_file: caFile } });
  try {
    const c = (args) => { const x = cliAt(other, args); assert.equal(x.code, 0, x.stderr); return x.stdout; };
    c(['resource', 'add', '--id', RESOURCE, '--scope', 'orders:read']);
    const s = JSON.parse(c(['service-account', 'add', '--name', 'd2', '--scope', 'orders:read', '--json'])).id;
    const w = JSON.parse(c(['federation', 'add', '--issuer', ISSUER, '--jwks-uri', `https://127.0.0.1:${jwksPort}/jwks`, '--json'])).id;
    c(['federation', 'rule', 'add', '--trust', w, '--sub', 'repo:acme/*', '--service-account', s]);
    // The default port policy (443 only) refuses another port at add time.
    const d = cliAt(other, ['federation', 'add', '--issuer', 'https://x.example.test', '--jwks-uri', 'https://127.0.0.1:8443/jwks']);
    assert.equal(d.code, 1);
    const before = hits;
    const t = now();
    const tok = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify({
      iss: ISSUER, sub: 'repo:acme/api', aud: other.issuer, iat: t, exp: t + 300, jti: randomUUID(),
    }))).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(keys.es.privateKey);
    const res = await fetch(other.url + '/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: EXCHANGE, subject_token_type: JWT_TYPE, subject_token: tok, resource: RESOURCE }).toString(),
    });
    assert.equal(res.status, 503);
    assert.equal((await res.json()).access_token, undefined);
    assert.equal(hits, before, 'the private address was not contacted');
    // Log lines are written by the logger's thread: wait for it.
    for (let i = 0; i < 100 && !/fetch.refused.*DS-05/.test(other.rawLogs()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(other.rawLogs(), /fetch.refused.*DS-05/);
  } finally {
    await stopClean(other);
  }
});

test('DS-05: a JWKS that cannot be read, or a redirect, fails closed with 503', async () => {
  for (const [path, iss] of [['broken', 'https://broken.example.test'], ['redirect', 'https://moved.example.test']]) {
    const w = JSON.parse(cli(['federation', 'add', '--issuer', iss, '--jwks-uri', `https://127.0.0.1:${jwksPort}/${path}`, '--json'])).id;
    cli(['federation', 'rule', 'add', '--trust', w, '--sub', 'repo:acme/*', '--service-account', svc]);
    const before = hits;
    const r = await exchange(await platformToken({ claims: { iss } }));
    assert.equal(r.status, 503, `${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.access_token, undefined);
    assert.equal(hits, before + 1, `${path}: one request, the redirect not followed`);
  }
});

const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

// The resource server's view: it introspects with its own credentials.
async function introspect(token) {
  const r = await fetch(srv.url + '/introspect', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(res.client_id, res.client_secret) },
    body: new URLSearchParams({ token }).toString(),
  });
  assert.equal(r.status, 200);
  return r.json();
}

const k8sToken = () => platformToken({ claims: { iss: FILE_ISSUER, sub: 'system:serviceaccount:prod:x', aud: 'portcullis', repository_owner: undefined } });

test('TX-05: deleting the trust kills the tokens minted through it', async () => {
  const r = await exchange(await k8sToken());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const live = await introspect(r.body.access_token);
  assert.equal(live.active, true);
  assert.equal(live.sub, svc);
  assert.equal(live.client_id, fileTrust);
  cli(['federation', 'delete', '--id', fileTrust]);
  assert.equal((await introspect(r.body.access_token)).active, false, 'dead at the next request');
  const again = await exchange(await k8sToken());
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
});

test('TX-05: a disabled service account gets no token through federation', async () => {
  const r = await exchange(await platformToken());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  cli(['service-account', 'disable', '--id', svc]);
  try {
    assert.equal((await introspect(r.body.access_token)).active, false);
    await refused(platformToken(), 'disabled account');
  } finally {
    cli(['service-account', 'enable', '--id', svc]);
  }
});
