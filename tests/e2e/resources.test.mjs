// Resources (issue 14 item 2; RFC 8707, RFC 9068, RFC 7662): the registry
// of APIs that accept our tokens (portcullis resource ...), tokens minted
// for one of them by client_credentials (aud = exactly that resource), and
// what a resource server learns at /introspect. Rows: TX-04, IR-01, IR-02.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, stopClean, TOOLS, toolEnv } from './lib/server.mjs';
import { addUser, auditRows, cliAt } from './lib/web.mjs';
import { addClient as addRp, codeFlow } from './lib/oauth.mjs';

const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com/v1';
let srv, svc, res, other, plain, jwks, userToken;

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const cliJson = (args) => JSON.parse(cli([...args, '--json']));

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

const cc = (c, form) => post('/token', typeof form === 'string' ? form : { grant_type: 'client_credentials', ...form }, auth(c));
const introspect = (c, token) => post('/introspect', { token }, auth(c));

async function resourceToken(c, resource, scope) {
  const r = await cc(c, scope ? { resource, scope } : { resource });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

before(async () => {
  srv = await startServer();
  jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  svc = cliJson(['client', 'add', '--name', 'Service', '--redirect-uri', 'https://svc.example/cb',
    '--grant', 'client_credentials', '--scope', 'orders:read orders:write stock:read']);
  plain = cliJson(['client', 'add', '--name', 'Plain', '--redirect-uri', 'https://plain.example/cb',
    '--grant', 'client_credentials', '--scope', 'orders:read']);
  res = cliJson(['resource', 'add', '--id', API, '--scope', 'orders:read orders:write', '--name', 'Orders API']);
  other = cliJson(['resource', 'add', '--id', OTHER_API, '--scope', 'stock:read orders:read']);
  const rp = addRp(srv, { name: 'RP', redirectUris: ['https://rp.example/cb'] });
  addUser(srv, 'alice@example.com', undefined, ['--verified', '--name', 'Alice']);
  userToken = (await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid' })).tokens.access_token;
});
after(async () => { await stopClean(srv); });

test('resource add: the resource and its server\'s credentials, the secret shown once', async () => {
  assert.equal(res.id, API);
  assert.equal(res.name, 'Orders API');
  assert.deepEqual(res.scopes, ['orders:read', 'orders:write']);
  assert.match(res.client_id, /^pcc_[A-Za-z0-9_-]{22}$/);
  assert.match(res.client_secret, /^pcs_[A-Za-z0-9_-]{43}$/);
  assert.equal(other.name, OTHER_API, 'the name defaults to the URI');
  // show, list: never the secret again.
  const shown = cliJson(['resource', 'show', '--id', API]);
  assert.equal(shown.client_id, res.client_id);
  assert.deepEqual(shown.scopes, res.scopes);
  assert.equal(shown.client_secret, undefined);
  const listed = cliJson(['resource', 'list']);
  assert.deepEqual(listed.map((r) => r.id), [API, OTHER_API]);
  assert.ok(!JSON.stringify(listed).includes('pcs_'));
  // The server's client is confidential and has no grant: it only introspects.
  const c = cliJson(['client', 'show', '--id', res.client_id]);
  assert.equal(c.token_endpoint_auth_method, 'client_secret_basic');
  const r = await cc(res, { scope: 'orders:read' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'unauthorized_client');
  // Audited, never with the secret.
  const rows = auditRows(srv).filter((e) => e.event === 'resource.create');
  assert.deepEqual(rows.map((e) => e.target), [API, OTHER_API]);
  assert.equal(rows[0].details.client_id, res.client_id);
  assert.ok(!JSON.stringify(auditRows(srv)).includes(res.client_secret));
});

test('resource add: refused URIs, scopes and clients create nothing', () => {
  const bad = [
    ['http://api.example.com', /https/],
    ['https://api.example.com/x?y=1', /query/],
    ['https://api.example.com/#frag', /fragment/],
    ['https://user@api.example.com', /userinfo/],
    ['https://API.example.com', /lower-case/],
    ['https://api.example.com/a/../b', /segment/],
    ['api.example.com', /https/],
    ['https://', /host/],
  ];
  const before = cliJson(['client', 'list']).length;
  for (const [uri, why] of bad) {
    const r = cliAt(srv, ['resource', 'add', '--id', uri, '--scope', 'a']);
    assert.equal(r.code, 1, uri);
    assert.match(r.stderr, why, uri);
  }
  for (const scope of ['', 'openid', 'a  b', 'offline_access x']) {
    const r = cliAt(srv, ['resource', 'add', '--id', 'https://s.example', '--scope', scope]);
    assert.equal(r.code, 1, scope);
  }
  // Taken already; a public or unknown client.
  assert.equal(cliAt(srv, ['resource', 'add', '--id', API, '--scope', 'a']).code, 1);
  const pub = cliJson(['client', 'add', '--name', 'SPA', '--redirect-uri', 'https://spa.example/cb', '--public']);
  let r = cliAt(srv, ['resource', 'add', '--id', 'https://p.example', '--scope', 'a', '--client', pub.client_id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /public/);
  r = cliAt(srv, ['resource', 'add', '--id', 'https://p.example', '--scope', 'a', '--client', 'pcc_AAAAAAAAAAAAAAAAAAAAAA']);
  assert.equal(r.code, 1);
  // A client that serves one resource cannot serve another.
  r = cliAt(srv, ['resource', 'add', '--id', 'https://p.example', '--scope', 'a', '--client', res.client_id]);
  assert.equal(r.code, 1);
  assert.equal(cliAt(srv, ['resource', 'show', '--id', 'https://p.example']).code, 1);
  assert.equal(cliJson(['client', 'list']).length, before + 1, 'only the SPA was added');
  // http:// is fine for a loopback host (tests, local development).
  const loop = cliJson(['resource', 'add', '--id', 'http://127.0.0.1:9/api', '--scope', 'x', '--client', plain.client_id]);
  assert.equal(loop.client_id, plain.client_id);
  assert.equal(loop.client_secret, undefined, 'an existing client keeps its secret');
  cli(['resource', 'delete', '--id', 'http://127.0.0.1:9/api']);
});

test('resource delete: gone, audited; its client stays', async () => {
  const tmp = cliJson(['resource', 'add', '--id', 'https://tmp.example', '--scope', 'orders:read']);
  const other2 = cliJson(['resource', 'add', '--id', 'https://tmp2.example', '--scope', 'orders:read']);
  assert.deepEqual(cliJson(['resource', 'delete', '--id', 'https://tmp2.example']),
    { id: 'https://tmp2.example', deleted: true, client_id: other2.client_id });
  const out = cli(['resource', 'delete', '--id', 'https://tmp.example']);
  assert.match(out, /stays/);
  assert.equal(cliAt(srv, ['resource', 'show', '--id', 'https://tmp.example']).code, 1);
  assert.equal(cliAt(srv, ['resource', 'delete', '--id', 'https://tmp.example']).code, 1);
  cliJson(['client', 'show', '--id', tmp.client_id]);
  const row = auditRows(srv).find((e) => e.event === 'resource.delete' && e.target === 'https://tmp.example');
  assert.ok(row);
  assert.equal(row.details.client_id, tmp.client_id);
  // No token is minted for it any more.
  const r = await cc(svc, { resource: 'https://tmp.example' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_target');
});

test('TX-04: client_credentials with a resource: aud is exactly the resource (jose against /jwks.json)', async () => {
  const t = await resourceToken(svc, API, 'orders:read');
  assert.equal(t.token_type, 'Bearer');
  assert.equal(t.scope, 'orders:read');
  assert.equal(t.refresh_token, undefined);
  assert.equal(t.issued_token_type, undefined);
  const { payload, protectedHeader } = await jose.jwtVerify(t.access_token, jwks, {
    issuer: srv.issuer, audience: API, typ: 'at+jwt', algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.aud, API, 'a single string, this resource only');
  assert.equal(payload.client_id, svc.client_id);
  assert.equal(payload.sub, svc.client_id);
  assert.equal(payload.gid, undefined);
  assert.equal(payload.exp - payload.iat, t.expires_in);
  await assert.rejects(jose.jwtVerify(t.access_token, jwks, { issuer: srv.issuer, audience: srv.issuer }));
  await assert.rejects(jose.jwtVerify(t.access_token, jwks, { issuer: srv.issuer, audience: OTHER_API }));
  // The row is durable with the token (AU-01): actor the credential.
  const row = auditRows(srv).find((e) => e.event === 'token.issue' && e.details.jti === payload.jti);
  assert.ok(row, 'token.issue row');
  assert.equal(row.actor, svc.client_id);
  assert.equal(row.details.grant, 'client_credentials');
  assert.equal(row.details.resource, API);
  assert.equal(row.details.scope, 'orders:read');
});

test('TX-04: no scope asked: every scope the client may have that the resource knows', async () => {
  let t = await resourceToken(svc, API);
  assert.equal(t.scope, 'orders:read orders:write');
  t = await resourceToken(svc, OTHER_API);
  assert.deepEqual(t.scope.split(' ').sort(), ['orders:read', 'stock:read']);
  // Without a resource, exactly as before: aud is the issuer.
  const r = await cc(svc, { scope: 'stock:read' });
  assert.equal(r.status, 200, r.text);
  const { payload } = await jose.jwtVerify(r.body.access_token, jwks, { issuer: srv.issuer, audience: srv.issuer });
  assert.equal(payload.aud, srv.issuer);
  assert.equal(r.body.scope, 'stock:read');
});

test('TX-04: an unknown, malformed or repeated resource is invalid_target', async () => {
  const cases = [
    { grant_type: 'client_credentials', resource: 'https://unknown.example' },
    { grant_type: 'client_credentials', resource: API + '/' },
    { grant_type: 'client_credentials', resource: API.toUpperCase() },
    { grant_type: 'client_credentials', resource: API + '#x' },
    { grant_type: 'client_credentials', resource: '' },
  ];
  for (const form of cases) {
    const r = await cc(svc, form);
    assert.equal(r.status, 400, JSON.stringify(form));
    assert.equal(r.body.error, 'invalid_target', JSON.stringify(form));
    assert.equal(r.body.access_token, undefined);
  }
  // Two resources, even the same one twice: one token, one audience.
  for (const body of [
    `grant_type=client_credentials&resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(OTHER_API)}`,
    `grant_type=client_credentials&resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(API)}`,
  ]) {
    const r = await cc(svc, body);
    assert.equal(r.status, 400, body);
    assert.equal(r.body.error, 'invalid_target', body);
  }
});

test('TX-04: a scope outside the resource or the client is invalid_scope; none in common too', async () => {
  for (const [c, scope] of [[svc, 'stock:read'], [svc, 'orders:read stock:read'], [plain, 'orders:write'],
    [svc, 'openid'], [svc, 'offline_access']]) {
    const r = await cc(c, { resource: API, scope });
    assert.equal(r.status, 400, scope);
    assert.equal(r.body.error, 'invalid_scope', scope);
    assert.equal(r.body.access_token, undefined);
  }
  // The plain client may have orders:read only; the resource knows it.
  const t = await resourceToken(plain, API);
  assert.equal(t.scope, 'orders:read');
  const none = cliJson(['client', 'add', '--name', 'None', '--redirect-uri', 'https://n.example/cb',
    '--grant', 'client_credentials', '--scope', 'billing']);
  const r = await cc(none, { resource: API });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_scope');
});

// Signs claims with the server's own key ring (tests/tools/pc-sign).
function sign(claims) {
  const r = spawnSync(join(TOOLS, 'pc-sign'), [srv.dataDir, 'ES256', 'at+jwt'],
    { input: JSON.stringify(claims), encoding: 'utf8', env: toolEnv(srv) });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

function assertInactive(r, what) {
  assert.equal(r.status, 200, what);
  assert.deepEqual(r.body, { active: false }, what);
  assert.equal(r.headers.get('cache-control'), 'no-store', what);
}

async function userinfo(token) {
  const r = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + token } });
  return { status: r.status, challenge: r.headers.get('www-authenticate') ?? '', body: await r.text() };
}

test('TX-04: a token minted for a resource is refused at /userinfo (its audience is the resource, not us)', async () => {
  // The user's own token works; the same grant with aud = a resource, signed
  // by our own key, is refused: /userinfo requires aud = the issuer.
  assert.equal((await userinfo(userToken)).status, 200);
  const forUs = claimsOf(userToken);
  const forApi = sign({ ...forUs, aud: API, jti: forUs.jti + 'x' });
  const u = await userinfo(forApi);
  assert.equal(u.status, 401, u.body);
  assert.match(u.challenge, /error="invalid_token"/);
  assert.match(JSON.parse(u.body).error_description, /invalid, expired or revoked/);
  // And a real client_credentials token for the resource.
  const t = await resourceToken(svc, API, 'orders:read');
  const v = await userinfo(t.access_token);
  assert.equal(v.status, 401);
  assert.match(JSON.parse(v.body).error_description, /invalid, expired or revoked/);
});

test('TX-04, IR-02: the resource\'s client introspects the tokens minted for its resource, whoever got them', async () => {
  const t = await resourceToken(svc, API, 'orders:read');
  const c = claimsOf(t.access_token);
  const r = await introspect(res, t.access_token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.deepEqual(r.body, {
    active: true, scope: 'orders:read', client_id: svc.client_id, sub: svc.client_id,
    token_type: 'Bearer', exp: c.exp, iat: c.iat, iss: srv.issuer, aud: API, jti: c.jti,
  });
  // Another client's tokens for the same resource too.
  const p = await resourceToken(plain, API);
  const rp = await introspect(res, p.access_token);
  assert.equal(rp.body.active, true);
  assert.equal(rp.body.client_id, plain.client_id);
});

test('IR-02, TX-04: a resource learns nothing about tokens for another audience', async () => {
  const forOther = (await resourceToken(svc, OTHER_API)).access_token;
  assertInactive(await introspect(res, forOther), 'another resource\'s token');
  // ... and the other resource sees its own, not ours.
  assert.equal((await introspect(other, forOther)).body.active, true);
  const forApi = (await resourceToken(svc, API)).access_token;
  assertInactive(await introspect(other, forApi), 'the first resource\'s token');
  // Tokens for us: a client's own and a user's.
  const own = await cc(svc, { scope: 'orders:read' });
  assertInactive(await introspect(res, own.body.access_token), 'a token for the issuer');
  assertInactive(await introspect(res, userToken), 'a user\'s token');
  // A forged audience: signed by us, aud = the resource, but an array with another.
  const claims = claimsOf(forApi);
  assertInactive(await introspect(res, sign({ ...claims, aud: [API, OTHER_API] })), 'two audiences');
  // An API key's shape is no token we know.
  assertInactive(await introspect(res, 'pck_sa_0123456789abcdef_' + 'A'.repeat(49)), 'pck_');
});

test('IR-02, TX-04: a plain client cannot see a resource token, not even one it obtained', async () => {
  const forApi = (await resourceToken(svc, API)).access_token;
  assertInactive(await introspect(svc, forApi), 'its own token for a resource');
  assertInactive(await introspect(plain, forApi), 'another client\'s token for a resource');
  // Its own token for us, as before.
  const own = await cc(svc, { scope: 'orders:read' });
  const r = await introspect(svc, own.body.access_token);
  assert.equal(r.body.active, true);
  assert.equal(r.body.aud, srv.issuer);
  assert.equal(r.body.sub, undefined);
});

test('IR-01: a resource\'s client must authenticate; a wrong secret learns nothing', async () => {
  const t = (await resourceToken(svc, API)).access_token;
  const bad = { client_id: res.client_id, client_secret: res.client_secret.slice(0, -2) + (res.client_secret.endsWith('xx') ? 'yy' : 'xx') };
  const r = await introspect(bad, t);
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_client');
  assert.equal(r.body.active, undefined);
  const anon = await post('/introspect', { token: t });
  assert.equal(anon.status, 401);
});

test('TX-04: the client revokes its resource token; the resource sees it dead', async () => {
  const t = (await resourceToken(svc, API)).access_token;
  assert.equal((await introspect(res, t)).body.active, true);
  // Another client cannot revoke it.
  const no = await post('/revoke', { token: t }, auth(plain));
  assert.notEqual(no.status, 200);
  assert.equal((await introspect(res, t)).body.active, true);
  const r = await post('/revoke', { token: t }, auth(svc));
  assert.equal(r.status, 200, r.text);
  assertInactive(await introspect(res, t), 'revoked');
});

test('TX-04: a deleted resource\'s client learns nothing more', async () => {
  const tmp = cliJson(['resource', 'add', '--id', 'https://gone.example', '--scope', 'orders:read']);
  const t = (await resourceToken(svc, 'https://gone.example')).access_token;
  assert.equal((await introspect(tmp, t)).body.active, true);
  cli(['resource', 'delete', '--id', 'https://gone.example']);
  assertInactive(await introspect(tmp, t), 'after delete');
});

test('TX-04, AK-08: a client bound to a service account gets the account\'s token for a resource it may reach', async () => {
  const sa = cliJson(['service-account', 'add', '--name', 'orders-bot', '--scope', 'orders:read stock:read', '--resource', API]);
  const bot = cliJson(['client', 'add', '--name', 'Bot', '--grant', 'client_credentials',
    '--scope', 'orders:read orders:write stock:read', '--service-account', sa.id]);
  // client ∩ account = orders:read stock:read; ∩ the resource's = orders:read.
  const t = await resourceToken(bot, API);
  assert.equal(t.scope, 'orders:read');
  const { payload } = await jose.jwtVerify(t.access_token, jwks, { issuer: srv.issuer, audience: API });
  assert.equal(payload.sub, sa.id);
  assert.equal(payload.client_id, bot.client_id);
  const row = auditRows(srv).find((e) => e.event === 'token.issue' && e.details.jti === payload.jti);
  assert.equal(row.actor, bot.client_id);
  assert.equal(row.target, sa.id);
  assert.equal(row.details.resource, API);
  // The client may have orders:write; the account may not.
  let r = await cc(bot, { resource: API, scope: 'orders:write' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_scope');
  // The account's list names API only: OTHER_API is out of its reach,
  // although it is registered and shares a scope with the account.
  r = await cc(bot, { resource: OTHER_API });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_target');
  // The resource is told whom the token speaks for.
  const i = await introspect(res, t.access_token);
  assert.equal(i.body.active, true);
  assert.equal(i.body.sub, sa.id);
  assert.equal(i.body.client_id, bot.client_id);
  // Disabled: the resource sees the token die at once; no new token.
  cli(['service-account', 'disable', '--id', sa.id]);
  assertInactive(await introspect(res, t.access_token), 'account disabled');
  r = await cc(bot, { resource: API });
  assert.equal(r.status, 400);
  assert.equal(r.body.access_token, undefined);
});

test('IR-02, TX-04: a client bound to a resource learns nothing about its own grants any more', async () => {
  const app = addRp(srv, { name: 'App', redirectUris: ['https://app.example/cb'] });
  const t = (await codeFlow(srv, app, { email: 'alice@example.com', scope: 'openid offline_access' })).tokens;
  assert.ok(t.refresh_token);
  // A plain client: its own tokens, as before.
  assert.equal((await introspect(app, t.access_token)).body.active, true);
  assert.equal((await introspect(app, t.refresh_token)).body.active, true);
  // Bound to a resource, it sees that resource's tokens and nothing else.
  cliJson(['resource', 'add', '--id', 'https://bound.example', '--scope', 'orders:read', '--client', app.client_id]);
  assertInactive(await introspect(app, t.access_token), 'its own access token');
  assertInactive(await introspect(app, t.refresh_token), 'its own refresh token');
  const forIt = (await resourceToken(svc, 'https://bound.example')).access_token;
  assert.equal((await introspect(app, forIt)).body.active, true);
});
