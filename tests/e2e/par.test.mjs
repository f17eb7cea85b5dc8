// Pushed authorization requests (RFC 9126; issue 15 item 5): POST /par
// authenticates the client as /token does and checks the request as
// /authorize does; the request_uri it answers is used once, by its own
// client only, for par_ttl seconds (AZ-13); a client or a server that
// requires PAR refuses plain /authorize (AZ-14); pushes are capped per IP
// and per client (DS-04); and npm oauth4webapi, unchanged, runs the whole
// flow through it. Runs on SQLite, and on PostgreSQL with
// PORTCULLIS_TEST_PG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { startServer, stopClean, storeSql, storeDump } from './lib/server.mjs';
import { Client, GOOD_PW, addUser, cliAt, csrfOf } from './lib/web.mjs';
import { addClient, authorizeParams, pkce, tokenRequest } from './lib/oauth.mjs';

const EMAIL = 'par@example.com';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let srv, rp, spa, post, other;

before(async () => {
  srv = await startServer({ config: { login_delay_free: 99, presession_max_per_ip: 3, par_max_per_client: 4, par_ttl: 5 } });
  addUser(srv, EMAIL);
  rp = addClient(srv, { name: 'PAR RP', redirectUris: ['https://rp.example/cb'] });
  spa = addClient(srv, { name: 'PAR SPA', public: true, redirectUris: ['https://spa.example/cb'] });
  post = addClient(srv, { name: 'PAR post', authMethod: 'client_secret_post', redirectUris: ['https://post.example/cb'] });
  other = addClient(srv, { name: 'Other RP', redirectUris: ['https://other.example/cb'] });
});
after(async () => { await stopClean(srv); });

const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

// POST /par as client (its registered authentication) with params.
async function push(s, client, params, { auth = true, headers = {}, query = '' } = {}) {
  const form = { ...params };
  const h = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers };
  if (auth && client.authMethod === 'client_secret_basic') h.authorization = basic(client.client_id, client.client_secret);
  else if (auth && client.authMethod === 'client_secret_post') Object.assign(form, { client_id: client.client_id, client_secret: client.client_secret });
  else if (client.authMethod === 'none' && form.client_id === undefined) form.client_id = client.client_id;
  const res = await fetch(s.url + '/par' + query, { method: 'POST', headers: h, body: new URLSearchParams(form).toString() });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

// A good push for client; { status, json, verifier, state }.
async function goodPush(s, client, opts = {}) {
  const { verifier, challenge } = pkce();
  const params = authorizeParams(client, { challenge, ...opts });
  const r = await push(s, client, params);
  return { ...r, verifier, state: params.state };
}

// A browser at /authorize?query, through sign-in and consent, to the
// redirect back to the client (or whatever stops it).
async function browse(s, query, jar = new Client(s)) {
  let r = await jar.get('/authorize?' + query, { headers: { 'sec-fetch-site': 'cross-site' } });
  for (let i = 0; i < 8; i++) {
    if (r.status === 303 && r.location?.startsWith('/login?req=')) {
      const page = await jar.get(r.location);
      const csrf = csrfOf(page.text, '/login');
      const req = /name="req" value="([^"]+)"/.exec(page.text)?.[1];
      r = await jar.post('/login', { csrf, req, email: EMAIL, password: GOOD_PW });
      continue;
    }
    if (r.status === 303 && r.location?.startsWith('/authorize/resume')) {
      r = await jar.get(r.location);
      continue;
    }
    if (r.status === 200 && r.text.includes('action="/authorize/consent"')) {
      const csrf = csrfOf(r.text, '/authorize/consent');
      const req = /name="req" value="([^"]+)"/.exec(r.text)?.[1];
      r = await jar.post('/authorize/consent', { csrf, req, decision: 'allow' });
      continue;
    }
    break;
  }
  const out = { ...r, jar };
  if (r.status === 303 && /^https:/.test(r.location ?? '')) out.params = Object.fromEntries(new URL(r.location).searchParams);
  return out;
}

const useUri = (client, uri, extra = {}) => new URLSearchParams({ client_id: client.client_id, request_uri: uri, ...extra }).toString();

