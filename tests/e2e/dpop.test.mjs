// DPoP, RFC 9449 (issue 15 item 4; SECURITY.md RT-06, TX-06, IR-03,
// DS-04), attacked at every endpoint that takes it: the proof variants at
// /token (two headers, not a JWT, typ, alg none/HS256, a bad signature, a
// private key in jwk, htm/htu, iat, a replayed jti, sent one after the
// other and concurrently, the server nonce), DPoP-bound access tokens
// (cnf.jkt, token_type DPoP) and a public client's bound refresh tokens
// (another key or no proof: refused, nothing consumed), /userinfo with the
// DPoP scheme and ath (a bound token as Bearer, or with another key's
// proof: refused), /introspect telling cnf.jkt, /revoke, the per-client
// dpop_required setting, and oauth4webapi as a real client (token,
// refresh, userinfo, nonce). Runs on SQLite, and on PostgreSQL with
// PORTCULLIS_TEST_PG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { startServer, stopClean, rawRequest, parseRaw, storeSql } from './lib/server.mjs';
import { addUser, cliAt } from './lib/web.mjs';
import { addClient, authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

let srv, JWKS, pub, conf, svc, rs, key, key2;

const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const basic = (c) => 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');

async function keyPair(alg = 'ES256') {
  const kp = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(kp.publicKey);
  return { ...kp, alg, jwk, jkt: await jose.calculateJwkThumbprint(jwk) };
}

// A DPoP proof by k for (htm, htu); o overrides claims and header.
async function proof(k, htu, o = {}) {
  const claims = { jti: b64u(randomBytes(16)), htm: o.htm ?? 'POST', htu, iat: o.iat ?? now() };
  if (o.ath) claims.ath = b64u(createHash('sha256').update(o.ath).digest());
  if (o.nonce) claims.nonce = o.nonce;
  Object.assign(claims, o.claims ?? {});
  const header = { typ: o.typ ?? 'dpop+jwt', alg: k.alg, jwk: o.jwk ?? k.jwk, ...(o.header ?? {}) };
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(o.signWith ?? k.privateKey);
}

// A compact JWS from header and claims with a signature of our own making.
function handMade(header, claims, sig = (input) => '') {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${sig(input)}`;
}

const tokenUrl = () => srv.issuer + '/token';
const userinfoUrl = () => srv.issuer + '/userinfo';

async function post(path, form, headers = {}) {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

// client_credentials for the confidential client svc, with a DPoP header.
const cc = (dpop, client = svc, extra = {}) =>
  post('/token', { grant_type: 'client_credentials', scope: 'api.read', ...extra },
    { authorization: basic(client), ...(dpop !== undefined ? { dpop } : {}) });

async function userinfo(at, { scheme = 'DPoP', dpop } = {}) {
  const headers = { authorization: `${scheme} ${at}` };
  if (dpop !== undefined) headers.dpop = dpop;
  const res = await fetch(srv.url + '/userinfo', { headers });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

const verifyAt = async (at, aud = srv.issuer) =>
  (await jose.jwtVerify(at, JWKS, { issuer: srv.issuer, audience: aud, typ: 'at+jwt' })).payload;

before(async () => {
  srv = await startServer({ config: { login_delay_free: 50 } });
  addUser(srv, 'alice@example.com');
  pub = addClient(srv, { name: 'Public', public: true, redirectUris: ['https://pub.example/cb'] });
  conf = addClient(srv, { name: 'Conf', redirectUris: ['https://conf.example/cb'] });
  svc = addClient(srv, { name: 'Svc', grants: 'client_credentials', scope: 'api.read', redirectUris: [] });
  rs = addClient(srv, { name: 'RS', grants: 'client_credentials', scope: 'api.read', redirectUris: [] });
  JWKS = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  key = await keyPair('ES256');
  key2 = await keyPair('ES256');
});
after(async () => { await stopClean(srv); });

test('discovery advertises dpop_signing_alg_values_supported: asymmetric algorithms only', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.deepEqual(d.dpop_signing_alg_values_supported, ['ES256', 'RS256', 'PS256', 'EdDSA']);
});

test('RT-06/TX-06: client_credentials with a proof: token_type DPoP and cnf.jkt is the proof key\'s thumbprint, for every algorithm', async () => {
  for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA']) {
    const k = await keyPair(alg);
    const r = await cc(await proof(k, tokenUrl()));
    assert.equal(r.status, 200, `${alg}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.token_type, 'DPoP');
    const at = await verifyAt(r.json.access_token);
    assert.deepEqual(at.cnf, { jkt: k.jkt });
  }
  // Without a proof, as before: a Bearer token without cnf.
  const plain = await cc();
  assert.equal(plain.status, 200);
  assert.equal(plain.json.token_type, 'Bearer');
  assert.equal((await verifyAt(plain.json.access_token)).cnf, undefined);
});

