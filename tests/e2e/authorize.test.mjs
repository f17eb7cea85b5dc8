// The authorization endpoint and the code and refresh grants (issue 4),
// attacked through the real server: redirect URIs that are not an exact
// match never get a redirect (AZ-01, AZ-02), errors go back with state
// and iss (AZ-05), PKCE S256 is required (AZ-06, AZ-07, TK-05), codes are
// single use and bound (TK-01..04), refresh tokens rotate and their reuse
// kills the family (RT-01..05), prompt / max_age / id_token_hint behave
// (OI-03..06), and consent cannot be forced (CF-03).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { Client, GOOD_PW, OTHER_PW, addUser, auditRows, cliAt, csrfOf } from './lib/web.mjs';
import { addClient, authorize, authorizeParams, codeFlow, pkce, tokenRequest } from './lib/oauth.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let srv, rp, spa, fp, native, other, noRefresh, JWKS;

before(async () => {
  srv = await startServer({ config: { login_delay_free: 50 } });
  addUser(srv, 'alice@example.com');
  addUser(srv, 'bob@example.com');
  rp = addClient(srv, { name: 'Third-party RP', redirectUris: ['https://rp.example/cb', 'https://rp.example/other'] });
  spa = addClient(srv, { name: 'SPA', public: true, redirectUris: ['https://spa.example/cb'] });
  fp = addClient(srv, { name: 'First party', firstParty: true, redirectUris: ['https://fp.example/cb'] });
  native = addClient(srv, { name: 'Native', public: true, redirectUris: ['http://127.0.0.1/cb'] });
  other = addClient(srv, { name: 'Other', redirectUris: ['https://other.example/cb'] });
  noRefresh = addClient(srv, { name: 'No refresh', grants: 'authorization_code', redirectUris: ['https://nr.example/cb'] });
  JWKS = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
});
after(async () => { await stopClean(srv); });

// A GET /authorize from a fresh browser (or jar), without following.
async function start(client, opts = {}, jar = new Client(srv)) {
  const { challenge } = pkce();
  const q = new URLSearchParams(authorizeParams(client, { challenge, ...opts }));
  const r = await jar.get('/authorize?' + (opts.raw ?? q.toString()), { headers: { 'sec-fetch-site': 'cross-site' } });
  return { ...r, jar };
}

const params = (loc) => Object.fromEntries(new URL(loc).searchParams);

test('AZ-01: every non-exact redirect_uri gets an error page, never a redirect', async () => {
  const variants = [
    'https://rp.example/cb/', 'https://rp.example/cbx', 'https://rp.example/cb/../evil', 'https://rp.example/cb?x=1',
    'https://RP.example/cb', 'https://user@rp.example/cb', 'https://rp.example:444/cb', 'http://rp.example/cb',
    'https://rp.example/%63b', 'https://rp.example/cb#frag', 'https://evil.example/cb', 'https://rp.example.evil.example/cb',
    'https://rp.example/c', '//rp.example/cb', 'https://rp.example/CB',
  ];
  for (const v of variants) {
    const r = await start(rp, { redirectUri: v });
    assert.equal(r.status, 400, v);
    assert.equal(r.location, null, `no redirect for ${v}`);
    assert.match(r.text, /not registered/);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  }
  // The second registered URI is matched exactly too.
  const ok = await start(rp, { redirectUri: 'https://rp.example/other' });
  assert.equal(ok.status, 303);
  assert.match(ok.location, /^\/login\?req=[A-Za-z0-9_-]{43}$/);
});

test('AZ-01: a native client\'s loopback redirect may use any port (RFC 8252 §7.3), nothing else may differ', async () => {
  const ok = await start(native, { redirectUri: 'http://127.0.0.1:53123/cb' });
  assert.equal(ok.status, 303);
  assert.match(ok.location, /^\/login\?req=/);
  for (const v of ['http://127.0.0.1:53123/cb/', 'http://localhost:53123/cb', 'http://127.0.0.2:53123/cb', 'https://127.0.0.1:53123/cb']) {
    const r = await start(native, { redirectUri: v });
    assert.equal(r.status, 400, v);
    assert.equal(r.location, null);
  }
});

