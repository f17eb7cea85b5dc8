// Issue 11 items 12 and 13, the first integration: a client's default
// scope is what an OpenID Connect client asks for, errors name what is
// wrong (the refused scope, the host this server answers to), and
// discovery advertises only the ID token algorithms that can sign now,
// while client registration refuses one that cannot (JW-09). Runs on
// SQLite, and on PostgreSQL with PORTCULLIS_TEST_PG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean, rawRequest, parseRaw } from './lib/server.mjs';
import { Client, addUser, cliAt } from './lib/web.mjs';
import { addClient, codeFlow, pkce, authorizeParams, tokenRequest } from './lib/oauth.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const params = (loc) => Object.fromEntries(new URL(loc).searchParams);

function clientAdd(srv, args) {
  return cliAt(srv, ['client', 'add', '--json', '--name', 'App', '--redirect-uri', 'https://app.example/cb', ...args]);
}

async function discoveryAlgs(srv) {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  return d.id_token_signing_alg_values_supported;
}

test('AZ-10: a client registered without --scope may ask for "openid profile email"; an existing client keeps its scope', async () => {
  const srv = await startServer();
  try {
    let r = clientAdd(srv, []);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    assert.equal(c.scope, 'openid profile email');
    // Registered with openid alone (as every client was by default
    // before): an update that does not name the scope leaves it alone.
    r = clientAdd(srv, ['--scope', 'openid']);
    assert.equal(r.code, 0, r.stderr);
    const old = JSON.parse(r.stdout);
    r = cliAt(srv, ['client', 'update', '--id', old.client_id, '--name', 'Renamed', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).scope, 'openid');
    // And an authorization asking for profile and email just works.
    addUser(srv, 'new@example.com');
    const rp = { ...c, redirectUri: 'https://app.example/cb', authMethod: 'client_secret_basic' };
    const f = await codeFlow(srv, rp, { email: 'new@example.com', scope: 'openid profile email' });
    assert.equal(f.tokens.scope, 'openid profile email');
  } finally {
    await stopClean(srv);
  }
});

test('AZ-10: invalid_scope names the scope refused, at /authorize and at /token', async () => {
  const srv = await startServer({ config: { login_delay_free: 50 } });
  try {
    addUser(srv, 'alice@example.com');
    const rp = addClient(srv, { scope: 'openid email offline_access' });
    const svc = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
    // /authorize: back to the client with the refused scope named.
    const { challenge } = pkce();
    const q = new URLSearchParams(authorizeParams(rp, { challenge, scope: 'openid email admin.write' }));
    const jar = new Client(srv);
    const a = await jar.get('/authorize?' + q, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(a.status, 303);
    const p = params(a.location);
    assert.equal(p.error, 'invalid_scope');
    assert.match(p.error_description, /'admin\.write'/);
    assert.ok(!/'openid'|'email'/.test(p.error_description), p.error_description);
    // /token, client_credentials: beyond the client, and a user scope.
    let t = await tokenRequest(srv, svc, { grant_type: 'client_credentials', scope: 'api.read api.delete' });
    assert.equal(t.json.error, 'invalid_scope');
    assert.match(t.json.error_description, /'api\.delete'/);
    t = await tokenRequest(srv, svc, { grant_type: 'client_credentials', scope: 'openid' });
    assert.equal(t.json.error, 'invalid_scope');
    assert.match(t.json.error_description, /'openid'/);
    // /token, refresh: a scope beyond the original grant.
    const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid offline_access' });
    t = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token, scope: 'openid email offline_access' });
    assert.equal(t.json.error, 'invalid_scope');
    assert.match(t.json.error_description, /'email'/);
  } finally {
    await stopClean(srv);
  }
});

test('HT-04: 400 Unknown Host names the host this server answers to, in the body and the log', async () => {
  const srv = await startServer();
  try {
    const raw = await rawRequest(srv.port,
      'GET /.well-known/openid-configuration HTTP/1.1\r\nHost: wrong.example:8443\r\nConnection: close\r\n\r\n');
    const res = parseRaw(raw.data);
    assert.equal(res.status, 400);
    const body = JSON.parse(res.body);
    assert.equal(body.error, 'invalid_request');
    assert.ok(body.error_description.includes(`127.0.0.1:${srv.port}`), body.error_description);
    await sleep(300);
    const line = srv.logs.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
      .find((l) => l.event === 'http.unknown_host');
    assert.ok(line, srv.rawLogs());
    assert.equal(line.expected, `127.0.0.1:${srv.port}`);
    // AU-03: the Host a client sent is not logged.
    assert.ok(!srv.rawLogs().includes('wrong.example'));
  } finally {
    await stopClean(srv);
  }
});