test('AZ-13: /par answers 201 with a one-time request_uri and the flow ends in tokens', async () => {
  const p = await goodPush(srv, rp, { scope: 'openid profile' });
  assert.equal(p.status, 201, JSON.stringify(p.json));
  assert.match(p.json.request_uri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
  assert.equal(p.json.expires_in, 5);
  assert.equal(p.headers.get('cache-control'), 'no-store');
  const a = await browse(srv, useUri(rp, p.json.request_uri));
  assert.ok(a.params?.code, `${a.status} ${a.location} ${a.text?.slice(0, 300)}`);
  assert.equal(a.params.state, p.state);
  assert.equal(new URL(a.location).origin + new URL(a.location).pathname, 'https://rp.example/cb');
  const t = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code: a.params.code, redirect_uri: rp.redirectUri, code_verifier: p.verifier });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  assert.equal(t.json.scope, 'openid profile');
});

test('AZ-13: a request_uri is single-use: the second /authorize with it gets an error page, no redirect', async () => {
  const p = await goodPush(srv, spa);
  assert.equal(p.status, 201, JSON.stringify(p.json));
  const jar = new Client(srv);
  const first = await jar.get('/authorize?' + useUri(spa, p.json.request_uri));
  assert.equal(first.status, 303);
  assert.match(first.location, /^\/login\?req=/);
  for (const j of [jar, new Client(srv)]) {
    const again = await j.get('/authorize?' + useUri(spa, p.json.request_uri));
    assert.equal(again.status, 400);
    assert.equal(again.location, null);
    assert.match(again.text, /expired or was already used/);
  }
});

test('AZ-13: another client cannot use a request_uri, and trying does not burn it', async () => {
  const p = await goodPush(srv, rp);
  assert.equal(p.status, 201);
  // other names itself with rp's request_uri: refused, no redirect.
  const cross = await new Client(srv).get('/authorize?' + useUri(other, p.json.request_uri));
  assert.equal(cross.status, 400);
  assert.equal(cross.location, null);
  // Without any client_id: refused too.
  const none = await new Client(srv).get('/authorize?' + new URLSearchParams({ request_uri: p.json.request_uri }));
  assert.equal(none.status, 400);
  assert.equal(none.location, null);
  // rp's own use still works once.
  const own = await new Client(srv).get('/authorize?' + useUri(rp, p.json.request_uri));
  assert.equal(own.status, 303);
  assert.match(own.location, /^\/login\?req=/);
});

test('AZ-13: an expired request_uri is refused; the row lives par_ttl seconds', async () => {
  const p = await goodPush(srv, rp);
  assert.equal(p.status, 201);
  const rows = storeSql(srv, `SELECT expires_at - created_at FROM par_requests WHERE client_id = '${rp.client_id}'`).split('\n');
  assert.ok(rows.length >= 1 && rows.every((x) => x === '5'), rows.join(','));
  storeSql(srv, `UPDATE par_requests SET expires_at = created_at - 1 WHERE client_id = '${rp.client_id}'`);
  const r = await new Client(srv).get('/authorize?' + useUri(rp, p.json.request_uri));
  assert.equal(r.status, 400);
  assert.equal(r.location, null);
  assert.match(r.text, /expired/);
});

test('AZ-13: only the pushed parameters count; the query\'s redirect_uri, scope and state are ignored', async () => {
  const p = await goodPush(srv, rp, { scope: 'openid', state: 'pushed-state' });
  assert.equal(p.status, 201);
  const q = useUri(rp, p.json.request_uri, { redirect_uri: 'https://evil.example/cb', scope: 'openid email', state: 'evil', prompt: 'none' });
  const a = await browse(srv, q);
  assert.ok(a.params?.code, `${a.status} ${a.location}`);
  assert.ok(a.location.startsWith('https://rp.example/cb?'), a.location);
  assert.equal(a.params.state, 'pushed-state');
  const t = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code: a.params.code, redirect_uri: rp.redirectUri, code_verifier: p.verifier });
  assert.equal(t.status, 200);
  assert.equal(t.json.scope, 'openid');
});

test('AZ-13: a malformed request_uri with our prefix is an error page; any other request_uri stays unsupported (AZ-12)', async () => {
  for (const bad of ['urn:ietf:params:oauth:request_uri:short', 'urn:ietf:params:oauth:request_uri:' + 'A'.repeat(44)]) {
    const r = await new Client(srv).get('/authorize?' + useUri(rp, bad));
    assert.equal(r.status, 400, bad);
    assert.equal(r.location, null);
  }
  const { challenge } = pkce();
  const q = new URLSearchParams(authorizeParams(rp, { challenge, params: { request_uri: 'https://attacker.example/req' } }));
  const r = await new Client(srv).get('/authorize?' + q);
  assert.equal(r.status, 303);
  assert.equal(new URL(r.location).searchParams.get('error'), 'request_uri_not_supported');
});