test('AZ-02/AZ-09: unknown client, missing or repeated client_id/redirect_uri: an error page, no redirect', async () => {
  const { challenge } = pkce();
  const base = `response_type=code&code_challenge=${challenge}&code_challenge_method=S256&state=s1`;
  const cases = [
    `client_id=pcc_AAAAAAAAAAAAAAAAAAAAAA&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&${base}`,
    `client_id=${rp.client_id}&${base}`,
    `redirect_uri=${encodeURIComponent('https://rp.example/cb')}&${base}`,
    `client_id=${rp.client_id}&client_id=${rp.client_id}&redirect_uri=${encodeURIComponent('https://rp.example/cb')}&${base}`,
    `client_id=${rp.client_id}&redirect_uri=${encodeURIComponent('https://rp.example/cb')}&redirect_uri=${encodeURIComponent('https://rp.example/other')}&${base}`,
    `client_id=${encodeURIComponent("x' OR 1=1 --")}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&${base}`,
  ];
  for (const raw of cases) {
    const r = await start(rp, { raw });
    assert.equal(r.status, 400, raw);
    assert.equal(r.location, null, raw);
  }
});

test('AZ-05/AZ-06/AZ-07/AZ-08/AZ-09/AZ-10/AZ-12/DS-05: errors after the match go back with error, state byte for byte, and iss', async () => {
  const state = 'St/+?&=%20 "é"~';
  const cases = [
    [{ params: { code_challenge: undefined } }, 'invalid_request', /challenge required/],
    [{ params: { code_challenge_method: 'plain' } }, 'invalid_request', /transform algorithm/],
    [{ params: { code_challenge_method: undefined } }, 'invalid_request', /transform algorithm/],
    [{ params: { code_challenge: 'short' } }, 'invalid_request', /malformed/],
    [{ params: { response_type: 'token' } }, 'unsupported_response_type'],
    [{ params: { response_type: 'id_token token' } }, 'unsupported_response_type'],
    [{ params: { response_type: 'code token' } }, 'unsupported_response_type'],
    [{ params: { response_type: undefined } }, 'invalid_request'],
    [{ scope: 'openid admin' }, 'invalid_scope'],
    [{ params: { request: 'eyJhbGciOiJub25lIn0.e30.' } }, 'request_not_supported'],
    [{ params: { request_uri: 'https://evil.example/req' } }, 'request_uri_not_supported'],
    [{ prompt: 'none login' }, 'invalid_request'],
    [{ maxAge: 'abc' }, 'invalid_request'],
  ];
  for (const [opts, error, desc] of cases) {
    const r = await start(rp, { state, ...opts });
    assert.equal(r.status, 303, JSON.stringify(opts) + r.text);
    assert.ok(r.location.startsWith('https://rp.example/cb?'), r.location);
    const p = params(r.location);
    assert.equal(p.error, error, JSON.stringify(opts));
    assert.equal(p.state, state, 'state echoed byte for byte');
    assert.equal(p.iss, srv.issuer, 'RFC 9207 iss');
    if (desc) assert.match(p.error_description, desc);
  }
  // AZ-09: a repeated state is an error without a state to echo.
  const { challenge } = pkce();
  const q = new URLSearchParams(authorizeParams(rp, { challenge, state: 'a' }));
  q.append('state', 'b');
  const dup = await start(rp, { raw: q.toString() });
  assert.equal(params(dup.location).error, 'invalid_request');
  assert.equal(params(dup.location).state, undefined);
  const q2 = new URLSearchParams(authorizeParams(rp, { challenge, state: 'a' }));
  q2.append('scope', 'email');
  assert.equal(params((await start(rp, { raw: q2.toString() })).location).error, 'invalid_request');
  // TK-10: a client not allowed the code flow.
  const svc = addClient(srv, { name: 'svc', grants: 'client_credentials', scope: 'api', redirectUris: ['https://svc.example/cb'] });
  const u = await start(svc, { scope: 'api' });
  assert.equal(params(u.location).error, 'unauthorized_client');
});

