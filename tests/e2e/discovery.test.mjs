// Discovery, JWKS and health: shape, issuer exactness, no private members,
// and URLs that come from configuration only (SECURITY.md OI-10, HT-04, JW-09).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, rawRequest, parseRaw } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer({ config: { allowed_hosts: 'alias.example:8443' } }); });
after(async () => { await stopClean(srv); });

test('discovery: issuer is exactly the configured issuer and URLs derive from it', async () => {
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    const r = await fetch(srv.url + path);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const d = await r.json();
    assert.equal(d.issuer, srv.issuer);
    assert.equal(d.jwks_uri, `${srv.issuer}/jwks.json`);
    for (const [k, v] of Object.entries(d)) {
      if (typeof v === 'string' && /^https?:/.test(v)) assert.ok(v.startsWith(srv.issuer), `${k}=${v}`);
    }
  }
});

test('discovery: advertises only implemented endpoints', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  for (const [k, v] of Object.entries(d)) {
    if (!k.endsWith('_endpoint') && k !== 'jwks_uri') continue;
    const r = await fetch(v.replace(srv.issuer, srv.url));
    assert.notEqual(r.status, 404, `${k} advertised but 404`);
  }
});

test('discovery: the OpenID Connect and OAuth metadata say what is enforced (AZ-06..08, AZ-12, RFC 9207)', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.authorization_endpoint, srv.issuer + '/authorize');
  assert.deepEqual(d.response_types_supported, ['code']);
  assert.deepEqual(d.response_modes_supported, ['query']);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.equal(d.authorization_response_iss_parameter_supported, true);
  assert.deepEqual(d.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
  assert.equal(d.request_parameter_supported, false);
  assert.equal(d.request_uri_parameter_supported, false);
  assert.deepEqual(d.subject_types_supported, ['public']);
  assert.ok(d.scopes_supported.includes('openid') && d.scopes_supported.includes('offline_access'));
  assert.ok(d.id_token_signing_alg_values_supported.includes('RS256'));
  assert.ok(!d.id_token_signing_alg_values_supported.includes('none'));
  assert.ok(d.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  assert.ok(!d.introspection_endpoint_auth_methods_supported.includes('none'));
  const rfc8414 = await (await fetch(srv.url + '/.well-known/oauth-authorization-server')).json();
  assert.deepEqual(rfc8414, d);
});

test('JW-09: JWKS holds public members only, with kid, alg and use', async () => {
  const r = await fetch(srv.url + '/jwks.json');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/jwk-set\+json/);
  const { keys } = await r.json();
  assert.ok(keys.length >= 2);
  const algs = new Set(keys.map((k) => k.alg));
  assert.ok(algs.has('ES256') && algs.has('RS256'));
  for (const k of keys) {
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) assert.equal(k[priv], undefined, `${priv} in ${k.kid}`);
    assert.equal(k.use, 'sig');
    assert.equal(typeof k.kid, 'string');
    if (k.kty === 'RSA') assert.ok(Buffer.from(k.n, 'base64url').length * 8 >= 2048);
    if (k.kty === 'EC') assert.equal(k.crv, 'P-256');
  }
  assert.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'kids unique');
});

test('OI-10/HT-04: forged Host and X-Forwarded-* never change the issuer', async () => {
  const r = await rawRequest(srv.port,
    'GET /.well-known/openid-configuration HTTP/1.1\r\nHost: alias.example:8443\r\n' +
    'X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nForwarded: host=evil.example\r\nConnection: close\r\n\r\n');
  const res = parseRaw(r.data);
  assert.equal(res.status, 200);
  const d = JSON.parse(res.body);
  assert.equal(d.issuer, srv.issuer);
  assert.ok(!res.body.includes('evil') && !res.body.includes('alias'));
});

test('HT-04: an unknown Host gets 400 and no document', async () => {
  for (const host of ['evil.example', `127.0.0.2:${srv.port}`, '']) {
    const r = await rawRequest(srv.port,
      `GET /.well-known/openid-configuration HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const res = parseRaw(r.data);
    assert.equal(res.status, 400, `Host: ${host}`);
    assert.ok(!res.body.includes('issuer'));
  }
});

test('health: /healthz is up and /readyz reports the store ready, any Host', async () => {
  const h = await fetch(srv.url + '/healthz');
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { status: 'ok' });
  const r = await rawRequest(srv.port, 'GET /readyz HTTP/1.1\r\nHost: 10.1.2.3:9\r\nConnection: close\r\n\r\n');
  const res = parseRaw(r.data);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { status: 'ready' });
});

test('HT-03: errors on public metadata routes are never cacheable', async () => {
  const r = await fetch(srv.url + '/jwks.json?x', { method: 'POST' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('cache-control'), 'no-store');
});

test('HEAD works wherever GET does and sends no body', async () => {
  const r = await fetch(srv.url + '/jwks.json', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal((await r.text()).length, 0);
});
