// Two Portcullis nodes on one PostgreSQL (issue 5, "Two nodes"): every
// guarantee that one node gives must hold when a client's requests are
// spread over both. Each test would fail if a node kept the state in its
// own memory: a session, a used refresh token or code, a failure counter,
// a replayed assertion jti, a consent or a signing key.
//
// The nodes share the store_url and the master key (startServer copies one
// template data dir per test process, so both hold the same master.key),
// and have one issuer, as behind one load balancer. Nothing listens on the
// issuer's port; each node accepts its own address through allowed_hosts,
// since a request whose Host is neither the issuer's authority nor an
// allowed host is refused with 400 "Unknown Host" (HT-04).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { freePort, parseRaw, rawRequest, startServer, stopClean, tempDir } from './lib/server.mjs';
import { startCluster, createDatabase, psql } from './lib/pg.mjs';
import { Client, GOOD_PW, addUser, auditRows, cliAt, csrfOf } from './lib/web.mjs';
import { addClient, authorize, authorizeParams, codeFlow, pkce, tokenRequest } from './lib/oauth.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WRONG = 'not-the-password-at-all';
const REFRESH = 2; // signing_key_refresh, seconds
const ACTIVATION = 6; // signing_key_activation_delay, seconds

let cluster, store, A, B, issuer, rp, spa;

// The same browser, now talking to another node (as a load balancer
// without sticky sessions would send it).
function via(jar, node) {
  jar.srv = node;
  jar.base = node.url;
  return jar;
}

const userinfo = (node, at) => fetch(node.url + '/userinfo', { headers: { authorization: 'Bearer ' + at } });
const jwksOf = async (node) => (await (await fetch(node.url + '/jwks.json')).json()).keys;

before(async () => {
  cluster = startCluster();
  store = createDatabase(cluster.url);
  issuer = `http://127.0.0.1:${await freePort()}`;
  const [pa, pb] = [await freePort(), await freePort()];
  const common = {
    store_url: store,
    signing_key_refresh: String(REFRESH),
    signing_key_activation_delay: String(ACTIVATION),
    // The throttle tests name their client IPs in X-Forwarded-For; the
    // other tests come from 127.0.0.1 and never fail a sign-in.
    trusted_proxies: '127.0.0.1',
    login_ip_failures: 5,
    login_delay_base: '1h',
  };
  // A first, alone: it creates the signing keys in the store; B finds them.
  A = await startServer({ port: pa, issuer, config: { ...common, allowed_hosts: `127.0.0.1:${pa}` } });
  B = await startServer({ port: pb, issuer, config: { ...common, allowed_hosts: `127.0.0.1:${pb}` } });
  addUser(A, 'alice@example.com');
  rp = addClient(A, { name: 'Third-party RP' });
  spa = addClient(A, { name: 'SPA', public: true, redirectUris: ['https://spa.example/cb'] });
});

after(async () => {
  // Both nodes stop (and are checked for a clean exit) before the cluster.
  const stops = await Promise.allSettled([A, B].filter(Boolean).map(stopClean));
  cluster?.stop();
  for (const s of stops) if (s.status === 'rejected') throw s.reason;
});