test('AZ-05/OI-01/TK-03..05: the full flow; the ID token, verified with jose, carries nonce, sid, at_hash; the code is bound', async () => {
  const state = 'state with spaces & symbols/?=';
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid email offline_access', nonce: 'n-0S6_WzA2Mj', state });
  assert.equal(f.state, state);
  assert.equal(f.iss, srv.issuer);
  assert.match(f.code, /^pca_[A-Za-z0-9_-]{43}$/, 'RT-07: 256-bit code');
  const t = f.tokens;
  assert.equal(f.token.headers.get('cache-control'), 'no-store');
  assert.equal(t.token_type, 'Bearer');
  assert.equal(t.scope, 'openid email offline_access');
  assert.match(t.refresh_token, /^pcr_[A-Za-z0-9_-]{43}$/);
  const { payload: id, protectedHeader } = await jose.jwtVerify(t.id_token, JWKS, { issuer: srv.issuer, audience: rp.client_id, algorithms: ['RS256'] });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(id.nonce, 'n-0S6_WzA2Mj', 'OI-01: nonce byte for byte');
  assert.match(id.sid, /^[0-9a-f]{16}$/);
  assert.ok(id.auth_time <= Math.floor(Date.now() / 1000));
  assert.deepEqual(id.amr, ['pwd']);
  const { payload: at } = await jose.jwtVerify(t.access_token, JWKS, { issuer: srv.issuer, audience: srv.issuer, typ: 'at+jwt', algorithms: ['ES256'] });
  assert.equal(at.sub, id.sub);
  assert.equal(at.client_id, rp.client_id);
  assert.match(at.gid, /^fam_/);
  // at_hash: left half of SHA-256 of the access token.
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256').update(t.access_token).digest();
  assert.equal(id.at_hash, h.subarray(0, 16).toString('base64url'));
  assert.ok(auditRows(srv).some((e) => e.event === 'token.issue' && e.actor === rp.client_id));
});

test('OI-01/OI-02: no nonce sent, no nonce claim; no openid scope, no ID token', async () => {
  const a = await codeFlow(srv, fp, { email: 'alice@example.com', scope: 'openid' });
  const id = jose.decodeJwt(a.tokens.id_token);
  assert.equal(id.nonce, undefined);
  assert.equal(a.tokens.refresh_token, undefined, 'no offline_access, no refresh token');
  const b = await codeFlow(srv, fp, { email: 'alice@example.com', scope: 'email' });
  assert.equal(b.tokens.id_token, undefined);
  assert.ok(b.tokens.access_token);
});

test('TK-04/TK-05: the code is bound to client, redirect_uri and verifier; any failure burns it', async () => {
  const cases = [
    [other, (a) => ({ redirect_uri: rp.redirectUri, code_verifier: a.verifier })],
    [rp, (a) => ({ redirect_uri: 'https://rp.example/other', code_verifier: a.verifier })],
    [rp, (a) => ({ code_verifier: a.verifier })],
    [rp, () => ({ redirect_uri: rp.redirectUri })],
    [rp, () => ({ redirect_uri: rp.redirectUri, code_verifier: pkce().verifier })],
    [rp, (a) => ({ redirect_uri: rp.redirectUri, code_verifier: a.verifier.slice(0, 42) })],
  ];
  for (const [who, extra] of cases) {
    const a = await authorize(srv, rp, { email: 'alice@example.com' });
    assert.ok(a.code);
    const bad = await tokenRequest(srv, who, { grant_type: 'authorization_code', code: a.code, ...extra(a) });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_grant');
    // Burnt: the right redemption now fails too.
    const good = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code: a.code, redirect_uri: rp.redirectUri, code_verifier: a.verifier });
    assert.equal(good.json.error, 'invalid_grant');
  }
  const junk = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code: 'pca_' + 'A'.repeat(43), redirect_uri: rp.redirectUri, code_verifier: pkce().verifier });
  assert.equal(junk.json.error, 'invalid_grant');
});