test('RT-06: a bad proof at /token is 400 invalid_dpop_proof and no token, whatever is wrong with it', async () => {
  const htu = tokenUrl();
  const t = now();
  const evil = await keyPair('ES256');
  const hs = (input) => createHmac('sha256', 'secret').update(input).digest('base64url');
  const base = { jti: 'j' + Math.random(), htm: 'POST', htu, iat: t };
  const privJwk = await jose.exportJWK(key.privateKey);
  const cases = {
    'not a JWT': 'not-a-jwt',
    'typ JWT': await proof(key, htu, { typ: 'JWT' }),
    'typ at+jwt': await proof(key, htu, { typ: 'at+jwt' }),
    'alg none': handMade({ typ: 'dpop+jwt', alg: 'none', jwk: key.jwk }, base),
    'alg HS256': handMade({ typ: 'dpop+jwt', alg: 'HS256', jwk: key.jwk }, base, hs),
    'bad signature': (await proof(key, htu)).slice(0, -4) + 'AAAA',
    'signed by another key': await proof(key, htu, { signWith: evil.privateKey }),
    'private key in jwk': await proof(key, htu, { jwk: privJwk }),
    'jku instead of jwk': await proof(key, htu, { header: { jku: 'https://evil.example/jwks' } }),
    'htm GET': await proof(key, htu, { htm: 'GET' }),
    'htu another endpoint': await proof(key, srv.issuer + '/userinfo'),
    'htu another host': await proof(key, 'https://evil.example/token'),
    'iat an hour ago': await proof(key, htu, { iat: t - 3600 }),
    'iat an hour ahead': await proof(key, htu, { iat: t + 3600 }),
    'iat two minutes ago': await proof(key, htu, { iat: t - 120 }),
    'iat a minute ahead': await proof(key, htu, { iat: t + 60 }),
    'no jti': await proof(key, htu, { claims: { jti: undefined } }),
    'jti over 256 bytes': await proof(key, htu, { claims: { jti: 'x'.repeat(300) } }),
  };
  for (const [what, p] of Object.entries(cases)) {
    const r = await cc(p);
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error, 'invalid_dpop_proof', what);
    assert.equal(r.json.access_token, undefined, what);
  }
  // Within the window (Part 2.5: 60 s back, 15 s ahead) it passes.
  for (const iat of [t - 30, t + 5]) {
    const r = await cc(await proof(key, htu, { iat }));
    assert.equal(r.status, 200, `iat ${iat - t}: ${JSON.stringify(r.json)}`);
  }
  // A query string on htu is ignored (RFC 9449 §4.3 item 9).
  const q = await cc(await proof(key, htu + '?x=1'));
  assert.equal(q.status, 200, JSON.stringify(q.json));
});