test('setup: one master key, one set of signing keys, one issuer; a foreign Host is refused', async () => {
  assert.equal(readFileSync(join(A.dataDir, 'master.key'), 'utf8'), readFileSync(join(B.dataDir, 'master.key'), 'utf8'));
  const kids = (await jwksOf(A)).map((k) => k.kid).sort();
  assert.ok(kids.length >= 2);
  assert.deepEqual((await jwksOf(B)).map((k) => k.kid).sort(), kids, 'B serves the keys A created');
  assert.equal(Number(psql(store, 'SELECT count(*) FROM signing_keys')), kids.length);
  for (const n of [A, B]) {
    const d = await (await fetch(n.url + '/.well-known/openid-configuration')).json();
    assert.equal(d.issuer, issuer);
  }
  // B accepts its own address and the issuer's, nothing else (HT-04).
  const get = async (host) => parseRaw((await rawRequest(B.port,
    `GET /jwks.json HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).data).status;
  assert.equal(await get(`127.0.0.1:${B.port}`), 200);
  assert.equal(await get(new URL(issuer).host), 200);
  assert.equal(await get(`127.0.0.1:${A.port}`), 400);
});

test('SS: a session made on node A works on node B, and signing out on B ends it on A', async () => {
  const jar = new Client(A);
  assert.equal((await jar.login('alice@example.com')).status, 303);
  assert.equal(await jar.signedIn(), true, 'signed in on A');
  via(jar, B);
  const acct = await jar.get('/account');
  assert.equal(acct.status, 200, 'the cookie from A is a session on B');
  assert.match(acct.text, /alice@example\.com/);
  // The CSRF token B renders (derived from the session id) is accepted by A.
  const csrf = csrfOf(acct.text, '/logout');
  assert.ok(csrf);
  via(jar, A);
  assert.equal(await jar.signedIn(), true);
  // Sign out on B with B's form.
  via(jar, B);
  const sid = jar.sid;
  const out = await jar.submit('/account', '/logout', {});
  assert.equal(out.status, 303);
  // The old cookie, replayed at A: signed out there too (SS-06).
  const again = new Client(A);
  again.sid = sid;
  assert.equal(await again.signedIn(), false, 'A no longer knows the session');
  via(again, B);
  assert.equal(await again.signedIn(), false);
});

test('RT-02/RT-07: a refresh token rotated on A and presented again on B is reuse; the family dies on both nodes', async () => {
  const f = await codeFlow(A, spa, { email: 'alice@example.com', scope: 'openid offline_access' });
  const r1 = await tokenRequest(A, spa, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(r1.status, 200, JSON.stringify(r1.json));
  for (const n of [A, B]) {
    assert.equal((await userinfo(n, f.tokens.access_token)).status, 200);
    assert.equal((await userinfo(n, r1.json.access_token)).status, 200);
  }
  const reuse = await tokenRequest(B, spa, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(reuse.status, 400);
  assert.equal(reuse.json.error, 'invalid_grant');
  for (const n of [B, A]) {
    const next = await tokenRequest(n, spa, { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token });
    assert.equal(next.json?.error, 'invalid_grant', `the newest refresh token is dead on ${n === A ? 'A' : 'B'}`);
    for (const at of [f.tokens.access_token, r1.json.access_token]) {
      const u = await userinfo(n, at);
      assert.equal(u.status, 401);
      assert.match(u.headers.get('www-authenticate') ?? '', /invalid_token/);
    }
  }
  assert.ok(auditRows(A).some((e) => e.event === 'token.refresh_reuse' && e.outcome === 'alert'));
});

test('TK-01/TK-02: 20 parallel redemptions of one code spread over both nodes: exactly one wins, and its grant dies', async () => {
  for (let round = 0; round < 3; round++) {
    const a = await authorize(A, rp, { email: 'alice@example.com', scope: 'openid offline_access', jar: undefined });
    assert.ok(a.code);
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => tokenRequest(i % 2 ? B : A, rp,
      { grant_type: 'authorization_code', code: a.code, redirect_uri: rp.redirectUri, code_verifier: a.verifier })));
    const ok = rs.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, JSON.stringify(rs.map((r) => r.status)));
    assert.ok(rs.filter((r) => r.status !== 200).every((r) => r.status === 400 && r.json.error === 'invalid_grant'),
      JSON.stringify(rs.map((r) => r.json)));
    // TK-01: the replays revoked what the winner got, on both nodes, even
    // those that came before the winner had stored its grant.
    const won = ok[0].json;
    for (const n of [A, B]) {
      const next = await tokenRequest(n, rp, { grant_type: 'refresh_token', refresh_token: won.refresh_token });
      assert.equal(next.json?.error, 'invalid_grant');
      assert.equal((await userinfo(n, won.access_token)).status, 401);
    }
  }
});

test('RT-02: 20 parallel uses of one refresh token over both nodes: exactly one wins, then the family is revoked', async () => {
  const f = await codeFlow(A, spa, { email: 'alice@example.com', scope: 'openid offline_access' });
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => tokenRequest(i % 2 ? B : A, spa,
    { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token })));
  const ok = rs.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, JSON.stringify(rs.map((r) => r.status)));
  assert.ok(rs.filter((r) => r.status !== 200).every((r) => r.status === 400 && r.json.error === 'invalid_grant'));
  // The losers were reuse: the winner's successor is dead on both nodes.
  const won = ok[0].json;
  for (const n of [A, B]) {
    const next = await tokenRequest(n, spa, { grant_type: 'refresh_token', refresh_token: won.refresh_token });
    assert.equal(next.json?.error, 'invalid_grant');
    assert.equal((await userinfo(n, won.access_token)).status, 401);
  }
  assert.equal(Number(psql(store, "SELECT count(*) FROM token_families WHERE revoked_at IS NOT NULL AND revoke_reason = 'reuse'")) >= 1, true);
});

test('RT-02: with refresh_reuse_interval on two nodes, 20 parallel uses of one token over both: every 200 carries the same successor, one live token', async () => {
  const [pc, pd] = [await freePort(), await freePort()];
  const grace = (port) => startServer({ port, issuer, config: {
    store_url: store, trusted_proxies: '127.0.0.1', refresh_reuse_interval: '5', allowed_hosts: `127.0.0.1:${port}`,
  } });
  const [C, D] = [await grace(pc), await grace(pd)];
  try {
    const f = await codeFlow(C, spa, { email: 'alice@example.com', scope: 'openid offline_access' });
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => tokenRequest(i % 2 ? D : C, spa,
      { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token })));
    assert.ok(rs.every((r) => r.status === 200), JSON.stringify(rs.map((r) => r.status)));
    assert.equal(new Set(rs.map((r) => r.json.refresh_token)).size, 1, 'one successor');
    const gid = JSON.parse(Buffer.from(rs[0].json.access_token.split('.')[1], 'base64url')).gid;
    assert.equal(Number(psql(store, `SELECT count(*) FROM refresh_tokens WHERE family_id = '${gid}' AND used_at IS NULL`)), 1);
    assert.equal(psql(store, `SELECT coalesce(revoke_reason, '') FROM token_families WHERE family_id = '${gid}'`).trim(), '');
    const next = await tokenRequest(D, spa, { grant_type: 'refresh_token', refresh_token: rs[0].json.refresh_token });
    assert.equal(next.status, 200);
  } finally {
    await Promise.all([C, D].map(stopClean));
  }
});

test('IR-06/RT-05: an access token revoked on A is refused on B; a refresh token revoked on B is dead on A', async () => {
  const f = await codeFlow(A, spa, { email: 'alice@example.com', scope: 'openid offline_access' });
  const revoke = (node, token) => fetch(node.url + '/revoke', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: spa.client_id }).toString(),
  });
  assert.equal((await userinfo(B, f.tokens.access_token)).status, 200);
  assert.equal((await revoke(A, f.tokens.access_token)).status, 200);
  assert.equal((await userinfo(B, f.tokens.access_token)).status, 401, 'the deny-list is shared');
  // The grant itself lives on: its refresh token still rotates, on B.
  const r1 = await tokenRequest(B, spa, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(r1.status, 200, JSON.stringify(r1.json));
  assert.equal((await revoke(B, r1.json.refresh_token)).status, 200);
  const dead = await tokenRequest(A, spa, { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token });
  assert.equal(dead.json?.error, 'invalid_grant');
  assert.equal((await userinfo(A, r1.json.access_token)).status, 401, 'the family died with it');
});

// login() through a given node with a given client IP (the nodes trust
// 127.0.0.1 as a proxy, so X-Forwarded-For names the client).
function loginAt(node, email, password, ip) {
  return new Client(node).login(email, password, { headers: { 'x-forwarded-for': ip } });
}

test('LG-03: failed sign-ins alternating between A and B count once: the delay starts at the same total as on one node', async () => {
  addUser(A, 'bruno@example.com');
  // Every attempt from its own address: only the per-account counter binds.
  let ip = 0;
  const next = () => `192.0.2.${++ip}`;
  // login_delay_free = 4: failures 1..5 are checked (400), the 6th attempt
  // is held (429). Per node, A would have seen 3 and B 2.
  for (let i = 1; i <= 5; i++) {
    const r = await loginAt(i % 2 ? A : B, 'bruno@example.com', WRONG, next());
    assert.equal(r.status, 400, `failure ${i}`);
  }
  const held = await loginAt(B, 'bruno@example.com', GOOD_PW, next());
  assert.equal(held.status, 429, 'B holds the account after 3 failures on A and 2 on B');
  assert.ok(Number(held.headers.get('retry-after')) >= 1);
  assert.equal((await loginAt(A, 'bruno@example.com', GOOD_PW, next())).status, 429);
});

test('LG-03: 40 sign-ins sent at once over both nodes for one account reach the password check only login_delay_free + 1 times', async () => {
  addUser(A, 'burst@example.com');
  // Every attempt from its own address (only the account counter binds),
  // each with its own sign-in form, half on A and half on B.
  const forms = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const node = i % 2 ? B : A;
    const headers = { 'x-forwarded-for': `198.18.7.${i + 1}` };
    const c = new Client(node);
    const page = await c.get('/login', { headers });
    return { c, headers, csrf: csrfOf(page.text, '/login') };
  }));
  const rs = await Promise.all(forms.map((f, i) =>
    f.c.post('/login', { csrf: f.csrf, email: 'burst@example.com', password: `${WRONG}-${i}` }, { headers: f.headers })));
  const t = rs.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
  console.log(`# LG-03 two nodes, burst of 40 for one account: ${JSON.stringify(t)}`);
  assert.deepEqual(t, { 400: 5, 429: 35 });
});

test('LG-04: the per-IP failure limit counts across nodes', async () => {
  addUser(A, 'ivy@example.com');
  const ip = '198.51.100.7';
  // login_ip_failures = 5: five failures spread over both nodes...
  for (let i = 0; i < 5; i++) {
    const r = await loginAt(i % 2 ? B : A, `spray${i}@example.com`, WRONG, ip);
    assert.equal(r.status, 400, `failure ${i + 1}`);
  }
  // ...and the address is refused on either, even with the right password.
  assert.equal((await loginAt(B, 'ivy@example.com', GOOD_PW, ip)).status, 429);
  assert.equal((await loginAt(A, 'ivy@example.com', GOOD_PW, ip)).status, 429);
  assert.equal((await loginAt(A, 'ivy@example.com', GOOD_PW, '198.51.100.8')).status, 303, 'another address is not held');
});

test('CF-03: consent given on A is remembered on B; more scopes still ask', async () => {
  addUser(A, 'carol@example.com');
  const jar = new Client(A);
  const first = await authorize(A, rp, { email: 'carol@example.com', scope: 'openid email', jar });
  assert.ok(first.code, 'consent given on A');
  assert.ok(first.steps.some((s) => s.status === 200), 'A asked for consent');
  via(jar, B);
  const start = (scope) => {
    const q = new URLSearchParams(authorizeParams(rp, { challenge: pkce().challenge, scope }));
    return jar.get('/authorize?' + q, { headers: { 'sec-fetch-site': 'cross-site' } });
  };
  const again = await start('openid email');
  assert.equal(again.status, 303, 'B goes straight through: ' + again.text.slice(0, 200));
  assert.ok(new URL(again.location).searchParams.get('code'));
  const more = await start('openid email profile');
  assert.equal(more.status, 200);
  assert.match(more.text, /action="\/authorize\/consent"/);
});

test('TK-09: a client assertion used on A is a replay on B', async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const file = join(A.dataDir, 'svc.jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [jwk] }));
  const r = cliAt(A, ['client', 'add', '--json', '--name', 'Service', '--redirect-uri', 'https://svc.example/cb',
    '--grant', 'client_credentials', '--scope', 'api.read', '--auth-method', 'private_key_jwt', '--jwks-file', file]);
  assert.equal(r.code, 0, r.stderr);
  const id = JSON.parse(r.stdout).client_id;
  const sign = async () => {
    const now = Math.floor(Date.now() / 1000);
    return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(
      { iss: id, sub: id, aud: issuer, iat: now, exp: now + 60, jti: randomUUID() })))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
  };
  // Refusals count toward the per-IP and per-(client, IP) throttle
  // (TK-08): every request comes from its own address.
  let n = 0;
  const token = async (node, a) => {
    const res = await fetch(node.url + '/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `203.0.113.${++n}` },
      body: new URLSearchParams({ grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a }).toString(),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };
  const a = await sign();
  const ok = await token(A, a);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const replay = await token(B, a);
  assert.equal(replay.status, 401);
  assert.equal(replay.body.error, 'invalid_client');
  assert.equal(replay.body.access_token, undefined);
  // Parallel uses of one fresh assertion over both nodes: exactly one.
  const b = await sign();
  const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => token(i % 2 ? B : A, b)));
  assert.equal(rs.filter((x) => x.status === 200).length, 1, JSON.stringify(rs.map((x) => x.status)));
});