test('TK-01: a replayed code gets invalid_grant and revokes what the first redemption got', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid offline_access' });
  const ui = () => fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + f.tokens.access_token } });
  assert.equal((await ui()).status, 200, 'the first access token works');
  const again = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code: f.code, redirect_uri: rp.redirectUri, code_verifier: f.verifier });
  assert.equal(again.status, 400);
  assert.equal(again.json.error, 'invalid_grant');
  const r = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(r.json.error, 'invalid_grant', 'the first refresh token is revoked');
  const dead = await ui();
  assert.equal(dead.status, 401, 'the first access token is revoked');
  assert.match(dead.headers.get('www-authenticate') ?? '', /invalid_token/);
  assert.ok(auditRows(srv).some((e) => e.event === 'token.code_replay' && e.outcome === 'alert'));
});

test('TK-02: of 10 parallel redemptions of one code exactly one wins', async () => {
  const a = await authorize(srv, rp, { email: 'alice@example.com' });
  const rs = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(srv, rp,
    { grant_type: 'authorization_code', code: a.code, redirect_uri: rp.redirectUri, code_verifier: a.verifier })));
  assert.equal(rs.filter((r) => r.status === 200).length, 1);
  assert.ok(rs.filter((r) => r.status !== 200).every((r) => r.json.error === 'invalid_grant'));
});

test('TK-10: password and implicit grants do not exist; grants a client was not given are unauthorized_client', async () => {
  const pw = await tokenRequest(srv, rp, { grant_type: 'password', username: 'alice@example.com', password: GOOD_PW });
  assert.equal(pw.json.error, 'unsupported_grant_type');
  const cc = await tokenRequest(srv, spa, { grant_type: 'client_credentials' });
  assert.ok(['unauthorized_client', 'invalid_client'].includes(cc.json.error));
  const rt = await tokenRequest(srv, noRefresh, { grant_type: 'refresh_token', refresh_token: 'pcr_' + 'A'.repeat(43) });
  assert.equal(rt.json.error, 'unauthorized_client');
});

test('RT-01/RT-07: every refresh rotates; a rotated token used again revokes the family, newest token included', async () => {
  const f = await codeFlow(srv, spa, { email: 'alice@example.com', scope: 'openid offline_access' });
  const r1 = await tokenRequest(srv, spa, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(r1.status, 200, JSON.stringify(r1.json));
  assert.notEqual(r1.json.refresh_token, f.tokens.refresh_token);
  assert.match(r1.json.refresh_token, /^pcr_[A-Za-z0-9_-]{43}$/);
  const reuse = await tokenRequest(srv, spa, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(reuse.status, 400);
  assert.equal(reuse.json.error, 'invalid_grant');
  const newest = await tokenRequest(srv, spa, { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token });
  assert.equal(newest.json.error, 'invalid_grant', 'the newest token died with the family');
  assert.ok(auditRows(srv).some((e) => e.event === 'token.refresh_reuse' && e.outcome === 'alert'));
});

test('RT-02: two refreshes at once: exactly one wins', async () => {
  const f = await codeFlow(srv, spa, { email: 'alice@example.com', scope: 'openid offline_access' });
  const rs = await Promise.all([1, 2, 3].map(() => tokenRequest(srv, spa, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token })));
  assert.equal(rs.filter((r) => r.status === 200).length, 1);
  assert.ok(rs.filter((r) => r.status !== 200).every((r) => r.json.error === 'invalid_grant'));
});

test('RT-03/OI-07: another client cannot use it; scope may narrow, never widen; auth_time and sub stay', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid email offline_access' });
  const stolen = await tokenRequest(srv, other, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(stolen.json.error, 'invalid_grant');
  const wider = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token, scope: 'openid email profile offline_access' });
  assert.equal(wider.json.error, 'invalid_scope');
  // The failed attempts above did not consume the token.
  const first = jose.decodeJwt(f.tokens.id_token);
  await sleep(1100);
  const narrow = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token, scope: 'openid' });
  assert.equal(narrow.status, 200, JSON.stringify(narrow.json));
  assert.equal(narrow.json.scope, 'openid');
  assert.equal(jose.decodeJwt(narrow.json.access_token).scope, 'openid');
  const id = jose.decodeJwt(narrow.json.id_token);
  assert.equal(id.sub, first.sub);
  assert.equal(id.auth_time, first.auth_time, 'OI-07: refresh keeps auth_time');
  assert.equal(id.nonce, undefined);
  // The family keeps its original scope.
  const full = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: narrow.json.refresh_token });
  assert.equal(full.json.scope, 'openid email offline_access');
});

