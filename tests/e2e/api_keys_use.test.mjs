// Using API keys (issue 14; SECURITY.md AK-03, AK-04, AK-05, AK-08,
// SS-08): the RFC 8693 exchange at /token (verified with npm jose against
// /jwks.json), a resource server written here that introspects keys and
// answers 403 insufficient_scope, every way a key dies taking effect at
// the next request, and the per-IP limit of failed key authentications.
// Client IPs are named in X-Forwarded-For (trusted_proxies 127.0.0.1) so
// each test's failures count against its own address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as jose from 'jose';
import { crc32 } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stopClean } from './lib/server.mjs';
import { addUser, auditRows, cliAt } from './lib/web.mjs';

const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TT_KEY = 'urn:portcullis:params:oauth:token-type:api_key';
const LIMIT = 4;
let srv, jwks, res, other, sa, user;

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}
const cliJson = (args) => JSON.parse(cli([...args, '--json']));
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// The same key id, another secret, a valid checksum (Part 2.7): a look-alike.
function lookAlike(key) {
  const b = key.slice(0, 25) + 'L'.repeat(43);
  let v = crc32(Buffer.from(b));
  let c = '';
  for (let i = 0; i < 6; i++) { c = B62[v % 62] + c; v = Math.floor(v / 62); }
  return b + c;
}
const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

async function post(path, form, { ip = '192.0.2.1', headers = {} } = {}) {
  const r = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip, ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, body, text };
}

const exchange = (key, extra = {}, opts) => post('/token',
  { grant_type: GRANT, subject_token: key, subject_token_type: TT_KEY, resource: API, ...extra }, opts);
const introspect = (client, token, opts) => post('/introspect', { token },
  { ...opts, headers: { authorization: basic(client.client_id, client.client_secret) } });

function addKey(owner, scope, extra = []) {
  return cliJson(['api-key', 'add', '--owner', owner, '--scope', scope, ...extra]);
}