test('JW-09: a key rotated through node A is in B\'s JWKS within signing_key_refresh; tokens B signs with it verify on A', async () => {
  const kids0 = (await jwksOf(B)).map((k) => k.kid);
  // Both nodes have just loaded their rings (a JWKS request reloads when due).
  await jwksOf(A);
  const r = cliAt(A, ['key', 'rotate', '--alg', 'ES256']);
  assert.equal(r.code, 0, r.stderr);
  const kid = r.stdout.match(/key ([A-Za-z0-9_-]{43})/)[1];
  const t0 = Date.now();
  assert.ok(!kids0.includes(kid));
  // When the first request that got it was sent: a slow answer on a
  // loaded machine does not count against the node.
  let seen = -1;
  while (Date.now() - t0 < (REFRESH + 5) * 1000) {
    const sent = Date.now() - t0;
    if ((await jwksOf(B)).some((k) => k.kid === kid)) { seen = sent; break; }
    await sleep(100);
  }
  assert.ok(seen >= 0, 'B never published the key');
  assert.ok(seen <= REFRESH * 1000 + 1000, `B published the key ${seen} ms after the rotation (signing_key_refresh = ${REFRESH} s)`);
  for (const k of kids0) assert.ok((await jwksOf(B)).some((x) => x.kid === k), 'the old keys stay published');
  // Once it activates, B signs with it, and A and jose accept what B signed.
  await sleep(Math.max(0, ACTIVATION * 1000 - (Date.now() - t0)) + 500);
  const f = await codeFlow(B, spa, { email: 'alice@example.com', scope: 'openid offline_access' });
  const at = f.tokens.access_token;
  assert.equal(jose.decodeProtectedHeader(at).kid, kid, 'B signs access tokens with the new key');
  for (const n of [A, B]) {
    const JWKS = jose.createLocalJWKSet({ keys: await jwksOf(n) });
    await jose.jwtVerify(at, JWKS, { issuer, typ: 'at+jwt' });
    assert.equal((await userinfo(n, at)).status, 200, `${n === A ? 'A' : 'B'} accepts B's token`);
  }
  const a2 = (await tokenRequest(A, spa, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token })).json;
  assert.equal(jose.decodeProtectedHeader(a2.access_token).kid, kid, 'A signs with it too');
});