test('RT-05: refresh tokens die with sign-out, password change, disable and client deletion', async () => {
  addUser(srv, 'rt5@example.com');
  // Sign-out of the session they came from.
  const a = await codeFlow(srv, rp, { email: 'rt5@example.com', scope: 'openid offline_access' });
  const out = await a.jar.submit('/account', '/logout', {});
  assert.equal(out.status, 303);
  assert.equal((await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: a.tokens.refresh_token })).json.error, 'invalid_grant');
  // Password change.
  const b = await codeFlow(srv, rp, { email: 'rt5@example.com', scope: 'openid offline_access' });
  const pc = await b.jar.submit('/account', '/account/password', { current: GOOD_PW, new: OTHER_PW });
  assert.equal(pc.status, 303);
  assert.equal((await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: b.tokens.refresh_token })).json.error, 'invalid_grant');
  // Disable.
  const c = await codeFlow(srv, rp, { email: 'rt5@example.com', password: OTHER_PW, scope: 'openid offline_access' });
  const users = JSON.parse(cliAt(srv, ['user', 'list', '--json']).stdout);
  const u = (Array.isArray(users) ? users : users.users).find((x) => x.email === 'rt5@example.com');
  assert.equal(cliAt(srv, ['user', 'disable', '--id', u.id]).code, 0);
  assert.equal((await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: c.tokens.refresh_token })).json.error, 'invalid_grant');
  // Client deletion.
  const gone = addClient(srv, { name: 'Doomed', redirectUris: ['https://doomed.example/cb'] });
  const d = await codeFlow(srv, gone, { email: 'alice@example.com', scope: 'openid offline_access' });
  assert.equal(cliAt(srv, ['client', 'delete', '--id', gone.client_id]).code, 0);
  const after = await tokenRequest(srv, gone, { grant_type: 'refresh_token', refresh_token: d.tokens.refresh_token });
  assert.equal(after.status >= 400, true);
  assert.ok(['invalid_client', 'invalid_grant'].includes(after.json.error));
});

test('OI-09: offline_access is dropped for a client that may not refresh', async () => {
  const f = await codeFlow(srv, noRefresh, { email: 'alice@example.com', scope: 'openid offline_access' });
  assert.equal(f.tokens.refresh_token, undefined);
  assert.equal(f.tokens.scope, 'openid');
});

