// The resource-side endpoints, attacked: /userinfo (OIDC Core §5.3, RFC
// 6750), /introspect (RFC 7662) and /revoke (RFC 7009), and the
// access-token check behind them (src/oauth/bearer.c). Rows: OI-08,
// IR-01..06, JW-01/02/06/07, TK-12, TK-13.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as jose from 'jose';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, stopClean, TOOLS, toolEnv } from './lib/server.mjs';
import { GOOD_PW, OTHER_PW, addUser, auditRows, cliAt } from './lib/web.mjs';
import { addClient as addRp, codeFlow, tokenRequest } from './lib/oauth.mjs';

// access_token_ttl has a floor of 60 s; TK-13 waits for one token to
// expire, fetched first so the other tests run meanwhile.
const TTL = 60;
let srv, svc, other, pub, early, rp, rp2, spa, earlyUser;

function addClient(args) {
  const r = cliAt(srv, ['client', 'add', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
const auth = (c) => ({ authorization: basic(c.client_id, c.client_secret) });

async function post(path, form, headers = {}) {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body, text };
}

async function ccToken(c, scope = 'api.read') {
  const r = await post('/token', { grant_type: 'client_credentials', scope }, auth(c));
  assert.equal(r.status, 200, r.text);
  return r.body.access_token;
}

const introspect = (c, token, extra = {}) => post('/introspect', { token, ...extra }, auth(c));
const revoke = (c, token, extra = {}) => post('/revoke', { token, ...extra }, auth(c));

async function userinfo(token, { method = 'GET', query = '', headers = {}, body } = {}) {
  const h = { ...headers };
  if (token) h.authorization = 'Bearer ' + token;
  if (body !== undefined) h['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(srv.url + '/userinfo' + query, { method, headers: h, body });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, json, text };
}

// Signs claims with the server's own key ring (tests/tools/pc-sign).
function sign(claims, alg, typ) {
  const args = [srv.dataDir, alg];
  if (typ) args.push(typ);
  const r = spawnSync(join(TOOLS, 'pc-sign'), args, { input: JSON.stringify(claims), encoding: 'utf8', env: toolEnv(srv) });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const parts = (jwt) => jwt.split('.');
const decode = (seg) => JSON.parse(Buffer.from(seg, 'base64url').toString());
const enc = (obj) => Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)).toString('base64url');

function assertInactive(r, what) {
  assert.equal(r.status, 200, what);
  assert.deepEqual(r.body, { active: false }, what);
  assert.equal(r.headers.get('cache-control'), 'no-store', what);
}

before(async () => {
  srv = await startServer({ config: { access_token_ttl: `${TTL}s`, login_delay_free: 50 } });
  const cc = ['--grant', 'client_credentials', '--scope', 'api.read api.write'];
  svc = addClient(['--name', 'Service', '--redirect-uri', 'https://svc.example/cb', ...cc]);
  other = addClient(['--name', 'Other', '--redirect-uri', 'https://other.example/cb', ...cc]);
  pub = addClient(['--name', 'SPA', '--redirect-uri', 'https://spa.example/cb', '--public']);
  rp = addRp(srv, { name: 'RP', redirectUris: ['https://rp.example/cb'] });
  rp2 = addRp(srv, { name: 'RP two', redirectUris: ['https://rp2.example/cb'] });
  spa = addRp(srv, { name: 'SPA flow', public: true, redirectUris: ['https://spa2.example/cb'] });
  addUser(srv, 'alice@example.com', undefined, ['--verified', '--name', 'Alice Example']);
  early = { token: await ccToken(svc), at: Date.now() };
  earlyUser = (await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid' })).tokens.access_token;
});
after(async () => { await stopClean(srv); });

test('discovery: the resource endpoints and their client authentication methods', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.userinfo_endpoint, srv.issuer + '/userinfo');
  assert.equal(d.introspection_endpoint, srv.issuer + '/introspect');
  assert.equal(d.revocation_endpoint, srv.issuer + '/revoke');
  const tm = d.token_endpoint_auth_methods_supported;
  assert.ok(!d.introspection_endpoint_auth_methods_supported.includes('none'), 'IR-01: no public clients');
  for (const m of d.introspection_endpoint_auth_methods_supported) assert.ok(tm.includes(m), m);
  assert.ok(d.revocation_endpoint_auth_methods_supported.includes('none'));
  assert.ok(d.revocation_endpoint_auth_methods_supported.includes('client_secret_basic'));
});

test('IR-01: introspection needs an authenticated confidential client (401 invalid_client otherwise)', async () => {
  const tok = await ccToken(svc);
  const cases = [
    {},
    { authorization: basic(svc.client_id, svc.client_secret.slice(0, -2) + (svc.client_secret.endsWith('xx') ? 'yy' : 'xx')) },
    { authorization: basic('pcc_AAAAAAAAAAAAAAAAAAAAAA', 'pcs_nope') },
    { authorization: 'Bearer ' + tok },
  ];
  for (const h of cases) {
    const r = await post('/introspect', { token: tok }, h);
    assert.equal(r.status, 401, JSON.stringify(h));
    assert.equal(r.body.error, 'invalid_client');
    assert.equal(r.body.active, undefined);
  }
  // A public client naming itself may not introspect.
  const p = await post('/introspect', { token: tok, client_id: pub.client_id });
  assert.equal(p.status, 401);
  assert.equal(p.body.error, 'invalid_client');
  assert.equal((await fetch(srv.url + '/introspect')).status, 405);
  const missing = await post('/introspect', {}, auth(svc));
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_request');
});

test('IR-02, IR-03: an own live token is active with its claims; no-store', async () => {
  const tok = await ccToken(svc, 'api.read api.write');
  const r = await introspect(svc, tok);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.headers.get('pragma'), 'no-cache');
  const b = r.body;
  assert.equal(b.active, true);
  assert.equal(b.scope, 'api.read api.write');
  assert.equal(b.client_id, svc.client_id);
  assert.equal(b.token_type, 'Bearer');
  assert.equal(b.iss, srv.issuer);
  assert.equal(b.aud, srv.issuer);
  assert.equal(b.jti, decode(parts(tok)[1]).jti);
  assert.equal(b.exp - b.iat, TTL);
  assert.equal(b.sub, undefined, 'a client token names no user');
  // The hint is advisory, unknown hints are ignored.
  for (const hint of ['access_token', 'refresh_token', 'bogus']) {
    assert.equal((await introspect(svc, tok, { token_type_hint: hint })).body.active, true, hint);
  }
});

