// CORS for browser clients (issue 15 item 8; SECURITY.md CF-05): only
// /token, /revoke, /userinfo and the public metadata answer cross-origin
// requests; an origin is allowed when it is a public client's redirect-URI
// origin or listed in a client's cors_origins (client add|update
// --cors-origin); at /token and /revoke only for the client the form
// names; a preflight is answered; any other origin gets no CORS header,
// and none ever gets Access-Control-Allow-Credentials. Runs on SQLite, and
// on PostgreSQL with PORTCULLIS_TEST_PG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean } from './lib/server.mjs';
import { addUser, cliAt } from './lib/web.mjs';
import { addClient, codeFlow } from './lib/oauth.mjs';
import { chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, pageServer } from './lib/browser.mjs';

const EMAIL = 'cors@example.com';
const SPA = 'https://spa.example';
let srv, spa, spa2, rp;

before(async () => {
  srv = await startServer({ config: { login_delay_free: 99 } });
  addUser(srv, EMAIL);
  spa = addClient(srv, { name: 'SPA', public: true, redirectUris: [SPA + '/cb'] });
  spa2 = addClient(srv, { name: 'Other SPA', public: true, redirectUris: ['https://spa2.example:8443/callback'] });
  rp = addClient(srv, { name: 'Backend RP', redirectUris: ['https://rp.example/cb'] });
});
after(async () => { await stopClean(srv); });

async function post(path, form, origin, headers = {}) {
  const h = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  if (origin) h.origin = origin;
  const res = await fetch(srv.url + path, { method: 'POST', headers: h, body: new URLSearchParams(form).toString() });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

function preflight(path, origin, method = 'POST', headers = 'content-type, dpop') {
  return fetch(srv.url + path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });
}

const acao = (r) => r.headers.get('access-control-allow-origin');
function noCors(r, what) {
  for (const h of r.headers.keys()) assert.ok(!h.startsWith('access-control-'), `${what}: ${h}`);
}

test('CF-05: a public client\'s redirect-URI origin reads /token answers for that client; other origins get no CORS header', async () => {
  const bad = { grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: SPA + '/cb', code_verifier: 'v'.repeat(43), client_id: spa.client_id };
  const ok = await post('/token', bad, SPA);
  assert.equal(ok.status, 400);
  assert.equal(acao(ok), SPA);
  assert.equal(ok.headers.get('access-control-allow-credentials'), null);
  assert.match(ok.headers.get('vary') ?? '', /Origin/);
  assert.match(ok.headers.get('access-control-expose-headers') ?? '', /DPoP-Nonce/);
  for (const o of ['https://evil.example', 'https://spa.example.evil.example', 'http://spa.example', 'https://spa.example:444', 'null', SPA + '/']) {
    noCors(await post('/token', bad, o), o);
  }
  // Another client's origin: not for this client.
  noCors(await post('/token', { ...bad, client_id: spa2.client_id }, SPA), 'other client');
  // The non-default port is part of spa2's origin.
  assert.equal(acao(await post('/token', { ...bad, client_id: spa2.client_id }, 'https://spa2.example:8443')), 'https://spa2.example:8443');
  // Two Origin headers: none.
  noCors(await post('/token', bad, undefined, { origin: [SPA, SPA].join(', ') }), 'two origins');
});

test('CF-05: a real code flow, token, userinfo and revocation, readable from the SPA\'s origin only', async () => {
  const f = await codeFlow(srv, spa, { email: EMAIL, scope: 'openid email offline_access' });
  const ui = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + f.tokens.access_token, origin: SPA } });
  assert.equal(ui.status, 200);
  assert.equal(acao(ui), SPA);
  const evil = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + f.tokens.access_token, origin: 'https://evil.example' } });
  assert.equal(evil.status, 200);
  noCors(evil, 'userinfo from evil');
  const refreshed = await post('/token', { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token, client_id: spa.client_id }, SPA);
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
  assert.equal(acao(refreshed), SPA);
  const rv = await post('/revoke', { token: refreshed.json.refresh_token, client_id: spa.client_id }, SPA);
  assert.equal(rv.status, 200);
  assert.equal(acao(rv), SPA);
  noCors(await post('/revoke', { token: 'x', client_id: spa.client_id }, 'https://evil.example'), 'revoke from evil');
});

test('CF-05: preflights are answered for allowed origins only, never with credentials', async () => {
  for (const p of ['/token', '/revoke']) {
    const r = await preflight(p, SPA);
    assert.equal(r.status, 204, p);
    assert.equal(acao(r), SPA, p);
    assert.equal(r.headers.get('access-control-allow-methods'), 'POST');
    assert.match(r.headers.get('access-control-allow-headers'), /DPoP/);
    assert.equal(r.headers.get('access-control-allow-credentials'), null);
    noCors(await preflight(p, 'https://evil.example'), `${p} evil`);
    noCors(await preflight(p, SPA, 'PUT'), `${p} PUT`);
  }
  const u = await preflight('/userinfo', SPA, 'GET', 'authorization, dpop');
  assert.equal(acao(u), SPA);
  assert.equal(u.headers.get('access-control-allow-methods'), 'GET, POST');
  // The public metadata: any origin, as ever, without credentials.
  const m = await fetch(srv.url + '/.well-known/openid-configuration', { headers: { origin: 'https://anyone.example' } });
  assert.equal(acao(m), '*');
  assert.equal(m.headers.get('access-control-allow-credentials'), null);
  // Never on the authorization endpoint, pages or anything else.
  for (const p of ['/authorize', '/login', '/account', '/par', '/introspect', '/authorize/consent']) {
    const r = await preflight(p, SPA);
    assert.notEqual(r.status, 204, p);
    noCors(r, p);
  }
  const page = await fetch(srv.url + '/authorize?client_id=' + spa.client_id, { headers: { origin: SPA } });
  noCors(page, '/authorize');
});

