// Delegation chains on two Portcullis nodes sharing one PostgreSQL (issue
// 15, TX-03): a token exchanged on one node dies on the other the moment
// anything upstream is revoked there — the user's grant (the family the
// whole chain carries as gid), or an agent of the chain (the client
// cache's version is the store's, not the node's). Each test would fail
// if a node kept what it knows of grants or clients to itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as jose from 'jose';
import { freePort, startServer, stopClean } from './lib/server.mjs';
import { startCluster, createDatabase } from './lib/pg.mjs';
import { addUser, cliAt } from './lib/web.mjs';
import { addClient, authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TT_AT = 'urn:ietf:params:oauth:token-type:access_token';
const API = 'https://api.example/';

let cluster, A, B, api, agent, alice;

const basic = (c) => ({ authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64') });

async function post(node, path, form, headers = {}) {
  const res = await fetch(node.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const exchange = (node, actor, subject, params = {}) => tokenRequest(node, actor,
  { grant_type: GRANT, subject_token: subject, subject_token_type: TT_AT, ...params });
const active = async (node, token) => (await post(node, '/introspect', { token }, basic(api))).body.active;

before(async () => {
  cluster = startCluster();
  const store = createDatabase(cluster.url);
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const [pa, pb] = [await freePort(), await freePort()];
  const common = { store_url: store, login_delay_free: 50 };
  A = await startServer({ port: pa, issuer, config: { ...common, allowed_hosts: `127.0.0.1:${pa}` } });
  B = await startServer({ port: pb, issuer, config: { ...common, allowed_hosts: `127.0.0.1:${pb}` } });
  alice = addUser(A, 'alice@example.com');
  const r = cliAt(A, ['resource', 'add', '--id', API, '--scope', 'read write', '--json']);
  assert.equal(r.code, 0, r.stderr);
  api = JSON.parse(r.stdout);
  agent = addClient(A, { name: 'Agent', redirectUris: ['https://agent.example/cb'], scope: 'openid read write offline_access' });
});

after(async () => {
  const stops = await Promise.allSettled([A, B].filter(Boolean).map(stopClean));
  cluster?.stop();
  for (const s of stops) if (s.status === 'rejected') throw s.reason;
});

test('TX-03: a grant revoked on node A kills on node B the token exchanged from it there', async () => {
  const t = (await codeFlow(A, agent, { email: 'alice@example.com', scope: 'openid read offline_access' })).tokens;
  const x = await exchange(B, agent, t.access_token, { resource: API });
  assert.equal(x.status, 200, JSON.stringify(x.json));
  assert.equal(await active(A, x.json.access_token), true);
  assert.equal(await active(B, x.json.access_token), true);
  // The agent's refresh token revoked on A: the family, shared, is gone.
  assert.equal((await post(A, '/revoke', { token: t.refresh_token }, basic(agent))).status, 200);
  assert.equal(await active(B, x.json.access_token), false);
  assert.equal(await active(A, x.json.access_token), false);
  const again = await exchange(B, agent, t.access_token, { resource: API });
  assert.equal(again.json.error, 'invalid_grant');
});

test('TX-03: an agent disabled through node A kills on node B the tokens handed off through it', async () => {
  const mk = async (name, extra = []) => {
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const file = `${A.dataDir}/${name}.jwks.json`;
    writeFileSync(file, JSON.stringify({ keys: [{ ...(await jose.exportJWK(publicKey)), kid: name, alg: 'ES256', use: 'sig' }] }));
    const r = cliAt(A, ['agent', 'add', '--json', '--name', name, '--owner', alice.id, '--resource', API,
      '--redirect-uri', `https://${name.toLowerCase()}.example/cb`, '--jwks-file', file, '--scope', 'openid read offline_access',
      '--max-delegation-depth', '2', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return { ...JSON.parse(r.stdout), name, privateKey, redirectUri: `https://${name.toLowerCase()}.example/cb` };
  };
  const as = async (node, agent, params) => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new jose.SignJWT({ iss: agent.client_id, sub: agent.client_id, aud: A.issuer,
      iat: now, exp: now + 60, jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: agent.name }).sign(agent.privateKey);
    return post(node, '/token', { ...params, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion });
  };
  const first = await mk('First', ['--may-delegate']);
  const second = await mk('Second');
  const a = await authorize(A, first, { email: 'alice@example.com', scope: 'openid read offline_access', params: { resource: API } });
  assert.ok(a.code, a.error_description);
  const t1 = await as(A, first, { grant_type: 'authorization_code', code: a.code, redirect_uri: first.redirectUri, code_verifier: a.verifier });
  assert.equal(t1.status, 200, JSON.stringify(t1.body));
  const ex = { grant_type: GRANT, subject_token_type: TT_AT };
  const h = await as(A, first, { ...ex, subject_token: t1.body.access_token, audience: second.client_id });
  assert.equal(h.status, 200, JSON.stringify(h.body));
  const t3 = await as(B, second, { ...ex, subject_token: h.body.access_token, resource: API });
  assert.equal(t3.status, 200, JSON.stringify(t3.body));
  assert.equal(await active(A, t3.body.access_token), true);
  // Disabled through node A's CLI: node B's client cache sees the
  // store's version move, not a copy of its own.
  assert.equal(cliAt(A, ['agent', 'disable', '--id', second.client_id]).code, 0);
  assert.equal(await active(B, t3.body.access_token), false);
  assert.equal(await active(A, t3.body.access_token), false);
});