test('IR-02: another client\'s, unknown, malformed and forged tokens are exactly {"active":false}', async () => {
  const tok = await ccToken(svc);
  assertInactive(await introspect(other, tok), 'another client\'s token');
  const [h, p, s] = parts(tok);
  const junk = ['', 'x', 'a.b.c', `${h}.${p}`, `${h}.${p}.`, `${h}.${p}.${s}x`, tok + ' ',
    'pcr_' + 'A'.repeat(43), 'pcr_short', 'x'.repeat(9000)];
  for (const t of junk) assertInactive(await introspect(svc, t), JSON.stringify(t.slice(0, 40)));
});

test('JW-01: alg none in every case, at /introspect and /userinfo', async () => {
  const tok = await ccToken(svc);
  const [h, p] = parts(tok);
  const hdr = decode(h);
  for (const alg of ['none', 'None', 'NONE', 'noNE']) {
    const forged = `${enc({ ...hdr, alg })}.${p}.`;
    assertInactive(await introspect(svc, forged), alg);
    const u = await userinfo(forged);
    assert.equal(u.status, 401, alg);
    assert.match(u.headers.get('www-authenticate'), /^Bearer .*error="invalid_token"/);
  }
});

test('JW-02: HS256 keyed with our EC public key is refused', async () => {
  const tok = await ccToken(svc);
  const [h, p] = parts(tok);
  const hdr = decode(h);
  const { keys } = await (await fetch(srv.url + '/jwks.json')).json();
  const jwk = keys.find((k) => k.kid === hdr.kid);
  assert.ok(jwk, 'the signing key is published');
  const pk = createPublicKey({ key: jwk, format: 'jwk' });
  const secrets = [pk.export({ type: 'spki', format: 'pem' }), pk.export({ type: 'spki', format: 'der' }),
    JSON.stringify(jwk)];
  for (const secret of secrets) {
    const head = enc({ ...hdr, alg: 'HS256' });
    const mac = createHmac('sha256', secret).update(`${head}.${p}`).digest('base64url');
    assertInactive(await introspect(svc, `${head}.${p}.${mac}`), 'HS256');
    assert.equal((await userinfo(`${head}.${p}.${mac}`)).status, 401);
  }
});

