// Token exchange with an access token as subject (RFC 8693; issue 15;
// src/oauth/exchange_deleg.c, deleg_policy.c, the chain checks of
// bearer.c), attacked: TX-01 (act records who acts; impersonation only by
// policy), TX-02 (only the party the token or the user's grant names may
// exchange it), TX-03 (scope, lifetime and depth never grow; revoking
// upstream kills everything downstream), TX-04 (one resource per token,
// a token for one refused by another), TX-05 (ID tokens, refresh tokens,
// forged, revoked and mistyped subjects), TX-07 (the audit answers what
// an agent got for whom). npm jose and openid-client verify act and aud.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { addUser, auditRows, cliAt } from './lib/web.mjs';
import { addClient, authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TT_AT = 'urn:ietf:params:oauth:token-type:access_token';
const API = 'https://api.example/';
const MAIL = 'https://mail.example/';
const SCOPES = 'openid read write mail.send offline_access';

let srv, jwks, alice, bob, api, mail, agentA, agentB, plain;

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
const basic = (c) => ({ authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64') });

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function post(path, form, headers = {}) {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body, text };
}

// actor exchanges subject for params (resource, audience, scope, ...).
function exchange(actor, subject, params = {}) {
  return tokenRequest(srv, actor, { grant_type: GRANT, subject_token: subject, subject_token_type: TT_AT, ...params });
}

async function exchangeOk(actor, subject, params) {
  const r = await exchange(actor, subject, params);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

// The user's grant to client: a code flow; its access, refresh and ID token.
async function grant(client, email = 'alice@example.com', scope = 'openid read write mail.send offline_access') {
  return (await codeFlow(srv, client, { email, scope })).tokens;
}

const introspect = (res, token) => post('/introspect', { token }, basic(res));

before(async () => {
  srv = await startServer({ config: { exchange_token_ttl: '1h', login_delay_free: 50, login_ip_failures: 100000 } });
  jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  alice = addUser(srv, 'alice@example.com');
  bob = addUser(srv, 'bob@example.com');
  api = JSON.parse(cli(['resource', 'add', '--id', API, '--scope', 'read write admin', '--json']));
  mail = JSON.parse(cli(['resource', 'add', '--id', MAIL, '--scope', 'read mail.send', '--json']));
  agentA = addClient(srv, { name: 'Agent A', redirectUris: ['https://a.example/cb'], scope: SCOPES });
  agentB = addClient(srv, { name: 'Agent B', redirectUris: ['https://b.example/cb'], scope: SCOPES });
  plain = addClient(srv, { name: 'Plain', redirectUris: ['https://plain.example/cb'], scope: SCOPES,
    grants: 'authorization_code,refresh_token,client_credentials' });
});
after(async () => { await stopClean(srv); });

test('TX-01: the user grant exchanged by its client: sub the user, act the client, aud the resource; jose verifies', async () => {
  const t = await grant(agentA);
  const r = await exchangeOk(agentA, t.access_token, { resource: API, scope: 'read' });
  assert.equal(r.issued_token_type, TT_AT);
  assert.equal(r.token_type, 'Bearer');
  assert.equal(r.scope, 'read');
  assert.equal(r.refresh_token, undefined, 'an exchange issues no refresh token');
  const { payload, protectedHeader } = await jose.jwtVerify(r.access_token, jwks, {
    issuer: srv.issuer, audience: API, typ: 'at+jwt', algorithms: ['ES256'] });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sub, alice.id);
  assert.equal(payload.client_id, agentA.client_id);
  assert.deepEqual(payload.act, { sub: agentA.client_id });
  assert.equal(payload.may_act, undefined);
  assert.equal(payload.gid, claims(t.access_token).gid, 'the root grant');
  assert.equal(payload.aud, API);
  // The resource server sees the chain on introspection.
  const i = await introspect(api, r.access_token);
  assert.equal(i.body.active, true);
  assert.equal(i.body.sub, alice.id);
  assert.equal(i.body.aud, API);
  assert.deepEqual(i.body.act, { sub: agentA.client_id });
  // The grant's last use (the account page shows it).
  const used = Number(storeSql(srv, `SELECT last_used_at FROM token_families WHERE family_id = '${payload.gid}'`));
  assert.ok(used >= payload.iat, `last_used_at ${used}`);
  // Without scope: everything the subject, the client and the resource share.
  const all = await exchangeOk(agentA, t.access_token, { resource: API });
  assert.equal(all.scope, 'read write');
});

test('TX-01: impersonation (no act) is refused to a client the policy does not allow it', async () => {
  const t = await grant(agentA);
  const r = await exchange(agentA, t.access_token, { resource: API, impersonate: 'true' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'unauthorized_client');
  const bad = await exchange(agentA, t.access_token, { resource: API, impersonate: 'yes' });
  assert.equal(bad.json.error, 'invalid_request');
});

test('TX-01: a client the operator allowed to impersonate gets a token without act; the audit still names it', async () => {
  const imp = addClient(srv, { name: 'Legacy gateway', redirectUris: ['https://gw.example/cb'], scope: SCOPES,
    extra: ['--allow-impersonation'] });
  assert.equal(JSON.parse(cli(['client', 'show', '--id', imp.client_id, '--json'])).allow_impersonation, true);
  const t = await grant(imp);
  const r = await exchangeOk(imp, t.access_token, { resource: API, impersonate: 'true' });
  const c = claims(r.access_token);
  assert.equal(c.act, undefined);
  assert.equal(c.sub, alice.id);
  assert.equal(c.client_id, imp.client_id);
  assert.equal((await introspect(api, r.access_token)).body.active, true);
  const row = auditRows(srv, 20).reverse().find((e) => e.event === 'token.exchange' && e.actor === imp.client_id);
  assert.equal(row.details.impersonation, true);
  assert.deepEqual(row.details.chain, [imp.client_id]);
  // Taken back: refused again.
  cli(['client', 'update', '--id', imp.client_id, '--no-allow-impersonation']);
  assert.equal((await exchange(imp, t.access_token, { resource: API, impersonate: 'true' })).json.error, 'unauthorized_client');
});

test('TX-02: another client cannot exchange a token it holds (no may_act, not its grant)', async () => {
  const t = await grant(agentA);
  for (const thief of [agentB, plain]) {
    const r = await exchange(thief, t.access_token, { resource: API });
    assert.equal(r.status, 400, thief.name);
    assert.equal(r.json.error, 'invalid_grant');
  }
  // The holder's exchanged token (act) is no grant to exchange again.
  const once = await exchangeOk(agentA, t.access_token, { resource: API });
  const again = await exchange(agentA, once.access_token, { resource: MAIL });
  assert.equal(again.json.error, 'invalid_grant');
  // Nor is a client's own token a user's grant.
  const cc = await tokenRequest(srv, plain, { grant_type: 'client_credentials', scope: 'read' });
  assert.equal(cc.status, 200);
  const own = await exchange(plain, cc.json.access_token, { resource: API });
  assert.equal(own.json.error, 'invalid_grant');
  // And no exchange without the actor authenticating.
  const anon = await post('/token', { grant_type: GRANT, subject_token: t.access_token, subject_token_type: TT_AT, resource: API });
  assert.equal(anon.status, 401);
  assert.equal(anon.body.error, 'invalid_client');
  const wrongSecret = await post('/token', { grant_type: GRANT, subject_token: t.access_token, subject_token_type: TT_AT, resource: API },
    basic({ ...agentA, client_secret: agentA.client_secret.slice(0, -1) + 'x' }));
  assert.equal(wrongSecret.status, 401);
});

test('TX-03: the scope never grows: not beyond the subject, the client or the resource', async () => {
  const narrow = await grant(agentA, 'alice@example.com', 'openid read');
  const up = await exchange(agentA, narrow.access_token, { resource: API, scope: 'read write' });
  assert.equal(up.status, 400);
  assert.equal(up.json.error, 'invalid_scope');
  assert.match(up.json.error_description, /'write'/);
  const admin = await exchange(agentA, narrow.access_token, { resource: API, scope: 'admin' });
  assert.equal(admin.json.error, 'invalid_scope');
  const other = await exchange(agentA, narrow.access_token, { resource: MAIL, scope: 'mail.send' });
  assert.equal(other.json.error, 'invalid_scope');
  const offline = await exchange(agentA, (await grant(agentA)).access_token, { resource: API, scope: 'offline_access' });
  assert.equal(offline.json.error, 'invalid_scope');
  assert.equal((await exchangeOk(agentA, narrow.access_token, { resource: API })).scope, 'read');
});

test('TX-03: the lifetime never extends beyond the subject token (exchange_token_ttl 1 h, access tokens less)', async () => {
  const t = await grant(agentA);
  const sub = claims(t.access_token);
  const r = await exchangeOk(agentA, t.access_token, { resource: API });
  const c = claims(r.access_token);
  assert.ok(c.exp <= sub.exp, `exp ${c.exp} <= subject exp ${sub.exp}`);
  assert.ok(r.expires_in <= sub.exp - c.iat);
});

test('TX-04: exactly one registered resource; a token for one is refused by the other', async () => {
  const t = await grant(agentA);
  const r = await exchangeOk(agentA, t.access_token, { resource: MAIL, scope: 'mail.send' });
  assert.equal(claims(r.access_token).aud, MAIL);
  // The other resource's server, offline and by introspection.
  await assert.rejects(jose.jwtVerify(r.access_token, jwks, { issuer: srv.issuer, audience: API }));
  assert.deepEqual((await introspect(api, r.access_token)).body, { active: false });
  assert.equal((await introspect(mail, r.access_token)).body.active, true);
  // Nor is it good at our own endpoints.
  const ui = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + r.access_token } });
  assert.equal(ui.status, 401);
  for (const p of [{}, { resource: 'https://unknown.example/' }, { audience: 'https://unknown.example/' },
    { resource: API, audience: MAIL }, { audience: 'not a uri' }, { audience: agentB.client_id }]) {
    const x = await exchange(agentA, t.access_token, p);
    assert.equal(x.status, 400, JSON.stringify(p));
    assert.equal(x.json.error, 'invalid_target', JSON.stringify(p));
  }
  // Repeated: one audience per token.
  const twice = await post('/token', `grant_type=${encodeURIComponent(GRANT)}&subject_token_type=${encodeURIComponent(TT_AT)}` +
    `&subject_token=${t.access_token}&resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(MAIL)}`, basic(agentA));
  assert.equal(twice.body.error, 'invalid_target');
  // audience may name a resource too.
  assert.equal(claims((await exchangeOk(agentA, t.access_token, { audience: API })).access_token).aud, API);
});

