// The per-node client cache and the TK-08 fast path (issue 13, decision
// 0049), attacked: a client the server has cached must be refused or seen
// changed at the very next request after the CLI (another process) deletes
// it, rotates its secret or changes its registration; the client-auth
// throttle must still refuse past its limits when nothing was throttled
// before (no store read on the fast path), also when the failures were
// counted by another node on the same PostgreSQL store; and a store that
// cannot answer the version read fails closed (503), never from the cache.
// Every test warms the cache first (successful grants) so it attacks the
// cached state. Runs on SQLite and, with PORTCULLIS_TEST_PG, on
// PostgreSQL; the two-node test needs PostgreSQL (SQLite is one node).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startServer, stopClean, storeSql } from './lib/server.mjs';
import { createDatabase, SHARED } from './lib/pg.mjs';
import { cliAt } from './lib/web.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const basicAuth = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

function addService(srv, extra = []) {
  const r = cliAt(srv, ['client', 'add', '--json', '--name', 'Service', '--redirect-uri', 'https://s.example/cb',
    '--grant', 'client_credentials', '--scope', 'api.read', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function post(srv, path, id, secret, form, ip) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(id, secret) };
  if (ip) headers['x-forwarded-for'] = ip;
  const res = await fetch(srv.url + path, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
}

const grant = (srv, c, secret = c.client_secret, ip = undefined) =>
  post(srv, '/token', c.client_id, secret, { grant_type: 'client_credentials' }, ip);

// Two good grants: the client is in the cache, and the throttle's window
// is known clean.
async function warm(srv, c, ip) {
  for (let i = 0; i < 2; i++) {
    const r = await grant(srv, c, c.client_secret, ip);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.access_token);
  }
}

test('TK-07: a cached client deleted with the CLI (another process) is refused at the next grant, introspection and revocation', async () => {
  const srv = await startServer();
  try {
    const c = addService(srv);
    await warm(srv, c);
    const at = (await grant(srv, c)).body.access_token;
    assert.equal((await post(srv, '/introspect', c.client_id, c.client_secret, { token: at })).status, 200);
    const r = cliAt(srv, ['client', 'delete', '--id', c.client_id]);
    assert.equal(r.code, 0, r.stderr);
    const g = await grant(srv, c);
    assert.equal(g.status, 401, JSON.stringify(g.body));
    assert.equal(g.body.error, 'invalid_client');
    assert.equal(g.body.access_token, undefined);
    assert.equal((await post(srv, '/introspect', c.client_id, c.client_secret, { token: at })).status, 401);
    assert.equal((await post(srv, '/revoke', c.client_id, c.client_secret, { token: at })).status, 401);
  } finally { await stopClean(srv); }
});

test('TK-08: after rotate-secret the new secret works at once and the cached old one only until its new expiry', async () => {
  const srv = await startServer();
  try {
    const c = addService(srv);
    await warm(srv, c);
    // The old secret had no expiry when it was cached; rotation gives it 2 s.
    const r = cliAt(srv, ['client', 'rotate-secret', '--id', c.client_id, '--json'],
      { env: { PORTCULLIS_CLIENT_SECRET_OVERLAP: '2' } });
    assert.equal(r.code, 0, r.stderr);
    const fresh = JSON.parse(r.stdout).client_secret;
    const t0 = Date.now();
    assert.equal((await grant(srv, c, fresh)).status, 200, 'the new secret at once');
    const old = await grant(srv, c);
    if (Date.now() - t0 < 1500) assert.equal(old.status, 200, 'the old secret within its overlap');
    await sleep(Math.max(0, 3100 - (Date.now() - t0)));
    const late = await grant(srv, c);
    assert.equal(late.status, 401, 'the old secret after its new expiry');
    assert.equal(late.body.access_token, undefined);
    assert.equal((await grant(srv, c, fresh)).status, 200);
    // With an overlap of 0 the (cached) current secret goes at once.
    const r0 = cliAt(srv, ['client', 'rotate-secret', '--id', c.client_id, '--json'],
      { env: { PORTCULLIS_CLIENT_SECRET_OVERLAP: '0' } });
    assert.equal(r0.code, 0, r0.stderr);
    assert.equal((await grant(srv, c, fresh)).status, 401);
    assert.equal((await grant(srv, c, JSON.parse(r0.stdout).client_secret)).status, 200);
  } finally { await stopClean(srv); }
});

test('TK-07: a cached client whose grant types or auth method change is refused at once', async () => {
  const srv = await startServer();
  try {
    const c = addService(srv);
    await warm(srv, c);
    let r = cliAt(srv, ['client', 'update', '--id', c.client_id, '--grant', 'authorization_code']);
    assert.equal(r.code, 0, r.stderr);
    const g = await grant(srv, c);
    assert.equal(g.status, 400, JSON.stringify(g.body));
    assert.equal(g.body.error, 'unauthorized_client');
    assert.equal(g.body.access_token, undefined);
    r = cliAt(srv, ['client', 'update', '--id', c.client_id, '--grant', 'client_credentials',
      '--auth-method', 'client_secret_post']);
    assert.equal(r.code, 0, r.stderr);
    // Registered for client_secret_post now: Basic is refused...
    const b = await grant(srv, c);
    assert.equal(b.status, 401, JSON.stringify(b.body));
    assert.match(b.body.error_description, /registered for client_secret_post/);
    // ...and the body method works.
    const res = await fetch(srv.url + '/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
    });
    assert.equal(res.status, 200, await res.text());
  } finally { await stopClean(srv); }
});