test('JW-07: a tampered payload under the original signature is refused', async () => {
  const tok = await ccToken(svc, 'api.read');
  const [h, p, s] = parts(tok);
  const claims = decode(p);
  for (const change of [{ scope: 'api.read api.write' }, { client_id: other.client_id }, { exp: claims.exp + 3600 }]) {
    const forged = `${h}.${enc({ ...claims, ...change })}.${s}`;
    assertInactive(await introspect(svc, forged), JSON.stringify(change));
  }
  assert.equal((await introspect(svc, tok)).body.active, true, 'the original is still good');
});

test('JW-06, TK-12: our key, but the wrong kind of token, audience or issuer', async () => {
  const now = Math.floor(Date.now() / 1000);
  const base = { iss: srv.issuer, aud: srv.issuer, sub: svc.client_id, client_id: svc.client_id,
    scope: 'api.read', iat: now, exp: now + 60, jti: 'jti-' + now };
  const cases = [
    ['typ JWT (an ID token)', sign(base, 'ES256', 'JWT')],
    ['no typ', sign(base, 'ES256')],
    ['RS256 at+jwt', sign(base, 'RS256', 'at+jwt')],
    ['ID token shape', sign({ iss: srv.issuer, aud: svc.client_id, sub: 'usr_x', iat: now, exp: now + 60 }, 'RS256', 'JWT')],
    ['aud another resource', sign({ ...base, aud: 'https://api.elsewhere.example' }, 'ES256', 'at+jwt')],
    ['aud the client', sign({ ...base, aud: svc.client_id }, 'ES256', 'at+jwt')],
    ['iss another', sign({ ...base, iss: 'https://evil.example' }, 'ES256', 'at+jwt')],
    ['user grant with sub = client_id', sign({ ...base, gid: 'fam_x' }, 'ES256', 'at+jwt')],
  ];
  for (const [what, t] of cases) {
    assertInactive(await introspect(svc, t), what);
    const u = await userinfo(t);
    assert.equal(u.status, 401, what);
    assert.match(u.headers.get('www-authenticate'), /error="invalid_token"/, what);
  }
  // The control: the same claims, rightly typed, pass introspection.
  assert.equal((await introspect(svc, sign(base, 'ES256', 'at+jwt'))).body.active, true);
});

test('TK-12: a client_credentials token is no user token at /userinfo (401 invalid_token)', async () => {
  const tok = await ccToken(svc);
  const r = await userinfo(tok);
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /^Bearer realm="[^"]*", error="invalid_token"/);
  assert.equal(r.json.error, 'invalid_token');
  assert.equal(r.json.sub, undefined);
});

test('OI-08: a token in the query string is refused (400 invalid_request) and not used', async () => {
  const tok = await ccToken(svc);
  const q = await userinfo(null, { query: '?access_token=' + encodeURIComponent(tok) });
  assert.equal(q.status, 400);
  assert.equal(q.json.error, 'invalid_request');
  assert.match(q.headers.get('www-authenticate'), /error="invalid_request"/);
  // Even beside a header token.
  const both = await userinfo(tok, { query: '?access_token=' + encodeURIComponent(tok) });
  assert.equal(both.status, 400);
  const postQ = await userinfo(null, { method: 'POST', query: '?access_token=x', body: '' });
  assert.equal(postQ.status, 400);
});

test('OI-08: no token, a bad token, two methods at once, and the methods that work', async () => {
  const none = await userinfo(null);
  assert.equal(none.status, 401);
  // RFC 6750 3.1: no error attribute without a token; RFC 9449 7.1: the
  // DPoP scheme is offered alongside, with the proof algorithms.
  assert.match(none.headers.get('www-authenticate'), /^Bearer realm="[^"]+", DPoP algs="[A-Za-z0-9 ]+"$/,
    'no error attribute without a token');
  assert.equal(none.headers.get('cache-control'), 'no-store');
  for (const bad of ['garbage', 'a.b.c', 'x'.repeat(5000)]) {
    const r = await userinfo(bad);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
  }
  const tok = await ccToken(svc);
  // Header and body at once.
  const two = await userinfo(tok, { method: 'POST', body: 'access_token=' + encodeURIComponent(tok) });
  assert.equal(two.status, 400);
  assert.equal(two.json.error, 'invalid_request');
  // A body token is read (and here refused as no user token).
  const bodyTok = await userinfo(null, { method: 'POST', body: 'access_token=' + encodeURIComponent(tok) });
  assert.equal(bodyTok.status, 401);
  assert.match(bodyTok.headers.get('www-authenticate'), /error="invalid_token"/);
  const dup = await userinfo(null, { method: 'POST', body: 'access_token=a&access_token=b' });
  assert.equal(dup.status, 400);
  assert.equal((await fetch(srv.url + '/userinfo', { method: 'PUT' })).status, 405);
});