test('CF-03/CF-04/AZ-11: consent is shown to a third-party client, bound to its request, and cannot be replayed', async () => {
  addUser(srv, 'carol@example.com');
  const jar = new Client(srv);
  await jar.login('carol@example.com');
  const r1 = await start(rp, { scope: 'openid email' }, jar);
  assert.equal(r1.status, 200);
  assert.match(r1.text, /Third-party RP/);
  assert.match(r1.text, /email address/);
  assert.match(r1.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.equal(r1.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(r1.headers.get('access-control-allow-origin'), null, 'CF-05');
  const csrf1 = csrfOf(r1.text, '/authorize/consent');
  const req1 = /name="req" value="([^"]+)"/.exec(r1.text)[1];
  const r2 = await start(rp, { scope: 'openid email' }, jar);
  const req2 = /name="req" value="([^"]+)"/.exec(r2.text)[1];
  assert.notEqual(req1, req2);
  // The token of request 1 does not approve request 2.
  const cross = await jar.post('/authorize/consent', { csrf: csrf1, req: req2, decision: 'allow' });
  assert.equal(cross.status, 403);
  // No token at all, or a cross-site POST: refused.
  assert.equal((await jar.post('/authorize/consent', { req: req1, decision: 'allow' })).status, 403);
  assert.equal((await jar.post('/authorize/consent', { csrf: csrf1, req: req1, decision: 'allow' }, { site: 'cross-site', headers: { origin: 'https://evil.example' } })).status, 403);
  const ok = await jar.post('/authorize/consent', { csrf: csrf1, req: req1, decision: 'allow' });
  assert.equal(ok.status, 303);
  assert.ok(params(ok.location).code);
  // The same POST again: the request is gone, no second code.
  const replay = await jar.post('/authorize/consent', { csrf: csrf1, req: req1, decision: 'allow' });
  assert.equal(replay.status, 400);
  assert.equal(replay.location, null);
  // Remembered: the same scopes now go straight through; more scopes ask again.
  const again = await start(rp, { scope: 'openid email' }, jar);
  assert.equal(again.status, 303);
  assert.ok(params(again.location).code);
  const more = await start(rp, { scope: 'openid email profile' }, jar);
  assert.equal(more.status, 200);
  assert.match(more.text, /action="\/authorize\/consent"/);
  // prompt=consent asks even when covered.
  assert.equal((await start(rp, { scope: 'openid email', prompt: 'consent' }, jar)).status, 200);
  // Deny: access_denied with state and iss.
  const deny = await jar.post('/authorize/consent', { csrf: csrfOf(more.text, '/authorize/consent'), req: /name="req" value="([^"]+)"/.exec(more.text)[1], decision: 'deny' });
  assert.equal(params(deny.location).error, 'access_denied');
  assert.equal(params(deny.location).iss, srv.issuer);
  assert.ok(auditRows(srv).some((e) => e.event === 'consent.grant'));
});

test('OI-03/OI-04: prompt=none answers without UI: login_required, consent_required, or a code when consent exists', async () => {
  const anon = await start(rp, { prompt: 'none', state: 'pn' });
  assert.equal(anon.status, 303);
  assert.equal(params(anon.location).error, 'login_required');
  assert.equal(params(anon.location).state, 'pn');
  assert.equal(params(anon.location).iss, srv.issuer);
  addUser(srv, 'dave@example.com');
  const jar = new Client(srv);
  await jar.login('dave@example.com');
  const nc = await start(rp, { prompt: 'none', scope: 'openid profile' }, jar);
  assert.equal(params(nc.location).error, 'consent_required');
  // First party: no consent needed, silent code.
  const silent = await start(fp, { prompt: 'none' }, jar);
  assert.ok(params(silent.location).code);
});

test('OI-05: prompt=login and max_age force a new sign-in; auth_time follows it', async () => {
  addUser(srv, 'erin@example.com');
  const first = await codeFlow(srv, fp, { email: 'erin@example.com' });
  const t1 = jose.decodeJwt(first.tokens.id_token).auth_time;
  // Signed in: no prompt, no login page.
  const quiet = await start(fp, {}, first.jar);
  assert.ok(params(quiet.location).code);
  // prompt=login: to the sign-in page, even though signed in.
  const pl = await start(fp, { prompt: 'login' }, first.jar);
  assert.match(pl.location, /^\/login\?req=/);
  const page = await first.jar.get(pl.location);
  assert.equal(page.status, 200);
  assert.match(page.text, /name="password"/);
  // Resuming without signing in again does not give a code.
  const req = new URL(pl.location, srv.url).searchParams.get('req');
  const skip = await first.jar.get('/authorize/resume?req=' + req);
  assert.match(skip.location, /^\/login\?req=/);
  await sleep(1100);
  const second = await codeFlow(srv, fp, { email: 'erin@example.com', jar: first.jar, prompt: 'login' });
  const t2 = jose.decodeJwt(second.tokens.id_token).auth_time;
  assert.ok(t2 > t1, 'auth_time is the new sign-in');
  // max_age=0 behaves like prompt=login; max_age=1 after 2 s too.
  assert.match((await start(fp, { maxAge: 0 }, first.jar)).location, /^\/login\?req=/);
  assert.ok(params((await start(fp, { maxAge: 3600 }, first.jar)).location).code);
  await sleep(2100);
  assert.match((await start(fp, { maxAge: 1 }, first.jar)).location, /^\/login\?req=/);
  assert.equal(params((await start(fp, { maxAge: 1, prompt: 'none' }, first.jar)).location).error, 'login_required');
});