test('AZ-13: /par checks the request as /authorize does, answering JSON errors', async () => {
  const { challenge } = pkce();
  const base = authorizeParams(rp, { challenge });
  const cases = [
    [{ redirect_uri: 'https://evil.example/cb' }, 400, 'invalid_request'],
    [{ code_challenge: undefined }, 400, 'invalid_request'],
    [{ code_challenge_method: 'plain' }, 400, 'invalid_request'],
    [{ response_type: 'token' }, 400, 'unsupported_response_type'],
    [{ scope: 'openid admin' }, 400, 'invalid_scope'],
    [{ request: 'eyJhbGciOiJub25lIn0.e30.' }, 400, 'request_not_supported'],
    [{ request_uri: 'urn:ietf:params:oauth:request_uri:' + 'A'.repeat(43) }, 400, 'invalid_request'],
    [{ client_id: other.client_id }, 400, 'invalid_request'],
    [{ prompt: 'none login' }, 400, 'invalid_request'],
  ];
  for (const [change, status, error] of cases) {
    const params = { ...base, ...change };
    for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
    const r = await push(srv, rp, params);
    assert.equal(r.status, status, JSON.stringify(change) + ' ' + JSON.stringify(r.json));
    assert.equal(r.json.error, error, JSON.stringify(change));
    assert.equal(r.json.request_uri, undefined);
  }
  // Client authentication as at /token: none, a wrong secret, a secret in the URL.
  assert.equal((await push(srv, rp, base, { auth: false })).status, 401);
  const wrong = await push(srv, rp, base, { auth: false, headers: { authorization: basic(rp.client_id, 'pcs_' + 'A'.repeat(43)) } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.error, 'invalid_client');
  const inUrl = await push(srv, rp, base, { query: '?client_secret=' + rp.client_secret });
  assert.equal(inUrl.status, 400);
  assert.equal(storeSql(srv, `SELECT count(*) FROM par_requests WHERE params LIKE '%evil.example%'`), '0');
});

test('AZ-13: the store keeps neither the request_uri nor the client secret', async () => {
  const p = await goodPush(srv, post);
  assert.equal(p.status, 201, JSON.stringify(p.json));
  const dump = storeDump(srv);
  const random = p.json.request_uri.split(':').at(-1);
  assert.equal(dump.includes(random), false, 'request_uri stored in clear');
  assert.equal(dump.includes(post.client_secret), false, 'client secret stored');
  // Only the request_uri's SHA-256 is there (the dump above may miss
  // SQLite's write-ahead log; these read through the store).
  const hash = createHash('sha256').update(p.json.request_uri).digest('hex');
  assert.equal(storeSql(srv, `SELECT client_id FROM par_requests WHERE uri_hash = '${hash}'`), post.client_id);
  assert.equal(storeSql(srv, `SELECT count(*) FROM par_requests WHERE params LIKE '%${random}%' OR uri_hash LIKE '%${random}%'`), '0');
  const params = storeSql(srv, `SELECT params FROM par_requests WHERE client_id = '${post.client_id}'`);
  assert.match(params, /client_id=/);
  assert.doesNotMatch(params, /client_secret/);
  // It still works: the pushed client_id came from the form.
  const a = await new Client(srv).get('/authorize?' + useUri(post, p.json.request_uri));
  assert.equal(a.status, 303);
});

test('DS-04: a public client\'s pushes are capped per IP, a confidential client\'s per client', async () => {
  storeSql(srv, 'DELETE FROM par_requests');
  const spaUris = [];
  // (2 ms apart: the oldest is the one with the smallest created_ms.)
  for (let i = 0; i < 5; i++) {
    spaUris.push((await goodPush(srv, spa)).json.request_uri);
    await sleep(2);
  }
  assert.equal(storeSql(srv, `SELECT count(*) FROM par_requests WHERE client_id = '${spa.client_id}'`), '3');
  // The oldest went: the first is dead, the newest lives.
  assert.equal((await new Client(srv).get('/authorize?' + useUri(spa, spaUris[0]))).status, 400);
  assert.equal((await new Client(srv).get('/authorize?' + useUri(spa, spaUris[4]))).status, 303);
  // A confidential client pushes from its own servers: not per IP.
  for (let i = 0; i < 6; i++) assert.equal((await goodPush(srv, rp)).status, 201);
  assert.equal(storeSql(srv, `SELECT count(*) FROM par_requests WHERE client_id = '${rp.client_id}'`), '4');
  assert.equal(storeSql(srv, `SELECT count(*) FROM par_requests WHERE client_id = '${spa.client_id}'`), '2');
});

test('AZ-13: discovery names the PAR endpoint; PAR is not required by default', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.pushed_authorization_request_endpoint, srv.issuer + '/par');
  assert.equal(d.require_pushed_authorization_requests, false);
});

