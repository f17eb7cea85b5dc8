// Interop: a third-party verifier (npm jose, createRemoteJWKSet +
// jwtVerify) accepts our access tokens (RFC 9068) and ID tokens (OIDC
// Core §2) from the published JWKS alone, before and after a signing-key
// rotation (JW-09): the new key is published before it signs, and the old
// key stays published so tokens it signed keep verifying.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean, run } from './lib/server.mjs';
import { addUser } from './lib/web.mjs';
import { addClient, codeFlow, tokenRequest } from './lib/oauth.mjs';

let srv, svc, rp;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  srv = await startServer({ config: { signing_key_refresh: '1', signing_key_activation_delay: '3', login_delay_free: 50 } });
  svc = addClient(srv, { name: 'Service', grants: 'client_credentials', scope: 'api.read', redirectUris: ['https://svc.example/cb'] });
  rp = addClient(srv, { name: 'RP', redirectUris: ['https://rp.example/cb'] });
  addUser(srv, 'alice@example.com');
});
after(async () => { await stopClean(srv); });

async function ccToken() {
  const r = await tokenRequest(srv, svc, { grant_type: 'client_credentials', scope: 'api.read' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.access_token;
}

async function userTokens(nonce) {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid email', nonce });
  return f.tokens;
}

const jwks = (opts = {}) => jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'), opts);

async function verifyAccess(set, token) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, set,
    { issuer: srv.issuer, audience: srv.issuer, typ: 'at+jwt', algorithms: ['ES256'] });
  return { payload, header: protectedHeader };
}

async function verifyId(set, token, nonce) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, set,
    { issuer: srv.issuer, audience: rp.client_id, typ: 'JWT', algorithms: ['RS256'] });
  assert.equal(payload.nonce, nonce);
  return { payload, header: protectedHeader };
}

function rotate(alg) {
  const r = run(['key', 'rotate', '--alg', alg, '--config', srv.configFile, '--data-dir', srv.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.match(/key ([A-Za-z0-9_-]{43})/)[1];
}

// Polls (no timing assertion) until fn() yields a value, or gives up.
async function until(fn, what, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('gave up waiting for ' + what + '\n' + srv.rawLogs().slice(-2000));
    await sleep(250);
  }
}

test('jose verifies our access and ID tokens, across a signing-key rotation', async () => {
  const set = jwks({ cooldownDuration: 0 });
  // Before: the first keys.
  const at1 = await ccToken();
  const u1 = await userTokens('n-before');
  const a1 = await verifyAccess(set, at1);
  assert.equal(a1.payload.client_id, svc.client_id);
  const ua1 = await verifyAccess(set, u1.access_token);
  assert.equal(ua1.payload.client_id, rp.client_id);
  assert.ok(ua1.payload.gid, 'a user grant');
  const id1 = await verifyId(set, u1.id_token, 'n-before');
  assert.equal(id1.payload.sub, ua1.payload.sub);
  // The kinds are not interchangeable to a careful verifier (JW-06).
  await assert.rejects(jose.jwtVerify(u1.id_token, set, { issuer: srv.issuer, audience: srv.issuer, typ: 'at+jwt' }));
  await assert.rejects(jose.jwtVerify(at1, set, { issuer: srv.issuer, audience: rp.client_id, typ: 'JWT' }));

  // Rotate both algorithms; the new keys sign after the activation delay.
  const esKid = rotate('ES256');
  const rsKid = rotate('RS256');
  assert.notEqual(esKid, a1.header.kid);
  assert.notEqual(rsKid, id1.header.kid);
  const at2 = await until(async () => {
    const t = await ccToken();
    return jose.decodeProtectedHeader(t).kid === esKid ? t : null;
  }, 'the new ES256 key to sign');
  const u2 = await until(async () => {
    const t = await userTokens('n-after');
    return jose.decodeProtectedHeader(t.id_token).kid === rsKid &&
      jose.decodeProtectedHeader(t.access_token).kid === esKid ? t : null;
  }, 'the new RS256 key to sign');

  // The same verifier (it refetches on an unknown kid) and a fresh one
  // both accept new and old tokens: the retired keys are still published.
  for (const s of [set, jwks()]) {
    assert.equal((await verifyAccess(s, at2)).header.kid, esKid);
    assert.equal((await verifyAccess(s, u2.access_token)).header.kid, esKid);
    assert.equal((await verifyId(s, u2.id_token, 'n-after')).header.kid, rsKid);
    assert.equal((await verifyAccess(s, at1)).header.kid, a1.header.kid);
    assert.equal((await verifyAccess(s, u1.access_token)).header.kid, a1.header.kid);
    assert.equal((await verifyId(s, u1.id_token, 'n-before')).header.kid, id1.header.kid);
  }
  const { keys } = await (await fetch(srv.url + '/jwks.json')).json();
  const kids = keys.map((k) => k.kid);
  for (const k of [esKid, rsKid, a1.header.kid, id1.header.kid]) assert.ok(kids.includes(k), k);

  // And our own resource endpoints agree: the old and the new access
  // token both work at /userinfo.
  for (const t of [u1.access_token, u2.access_token]) {
    const r = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + t } });
    assert.equal(r.status, 200);
  }
});