test('JW-03: a token signed by a key node C has not loaded yet makes C reload once, not refuse it', async () => {
  // C reloads only every hour; D every second. A key rotated through D
  // activates after 1 s (shorter than C's interval, which check-config
  // warns about), so D signs with a key C has never loaded.
  const db = createDatabase(cluster.url);
  const [pc, pd] = [await freePort(), await freePort()];
  const C = await startServer({ port: pc, issuer, config: { store_url: db, allowed_hosts: `127.0.0.1:${pc}`, signing_key_refresh: '1h' } });
  const D = await startServer({ port: pd, issuer, config: { store_url: db, allowed_hosts: `127.0.0.1:${pd}`, signing_key_refresh: '1', signing_key_activation_delay: '1' } });
  try {
    addUser(D, 'carol@example.com');
    const client = addClient(D, { name: 'RP on D', public: true, redirectUris: ['https://d.example/cb'] });
    const before = (await jwksOf(C)).map((k) => k.kid);
    const r = cliAt(D, ['key', 'rotate', '--alg', 'ES256']);
    assert.equal(r.code, 0, r.stderr);
    const kid = r.stdout.match(/key ([A-Za-z0-9_-]{43})/)[1];
    await sleep(2500);
    const at = (await codeFlow(D, client, { email: 'carol@example.com', scope: 'openid' })).tokens.access_token;
    assert.equal(jose.decodeProtectedHeader(at).kid, kid, 'D signs with the new key');
    assert.deepEqual((await jwksOf(C)).map((k) => k.kid), before, 'C has not loaded it');
    assert.equal((await userinfo(C, at)).status, 200, 'C reloads on the unknown kid and accepts the token');
    assert.ok((await jwksOf(C)).some((k) => k.kid === kid), 'and now publishes it');
    // Random kids shaped like ours are refused (and cost at most one
    // store reload a second; see test_signer for the count).
    const { privateKey } = await jose.generateKeyPair('ES256');
    const claims = JSON.parse(Buffer.from(at.split('.')[1], 'base64url').toString());
    for (let i = 0; i < 10; i++) {
      const fake = await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: randomUUID().replace(/-/g, '').padEnd(43, 'A') })
        .sign(privateKey);
      assert.equal((await userinfo(C, fake)).status, 401);
    }
    assert.equal((await userinfo(C, at)).status, 200);
  } finally {
    const stops = await Promise.allSettled([C, D].map(stopClean));
    for (const x of stops) if (x.status === 'rejected') throw x.reason;
  }
});