// The resource server of the test: it takes a key (or token) as a Bearer,
// introspects it with its own credentials and enforces its scopes.
async function startResourceServer(client) {
  const need = { GET: 'orders:read', POST: 'orders:write' };
  const s = http.createServer(async (req, rsp) => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) { rsp.writeHead(401, { 'www-authenticate': 'Bearer' }); rsp.end(); return; }
    const ir = await introspect(client, m[1], { ip: '198.51.100.50' });
    if (ir.status !== 200) { rsp.writeHead(503); rsp.end(); return; }
    if (!ir.body.active) {
      rsp.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      rsp.end();
      return;
    }
    const scopes = ir.body.scope.split(' ');
    if (!scopes.includes(need[req.method])) {
      rsp.writeHead(403, { 'www-authenticate': `Bearer error="insufficient_scope", scope="${need[req.method]}"` });
      rsp.end();
      return;
    }
    rsp.writeHead(200, { 'content-type': 'application/json' });
    rsp.end(JSON.stringify({ sub: ir.body.sub, client_id: ir.body.client_id }));
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${s.address().port}`, close: () => new Promise((r) => s.close(r)) };
}

before(async () => {
  srv = await startServer({ config: { trusted_proxies: '127.0.0.1', api_key_ip_failures: LIMIT, exchange_token_ttl: 120 } });
  jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  res = cliJson(['resource', 'add', '--id', API, '--scope', 'orders:read orders:write']);
  other = cliJson(['resource', 'add', '--id', OTHER_API, '--scope', 'billing:read']);
  user = addUser(srv, 'keyuser@example.com');
  sa = cliJson(['service-account', 'add', '--name', 'orders-bot', '--owner', user.id, '--scope', 'orders:read orders:write billing:read']);
});
after(async () => { await stopClean(srv); });

test('AK-08: a key exchanged for a 2-minute token for one resource; jose verifies its aud against /jwks.json', async () => {
  const k = addKey(sa.id, 'orders:read orders:write', ['--resource', API]);
  const r = await exchange(k.key, { scope: 'orders:read' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.expires_in, 120);
  assert.equal(r.body.scope, 'orders:read');
  assert.equal(r.body.refresh_token, undefined);
  const { payload } = await jose.jwtVerify(r.body.access_token, jwks, { issuer: srv.issuer, audience: API });
  assert.equal(payload.sub, sa.id);
  assert.equal(payload.client_id, k.id);
  assert.equal(payload.scope, 'orders:read');
  assert.ok(payload.exp - payload.iat === 120);
  await assert.rejects(jose.jwtVerify(r.body.access_token, jwks, { issuer: srv.issuer, audience: OTHER_API }));
  // No scope asked: all the key may use there.
  const all = await post('/token', { grant_type: GRANT, subject_token: k.key, subject_token_type: TT_KEY, audience: API });
  assert.equal(all.status, 200, all.text);
  assert.equal(all.body.scope, 'orders:read orders:write');
  const ev = auditRows(srv).filter((e) => e.event === 'token.issue' && e.actor === k.id);
  assert.equal(ev.length, 2);
  assert.equal(ev[0].target, sa.id);
  assert.ok(auditRows(srv).some((e) => e.event === 'api_key.use' && e.actor === k.id && e.outcome === 'success'));
});

test('AK-04/AK-08: the exchange names one registered resource, the key\'s own, within its scopes', async () => {
  const k = addKey(sa.id, 'orders:read', ['--resource', API]);
  const free = addKey(sa.id, 'orders:read billing:read');
  const body = { grant_type: GRANT, subject_token: k.key, subject_token_type: TT_KEY };
  assert.equal((await post('/token', body)).body.error, 'invalid_target');
  assert.equal((await exchange(k.key, { resource: 'https://unknown.example' })).body.error, 'invalid_target');
  assert.equal((await exchange(k.key, { resource: OTHER_API })).body.error, 'invalid_target');
  assert.equal((await exchange(k.key, { scope: 'orders:write' })).body.error, 'invalid_scope');
  assert.equal((await exchange(free.key, { resource: OTHER_API })).body.scope, 'billing:read');
  assert.equal((await exchange(free.key)).body.scope, 'orders:read');
  // A self-authenticating subject token with client credentials: ambiguous.
  const c = await post('/token', { ...body, resource: API }, { headers: { authorization: basic(res.client_id, res.client_secret) } });
  assert.equal(c.status, 400);
  assert.equal(c.body.error, 'invalid_request');
  assert.equal((await post('/token', { ...body, resource: API, client_id: res.client_id })).body.error, 'invalid_request');
  // The other subject token types.
  // An access-token subject is delegation (issue 15): the client that
  // acts must authenticate, and a key is no access token.
  const d = await post('/token', { ...body, resource: API, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
  assert.equal(d.status, 401);
  assert.equal(d.body.error, 'invalid_client');
  const d2 = await post('/token', { ...body, resource: API, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' },
    { headers: { authorization: basic(res.client_id, res.client_secret) } });
  assert.equal(d2.status, 400);
  assert.equal(d2.body.error, 'invalid_grant');
  assert.equal((await post('/token', { ...body, resource: API, subject_token_type: 'urn:x:y' })).body.error, 'invalid_request');
});

test('AK-03: a malformed, checksum-failing, unknown or revoked key: the same 400 invalid_grant', async () => {
  const ip = '192.0.2.30';
  const k = addKey(sa.id, 'orders:read');
  const rv = addKey(sa.id, 'orders:read');
  cli(['api-key', 'revoke', '--id', rv.id]);
  const broken = k.key.slice(0, -1) + (k.key.at(-1) === 'a' ? 'b' : 'a');
  const unknown = k.key.slice(0, 25) + 'Z'.repeat(43);
  const bodies = [];
  for (const bad of ['pck_sa_short', broken, 'x'.repeat(300), rv.key, lookAlike(k.key)]) {
    const r = await exchange(bad, {}, { ip });
    assert.equal(r.status, 400);
    bodies.push(r.text);
  }
  assert.equal(new Set(bodies).size, 1, 'every refusal looks the same');
  assert.equal(JSON.parse(bodies[0]).error, 'invalid_grant');
  // An unknown secret under a real key id (a wrong checksum as well).
  assert.equal((await exchange(unknown, {}, { ip })).text, bodies[0]);
  // The log names at most the key id, never a secret.
  assert.ok(!srv.rawLogs().includes(k.key.slice(25)));
  assert.ok(!srv.rawLogs().includes(rv.key.slice(25)));
});

test('AK-05/SS-08: revocation, expiry and a dead owner take effect at the next request, exchanged tokens with them', async () => {
  const k = addKey(sa.id, 'orders:read', ['--resource', API]);
  const t = (await exchange(k.key)).body.access_token;
  assert.equal((await introspect(res, t)).body.active, true);
  cli(['api-key', 'revoke', '--id', k.id]);
  assert.equal((await exchange(k.key)).status, 400);
  assert.equal((await introspect(res, t)).body.active, false, 'the token dies with its key');
  // Expiry.
  const short = addKey(sa.id, 'orders:read', ['--expires', '2']);
  assert.equal((await exchange(short.key)).status, 200);
  await sleep(2100);
  assert.equal((await exchange(short.key)).status, 400);
  // The service account disabled: its keys and their tokens, at once.
  const bot = cliJson(['service-account', 'add', '--name', 'tmp-bot', '--scope', 'orders:read']);
  const bk = addKey(bot.id, 'orders:read');
  const bt = (await exchange(bk.key)).body.access_token;
  cli(['service-account', 'disable', '--id', bot.id]);
  assert.equal((await exchange(bk.key)).status, 400);
  assert.equal((await introspect(res, bt)).body.active, false);
  cli(['service-account', 'enable', '--id', bot.id]);
  assert.equal((await exchange(bk.key, {}, { ip: '192.0.2.71' })).status, 400, 'enabled again: the disable revoked the key for good');
  assert.equal(cliJson(['api-key', 'show', '--id', bk.id]).revoke_reason, 'owner disabled');
  const bk2 = addKey(bot.id, 'orders:read');
  assert.equal((await exchange(bk2.key)).status, 200, 'a new key works once enabled');
  // A personal key of a user who is then disabled.
  const u = addUser(srv, 'gone@example.com');
  const uk = addKey(u.id, 'orders:read');
  assert.equal((await exchange(uk.key)).status, 200);
  cli(['user', 'disable', '--id', u.id]);
  assert.equal((await exchange(uk.key)).status, 400);
  cli(['user', 'enable', '--id', u.id]);
  assert.equal((await exchange(uk.key, {}, { ip: '192.0.2.72' })).status, 400, 'SS-08: enabling the user does not revive the key');
  assert.equal(cliJson(['api-key', 'show', '--id', uk.id]).revoke_reason, 'owner disabled');
  // Deleting the account revokes its keys' rows.
  cli(['service-account', 'delete', '--id', bot.id]);
  assert.equal(cliJson(['api-key', 'show', '--id', bk2.id]).revoke_reason, 'owner deleted');
});

test('AK-04: a resource server that introspects keys answers 403 insufficient_scope outside them', async () => {
  const rs = await startResourceServer(res);
  try {
    const k = addKey(sa.id, 'orders:read');
    const get = (key, method = 'GET') => fetch(rs.url + '/orders', { method, headers: { authorization: `Bearer ${key}` } });
    let r = await get(k.key);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { sub: sa.id, client_id: k.id });
    r = await get(k.key, 'POST');
    assert.equal(r.status, 403);
    assert.match(r.headers.get('www-authenticate'), /insufficient_scope/);
    // A key confined to another resource, or with no scope here: inactive.
    const elsewhere = addKey(sa.id, 'billing:read', ['--resource', OTHER_API]);
    assert.equal((await get(elsewhere.key)).status, 401);
    const billing = addKey(sa.id, 'billing:read');
    assert.equal((await get(billing.key)).status, 401);
    // Only the resource's own client learns about keys: a plain client,
    // or another resource's, gets inactive.
    assert.equal((await introspect(other, k.key)).body.active, false);
    const ir = (await introspect(res, k.key)).body;
    assert.equal(ir.active, true);
    assert.equal(ir.scope, 'orders:read');
    assert.equal(ir.aud, API);
    assert.equal(ir.exp, cliJson(['api-key', 'show', '--id', k.id]).expires_at);
    // Revoked: the next request.
    cli(['api-key', 'revoke', '--id', k.id]);
    assert.equal((await get(k.key)).status, 401);
    // A stranger's bad keys never lock the resource server out: its
    // introspections are not counted against its address.
    const good = addKey(sa.id, 'orders:read');
    for (let i = 0; i < LIMIT + 2; i++) {
      const junk = good.key.slice(0, 25) + String(i).padStart(43, 'Q');
      assert.equal((await get(junk)).status, 401);
      assert.equal((await get(k.key)).status, 401);
    }
    assert.equal((await get(good.key)).status, 200);
  } finally { await rs.close(); }
});

test('AK-03: failed key authentications are limited per IP (429), failures only, never per key', async () => {
  const attacker = '203.0.113.66';
  const k = addKey(sa.id, 'orders:read');
  // Successes and malformed keys do not count.
  for (let i = 0; i < LIMIT + 1; i++) {
    assert.equal((await exchange(k.key, {}, { ip: attacker })).status, 200);
    assert.equal((await exchange('pck_sa_nonsense', {}, { ip: attacker })).status, 400);
  }
  // Well-formed wrong keys (a valid checksum, as an online guesser
  // would send): LIMIT of them, then 429, even for a good key.
  const rv = addKey(sa.id, 'orders:read');
  cli(['api-key', 'revoke', '--id', rv.id]);
  for (let i = 0; i < LIMIT; i++) assert.equal((await exchange(rv.key, {}, { ip: attacker })).status, 400);
  const held = await exchange(k.key, {}, { ip: attacker });
  assert.equal(held.status, 429);
  assert.ok(Number(held.headers.get('retry-after')) > 0);
  // The key itself is not locked: from anywhere else it works.
  assert.equal((await exchange(k.key, {}, { ip: '198.51.100.9' })).status, 200);
});