test('TX-05: ID tokens, refresh tokens, forged, revoked and mistyped subject tokens are refused', async () => {
  const t = await grant(agentA);
  const cases = [
    ['an ID token as access token', { subject_token: t.id_token }],
    ['a refresh token as access token', { subject_token: t.refresh_token }],
    ['a forged signature', { subject_token: t.access_token.slice(0, -4) + (t.access_token.endsWith('AAAA') ? 'BBBB' : 'AAAA') }],
    ['garbage', { subject_token: 'x' }],
  ];
  for (const [what, p] of cases) {
    const r = await exchange(agentA, p.subject_token, { resource: API });
    assert.equal(r.status, 400, what);
    assert.equal(r.json.error, 'invalid_grant', what);
  }
  for (const type of ['urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:refresh_token',
    'urn:ietf:params:oauth:token-type:saml2']) {
    const r = await exchange(agentA, t.id_token, { resource: API, subject_token_type: type });
    assert.equal(r.status, 400, type);
    assert.equal(r.json.error, 'invalid_request', type);
  }
  // An access token sent as another type is that type's (and fails).
  const jwt = await exchange(agentA, t.access_token, { resource: API, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' });
  assert.equal(jwt.status, 400);
  const rt = await exchange(agentA, t.access_token, { resource: API, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' });
  assert.equal(rt.json.error, 'invalid_request');
  // Revoked at /revoke: dead as a subject too.
  const rv = await post('/revoke', { token: t.access_token }, basic(agentA));
  assert.equal(rv.status, 200);
  assert.equal((await exchange(agentA, t.access_token, { resource: API })).json.error, 'invalid_grant');
});

test('TX-05: an actor token is verified: only the actor\'s own live token for us', async () => {
  const t = await grant(plain);
  const own = await tokenRequest(srv, plain, { grant_type: 'client_credentials', scope: 'read' });
  const ok = await exchange(plain, t.access_token, { resource: API, actor_token: own.json.access_token, actor_token_type: TT_AT });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  const other = await grant(agentB);
  for (const [what, p] of [
    ['a user token as actor token', { actor_token: other.access_token, actor_token_type: TT_AT }],
    ['the subject itself', { actor_token: t.access_token, actor_token_type: TT_AT }],
    ['garbage', { actor_token: 'x', actor_token_type: TT_AT }],
  ]) {
    const r = await exchange(plain, t.access_token, { resource: API, ...p });
    assert.equal(r.status, 400, what);
    assert.equal(r.json.error, 'invalid_grant', what);
  }
  for (const p of [{ actor_token: own.json.access_token }, { actor_token_type: TT_AT },
    { actor_token: own.json.access_token, actor_token_type: 'urn:ietf:params:oauth:token-type:id_token' }]) {
    const r = await exchange(plain, t.access_token, { resource: API, ...p });
    assert.equal(r.json.error, 'invalid_request', JSON.stringify(Object.keys(p)));
  }
});

test('TX-03: revoking the user\'s grant kills every token derived from it at the next request', async () => {
  const t = await grant(agentA);
  const x = await exchangeOk(agentA, t.access_token, { resource: API });
  assert.equal((await introspect(api, x.access_token)).body.active, true);
  // The client revokes its refresh token: the grant (family) goes.
  assert.equal((await post('/revoke', { token: t.refresh_token }, basic(agentA))).status, 200);
  assert.deepEqual((await introspect(api, x.access_token)).body, { active: false });
  assert.equal((await exchange(agentA, t.access_token, { resource: API })).json.error, 'invalid_grant');
});

test('TX-07: every exchange is a durable token.exchange row naming the chain; audit query --principal answers', async () => {
  const t = await grant(agentB, 'bob@example.com');
  const x = await exchangeOk(agentB, t.access_token, { resource: MAIL, scope: 'mail.send' });
  const row = auditRows(srv, 50).reverse().find((e) => e.event === 'token.exchange' && e.outcome === 'success' && e.actor === agentB.client_id);
  assert.ok(row, 'token.exchange row');
  assert.equal(row.target, bob.id);
  assert.deepEqual(row.details.chain, [agentB.client_id]);
  assert.equal(row.details.resource, MAIL);
  assert.equal(row.details.scope, 'mail.send');
  assert.equal(row.details.jti, claims(x.access_token).jti);
  assert.equal(row.details.subject_jti, claims(t.access_token).jti);
  assert.ok(!JSON.stringify(row).includes(x.access_token.split('.')[2]), 'no token in the log');
  // What did agent B get, on behalf of whom, for which resource?
  const q = cliAt(srv, ['audit', 'query', '--principal', agentB.client_id, '--json']);
  assert.equal(q.code, 0, q.stderr);
  const rows = q.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const ex = rows.filter((e) => e.event === 'token.exchange');
  assert.ok(ex.some((e) => e.target === bob.id && e.details.resource === MAIL && e.details.scope === 'mail.send'));
  assert.ok(!rows.some((e) => e.event === 'token.exchange' && e.actor !== agentB.client_id && e.target !== agentB.client_id));
  // A refused exchange is a failure row.
  await exchange(agentA, t.access_token, { resource: MAIL });
  assert.ok(auditRows(srv, 20).some((e) => e.event === 'token.exchange' && e.outcome === 'failure' && e.actor === agentA.client_id));
});

test('openid-client: a token exchange through genericGrantRequest; jose verifies act and aud', async () => {
  const t = await grant(agentA);
  const config = await oidc.discovery(new URL(srv.issuer), agentA.client_id, agentA.client_secret,
    oidc.ClientSecretBasic(agentA.client_secret), { execute: [oidc.allowInsecureRequests] });
  const r = await oidc.genericGrantRequest(config, GRANT, {
    subject_token: t.access_token, subject_token_type: TT_AT, resource: MAIL, scope: 'read' });
  assert.equal(r.issued_token_type, TT_AT);
  assert.equal(r.token_type.toLowerCase(), 'bearer');
  const { payload } = await jose.jwtVerify(r.access_token, jwks, { issuer: srv.issuer, audience: MAIL, typ: 'at+jwt' });
  assert.deepEqual(payload.act, { sub: agentA.client_id });
  assert.equal(payload.sub, alice.id);
});

// A DPoP proof (RFC 9449 §4.2) for POST /token with key (a jose key pair).
async function dpopProof(key, { htu = srv.issuer + '/token', htm = 'POST', iat = Math.floor(Date.now() / 1000) } = {}) {
  const jwk = await jose.exportJWK(key.publicKey);
  return new jose.SignJWT({ jti: randomUUID(), htm, htu, iat })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .sign(key.privateKey);
}

test('TX-06: a DPoP proof binds the exchanged token to its key (cnf.jkt, token_type DPoP); a bad proof gets nothing', async () => {
  const t = await grant(agentA);
  const key = await jose.generateKeyPair('ES256');
  const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(key.publicKey));
  const form = { grant_type: GRANT, subject_token: t.access_token, subject_token_type: TT_AT, resource: API };
  const r = await post('/token', form, { ...basic(agentA), dpop: await dpopProof(key) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.token_type, 'DPoP');
  const c = claims(r.body.access_token);
  assert.deepEqual(c.cnf, { jkt });
  assert.deepEqual(c.act, { sub: agentA.client_id });
  // Without a proof: a bearer token, as before.
  const plainR = await post('/token', form, basic(agentA));
  assert.equal(plainR.body.token_type, 'Bearer');
  assert.equal(claims(plainR.body.access_token).cnf, undefined);
  // A proof for another URL, or signed by another key than its jwk says.
  const other = await jose.generateKeyPair('ES256');
  const forged = (await dpopProof(key)).split('.');
  const foreign = (await dpopProof(other)).split('.');
  for (const [what, proof] of [
    ['htu of another endpoint', await dpopProof(key, { htu: srv.issuer + '/userinfo' })],
    ['iat an hour ago', await dpopProof(key, { iat: Math.floor(Date.now() / 1000) - 3600 })],
    ['signature of another key', `${forged[0]}.${forged[1]}.${foreign[2]}`],
  ]) {
    const x = await post('/token', form, { ...basic(agentA), dpop: proof });
    assert.equal(x.status, 400, what);
    assert.equal(x.body.error, 'invalid_dpop_proof', what);
    assert.equal(x.body.access_token, undefined, what);
  }
  // A proof replayed.
  const once = await dpopProof(key);
  assert.equal((await post('/token', form, { ...basic(agentA), dpop: once })).status, 200);
  assert.equal((await post('/token', form, { ...basic(agentA), dpop: once })).body.error, 'invalid_dpop_proof');
});

test('TX-06: a DPoP-bound subject is exchanged only with a proof of its own key; a thief gets nothing unbound', async () => {
  const key = await jose.generateKeyPair('ES256');
  const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(key.publicKey));
  const a = await authorize(srv, agentA, { email: 'alice@example.com', scope: 'openid read offline_access' });
  const tr = await post('/token', { grant_type: 'authorization_code', code: a.code, redirect_uri: agentA.redirectUri,
    code_verifier: a.verifier }, { ...basic(agentA), dpop: await dpopProof(key) });
  assert.equal(tr.status, 200, tr.text);
  assert.equal(tr.body.token_type, 'DPoP');
  const bound = tr.body.access_token;
  assert.deepEqual(claims(bound).cnf, { jkt });
  const form = { grant_type: GRANT, subject_token: bound, subject_token_type: TT_AT, resource: API };
  // Without a proof (the thief has the token, not the key).
  const none = await post('/token', form, basic(agentA));
  assert.equal(none.status, 400);
  assert.equal(none.body.error, 'invalid_dpop_proof');
  // With the thief's own key.
  const thief = await jose.generateKeyPair('ES256');
  const other = await post('/token', form, { ...basic(agentA), dpop: await dpopProof(thief) });
  assert.equal(other.status, 400);
  assert.equal(other.body.error, 'invalid_grant');
  assert.equal(other.body.access_token, undefined);
  // The key's holder: a token bound to the same key.
  const ok = await post('/token', form, { ...basic(agentA), dpop: await dpopProof(key) });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.token_type, 'DPoP');
  assert.deepEqual(claims(ok.body.access_token).cnf, { jkt });
});

test('TX-06: a resource or client that requires DPoP gets no exchanged token without a proof', async () => {
  const strict = JSON.parse(cli(['resource', 'add', '--id', 'https://strict.example/', '--scope', 'read', '--dpop-required', '--json']));
  assert.ok(strict.id);
  const t = await grant(agentA);
  const r = await exchange(agentA, t.access_token, { resource: 'https://strict.example/' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_dpop_proof');
  const key = await jose.generateKeyPair('ES256');
  const ok = await post('/token', { grant_type: GRANT, subject_token: t.access_token, subject_token_type: TT_AT,
    resource: 'https://strict.example/' }, { ...basic(agentA), dpop: await dpopProof(key) });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.token_type, 'DPoP');
  const c = addClient(srv, { name: 'Strict client', redirectUris: ['https://strict-client.example/cb'], scope: SCOPES,
    extra: ['--dpop-required'] });
  const ct = await codeFlowDpop(c, key);
  const cr = await exchange(c, ct, { resource: API });
  assert.equal(cr.json.error, 'invalid_dpop_proof');
});

// A code flow whose /token request carries a proof of key (for clients that
// must use DPoP): the bound access token.
async function codeFlowDpop(client, key) {
  const a = await authorize(srv, client, { email: 'alice@example.com', scope: 'openid read offline_access' });
  const tr = await post('/token', { grant_type: 'authorization_code', code: a.code, redirect_uri: client.redirectUri,
    code_verifier: a.verifier }, { ...basic(client), dpop: await dpopProof(key) });
  assert.equal(tr.status, 200, tr.text);
  return tr.body.access_token;
}