test('RT-06: two DPoP headers are refused (400 invalid_dpop_proof)', async () => {
  const a = await proof(key, tokenUrl());
  const b = await proof(key, tokenUrl());
  const body = 'grant_type=client_credentials&scope=api.read';
  const r = parseRaw((await rawRequest(srv.port,
    `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: ${basic(svc)}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nDPoP: ${a}\r\nDPoP: ${b}\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)).data);
  assert.equal(r.status, 400, r.body);
  assert.equal(JSON.parse(r.body).error, 'invalid_dpop_proof');
});

test('RT-06/DS-04: a replayed proof is refused; of ten requests racing with one proof exactly one wins', async () => {
  const p = await proof(key, tokenUrl());
  assert.equal((await cc(p)).status, 200);
  const again = await cc(p);
  assert.equal(again.status, 400);
  assert.equal(again.json.error, 'invalid_dpop_proof');
  assert.match(again.json.error_description, /used before/);
  const q = await proof(key, tokenUrl());
  const all = await Promise.all(Array.from({ length: 10 }, () => cc(q)));
  const ok = all.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, all.map((r) => `${r.status} ${r.json?.error}`).join(', '));
  for (const r of all.filter((x) => x.status !== 200)) assert.equal(r.json.error, 'invalid_dpop_proof');
  // The same jti by another key is another proof (the cache is per key).
  const jti = 'shared-' + Math.random();
  assert.equal((await cc(await proof(key, tokenUrl(), { claims: { jti } }))).status, 200);
  assert.equal((await cc(await proof(key2, tokenUrl(), { claims: { jti } }))).status, 200);
  // Only hashes are kept (DS-04), each for the proof's window.
  const rows = storeSql(srv, 'SELECT jti_hash, expires_at FROM dpop_jtis').split('\n');
  assert.ok(rows.length >= 4);
  for (const row of rows) {
    const [h, exp] = row.split('|');
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.ok(Number(exp) <= now() + 75 + 2, 'kept at most 75 s');
  }
  assert.equal(storeSql(srv, `SELECT count(*) FROM dpop_jtis WHERE jti_hash LIKE '%${jti}%'`), '0');
  // AU-01: the replay is an attack signal in the audit log.
  assert.ok(Number(storeSql(srv, "SELECT count(*) FROM audit_log WHERE event = 'dpop.replay'")) >= 1);
  // AU-03: proofs are never logged.
  assert.ok(!srv.rawLogs().includes(p.split('.')[2]), 'a proof in the log');
});

test('RT-06: a public client\'s code exchange with a proof binds the grant: refresh needs a proof of the same key; another key or none is refused and consumes nothing', async () => {
  const a = await authorize(srv, pub, { email: 'alice@example.com', scope: 'openid email offline_access' });
  assert.ok(a.code, JSON.stringify(a));
  const t = await post('/token', { grant_type: 'authorization_code', code: a.code, redirect_uri: pub.redirectUri,
    code_verifier: a.verifier, client_id: pub.client_id }, { dpop: await proof(key, tokenUrl()) });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  assert.equal(t.json.token_type, 'DPoP');
  assert.deepEqual((await verifyAt(t.json.access_token)).cnf, { jkt: key.jkt });
  assert.ok(t.json.refresh_token);
  const refresh = (dpop) => post('/token', { grant_type: 'refresh_token', refresh_token: t.json.refresh_token,
    client_id: pub.client_id }, dpop ? { dpop } : {});
  const none = await refresh();
  assert.equal(none.status, 400, JSON.stringify(none.json));
  assert.equal(none.json.error, 'invalid_dpop_proof');
  const other = await refresh(await proof(key2, tokenUrl()));
  assert.equal(other.status, 400, JSON.stringify(other.json));
  assert.equal(other.json.error, 'invalid_grant');
  // Nothing was consumed: the holder of the key still refreshes.
  const good = await refresh(await proof(key, tokenUrl()));
  assert.equal(good.status, 200, JSON.stringify(good.json));
  assert.equal(good.json.token_type, 'DPoP');
  assert.deepEqual((await verifyAt(good.json.access_token)).cnf, { jkt: key.jkt });
  // Its successor is bound too.
  const next = await post('/token', { grant_type: 'refresh_token', refresh_token: good.json.refresh_token,
    client_id: pub.client_id }, { dpop: await proof(key2, tokenUrl()) });
  assert.equal(next.json.error, 'invalid_grant');
});

// A public client's bound grant, by the code flow with a proof of k.
async function boundGrant(k, scope = 'openid offline_access') {
  const a = await authorize(srv, pub, { email: 'alice@example.com', scope });
  const t = await post('/token', { grant_type: 'authorization_code', code: a.code, redirect_uri: pub.redirectUri,
    code_verifier: a.verifier, client_id: pub.client_id }, { dpop: await proof(k, tokenUrl()) });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  return t.json;
}
const refreshWith = (rt, dpop) => post('/token', { grant_type: 'refresh_token', refresh_token: rt,
  client_id: pub.client_id }, dpop ? { dpop } : {});

test('RT-06/DS-04: at refresh a proof is spent once, also when recorded in the rotation\'s commit: replayed, raced, or first used by a refused request', async () => {
  const g1 = await boundGrant(key);
  const g2 = await boundGrant(key);
  const p = await proof(key, tokenUrl());
  const first = await refreshWith(g1.refresh_token, p);
  assert.equal(first.status, 200, JSON.stringify(first.json));
  // The same proof for another grant of the same key: a replay, and g2's
  // token is not consumed by it.
  const again = await refreshWith(g2.refresh_token, p);
  assert.equal(again.status, 400);
  assert.equal(again.json.error, 'invalid_dpop_proof');
  assert.match(again.json.error_description, /used before/);
  // Two grants refreshed at once with one proof: exactly one wins.
  const q = await proof(key, tokenUrl());
  const both = await Promise.all([refreshWith(first.json.refresh_token, q), refreshWith(g2.refresh_token, q)]);
  assert.equal(both.filter((r) => r.status === 200).length, 1, both.map((r) => JSON.stringify(r.json)).join(' '));
  // A proof first sent with a refused refresh (an unknown token) is spent
  // all the same.
  const z = await proof(key, tokenUrl());
  const bad = await refreshWith('pcr_' + 'A'.repeat(43), z);
  assert.equal(bad.json.error, 'invalid_grant');
  const live = both.find((r) => r.status === 200).json.refresh_token;
  const late = await refreshWith(live, z);
  assert.equal(late.json.error, 'invalid_dpop_proof');
  assert.equal((await refreshWith(live, await proof(key, tokenUrl()))).status, 200, 'not consumed by the refusals');
});

test('RT-06: a confidential client\'s refresh token is not key-bound (RFC 9449 §5): each access token is bound to the key of its own request', async () => {
  const a = await authorize(srv, conf, { email: 'alice@example.com', scope: 'openid offline_access' });
  const t = await tokenRequest(srv, conf, { grant_type: 'authorization_code', code: a.code,
    redirect_uri: conf.redirectUri, code_verifier: a.verifier });
  assert.equal(t.json.token_type, 'Bearer');
  const r = await post('/token', { grant_type: 'refresh_token', refresh_token: t.json.refresh_token },
    { authorization: basic(conf), dpop: await proof(key2, tokenUrl()) });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.token_type, 'DPoP');
  assert.deepEqual((await verifyAt(r.json.access_token)).cnf, { jkt: key2.jkt });
});

test('TX-06: /userinfo takes a bound token only with the DPoP scheme and a proof of its key with ath; as Bearer or with another key it is refused', async () => {
  const t = (await codeFlow(srv, pub, { email: 'alice@example.com', scope: 'openid email' })).tokens;
  assert.equal(t.token_type, 'Bearer', 'no proof at /token: an unbound token');
  const a = await authorize(srv, pub, { email: 'alice@example.com', scope: 'openid email' });
  const bt = await post('/token', { grant_type: 'authorization_code', code: a.code, redirect_uri: pub.redirectUri,
    code_verifier: a.verifier, client_id: pub.client_id }, { dpop: await proof(key, tokenUrl()) });
  const at = bt.json.access_token;
  const ui = (o) => proof(key, userinfoUrl(), { htm: 'GET', ath: at, ...o });
  // The right way.
  let r = await userinfo(at, { dpop: await ui() });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.email, 'alice@example.com');
  // As Bearer, with or without a proof.
  for (const dpop of [undefined, await ui()]) {
    r = await userinfo(at, { scheme: 'Bearer', dpop });
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.equal(r.json.error, 'invalid_token');
    assert.match(r.headers.get('www-authenticate'), /^DPoP /);
  }
  // As a form field (a Bearer method too).
  const form = await post('/userinfo', { access_token: at }, { dpop: await ui({ htm: 'POST' }) });
  assert.equal(form.status, 401);
  // The DPoP scheme without a proof; with another key's proof; without
  // ath; with another token's ath; replayed; for another URL or method.
  r = await userinfo(at);
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /^DPoP .*error="invalid_dpop_proof"/);
  r = await userinfo(at, { dpop: await proof(key2, userinfoUrl(), { htm: 'GET', ath: at }) });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_token');
  r = await userinfo(at, { dpop: await proof(key, userinfoUrl(), { htm: 'GET' }) });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_dpop_proof');
  r = await userinfo(at, { dpop: await ui({ ath: t.access_token }) });
  assert.equal(r.json.error, 'invalid_dpop_proof');
  const once = await ui();
  assert.equal((await userinfo(at, { dpop: once })).status, 200);
  r = await userinfo(at, { dpop: once });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_dpop_proof');
  r = await userinfo(at, { dpop: await ui({ htm: 'POST' }) });
  assert.equal(r.json.error, 'invalid_dpop_proof');
  r = await userinfo(at, { dpop: await proof(key, tokenUrl(), { htm: 'GET', ath: at }) });
  assert.equal(r.json.error, 'invalid_dpop_proof');
  // An unbound token is not a DPoP token: refused with that scheme, served
  // as Bearer as before.
  r = await userinfo(t.access_token, { dpop: await proof(key, userinfoUrl(), { htm: 'GET', ath: t.access_token }) });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_token');
  r = await userinfo(t.access_token, { scheme: 'Bearer' });
  assert.equal(r.status, 200);
  // No credentials at all: both schemes are offered.
  const bare = await fetch(srv.url + '/userinfo');
  assert.equal(bare.status, 401);
  const chal = bare.headers.get('www-authenticate');
  assert.match(chal, /Bearer realm=/);
  assert.match(chal, /DPoP algs="ES256 RS256 PS256 EdDSA"/);
});

test('IR-03: /introspect tells cnf.jkt and token_type DPoP for a bound token, never cached; /revoke takes a bound token', async () => {
  const a = await authorize(srv, conf, { email: 'alice@example.com', scope: 'openid offline_access' });
  const t = await post('/token', { grant_type: 'authorization_code', code: a.code, redirect_uri: conf.redirectUri,
    code_verifier: a.verifier }, { authorization: basic(conf), dpop: await proof(key, tokenUrl()) });
  assert.equal(t.json.token_type, 'DPoP');
  const i = await post('/introspect', { token: t.json.access_token }, { authorization: basic(conf) });
  assert.equal(i.status, 200);
  assert.equal(i.json.active, true);
  assert.deepEqual(i.json.cnf, { jkt: key.jkt });
  assert.equal(i.json.token_type, 'DPoP');
  assert.match(i.headers.get('cache-control'), /no-store/);
  const plain = await cc();
  const j = await post('/introspect', { token: plain.json.access_token }, { authorization: basic(svc) });
  assert.equal(j.json.active, true);
  assert.equal(j.json.cnf, undefined);
  assert.equal(j.json.token_type, 'Bearer');
  // Revocation needs no proof (RFC 7009): the bound token then dies.
  const rv = await post('/revoke', { token: t.json.access_token }, { authorization: basic(conf) });
  assert.equal(rv.status, 200);
  const k = await post('/introspect', { token: t.json.access_token }, { authorization: basic(conf) });
  assert.deepEqual(k.json, { active: false });
});

test('IR-03/RT-06: a resource server introspecting a DPoP-bound token minted for it learns its key; a resource with dpop_required gets no Bearer token', async () => {
  const uri = 'https://api.dpop.example';
  let r = cliAt(srv, ['resource', 'add', '--id', uri, '--scope', 'api.read', '--client', rs.client_id]);
  assert.equal(r.code, 0, r.stderr);
  const t = await cc(await proof(key2, tokenUrl()), svc, { resource: uri });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  assert.equal(t.json.token_type, 'DPoP');
  assert.deepEqual((await verifyAt(t.json.access_token, uri)).cnf, { jkt: key2.jkt });
  const i = await post('/introspect', { token: t.json.access_token }, { authorization: basic(rs) });
  assert.equal(i.json.active, true);
  assert.deepEqual(i.json.cnf, { jkt: key2.jkt });
  assert.equal(i.json.aud, uri);
  // A resource that takes DPoP-bound tokens only (RFC 9728
  // dpop_bound_access_tokens_required) gets no Bearer token.
  storeSql(srv, `UPDATE resources SET dpop_required = 1 WHERE id = '${uri}'`);
  const bearer = await cc(undefined, svc, { resource: uri });
  assert.equal(bearer.status, 400, JSON.stringify(bearer.json));
  assert.equal(bearer.json.error, 'invalid_dpop_proof');
  const bound = await cc(await proof(key2, tokenUrl()), svc, { resource: uri });
  assert.equal(bound.status, 200, JSON.stringify(bound.json));
  assert.equal(bound.json.token_type, 'DPoP');
});

test('RT-06: client add|update --dpop-required: such a client gets no token without a proof', async () => {
  const r = cliAt(srv, ['client', 'add', '--json', '--name', 'Strict', '--grant', 'client_credentials',
    '--scope', 'api.read', '--dpop-required']);
  assert.equal(r.code, 0, r.stderr);
  const strict = { ...JSON.parse(r.stdout), authMethod: 'client_secret_basic' };
  assert.equal(strict.dpop_required, true);
  const no = await cc(undefined, strict);
  assert.equal(no.status, 400, JSON.stringify(no.json));
  assert.equal(no.json.error, 'invalid_dpop_proof');
  const yes = await cc(await proof(key, tokenUrl()), strict);
  assert.equal(yes.status, 200, JSON.stringify(yes.json));
  assert.equal(yes.json.token_type, 'DPoP');
  let u = cliAt(srv, ['client', 'update', '--id', strict.client_id, '--no-dpop-required', '--json']);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(JSON.parse(u.stdout).dpop_required, false);
  assert.equal((await cc(undefined, strict)).status, 200);
  u = cliAt(srv, ['client', 'update', '--id', strict.client_id, '--dpop-required']);
  assert.equal(u.code, 0, u.stderr);
  const s = cliAt(srv, ['client', 'show', '--id', strict.client_id, '--json']);
  assert.equal(JSON.parse(s.stdout).dpop_required, true);
  assert.equal((await cc(undefined, strict)).json.error, 'invalid_dpop_proof');
});

test('TX-06: oauth4webapi: discovery, the code flow, refresh and userinfo with DPoP; another key pair cannot use its refresh token', async () => {
  const issuer = new URL(srv.issuer);
  const as = await oauth.processDiscoveryResponse(issuer,
    await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }));
  assert.deepEqual(as.dpop_signing_alg_values_supported, ['ES256', 'RS256', 'PS256', 'EdDSA']);
  const client = { client_id: pub.client_id };
  const kp = await oauth.generateKeyPair('ES256');
  const DPoP = oauth.DPoP(client, kp);
  const opts = { DPoP, [oauth.allowInsecureRequests]: true };
  const a = await authorize(srv, pub, { email: 'alice@example.com', scope: 'openid email offline_access' });
  const params = oauth.validateAuthResponse(as, client, a.callbackUrl, oauth.skipStateCheck);
  const t = await oauth.processAuthorizationCodeResponse(as, client,
    await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, pub.redirectUri, a.verifier, opts));
  assert.equal(t.token_type, 'dpop');
  const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(kp.publicKey));
  assert.deepEqual((await verifyAt(t.access_token)).cnf, { jkt });
  const ui = await oauth.processUserInfoResponse(as, client, oauth.skipSubjectCheck,
    await oauth.userInfoRequest(as, client, t.access_token, opts));
  assert.equal(ui.email, 'alice@example.com');
  const r = await oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), t.refresh_token, opts));
  assert.equal(r.token_type, 'dpop');
  assert.deepEqual((await verifyAt(r.access_token)).cnf, { jkt });
  // Another key pair cannot use the refresh token it was given.
  const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
  await assert.rejects(async () => oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), r.refresh_token,
      { DPoP: thief, [oauth.allowInsecureRequests]: true })),
  (e) => e.error === 'invalid_grant' || e.cause?.error === 'invalid_grant');
});

test('RT-06/TX-06: with dpop_nonce on, a proof without the server nonce gets use_dpop_nonce and the nonce; oauth4webapi retries with it', async () => {
  const s2 = await startServer({ config: { login_delay_free: 50, dpop_nonce: 'on' } });
  try {
    addUser(s2, 'nora@example.com');
    const p2 = addClient(s2, { name: 'Pub2', public: true, redirectUris: ['https://pub2.example/cb'] });
    const sv2 = addClient(s2, { name: 'Svc2', grants: 'client_credentials', scope: 'api.read', redirectUris: [] });
    const tok = s2.issuer + '/token';
    const req = (dpop) => fetch(s2.url + '/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(sv2), dpop },
      body: 'grant_type=client_credentials&scope=api.read',
    });
    let res = await req(await proof(key, tok));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'use_dpop_nonce');
    const nonce = res.headers.get('dpop-nonce');
    assert.match(nonce, /^[A-Za-z0-9_-]{22}$/);
    for (const bad of ['wrong', 'A'.repeat(22)]) {
      res = await req(await proof(key, tok, { nonce: bad }));
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error, 'use_dpop_nonce');
    }
    res = await req(await proof(key, tok, { nonce }));
    assert.equal(res.status, 200);
    assert.equal((await res.json()).token_type, 'DPoP');
    assert.match(res.headers.get('dpop-nonce'), /^[A-Za-z0-9_-]{22}$/, 'the nonce rides on success too');
    // oauth4webapi: the first request fails with use_dpop_nonce, the
    // handle keeps the nonce, the retry works; likewise at /userinfo.
    const issuer = new URL(s2.issuer);
    const as = await oauth.processDiscoveryResponse(issuer,
      await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }));
    const client = { client_id: p2.client_id };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const opts = { DPoP, [oauth.allowInsecureRequests]: true };
    const a = await authorize(s2, p2, { email: 'nora@example.com', scope: 'openid email offline_access' });
    const params = oauth.validateAuthResponse(as, client, a.callbackUrl, oauth.skipStateCheck);
    const grant = () => oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, p2.redirectUri, a.verifier, opts);
    let t;
    try {
      t = await oauth.processAuthorizationCodeResponse(as, client, await grant());
      assert.fail('the first proof carried no nonce');
    } catch (e) {
      assert.ok(oauth.isDPoPNonceError(e), String(e));
      t = await oauth.processAuthorizationCodeResponse(as, client, await grant());
    }
    assert.equal(t.token_type, 'dpop');
    const ui = await oauth.processUserInfoResponse(as, client, oauth.skipSubjectCheck,
      await oauth.userInfoRequest(as, client, t.access_token, opts));
    assert.equal(ui.email, 'nora@example.com');
    const r = await oauth.processRefreshTokenResponse(as, client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), t.refresh_token, opts));
    assert.equal(r.token_type, 'dpop');
    // A resource-side nonce error is a 401 with the DPoP challenge.
    const u = await fetch(s2.url + '/userinfo', { headers: { authorization: 'DPoP ' + r.access_token,
      dpop: await proof(key, s2.issuer + '/userinfo', { htm: 'GET', ath: r.access_token }) } });
    assert.equal(u.status, 401);
    assert.match(u.headers.get('www-authenticate'), /^DPoP .*error="use_dpop_nonce"/);
    assert.match(u.headers.get('dpop-nonce'), /^[A-Za-z0-9_-]{22}$/);
  } finally {
    await stopClean(s2);
  }
});

test('DS-04: the purge forgets DPoP jtis whose window has passed, and only those', async () => {
  const first = await startServer({ keepDataDir: true });
  await stopClean(first);
  const t = now();
  storeSql(first, 'INSERT INTO dpop_jtis (jti_hash, expires_at) VALUES ' +
    `('${'a'.repeat(64)}', ${t - 10}), ('${'b'.repeat(64)}', ${t + 3600})`);
  const s = await startServer({ dataDir: first.dataDir });
  try {
    let line;
    for (let i = 0; i < 200 && !line; i++) {
      line = s.rawLogs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
        .find((j) => j.event === 'store.purge');
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(line, s.rawLogs());
    assert.equal(Number(line.dpop_jtis), 1, JSON.stringify(line));
    assert.equal(storeSql(s, 'SELECT jti_hash FROM dpop_jtis'), 'b'.repeat(64));
  } finally {
    await stopClean(s);
  }
});