test('IR-04: revocation needs client authentication (401 invalid_client)', async () => {
  const tok = await ccToken(svc);
  for (const h of [{}, { authorization: basic(svc.client_id, 'pcs_wrong') }]) {
    const r = await post('/revoke', { token: tok }, h);
    assert.equal(r.status, 401, JSON.stringify(h));
    assert.equal(r.body.error, 'invalid_client');
  }
  assert.equal((await introspect(svc, tok)).body.active, true, 'not revoked');
  assert.equal((await fetch(srv.url + '/revoke')).status, 405);
});

test('IR-04: another client\'s token is not revoked, keeps working, and the request is refused', async () => {
  const tok = await ccToken(svc);
  const r = await revoke(other, tok);
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  assert.equal((await introspect(svc, tok)).body.active, true);
  // A public client naming itself is authenticated enough, and still cannot.
  const p = await post('/revoke', { token: tok, client_id: pub.client_id });
  assert.equal(p.status, 400);
  assert.equal((await introspect(svc, tok)).body.active, true);
  assert.ok(auditRows(srv).some((e) => e.event === 'token.revoke' && e.actor === other.client_id && e.outcome === 'failure'));
});

test('IR-04, IR-05: revoking an own access token kills it at once; repeats and junk are 200', async () => {
  const tok = await ccToken(svc);
  const keep = await ccToken(svc);
  assert.equal((await introspect(svc, tok)).body.active, true);
  const r = await revoke(svc, tok, { token_type_hint: 'access_token' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assertInactive(await introspect(svc, tok), 'revoked');
  assert.equal((await introspect(svc, keep)).body.active, true, 'only that token');
  // IR-05: again, unknown, malformed, an unknown hint: all the same 200.
  for (const [t, hint] of [[tok, undefined], ['garbage', undefined], ['pcr_' + 'B'.repeat(43), 'refresh_token'],
    [keep.slice(0, -4) + 'AAAA', 'whatever']]) {
    const x = await revoke(svc, t, hint ? { token_type_hint: hint } : {});
    assert.equal(x.status, 200, t.slice(0, 30));
  }
  assert.equal((await introspect(svc, keep)).body.active, true, 'a corrupted copy revoked nothing');
  const missing = await post('/revoke', {}, auth(svc));
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_request');
  const rows = auditRows(srv).filter((e) => e.event === 'token.revoke' && e.actor === svc.client_id);
  assert.ok(rows.some((e) => e.outcome === 'success'));
  assert.ok(!JSON.stringify(rows).includes(tok), 'the token is never audited');
});

test('private_key_jwt: discovery offers it at /introspect and /revoke, and it works there', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  for (const k of ['introspection', 'revocation']) {
    assert.ok(d[`${k}_endpoint_auth_methods_supported`].includes('private_key_jwt'), k);
    assert.deepEqual(d[`${k}_endpoint_auth_signing_alg_values_supported`], d.token_endpoint_auth_signing_alg_values_supported);
  }
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const file = join(srv.dataDir, 'pkjwt.jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
  const c = addClient(['--name', 'Signed', '--redirect-uri', 'https://signed.example/cb', '--grant', 'client_credentials',
    '--scope', 'api.read', '--auth-method', 'private_key_jwt', '--jwks-file', file]);
  const assertion = async () => {
    const now = Math.floor(Date.now() / 1000);
    return new jose.SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(c.client_id).setSubject(c.client_id).setAudience(srv.issuer).setIssuedAt(now).setExpirationTime(now + 60)
      .sign(privateKey);
  };
  const form = async (extra) => ({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertion(), ...extra });
  const t = await post('/token', await form({ grant_type: 'client_credentials', scope: 'api.read' }));
  assert.equal(t.status, 200, t.text);
  const tok = t.body.access_token;
  assert.equal((await post('/introspect', await form({ token: tok }))).body.active, true);
  assertInactive(await introspect(svc, tok), 'another client');
  assert.equal((await post('/revoke', await form({ token: tok }))).status, 200);
  assertInactive(await post('/introspect', await form({ token: tok })), 'revoked');
});

// ---- User tokens, from the real authorization flow ----

const sub = (jwt) => decode(parts(jwt)[1]).sub;

test('OI-08: userinfo by GET, POST header and POST body; sub is the ID token sub; claims by scope', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid' });
  const at = f.tokens.access_token;
  const want = sub(f.tokens.id_token);
  const ways = [
    await userinfo(at),
    await userinfo(at, { method: 'POST' }),
    await userinfo(null, { method: 'POST', body: 'access_token=' + encodeURIComponent(at) }),
  ];
  for (const r of ways) {
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(r.json, { sub: want }, 'openid alone: sub only');
  }
  const e = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid email' });
  const ej = (await userinfo(e.tokens.access_token)).json;
  assert.deepEqual(Object.keys(ej).sort(), ['email', 'email_verified', 'sub']);
  assert.equal(ej.sub, want);
  assert.equal(ej.email, 'alice@example.com');
  assert.equal(ej.email_verified, true);
  const p = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid profile' });
  const pj = (await userinfo(p.tokens.access_token)).json;
  assert.deepEqual(Object.keys(pj).sort(), ['name', 'sub', 'updated_at']);
  assert.equal(pj.name, 'Alice Example');
  assert.equal(typeof pj.updated_at, 'number');
});

test('OI-08: a user token without openid is 403 insufficient_scope', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid email' });
  const c = decode(parts(f.tokens.access_token)[1]);
  // The same grant, signed by our key, with openid left out.
  const t = sign({ ...c, scope: 'email', jti: c.jti + 'x' }, 'ES256', 'at+jwt');
  const r = await userinfo(t);
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'insufficient_scope');
  assert.match(r.headers.get('www-authenticate'), /error="insufficient_scope"/);
  assert.equal(r.json.email, undefined);
});

