// private_key_jwt client authentication at /token (RFC 7523 §2.2, §3;
// OIDC Core §9), attacked: a client registers its public JWKS through the
// CLI and signs assertions with npm jose; every TK-09 row and the JW rows
// that apply to client assertions must end in 401 invalid_client with no
// token (two methods at once: 400 invalid_request).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { startServer, stopClean } from './lib/server.mjs';
import { auditRows, cliAt } from './lib/web.mjs';

const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
let srv, client, keys, evil, other, edKey;

async function keyPair(alg, kid, extra = {}) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...extra });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, publicKey, privateKey, jwk };
}

function addClient(name, jwks, extra = []) {
  const file = join(srv.dataDir, `${name}.jwks.json`);
  writeFileSync(file, JSON.stringify(jwks));
  const r = cliAt(srv, ['client', 'add', '--json', '--name', name, '--redirect-uri', 'https://svc.example/cb',
    '--grant', 'client_credentials', '--scope', 'api.read', '--auth-method', 'private_key_jwt',
    '--jwks-file', file, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

before(async () => {
  // Many refusals against one client on purpose: keep the TK-08 throttle
  // out of the way (it is tested in token.test.mjs).
  srv = await startServer({ config: { client_auth_pair_failures: 10000, client_auth_ip_failures: 1000000 } });
  keys = {
    ES256: await keyPair('ES256', 'es'),
    RS256: await keyPair('RS256', 'rs'),
    PS256: await keyPair('PS256', 'ps'),
  };
  edKey = await keyPair('EdDSA', 'ed', { crv: 'Ed25519' });
  evil = await keyPair('ES256', 'es');
  client = addClient('Signed', { keys: Object.values(keys).map((k) => k.jwk) });
  other = addClient('Other', { keys: [keys.ES256.jwk] });
});
after(async () => { await stopClean(srv); });

// A signed assertion: claims/header overrides; undefined removes a claim.
async function assertion({ key = keys.ES256, claims = {}, header = {}, id = client.client_id } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: id, sub: id, aud: srv.issuer, iat: now, exp: now + 60, jti: randomUUID(), ...claims };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

async function token(form, headers = {}) {
  const res = await fetch(srv.url + '/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
}

const withAssertion = (a, extra = {}) => token({ grant_type: 'client_credentials', client_assertion_type: TYPE, client_assertion: a, ...extra });

async function refused(a, what, extra = {}) {
  const r = await withAssertion(a, extra);
  assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error, 'invalid_client', what);
  assert.equal(r.body.access_token, undefined, what);
}

const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

test('discovery offers private_key_jwt with exactly the algorithms verified', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.ok(d.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  assert.deepEqual([...d.token_endpoint_auth_signing_alg_values_supported].sort(), ['ES256', 'PS256', 'RS256']);
});

test('JW-02: client assertions are RS256, PS256 or ES256 only: an EdDSA key cannot be registered', async () => {
  const file = join(srv.dataDir, 'ed.jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [edKey.jwk] }));
  const r = cliAt(srv, ['client', 'add', '--json', '--name', 'Ed', '--redirect-uri', 'https://ed.example/cb',
    '--grant', 'client_credentials', '--scope', 'api', '--auth-method', 'private_key_jwt', '--jwks-file', file]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ES256, RS256 or PS256/);
  await refused(await assertion({ key: edKey }), 'EdDSA assertion');
});

test('private_key_jwt: each registered key signs an assertion that buys an access token', async () => {
  for (const key of Object.values(keys)) {
    const r = await withAssertion(await assertion({ key }));
    assert.equal(r.status, 200, `${key.alg}: ${JSON.stringify(r.body)}`);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const { payload } = await jose.jwtVerify(r.body.access_token, jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json')),
      { issuer: srv.issuer, audience: srv.issuer, typ: 'at+jwt' });
    assert.equal(payload.client_id, client.client_id);
  }
  // The body may name the client too, when it is the same one.
  const r = await withAssertion(await assertion(), { client_id: client.client_id });
  assert.equal(r.status, 200, JSON.stringify(r.body));

});

test('TK-09: aud other than the issuer alone (token endpoint URL, an array with more, missing) is refused', async () => {
  await refused(await assertion({ claims: { aud: srv.issuer + '/token' } }), 'token endpoint aud');
  await refused(await assertion({ claims: { aud: [srv.issuer, 'https://rp.example'] } }), 'aud array issuer+more');
  await refused(await assertion({ claims: { aud: [srv.issuer] } }), 'aud array of the issuer alone (TK-09: a single string)');
  await refused(await assertion({ claims: { aud: [srv.issuer, srv.issuer + '/token'] } }), 'aud array issuer+token endpoint');
  await refused(await assertion({ claims: { aud: 'https://other-op.example' } }), 'foreign aud');
  await refused(await assertion({ claims: { aud: undefined } }), 'no aud');
});

test('TK-09 / JW-04: expired, 5 minutes in the past, lifetime over 5 minutes, nbf and iat in the future', async () => {
  const now = Math.floor(Date.now() / 1000);
  await refused(await assertion({ claims: { iat: now - 400, exp: now - 300 } }), 'exp 5 min in the past');
  await refused(await assertion({ claims: { iat: now - 180, exp: now - 120 } }), 'expired beyond leeway');
  await refused(await assertion({ claims: { exp: undefined } }), 'no exp');
  await refused(await assertion({ claims: { exp: now + 3600 } }), 'exp an hour ahead');
  await refused(await assertion({ claims: { iat: now - 250, exp: now + 100 } }), 'lifetime 350 s');
  await refused(await assertion({ claims: { nbf: now + 120 } }), 'nbf 2 min ahead');
  await refused(await assertion({ claims: { iat: now + 120, exp: now + 180 } }), 'iat 2 min ahead');
  // OIDF: nbf 8 seconds in the future is accepted.
  const ok = await withAssertion(await assertion({ claims: { nbf: now + 8 } }));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test('TK-09: jti missing, too long, or replayed is refused; the first use counts', async () => {
  await refused(await assertion({ claims: { jti: undefined } }), 'no jti');
  await refused(await assertion({ claims: { jti: 'x'.repeat(257) } }), 'jti 257 bytes');
  const a = await assertion();
  const first = await withAssertion(a);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  await refused(a, 'replayed assertion');
  // Concurrent replays: exactly one wins.
  const b = await assertion();
  const all = await Promise.all([1, 2, 3, 4].map(() => withAssertion(b)));
  assert.equal(all.filter((r) => r.status === 200).length, 1, JSON.stringify(all.map((r) => r.status)));
  // The same jti under another client is that client's own.
  const jti = randomUUID();
  assert.equal((await withAssertion(await assertion({ claims: { jti } }))).status, 200);
  const o = await withAssertion(await assertion({ id: other.client_id, claims: { jti } }));
  assert.equal(o.status, 200, JSON.stringify(o.body));
});

test('TK-09: iss or sub not the client, or the body naming another client', async () => {
  await refused(await assertion({ claims: { sub: other.client_id } }), 'iss != sub');
  await refused(await assertion({ claims: { iss: other.client_id } }), 'iss other client');
  // Signed by a key only this client registered, claiming to be the
  // other client: keys come from the named client's own JWKS.
  await refused(await assertion({ key: keys.RS256, id: other.client_id }), 'key of another client');
  const r = await withAssertion(await assertion(), { client_id: other.client_id });
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_client');
});

test('JW-01 / JW-02: alg none (any case) and HS256 keyed with the public key are refused', async () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: client.client_id, sub: client.client_id, aud: srv.issuer, iat: now, exp: now + 60 };
  for (const alg of ['none', 'None', 'NONE', 'noNE']) {
    await refused(`${b64({ alg })}.${b64({ ...claims, jti: randomUUID() })}.`, `alg ${alg}`);
  }
  for (const secret of [JSON.stringify(keys.ES256.jwk), JSON.stringify({ keys: Object.values(keys).map((k) => k.jwk) }),
    await jose.exportSPKI(keys.RS256.publicKey)]) {
    const input = `${b64({ alg: 'HS256', kid: 'rs' })}.${b64({ ...claims, jti: randomUUID() })}`;
    const sig = createHmac('sha256', secret).update(input).digest('base64url');
    await refused(`${input}.${sig}`, 'HS256 with the public key');
  }
  // One algorithm per key: the PS256 key cannot sign RS256.
  await refused(await assertion({ key: { ...keys.PS256, alg: 'RS256' } }), 'PS256 key used for RS256');
});

test('JW-03 / JW-06 / JW-07: unregistered key, token-carried keys, other JWT kinds, tampered payload', async () => {
  await refused(await assertion({ key: evil }), 'signed by an unregistered key with a registered kid');
  await refused(await assertion({ key: { ...evil, kid: 'nope' } }), 'unknown kid');
  await refused(await assertion({ key: evil, header: { jwk: evil.jwk } }), 'jwk header');
  await refused(await assertion({ header: { jku: 'https://evil.example/jwks' } }), 'jku header');
  await refused(await assertion({ header: { x5u: 'https://evil.example/cert' } }), 'x5u header');
  for (const typ of ['at+jwt', 'dpop+jwt', 'logout+jwt', 'application/at+jwt']) {
    await refused(await assertion({ header: { typ } }), `typ ${typ}`);
  }
  const a = await assertion();
  const [h, , s] = a.split('.');
  const now = Math.floor(Date.now() / 1000);
  const forged = b64({ iss: client.client_id, sub: client.client_id, aud: srv.issuer, exp: now + 60, jti: randomUUID() });
  await refused(`${h}.${forged}.${s}`, 'tampered payload');
  await refused('not-a-jwt', 'garbage');
  await refused('x'.repeat(9000), 'oversized');
});

test('TK-07: a secret and an assertion together is invalid_request; an assertion for a secret client is refused', async () => {
  const r = await withAssertion(await assertion(), { client_secret: 'pcs_whatever' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
  const basic = 'Basic ' + Buffer.from(`${client.client_id}:pcs_x`).toString('base64');
  const rb = await token({ grant_type: 'client_credentials', client_assertion_type: TYPE, client_assertion: await assertion() },
    { authorization: basic });
  assert.equal(rb.status, 400);
  const wrongType = await token({ grant_type: 'client_credentials', client_assertion_type: 'urn:x', client_assertion: await assertion() });
  assert.equal(wrongType.status, 400);
  assert.equal(wrongType.body.error, 'invalid_request');
  // A client registered for client_secret_basic cannot switch to an assertion.
  const sec = cliAt(srv, ['client', 'add', '--json', '--name', 'Secret', '--redirect-uri', 'https://s.example/cb',
    '--grant', 'client_credentials', '--scope', 'api.read']);
  assert.equal(sec.code, 0, sec.stderr);
  const secret = JSON.parse(sec.stdout);
  await refused(await assertion({ id: secret.client_id }), 'assertion for a secret client');
  assert.ok(auditRows(srv).some((e) => e.event === 'client.auth' && e.outcome === 'failure' && e.actor === client.client_id));
});