test('OI-06: id_token_hint must verify and name the signed-in user', async () => {
  addUser(srv, 'frank@example.com');
  addUser(srv, 'grace@example.com');
  const f = await codeFlow(srv, fp, { email: 'frank@example.com' });
  const g = await codeFlow(srv, fp, { email: 'grace@example.com' });
  // Frank's hint in Grace's browser, silently: login_required.
  const mismatch = await start(fp, { prompt: 'none', idTokenHint: f.tokens.id_token }, g.jar);
  assert.equal(params(mismatch.location).error, 'login_required');
  // Interactive: to the sign-in page, not a code for Grace.
  assert.match((await start(fp, { idTokenHint: f.tokens.id_token }, g.jar)).location, /^\/login\?req=/);
  // The right hint: silent code.
  assert.ok(params((await start(fp, { prompt: 'none', idTokenHint: g.tokens.id_token }, g.jar)).location).code);
  // Forged: alg none, tampered payload, an access token as hint.
  const [h, p, s] = g.tokens.id_token.split('.');
  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url') + '.' + p + '.';
  const pl = JSON.parse(Buffer.from(p, 'base64url'));
  const tampered = h + '.' + Buffer.from(JSON.stringify({ ...pl, sub: 'someone-else' })).toString('base64url') + '.' + s;
  for (const hint of [none, tampered, g.tokens.access_token, 'garbage']) {
    const r = await start(fp, { prompt: 'none', idTokenHint: hint }, g.jar);
    assert.equal(params(r.location).error, 'invalid_request');
  }
});

test('AZ-03: the sign-in page takes only an opaque pending-request id, never a URL', async () => {
  addUser(srv, 'heidi@example.com');
  for (const req of ['https://evil.example/', '//evil.example', '/\\evil.example', 'https:evil.example', '/account']) {
    const jar = new Client(srv);
    const page = await jar.get('/login?req=' + encodeURIComponent(req));
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /name="req"/);
    const r = await jar.post('/login', { csrf: csrfOf(page.text, '/login'), req, email: 'heidi@example.com', password: GOOD_PW });
    assert.equal(r.status, 303);
    assert.equal(r.location, '/account');
  }
});

test('LG: login_hint fills the email field; a wrong password keeps the pending request', async () => {
  const jar = new Client(srv);
  const r = await start(rp, { loginHint: 'alice@example.com' }, jar);
  const page = await jar.get(r.location);
  assert.match(page.text, /value="alice@example.com"/);
  const req = /name="req" value="([^"]+)"/.exec(page.text)[1];
  const bad = await jar.post('/login', { csrf: csrfOf(page.text, '/login'), req, email: 'alice@example.com', password: 'wrong-password-here' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, new RegExp(`name="req" value="${req}"`));
});