test('JW-06: an ID token is no bearer token at /userinfo or /introspect', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid email' });
  const r = await userinfo(f.tokens.id_token);
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
  assertInactive(await introspect(rp, f.tokens.id_token), 'ID token');
  assert.equal((await userinfo(f.tokens.access_token)).status, 200, 'the access token of the same flow works');
});

test('IR-02, IR-03: user tokens at introspection: access and refresh, own only; a rotated refresh token is inactive', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid email offline_access' });
  const { access_token: at, refresh_token: rt } = f.tokens;
  const a = await introspect(rp, at);
  assert.equal(a.body.active, true);
  assert.equal(a.body.sub, sub(f.tokens.id_token));
  assert.equal(a.body.client_id, rp.client_id);
  assert.equal(a.body.scope, 'openid email offline_access');
  const r = await introspect(rp, rt, { token_type_hint: 'refresh_token' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.body.active, true);
  assert.equal(r.body.token_type, 'refresh_token');
  assert.equal(r.body.client_id, rp.client_id);
  assert.equal(r.body.sub, a.body.sub);
  assert.equal(r.body.scope, 'openid email offline_access');
  assert.ok(r.body.exp > r.body.iat);
  // IR-02: another client learns nothing of either.
  assertInactive(await introspect(rp2, at), 'another client, access');
  assertInactive(await introspect(rp2, rt), 'another client, refresh');
  // Rotation: the used one is inactive, the new one active.
  const n = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: rt });
  assert.equal(n.status, 200, JSON.stringify(n.json));
  assertInactive(await introspect(rp, rt), 'rotated');
  assert.equal((await introspect(rp, n.json.refresh_token)).body.active, true);
});

test('IR-06: revoking a refresh token kills its access tokens at userinfo and introspection at once', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid offline_access' });
  const n = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(n.status, 200);
  const ats = [f.tokens.access_token, n.json.access_token];
  for (const at of ats) assert.equal((await userinfo(at)).status, 200);
  const r = await revoke(rp, n.json.refresh_token, { token_type_hint: 'refresh_token' });
  assert.equal(r.status, 200);
  for (const at of ats) {
    const u = await userinfo(at);
    assert.equal(u.status, 401);
    assert.match(u.headers.get('www-authenticate'), /error="invalid_token"/);
    assertInactive(await introspect(rp, at), 'access token of a revoked grant');
  }
  assertInactive(await introspect(rp, n.json.refresh_token), 'revoked refresh token');
  const again = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: n.json.refresh_token });
  assert.equal(again.json.error, 'invalid_grant');
  assert.ok(auditRows(srv).some((e) => e.event === 'token.revoke' && e.actor === rp.client_id && e.outcome === 'success'));
  // A public client revokes its own grant by naming itself.
  const s = await codeFlow(srv, spa, { email: 'alice@example.com', scope: 'openid offline_access' });
  const pr = await post('/revoke', { token: s.tokens.refresh_token, client_id: spa.client_id });
  assert.equal(pr.status, 200);
  assert.equal((await userinfo(s.tokens.access_token)).status, 401);
});