test('JW-09: discovery advertises only ID token algs with an active key; client add refuses an alg that cannot sign', async () => {
  const srv = await startServer({ config: { signing_key_activation_delay: 0, signing_key_refresh: 1 } });
  try {
    assert.deepEqual((await discoveryAlgs(srv)).sort(), ['ES256', 'RS256']);
    // No PS256 key: refused, nothing created, and the way out is named.
    let r = clientAdd(srv, ['--id-token-alg', 'PS256']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /PS256/);
    assert.match(r.stderr, /key rotate --alg PS256/);
    const before = JSON.parse(cliAt(srv, ['client', 'list', '--json']).stdout).length;
    assert.equal(before, 0);
    r = clientAdd(srv, []);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    r = cliAt(srv, ['client', 'update', '--id', c.client_id, '--id-token-alg', 'EdDSA']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EdDSA/);
    // A PS256 key (active at once with a zero delay): advertised, and a
    // client may use it; its sign-in works end to end.
    r = cliAt(srv, ['key', 'rotate', '--alg', 'PS256']);
    assert.equal(r.code, 0, r.stderr);
    await sleep(2100);
    assert.deepEqual((await discoveryAlgs(srv)).sort(), ['ES256', 'PS256', 'RS256']);
    r = clientAdd(srv, ['--id-token-alg', 'PS256', '--scope', 'openid']);
    assert.equal(r.code, 0, r.stderr);
    const ps = { ...JSON.parse(r.stdout), redirectUri: 'https://app.example/cb', authMethod: 'client_secret_basic' };
    addUser(srv, 'ps@example.com');
    const f = await codeFlow(srv, ps, { email: 'ps@example.com', nonce: 'n1' });
    assert.equal(jose.decodeProtectedHeader(f.tokens.id_token).alg, 'PS256');
  } finally {
    await stopClean(srv);
  }
});

test('JW-09: a key that is only pending does not count: client add refuses until it signs', async () => {
  const srv = await startServer({ config: { signing_key_activation_delay: '1h' } });
  try {
    let r = cliAt(srv, ['key', 'rotate', '--alg', 'EdDSA']);
    assert.equal(r.code, 0, r.stderr);
    r = clientAdd(srv, ['--id-token-alg', 'EdDSA']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /EdDSA/);
    assert.match(r.stderr, /signs from/);
    assert.ok(!(await discoveryAlgs(srv)).includes('EdDSA'));
  } finally {
    await stopClean(srv);
  }
});

// The README's "Connect an application": openid-client 6 authenticates
// with client_secret_post unless told otherwise, and TK-07 accepts only
// the registered method. Both documented ways work; the mismatch fails.
test('TK-07/README: openid-client with client_secret_post by default, or told to use client_secret_basic', async () => {
  const oidc = await import('openid-client');
  const srv = await startServer();
  try {
    const add = (extra) => {
      const r = cliAt(srv, ['client', 'add', '--json', '--name', 'Service', '--redirect-uri', 'https://app.example/cb',
        '--grant', 'client_credentials', '--scope', 'api', ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const basic = add([]);
    const post = add(['--auth-method', 'client_secret_post']);
    const insecure = { execute: [oidc.allowInsecureRequests] }; // http://127.0.0.1 in the tests only
    // Registered for client_secret_post: openid-client's default.
    let config = await oidc.discovery(new URL(srv.issuer), post.client_id, post.client_secret, undefined, insecure);
    let t = await oidc.clientCredentialsGrant(config, { scope: 'api' });
    assert.equal(t.token_type.toLowerCase(), 'bearer');
    // Registered for client_secret_basic (the CLI's default): say so.
    config = await oidc.discovery(new URL(srv.issuer), basic.client_id, basic.client_secret,
      oidc.ClientSecretBasic(basic.client_secret), insecure);
    t = await oidc.clientCredentialsGrant(config, { scope: 'api' });
    assert.ok(t.access_token);
    // The mismatch: invalid_client.
    config = await oidc.discovery(new URL(srv.issuer), basic.client_id, basic.client_secret, undefined, insecure);
    await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'api' }), (e) => e.error === 'invalid_client');
  } finally {
    await stopClean(srv);
  }
});