test('AZ-01: a pending request whose redirect_uri was unregistered meanwhile gets no redirect', async () => {
  const c = addClient(srv, { name: 'Changing', firstParty: true, redirectUris: ['https://chg.example/cb'] });
  addUser(srv, 'ivan@example.com');
  const jar = new Client(srv);
  const r = await start(c, {}, jar);
  assert.match(r.location, /^\/login\?req=/);
  assert.equal(cliAt(srv, ['client', 'update', '--id', c.client_id, '--redirect-uri', 'https://chg.example/new']).code, 0);
  const page = await jar.get(r.location);
  const req = /name="req" value="([^"]+)"/.exec(page.text)[1];
  const li = await jar.post('/login', { csrf: csrfOf(page.text, '/login'), req, email: 'ivan@example.com', password: GOOD_PW });
  assert.match(li.location, /^\/authorize\/resume\?req=/);
  const res = await jar.get(li.location);
  assert.equal(res.status, 400);
  assert.equal(res.location, null);
});

test('JW-09/OI-01: an ID token alg without a key fails before sign-in; once a key exists, jose verifies EdDSA ID tokens', async () => {
  const s2 = await startServer({ config: { signing_key_activation_delay: '0s', signing_key_refresh: '1s' } });
  try {
    addUser(s2, 'ed@example.com');
    // `client add` now refuses an alg without an active key (issue 11,
    // first_integration.test.mjs); a client registered before that rule
    // can still name one: /authorize must fail before sign-in.
    const c = addClient(s2, { name: 'Ed', firstParty: true, redirectUris: ['https://ed.example/cb'] });
    storeSql(s2, `UPDATE clients SET id_token_signed_response_alg = 'EdDSA' WHERE client_id = '${c.client_id}'`);
    const first = await start(c, {}, new Client(s2));
    assert.equal(first.status, 303);
    assert.equal(params(first.location).error, 'server_error');
    const r = cliAt(s2, ['key', 'rotate', '--alg', 'EdDSA']);
    assert.equal(r.code, 0, r.stderr);
    let f;
    for (let i = 0; i < 30; i++) {
      const a = await authorize(s2, c, { email: 'ed@example.com' });
      if (a.code) {
        const t = await tokenRequest(s2, c, { grant_type: 'authorization_code', code: a.code, redirect_uri: c.redirectUri, code_verifier: a.verifier });
        f = t.json;
        break;
      }
      await sleep(200);
    }
    assert.ok(f?.id_token, 'an ID token once the key is loaded');
    const jwks = jose.createRemoteJWKSet(new URL(s2.url + '/jwks.json'));
    const { payload, protectedHeader } = await jose.jwtVerify(f.id_token, jwks, { issuer: s2.issuer, audience: c.client_id, algorithms: ['EdDSA'] });
    assert.equal(protectedHeader.alg, 'EdDSA');
    const { createHash } = await import('node:crypto');
    assert.equal(payload.at_hash, createHash('sha512').update(f.access_token).digest().subarray(0, 32).toString('base64url'));
  } finally { await stopClean(s2); }
});

test('RT-05: signing in again for an application keeps sign-out effective; switching user ends the old user\'s tokens', async () => {
  addUser(srv, 'judy@example.com');
  addUser(srv, 'kim@example.com');
  const first = await codeFlow(srv, fp, { email: 'judy@example.com', scope: 'openid offline_access' });
  // prompt=login: a new session replaces the old one in this browser.
  const again = await codeFlow(srv, fp, { email: 'judy@example.com', scope: 'openid offline_access', jar: first.jar, prompt: 'login' });
  const out = await first.jar.submit('/account', '/logout', {});
  assert.equal(out.status, 303);
  for (const t of [first.tokens.refresh_token, again.tokens.refresh_token]) {
    const r = await tokenRequest(srv, fp, { grant_type: 'refresh_token', refresh_token: t });
    assert.equal(r.json.error, 'invalid_grant', 'sign-out ends the tokens of the replaced session too');
  }
  // Another user signs in over Judy's session: Judy's tokens from it end.
  const j = await codeFlow(srv, fp, { email: 'judy@example.com', scope: 'openid offline_access' });
  await codeFlow(srv, fp, { email: 'kim@example.com', scope: 'openid', jar: j.jar, prompt: 'login' });
  const r = await tokenRequest(srv, fp, { grant_type: 'refresh_token', refresh_token: j.tokens.refresh_token });
  assert.equal(r.json.error, 'invalid_grant');
});