test('nodes started together on an empty database migrate once and agree on one key per algorithm', async () => {
  const db = createDatabase(cluster.url);
  const [pc, pd] = [await freePort(), await freePort()];
  const nodes = await Promise.all([pc, pd].map((port) => startServer({ port, issuer,
    config: { store_url: db, allowed_hosts: `127.0.0.1:${port}` } })));
  try {
    const [c, d] = await Promise.all(nodes.map(jwksOf));
    assert.deepEqual(c.map((k) => k.kid).sort(), d.map((k) => k.kid).sort());
    assert.deepEqual(psql(db, 'SELECT alg, count(*) FROM signing_keys GROUP BY alg ORDER BY alg').split('\n'),
      ['ES256|1', 'RS256|1']);
    const versions = psql(db, 'SELECT version FROM schema_version ORDER BY version').split('\n').map(Number);
    assert.deepEqual(versions, versions.map((_, i) => i + 1), 'every migration once, in order');
  } finally {
    for (const n of nodes) await stopClean(n);
  }
});

test('a node with another master key cannot unseal the shared keys and refuses to start', async () => {
  // An empty data dir of its own: development mode makes no new key for a
  // store sealed under one; and another key is refused before any write.
  const port = await freePort();
  const dataDir = tempDir();
  try {
    await assert.rejects(startServer({ port, issuer, dataDir, config: { store_url: store, allowed_hosts: `127.0.0.1:${port}` } }),
      /holds data sealed under a master key, so none is created/);
    const other = randomBytes(32).toString('hex');
    await assert.rejects(startServer({ port, issuer, dataDir, config: { store_url: store, allowed_hosts: `127.0.0.1:${port}` },
      env: { PORTCULLIS_MASTER_KEY: other } }), /the master key does not match the store/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