test('CF-05: a confidential client\'s redirect origin is not allowed until the operator lists it', async () => {
  const bad = { grant_type: 'refresh_token', refresh_token: 'x', client_id: rp.client_id };
  noCors(await post('/token', bad, 'https://rp.example'), 'rp unlisted');
  noCors(await preflight('/token', 'https://app.rp.example'), 'preflight unlisted');
  const r = cliAt(srv, ['client', 'update', '--id', rp.client_id, '--cors-origin', 'https://app.rp.example', '--cors-origin', 'http://localhost:3000', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).cors_origins, ['https://app.rp.example', 'http://localhost:3000']);
  assert.equal(acao(await post('/token', bad, 'https://app.rp.example')), 'https://app.rp.example');
  assert.equal(acao(await preflight('/token', 'http://localhost:3000')), 'http://localhost:3000');
  noCors(await post('/token', bad, 'https://rp.example'), 'rp redirect origin');
  // And taken back.
  assert.equal(cliAt(srv, ['client', 'update', '--id', rp.client_id, '--no-cors-origins']).code, 0);
  noCors(await post('/token', bad, 'https://app.rp.example'), 'after removal');
  noCors(await preflight('/token', 'http://localhost:3000'), 'preflight after removal');
});

test('CF-05: a deleted client\'s origin is no longer allowed (the per-node set follows the clients version)', async () => {
  const gone = addClient(srv, { name: 'Gone SPA', public: true, redirectUris: ['https://gone.example/cb'] });
  assert.equal(acao(await preflight('/token', 'https://gone.example')), 'https://gone.example');
  assert.equal(cliAt(srv, ['client', 'delete', '--id', gone.client_id]).code, 0);
  noCors(await preflight('/token', 'https://gone.example'), 'deleted client');
});

test('CF-05: cors origins must be exact browser origins', () => {
  for (const o of ['*', 'null', 'https://App.example', 'https://app.example/', 'https://app.example/path', 'http://app.example',
    'https://app.example:443', 'http://localhost:80', 'https://user@app.example', 'app.example', 'https://app.example:0', 'https://app.example:99999']) {
    const r = cliAt(srv, ['client', 'add', '--name', 'Bad', '--public', '--redirect-uri', 'https://x.example/cb', '--cors-origin', o]);
    assert.notEqual(r.code, 0, o);
    assert.match(r.stderr, /CORS origin/, o);
  }
  const ok = cliAt(srv, ['client', 'add', '--name', 'Good', '--public', '--redirect-uri', 'https://x.example/cb',
    '--cors-origin', 'https://app.example:8443', '--cors-origin', 'http://127.0.0.1:5173', '--cors-origin', 'https://[2001:db8::1]', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).cors_origins, ['https://app.example:8443', 'http://127.0.0.1:5173', 'https://[2001:db8::1]']);
});

// What a browser does with those headers: Chromium, a page on a public
// client's origin and one on another origin, each calling /token with a
// DPoP header and /userinfo with Authorization (both preflighted).
test('CF-05: in Chromium, the client\'s origin reads /token and /userinfo answers; another origin\'s fetch fails', async () => {
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  const app = await pageServer({ '/app': '<!doctype html><title>app</title>' });
  const evil = await pageServer({ '/app': '<!doctype html><title>evil</title>' });
  const browserSpa = addClient(srv, { name: 'Browser SPA', public: true, redirectUris: [app.url + '/cb'], scope: 'openid email' });
  const f = await codeFlow(srv, browserSpa, { email: EMAIL, scope: 'openid email' });
  const browser = await launchBrowser();
  try {
    const call = async (origin) => {
      const page = await newPage(browser);
      await page.goto(origin + '/app');
      const out = await page.evaluate(async ({ issuer, clientId, at }) => {
        const res = {};
        try {
          const t = await fetch(issuer + '/token', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: 'not-a-proof' },
            body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: clientId }),
          });
          res.token = { status: t.status, body: await t.json() };
        } catch (e) { res.token = 'failed: ' + e.message; }
        try {
          const u = await fetch(issuer + '/userinfo', { headers: { authorization: 'Bearer ' + at } });
          res.userinfo = { status: u.status, body: await u.json() };
        } catch (e) { res.userinfo = 'failed: ' + e.message; }
        return res;
      }, { issuer: srv.url, clientId: browserSpa.client_id, at: f.tokens.access_token });
      await page.context().close();
      return out;
    };
    const good = await call(app.url);
    assert.equal(good.token.status, 400, JSON.stringify(good));
    assert.ok(good.token.body.error, JSON.stringify(good));
    assert.equal(good.userinfo.status, 200, JSON.stringify(good));
    assert.equal(good.userinfo.body.email, EMAIL);
    const bad = await call(evil.url);
    assert.match(String(bad.token), /^failed: /, JSON.stringify(bad));
    assert.match(String(bad.userinfo), /^failed: /, JSON.stringify(bad));
  } finally {
    await browser.close();
    await app.close();
    await evil.close();
  }
});