test('AZ-14: with par_required, plain /authorize is refused and PAR works', async () => {
  const s = await startServer({ config: { login_delay_free: 99, par_required: 'true' } });
  try {
    addUser(s, EMAIL);
    const c = addClient(s, { name: 'Must push', redirectUris: ['https://must.example/cb'] });
    const d = await (await fetch(s.url + '/.well-known/oauth-authorization-server')).json();
    assert.equal(d.require_pushed_authorization_requests, true);
    const { challenge } = pkce();
    const plain = await new Client(s).get('/authorize?' + new URLSearchParams(authorizeParams(c, { challenge, state: 'st' })));
    assert.equal(plain.status, 303);
    const e = new URL(plain.location);
    assert.equal(e.origin + e.pathname, 'https://must.example/cb');
    assert.equal(e.searchParams.get('error'), 'invalid_request');
    assert.equal(e.searchParams.get('code'), null);
    assert.equal(e.searchParams.get('state'), 'st');
    const p = await goodPush(s, c);
    assert.equal(p.status, 201, JSON.stringify(p.json));
    const a = await browse(s, useUri(c, p.json.request_uri));
    assert.ok(a.params?.code, `${a.status} ${a.location}`);
  } finally {
    await stopClean(s);
  }
});

test('AZ-14: a client registered with --par-required must push; others need not; --no-par-required lifts it', async () => {
  const c = addClient(srv, { name: 'Must push', redirectUris: ['https://must.example/cb'], extra: ['--par-required'] });
  assert.equal(c.par_required, true);
  const plainFor = (client) => {
    const { challenge } = pkce();
    return new Client(srv).get('/authorize?' + new URLSearchParams(authorizeParams(client, { challenge, state: 'st' })));
  };
  const plain = await plainFor(c);
  assert.equal(plain.status, 303);
  const e = new URL(plain.location);
  assert.equal(e.origin + e.pathname, 'https://must.example/cb');
  assert.equal(e.searchParams.get('error'), 'invalid_request');
  assert.equal(e.searchParams.get('state'), 'st');
  assert.match((await plainFor(rp)).location, /^\/login\?req=/);
  const p = await goodPush(srv, c);
  assert.equal(p.status, 201, JSON.stringify(p.json));
  assert.match((await new Client(srv).get('/authorize?' + useUri(c, p.json.request_uri))).location, /^\/login\?req=/);
  const up = cliAt(srv, ['client', 'update', '--id', c.client_id, '--no-par-required', '--json']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(JSON.parse(up.stdout).par_required, false);
  assert.match((await plainFor(c)).location, /^\/login\?req=/);
});

test('AZ-13: npm oauth4webapi, unchanged, runs PAR, the code flow and the token request', async () => {
  const issuer = new URL(srv.issuer);
  const opts = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, opts));
  assert.equal(as.pushed_authorization_request_endpoint, srv.issuer + '/par');
  for (const [c, auth] of [[rp, oauth.ClientSecretBasic(rp.client_secret)], [spa, oauth.None()]]) {
    const client = { client_id: c.client_id };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const params = new URLSearchParams({
      response_type: 'code', redirect_uri: c.redirectUri, scope: 'openid profile', state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const pr = await oauth.processPushedAuthorizationResponse(as, client,
      await oauth.pushedAuthorizationRequest(as, client, auth, params, opts));
    assert.match(pr.request_uri, /^urn:ietf:params:oauth:request_uri:/);
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', c.client_id);
    url.searchParams.set('request_uri', pr.request_uri);
    const a = await browse(srv, url.searchParams.toString());
    assert.ok(a.params?.code, `${a.status} ${a.location}`);
    const cb = oauth.validateAuthResponse(as, client, new URL(a.location), state);
    const tr = await oauth.processAuthorizationCodeResponse(as, client,
      await oauth.authorizationCodeGrantRequest(as, client, auth, cb, c.redirectUri, verifier, opts));
    assert.equal(tr.token_type.toLowerCase(), 'bearer');
    assert.ok(tr.access_token);
    assert.ok(oauth.getValidatedIdTokenClaims(tr).sub);
  }
});