test('IR-04: another client cannot revoke a user\'s refresh or access token; both keep working', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid offline_access' });
  assert.equal((await revoke(rp2, f.tokens.refresh_token)).status, 400);
  assert.equal((await revoke(rp2, f.tokens.access_token)).status, 400);
  assert.equal((await post('/revoke', { token: f.tokens.refresh_token, client_id: spa.client_id })).status, 400);
  assert.equal((await userinfo(f.tokens.access_token)).status, 200);
  const n = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(n.status, 200, 'the refresh token still works');
});

test('IR-04: revoking a user access token kills that token only', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid offline_access' });
  assert.equal((await revoke(rp, f.tokens.access_token)).status, 200);
  assert.equal((await userinfo(f.tokens.access_token)).status, 401);
  assertInactive(await introspect(rp, f.tokens.access_token), 'revoked access token');
  const n = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(n.status, 200);
  assert.equal((await userinfo(n.json.access_token)).status, 200);
});

test('TK-01: a replayed code kills the access token of the first redemption at userinfo', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid' });
  assert.equal((await userinfo(f.tokens.access_token)).status, 200);
  const again = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code: f.code, redirect_uri: rp.redirectUri, code_verifier: f.verifier });
  assert.equal(again.json.error, 'invalid_grant');
  const u = await userinfo(f.tokens.access_token);
  assert.equal(u.status, 401);
  assert.match(u.headers.get('www-authenticate'), /error="invalid_token"/);
});

test('OI-08: the token of a disabled or deleted user gets 401', async () => {
  const dis = addUser(srv, 'dis@example.com');
  const del = addUser(srv, 'del@example.com');
  const a = await codeFlow(srv, rp, { email: 'dis@example.com', scope: 'openid' });
  const b = await codeFlow(srv, rp, { email: 'del@example.com', scope: 'openid' });
  assert.equal((await userinfo(a.tokens.access_token)).status, 200);
  assert.equal((await userinfo(b.tokens.access_token)).status, 200);
  assert.equal(cliAt(srv, ['user', 'disable', '--id', dis.id]).code, 0);
  const d = cliAt(srv, ['user', 'delete', '--id', del.id]);
  assert.equal(d.code, 0, d.stderr);
  for (const t of [a.tokens.access_token, b.tokens.access_token]) {
    const u = await userinfo(t);
    assert.equal(u.status, 401);
    assert.match(u.headers.get('www-authenticate'), /error="invalid_token"/);
  }
});

test('RT-05: sign-out and a password change kill the grant\'s access tokens at /userinfo too', async () => {
  addUser(srv, 'rt5@example.com');
  const a = await codeFlow(srv, rp, { email: 'rt5@example.com', scope: 'openid' });
  assert.equal((await userinfo(a.tokens.access_token)).status, 200);
  const out = await a.jar.submit('/account', '/logout', {});
  assert.equal(out.status, 303);
  assert.equal((await userinfo(a.tokens.access_token)).status, 401, 'signed out');
  assertInactive(await introspect(rp, a.tokens.access_token), 'signed out');
  const b = await codeFlow(srv, rp, { email: 'rt5@example.com', scope: 'openid' });
  assert.equal((await userinfo(b.tokens.access_token)).status, 200);
  const pc = await b.jar.submit('/account', '/account/password', { current: GOOD_PW, new: OTHER_PW });
  assert.equal(pc.status, 303);
  assert.equal((await userinfo(b.tokens.access_token)).status, 401, 'password changed');
});

test('TK-13: at exp the token is dead (introspection inactive, userinfo 401)', async () => {
  assert.ok(early.token);
  const exp = Math.max(decode(parts(early.token)[1]).exp, decode(parts(earlyUser)[1]).exp);
  const wait = exp * 1000 - Date.now();
  if (wait > 0) {
    assert.equal((await introspect(svc, early.token)).body.active, true, 'alive before exp');
    await new Promise((r) => setTimeout(r, wait + 1500));
  }
  assertInactive(await introspect(svc, early.token), 'expired');
  const u = await userinfo(early.token);
  assert.equal(u.status, 401);
  assert.match(u.headers.get('www-authenticate'), /error="invalid_token"/);
  // The user token fetched at the start, same lifetime: 401 at userinfo.
  const v = await userinfo(earlyUser);
  assert.equal(v.status, 401);
  assert.match(v.headers.get('www-authenticate'), /error="invalid_token"/);
  assertInactive(await introspect(rp, earlyUser), 'expired user token');
});