const TK08 = { trusted_proxies: '127.0.0.1', client_auth_pair_failures: 3, client_auth_ip_failures: 5 };

test('TK-08: with the window known clean, failures still reach the limits: the pair, then the IP, get 429', async () => {
  const srv = await startServer({ config: TK08 });
  try {
    const c = addService(srv);
    const d = addService(srv);
    const attacker = '203.0.113.80';
    // Grants from the attacker's own address too: its window is clean.
    await warm(srv, c, attacker);
    await warm(srv, d, '198.51.100.81');
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await grant(srv, c, `pcs_wrong${i}`, attacker)).status);
    assert.deepEqual(seen, [401, 401, 401, 429]);
    const held = await grant(srv, c, c.client_secret, attacker);
    assert.equal(held.status, 429, 'the pair is held even with the right secret');
    assert.ok(Number(held.headers.get('retry-after')) >= 1);
    // Two more failures on another client reach the IP limit (5).
    for (let i = 0; i < 2; i++) assert.equal((await grant(srv, d, 'pcs_nope', attacker)).status, 401);
    assert.equal((await grant(srv, d, d.client_secret, attacker)).status, 429, 'the IP is held');
    // Elsewhere both clients still work.
    assert.equal((await grant(srv, c, c.client_secret, '198.51.100.82')).status, 200);
    assert.equal((await grant(srv, d, d.client_secret, '198.51.100.82')).status, 200);
  } finally { await stopClean(srv); }
});

test('TK-07/TK-08: the version read failing is 503 with no token, never an answer from the cache', async () => {
  const srv = await startServer();
  try {
    const c = addService(srv);
    await warm(srv, c);
    storeSql(srv, 'ALTER TABLE cache_versions RENAME TO cache_versions_gone');
    const g = await grant(srv, c);
    assert.equal(g.status, 503, JSON.stringify(g.body));
    assert.equal(g.body.access_token, undefined);
    assert.ok(g.headers.get('retry-after'));
    storeSql(srv, 'ALTER TABLE cache_versions_gone RENAME TO cache_versions');
    assert.equal((await grant(srv, c)).status, 200, 'service resumes');
  } finally { await stopClean(srv); }
});

// Two nodes on one PostgreSQL store (SQLite is one node: docs/operations.md).
test('TK-07/TK-08: two nodes: failures counted on one node hold the pair on the other; a client deleted through either is refused on both', { skip: !SHARED && 'needs PORTCULLIS_TEST_PG' }, async () => {
  const store = createDatabase(SHARED);
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const [pa, pb] = [await freePort(), await freePort()];
  const common = { store_url: store, ...TK08 };
  const A = await startServer({ port: pa, issuer, config: { ...common, allowed_hosts: `127.0.0.1:${pa}` } });
  let B;
  try {
    B = await startServer({ port: pb, issuer, config: { ...common, allowed_hosts: `127.0.0.1:${pb}` } });
    const c = addService(A);
    const attacker = '203.0.113.90';
    await warm(A, c, attacker);
    await warm(B, c, attacker);
    // Three failures on A: the pair's limit.
    for (let i = 0; i < 3; i++) assert.equal((await grant(A, c, `pcs_bad${i}`, attacker)).status, 401);
    // B had the window as clean and the client cached: it must still see them.
    const held = await grant(B, c, c.client_secret, attacker);
    assert.equal(held.status, 429, JSON.stringify(held.body));
    assert.equal((await grant(B, c, c.client_secret, '198.51.100.91')).status, 200);
    // Deleted with the CLI on A's config: both nodes refuse at once.
    const r = cliAt(A, ['client', 'delete', '--id', c.client_id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await grant(B, c, c.client_secret, '198.51.100.91')).status, 401);
    assert.equal((await grant(A, c, c.client_secret, '198.51.100.92')).status, 401);
  } finally {
    const stops = await Promise.allSettled([A, B].filter(Boolean).map(stopClean));
    for (const s of stops) if (s.status === 'rejected') throw s.reason;
  }
});
