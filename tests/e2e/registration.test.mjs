// Dynamic client registration (RFC 7591) and its management (RFC 7592) at
// /oauth/register (issue 15 item 6; SECURITY.md CR-01, CR-02, CR-03,
// CR-07), attacked through the real server: off by default; with
// client_registration = token nothing registers without a live initial
// access token, and each token registers at most its cap (also when
// asked concurrently); open registration takes public clients with
// loopback or private-scheme redirect URIs only; every AZ-04 rule applies
// to registered redirect URIs; management needs the registration access
// token, which a PUT replaces; registrations count per IP before any
// work; unused registered clients go in the purge. A registered client
// then signs a user in like any other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { addUser, auditRows, cliAt } from './lib/web.mjs';
import { authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let off, tok, open;

before(async () => {
  [off, tok, open] = await Promise.all([
    startServer(),
    startServer({ config: { client_registration: 'token', client_registration_per_ip: 1000 } }),
    startServer({ config: { client_registration: 'open', client_registration_per_ip: 1000 } }),
  ]);
  addUser(tok, 'alice@example.com');
  addUser(open, 'alice@example.com');
});
after(async () => {
  await Promise.all([off, tok, open].map((s) => stopClean(s)));
});

function initialToken(srv, args = []) {
  const r = cliAt(srv, ['client', 'registration-token', 'add', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function register(srv, body, token, headers = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(srv.url + '/oauth/register', {
    method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

async function manage(srv, reg, method, token, body) {
  const h = {};
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(reg.registration_client_uri.replace(srv.issuer, srv.url), {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

const publicMeta = (uris = ['https://app.example/cb']) => ({
  client_name: 'Registered app', redirect_uris: uris, token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
  scope: 'openid profile offline_access',
});

const asClient = (reg) => ({
  client_id: reg.client_id, client_secret: reg.client_secret,
  redirectUri: reg.redirect_uris[0], authMethod: reg.token_endpoint_auth_method,
});

test('CR-01: registration is off by default: 404, and discovery names no registration_endpoint', async () => {
  const r = await register(off, publicMeta(['http://127.0.0.1/cb']));
  assert.equal(r.status, 404);
  const d = await (await fetch(off.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.registration_endpoint, undefined);
  assert.equal(d.client_id_metadata_document_supported, false);
  const d2 = await (await fetch(tok.url + '/.well-known/oauth-authorization-server')).json();
  assert.equal(d2.registration_endpoint, `${tok.issuer}/oauth/register`);
});

test('CR-01: token mode: no initial token, a malformed, unknown or revoked one is 401 and registers nothing', async () => {
  const before = storeSql(tok, "SELECT count(*) FROM clients WHERE registration = 'dynamic'");
  let r = await register(tok, publicMeta());
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_token');
  assert.match(r.headers.get('www-authenticate'), /^Bearer/);
  r = await register(tok, publicMeta(), 'not-a-token');
  assert.equal(r.status, 401);
  r = await register(tok, publicMeta(), 'pci_' + 'A'.repeat(43));
  assert.equal(r.status, 401);
  const t = initialToken(tok);
  assert.equal(cliAt(tok, ['client', 'registration-token', 'revoke', '--id', t.id]).code, 0);
  r = await register(tok, publicMeta(), t.token);
  assert.equal(r.status, 401);
  // An expired one (the store's clock is the server's).
  const t2 = initialToken(tok);
  storeSql(tok, `UPDATE client_initial_tokens SET expires_at = 1 WHERE token_id = '${t2.id}'`);
  r = await register(tok, publicMeta(), t2.token);
  assert.equal(r.status, 401);
  assert.equal(storeSql(tok, "SELECT count(*) FROM clients WHERE registration = 'dynamic'"), before);
  // The tokens are stored as hashes only.
  assert.equal(storeSql(tok, `SELECT count(*) FROM client_initial_tokens WHERE token_hash LIKE '%${t.token.slice(4, 20)}%'`), '0');
});

test('CR-01: a client registered with an initial token signs a user in, refreshes, and is audited', async () => {
  const t = initialToken(tok, ['--label', 'mcp tests']);
  const r = await register(tok, { ...publicMeta(), unknown_member: { ignored: true }, software_id: 'x' }, t.token);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const reg = r.json;
  assert.match(reg.client_id, /^pcc_/);
  assert.equal(reg.client_secret, undefined);
  assert.match(reg.registration_access_token, /^pcm_/);
  assert.equal(reg.registration_client_uri, `${tok.issuer}/oauth/register?client_id=${reg.client_id}`);
  assert.deepEqual(reg.redirect_uris, ['https://app.example/cb']);
  assert.equal(reg.scope, 'openid profile offline_access');
  assert.equal(reg.dpop_bound_access_tokens, false);
  assert.equal(storeSql(tok, `SELECT registration FROM clients WHERE client_id = '${reg.client_id}'`), 'dynamic');
  const f = await codeFlow(tok, asClient(reg), { email: 'alice@example.com', scope: 'openid offline_access' });
  assert.ok(f.tokens.access_token);
  const rt = await tokenRequest(tok, asClient(reg), { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(rt.status, 200);
  const row = auditRows(tok).find((a) => a.event === 'client.register' && a.target === reg.client_id);
  assert.ok(row, 'client.register audited');
  assert.equal(row.details.via, 'token');
  assert.ok(!JSON.stringify(auditRows(tok)).includes(reg.registration_access_token));
  assert.ok(!tok.rawLogs().includes(reg.registration_access_token));
  assert.ok(!tok.rawLogs().includes(t.token));
  const list = JSON.parse(cliAt(tok, ['client', 'registration-token', 'list', '--json']).stdout);
  assert.equal(list.find((x) => x.id === t.id).used_clients, 1);
});

test('CR-01: a confidential client registered with a token gets a secret that works', async () => {
  const t = initialToken(tok);
  const r = await register(tok, { redirect_uris: ['https://conf.example/cb'], client_name: 'Conf' }, t.token);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.token_endpoint_auth_method, 'client_secret_basic');
  assert.match(r.json.client_secret, /^pcs_/);
  assert.equal(r.json.client_secret_expires_at, 0);
  const f = await codeFlow(tok, asClient(r.json), { email: 'alice@example.com' });
  assert.ok(f.tokens.id_token);
});

test('CR-07: an initial token registers at most --max-clients clients, also when asked at once', async () => {
  const t = initialToken(tok, ['--max-clients', '2']);
  const all = await Promise.all([1, 2, 3, 4, 5].map(() => register(tok, publicMeta(), t.token)));
  assert.deepEqual(all.map((r) => r.status).sort(), [201, 201, 401, 401, 401]);
  const list = JSON.parse(cliAt(tok, ['client', 'registration-token', 'list', '--json']).stdout);
  const row = list.find((x) => x.id === t.id);
  assert.equal(row.used_clients, 2);
  assert.equal(row.max_clients, 2);
});

test('CR-02: registered redirect URIs pass every AZ-04 rule (400 invalid_redirect_uri)', async () => {
  const t = initialToken(tok, ['--max-clients', '50']);
  for (const uri of ['javascript:alert(1)', 'data:text/html,x', 'http://evil.example/cb',
    'https://app.example/cb#frag', 'https://*.example/cb', 'https://app.example/cb?code=1',
    'http://localhost/cb', 'https://user@app.example/cb', 'https://app.example/a/../cb', 'cb']) {
    const r = await register(tok, publicMeta([uri]), t.token);
    assert.equal(r.status, 400, uri);
    assert.equal(r.json.error, 'invalid_redirect_uri', uri);
  }
  const cases = [
    [{ redirect_uris: [] }, 'invalid_client_metadata'],
    [{ client_name: 'x' }, 'invalid_redirect_uri'],
    [{ ...publicMeta(), grant_types: ['client_credentials'] }, 'invalid_client_metadata'],
    [{ ...publicMeta(), grant_types: ['implicit'] }, 'invalid_client_metadata'],
    [{ ...publicMeta(), response_types: ['token'] }, 'invalid_client_metadata'],
    [{ ...publicMeta(), token_endpoint_auth_method: 'client_secret_jwt' }, 'invalid_client_metadata'],
    [{ ...publicMeta(), logo_uri: 'http://app.example/logo.png' }, 'invalid_client_metadata'],
    [{ ...publicMeta(), client_uri: 'javascript:alert(1)' }, 'invalid_client_metadata'],
    [{ ...publicMeta(), jwks_uri: 'https://app.example/jwks' }, 'invalid_client_metadata'],
    [{ ...publicMeta(), redirect_uris: 'https://app.example/cb' }, 'invalid_client_metadata'],
    [{ ...publicMeta(), scope: 'admin root' }, 'invalid_client_metadata'],
    [{ ...publicMeta(), client_name: 'a\u0000b' }, 'invalid_client_metadata'],
  ];
  for (const [body, error] of cases) {
    const r = await register(tok, body, t.token);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error, error, JSON.stringify(body));
  }
  for (const raw of ['', 'not json', '[]', '{"redirect_uris":["https://a.example/cb"],"redirect_uris":[]}',
    '['.repeat(100)]) {
    const r = await register(tok, raw, t.token);
    assert.equal(r.status, 400, raw);
  }
  const r = await register(tok, JSON.stringify(publicMeta()), t.token, { 'content-type': 'text/plain' });
  assert.equal(r.status, 400);
  // Scopes beyond client_registration_scopes are dropped, not granted.
  const s = await register(tok, { ...publicMeta(), scope: 'openid groups admin' }, t.token);
  assert.equal(s.status, 201);
  assert.equal(s.json.scope, 'openid');
});

test('CR-03: management needs the registration access token; PUT replaces it; DELETE ends the client', async () => {
  const t = initialToken(tok, ['--max-clients', '2']);
  const a = (await register(tok, publicMeta(), t.token)).json;
  const b = (await register(tok, publicMeta(), t.token)).json;
  // Without, malformed, wrong, another client's: one answer, 401.
  for (const token of [undefined, 'x', 'pcm_' + 'A'.repeat(43), b.registration_access_token, t.token]) {
    for (const method of ['GET', 'DELETE']) {
      const r = await manage(tok, a, method, token);
      assert.equal(r.status, 401, `${method} ${token}`);
      assert.equal(r.json.error, 'invalid_token');
    }
    const r = await manage(tok, a, 'PUT', token, { ...publicMeta(['https://evil.example/cb']), client_id: a.client_id });
    assert.equal(r.status, 401);
  }
  // An unknown client looks the same.
  const ghost = { ...a, registration_client_uri: a.registration_client_uri.replace(a.client_id, 'pcc_AAAAAAAAAAAAAAAAAAAAAA') };
  assert.equal((await manage(tok, ghost, 'GET', a.registration_access_token)).status, 401);
  // An operator's client cannot be managed at all.
  const op = JSON.parse(cliAt(tok, ['client', 'add', '--json', '--name', 'op', '--redirect-uri', 'https://op.example/cb']).stdout);
  const opReg = { registration_client_uri: `${tok.issuer}/oauth/register?client_id=${op.client_id}` };
  assert.equal((await manage(tok, opReg, 'DELETE', a.registration_access_token)).status, 401);
  assert.equal(storeSql(tok, `SELECT count(*) FROM clients WHERE client_id = '${op.client_id}'`), '1');

  const g = await manage(tok, a, 'GET', a.registration_access_token);
  assert.equal(g.status, 200);
  assert.equal(g.json.client_id, a.client_id);
  assert.equal(g.json.registration_access_token, undefined);
  assert.deepEqual(g.json.redirect_uris, ['https://app.example/cb']);
  // PUT: the whole metadata; client_id must match; bad URIs still refused.
  let p = await manage(tok, a, 'PUT', a.registration_access_token, { ...publicMeta(['https://app.example/new']), client_id: b.client_id });
  assert.equal(p.status, 400);
  p = await manage(tok, a, 'PUT', a.registration_access_token, { ...publicMeta(['javascript:x']), client_id: a.client_id });
  assert.equal(p.json.error, 'invalid_redirect_uri');
  p = await manage(tok, a, 'PUT', a.registration_access_token, { ...publicMeta(), token_endpoint_auth_method: 'client_secret_basic', client_id: a.client_id });
  assert.equal(p.status, 400);
  p = await manage(tok, a, 'PUT', a.registration_access_token, { ...publicMeta(['https://app.example/new']), client_id: a.client_id });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  assert.deepEqual(p.json.redirect_uris, ['https://app.example/new']);
  const rotated = p.json.registration_access_token;
  assert.match(rotated, /^pcm_/);
  assert.notEqual(rotated, a.registration_access_token);
  // The old token is dead; the new one works.
  assert.equal((await manage(tok, a, 'GET', a.registration_access_token)).status, 401);
  assert.equal((await manage(tok, a, 'GET', rotated)).status, 200);
  assert.ok(auditRows(tok).some((x) => x.event === 'client.register_update' && x.target === a.client_id));
  // Only hashes at rest.
  assert.equal(storeSql(tok, `SELECT count(*) FROM client_registrations WHERE access_token_hash = '${rotated}'`), '0');
  const d = await manage(tok, a, 'DELETE', rotated);
  assert.equal(d.status, 204);
  assert.equal(storeSql(tok, `SELECT count(*) FROM clients WHERE client_id = '${a.client_id}'`), '0');
  assert.equal((await manage(tok, a, 'GET', rotated)).status, 401);
  const az = await authorize(tok, asClient({ ...a, redirect_uris: ['https://app.example/new'] }), { email: 'alice@example.com' });
  assert.equal(az.status, 400);
  assert.ok(auditRows(tok).some((x) => x.event === 'client.register_delete' && x.target === a.client_id));
});

test('CR-01: open registration takes public clients with loopback or private-scheme redirect URIs only', async () => {
  for (const body of [
    publicMeta(['https://app.example/cb']),
    { ...publicMeta(['http://127.0.0.1/cb']), token_endpoint_auth_method: 'client_secret_basic' },
    { ...publicMeta(['http://127.0.0.1/cb']), token_endpoint_auth_method: undefined },
    publicMeta(['http://127.0.0.1/cb', 'https://look-alike.example/cb']),
  ]) {
    const r = await register(open, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error, 'invalid_client_metadata');
  }
  const r = await register(open, publicMeta(['http://127.0.0.1:33418/cb', 'com.example.app:/cb', 'http://[::1]/cb']));
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.token_endpoint_auth_method, 'none');
  const row = auditRows(open).find((a) => a.event === 'client.register' && a.target === r.json.client_id);
  assert.equal(row.details.via, 'open');
  // It works, on an ephemeral loopback port (RFC 8252 §7.3).
  const f = await codeFlow(open, { ...asClient(r.json), redirectUri: 'http://127.0.0.1:50123/cb' }, { email: 'alice@example.com' });
  assert.ok(f.tokens.access_token);
  // Its owner cannot turn it into a web client by a PUT either.
  const p = await manage(open, r.json, 'PUT', r.json.registration_access_token, { ...publicMeta(['https://app.example/cb']), client_id: r.json.client_id });
  assert.equal(p.status, 400);
});

test('CR-07: registrations count per IP before any work; past the limit 429', async () => {
  const s = await startServer({ config: { client_registration: 'open', client_registration_per_ip: 3 } });
  try {
    // Malformed ones count too: the limit is on requests, not clients.
    assert.equal((await register(s, 'garbage')).status, 400);
    assert.equal((await register(s, publicMeta(['http://127.0.0.1/cb']))).status, 201);
    const rest = await Promise.all([1, 2, 3, 4].map(() => register(s, publicMeta(['http://127.0.0.1/cb']))));
    assert.deepEqual(rest.map((r) => r.status).sort(), [201, 429, 429, 429]);
    const over = rest.find((r) => r.status === 429);
    assert.ok(over.headers.get('retry-after'));
    assert.equal(storeSql(s, "SELECT count(*) FROM clients WHERE registration = 'dynamic'"), '2');
  } finally {
    await stopClean(s);
  }
});

test('CR-07: unused self-registered clients go in the purge; used ones stay; DPoP policy is set', async () => {
  const s = await startServer({ keepDataDir: true, config: {
    client_registration: 'open', client_registration_unused: '1s', client_registration_dpop: 'true' } });
  let s2;
  try {
    addUser(s, 'carol@example.com');
    const unused = (await register(s, publicMeta(['http://127.0.0.1/cb']))).json;
    const used = (await register(s, publicMeta(['http://127.0.0.1/cb']))).json;
    assert.equal(used.dpop_bound_access_tokens, true);
    assert.equal(storeSql(s, `SELECT dpop_required FROM clients WHERE client_id = '${used.client_id}'`), '1');
    const a = await authorize(s, asClient(used), { email: 'carol@example.com' });
    const t = await tokenRequest(s, asClient(used), { grant_type: 'authorization_code', code: a.code,
      redirect_uri: 'http://127.0.0.1/cb', code_verifier: a.verifier });
    // h-dpop's enforcement may refuse a proof-less request; either way a
    // grant (family) exists only when tokens were issued.
    if (t.status !== 200) {
      storeSql(s, `INSERT INTO token_families (family_id, client_id, user_id, scope, auth_time, created_at, expires_at)
        SELECT 'fam-test', '${used.client_id}', id, 'openid', 1, 1, 9999999999 FROM users WHERE email = 'carol@example.com'`);
    }
    await sleep(2100);
    await s.stop();
    s2 = await startServer({ dataDir: s.dataDir, config: {
      client_registration: 'open', client_registration_unused: '1s' } });
    assert.equal(storeSql(s2, `SELECT count(*) FROM clients WHERE client_id = '${unused.client_id}'`), '0');
    assert.equal(storeSql(s2, `SELECT count(*) FROM deleted_clients WHERE client_id = '${unused.client_id}'`), '1');
    assert.equal(storeSql(s2, `SELECT count(*) FROM clients WHERE client_id = '${used.client_id}'`), '1');
    assert.match(s2.rawLogs(), /registered_clients/);
  } finally {
    if (s2) await stopClean(s2);
  }
});

test('CR-01: the MCP SDK registers itself with open registration and signs a user in (interop)', async () => {
  const { registerClient, discoverAuthorizationServerMetadata } = await import('@modelcontextprotocol/sdk/client/auth.js');
  const metadata = await discoverAuthorizationServerMetadata(open.url);
  assert.equal(metadata.registration_endpoint, `${open.issuer}/oauth/register`);
  const info = await registerClient(open.url, { metadata, clientMetadata: {
    client_name: 'MCP SDK client', redirect_uris: ['http://127.0.0.1:40123/callback'],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    token_endpoint_auth_method: 'none', client_uri: 'https://mcp-client.example' } });
  assert.match(info.client_id, /^pcc_/);
  const f = await codeFlow(open, { client_id: info.client_id, redirectUri: 'http://127.0.0.1:40123/callback', authMethod: 'none' },
    { email: 'alice@example.com' });
  assert.ok(f.tokens.access_token);
  // The SDK's own error path: a confidential client is refused in open mode.
  await assert.rejects(registerClient(open.url, { metadata, clientMetadata: {
    redirect_uris: ['https://mcp-client.example/cb'], token_endpoint_auth_method: 'client_secret_post' } }));
});
