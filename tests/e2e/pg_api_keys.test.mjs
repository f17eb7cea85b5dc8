// API keys on two nodes sharing one PostgreSQL store (issue 14; SECURITY.md
// AK-03, AK-05, AK-06): a key revoked through one node is dead at the
// other at the next request (there is no cache of key validity), and with
// the store down a malformed key is still refused at once (400: no store
// access) while a well-formed one fails closed (503).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startServer, stopClean } from './lib/server.mjs';
import { startCluster, createDatabase } from './lib/pg.mjs';
import { cliAt } from './lib/web.mjs';

const API = 'https://api.example.com';
let cluster, A, B, res, sa;

const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
function cliJson(args) {
  const r = cliAt(A, [...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}
async function post(node, path, form, headers = {}) {
  const r = await fetch(node.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body, text };
}
const exchange = (node, key) => post(node, '/token', {
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token: key,
  subject_token_type: 'urn:portcullis:params:oauth:token-type:api_key',
  resource: API,
});

before(async () => {
  cluster = startCluster();
  const store = createDatabase(cluster.url);
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const [pa, pb] = [await freePort(), await freePort()];
  A = await startServer({ port: pa, issuer, config: { store_url: store, allowed_hosts: `127.0.0.1:${pa}` } });
  B = await startServer({ port: pb, issuer, config: { store_url: store, allowed_hosts: `127.0.0.1:${pb}` } });
  res = cliJson(['resource', 'add', '--id', API, '--scope', 'orders:read']);
  sa = cliJson(['service-account', 'add', '--name', 'two-node-bot', '--scope', 'orders:read']);
});

after(async () => {
  const stops = await Promise.allSettled([A, B].filter(Boolean).map(stopClean));
  cluster?.stop();
  for (const s of stops) if (s.status === 'rejected') throw s.reason;
});

test('AK-05/AK-06: a key revoked through one node is dead at the other at the next request', async () => {
  const k = cliJson(['api-key', 'add', '--owner', sa.id, '--scope', 'orders:read']);
  const t = await exchange(A, k.key);
  assert.equal(t.status, 200, t.text);
  assert.equal((await exchange(B, k.key)).status, 200);
  const intro = (node) => post(node, '/introspect', { token: t.body.access_token },
    { authorization: basic(res.client_id, res.client_secret) });
  assert.equal((await intro(B)).body.active, true);
  // Exposed in a URL at A: revoked there, and so everywhere.
  assert.equal((await fetch(`${A.url}/.well-known/openid-configuration?key=${k.key}`)).status, 400);
  assert.equal((await exchange(B, k.key)).status, 400);
  assert.equal((await intro(B)).body.active, false, 'its exchanged token dies too');
});

test('AK-03: with the store down, a malformed key is still a 400 at once; a well-formed one is a 503', async () => {
  const k = cliJson(['api-key', 'add', '--owner', sa.id, '--scope', 'orders:read']);
  const broken = k.key.slice(0, -1) + (k.key.at(-1) === 'a' ? 'b' : 'a');
  cluster.halt();
  try {
    const bad = await exchange(B, broken);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_grant');
    assert.equal((await exchange(B, k.key)).status, 503, 'fail closed');
  } finally { cluster.resume(); }
  let r;
  for (let i = 0; i < 100; i++) {
    r = await exchange(B, k.key);
    if (r.status === 200) break;
    await sleep(100);
  }
  assert.equal(r.status, 200, 'the store back, the key works');
});
