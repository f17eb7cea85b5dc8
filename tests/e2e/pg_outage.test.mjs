// PostgreSQL outages (issue 5, "fail closed"): one Portcullis on a private
// cluster that the tests kill (pg_ctl stop -m immediate, as a crash would)
// and start again. While the store is gone every endpoint that needs it
// answers a clean 503 with Retry-After (never a 500, never a token or a
// session cookie), /readyz is 503, and service resumes by itself when the
// store is back. Under a burst of refresh-token rotations and logins that
// the kill cuts, every 200 has a durable write behind it: no refresh token
// is valid twice, the last one each family handed out still works, and the
// audit chain verifies. Rows: RT-01, RT-02, AU-05.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean } from './lib/server.mjs';
import { startCluster } from './lib/pg.mjs';
import { Client, GOOD_PW, addUser, cliAt, csrfOf } from './lib/web.mjs';
import { addClient, authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

let cluster, srv, rp, svc;
const FAMILIES = 4;
const LOGIN_LOOPS = 2;
const REQ_TIMEOUT = 20_000; // a request that takes longer is a hang

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

// fetch with a per-request timeout; the body as text and, if it parses, JSON.
async function call(path, { method = 'GET', form, headers = {} } = {}) {
  const h = { ...headers };
  let body;
  if (form) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(srv.url + path, {
    method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(REQ_TIMEOUT),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

const refresh = (token) => call('/token', {
  method: 'POST', form: { grant_type: 'refresh_token', refresh_token: token },
  headers: { authorization: basic(rp.client_id, rp.client_secret) },
});
const introspect = (token) => call('/introspect', {
  method: 'POST', form: { token },
  headers: { authorization: basic(rp.client_id, rp.client_secret) },
});

// No token of any kind in a body that is not a 200.
function assertNoToken(r, what) {
  for (const k of ['access_token', 'refresh_token', 'id_token', 'code']) {
    assert.ok(!(r.json && k in r.json), `${what}: ${k} in a ${r.status}`);
  }
  assert.doesNotMatch(r.text, /pc[arc]_[A-Za-z0-9_-]{20,}/, `${what}: a token in the body`);
}

// No session cookie set (a cleared one is fine).
function assertNoSession(r, what) {
  for (const c of r.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const v = pair.slice(pair.indexOf('=') + 1).trim();
    assert.ok(v === '' || /max-age=0/i.test(c), `${what}: sets a cookie: ${c}`);
  }
}

// A clean 503: Retry-After, no-store, no token, no session.
function assert503(r, what) {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
  assert.ok(r.headers.get('retry-after'), `${what}: Retry-After`);
  assertNoToken(r, what);
  assertNoSession(r, what);
}

async function waitReady(want, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    // Several tries: each worker thread has its own connection.
    const rs = [];
    for (let i = 0; i < 8; i++) rs.push((await call('/readyz')).status);
    last = rs;
    if (rs.every((s) => s === want)) return;
    await sleep(200);
  }
  assert.fail(`/readyz never answered ${want} on every try: last ${last}`);
}

before(async () => {
  cluster = startCluster();
  srv = await startServer({
    // Registration on, and a short re-authentication window, so that the
    // fail-closed test reaches /register and /account/reauth too.
    config: { store_url: cluster.url, registration: 'true', reauth_window: '2s' },
  });
  // The template data dir was made on SQLite: the server makes its signing
  // keys in PostgreSQL on first start. Wait until it serves them.
  await waitReady(200);
  rp = addClient(srv, { scope: 'openid offline_access' });
  svc = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
});

after(async () => {
  try {
    if (srv) await stopClean(srv);
  } finally {
    cluster?.stop();
  }
});

test('RT-01, RT-02, AU-05: PostgreSQL killed during a burst of refreshes and logins: clean 503s, no 500, no hang, every 200 durable, service resumes, audit verifies', async (t) => {
  const email = 'burst@example.com';
  addUser(srv, email);
  const families = [];
  for (let i = 0; i < FAMILIES; i++) {
    const f = await codeFlow(srv, rp, { email, scope: 'openid offline_access' });
    assert.ok(f.tokens.refresh_token, 'a refresh token');
    families.push({ current: f.tokens.refresh_token, spent: [], handedOut: [f.tokens.refresh_token],
      dead: false, okAfterResume: 0 });
  }

  const statuses = new Map();
  const bad = [];
  let phase = 'up';
  let stop = false;
  const note = (what, r) => {
    const k = `${what} ${phase} ${r.status}`;
    statuses.set(k, (statuses.get(k) ?? 0) + 1);
  };

  // An assertion inside a loop ends the loop and is reported in bad.
  const guarded = (fn) => async (...a) => {
    try { await fn(...a); } catch (e) { bad.push(`${e.name}: ${e.message}`); }
  };
  const familyLoop = guarded(async (f) => {
    while (!stop && !f.dead) {
      let r;
      try {
        r = await refresh(f.current);
      } catch (e) {
        bad.push(`refresh: ${e.name} ${e.message}`);
        return;
      }
      note('refresh', r);
      if (r.status === 200) {
        assert.ok(r.json.refresh_token && r.json.access_token, 'a 200 with tokens');
        f.spent.push(f.current);
        f.current = r.json.refresh_token;
        f.handedOut.push(f.current);
        if (phase === 'resumed') f.okAfterResume++;
      } else if (r.status === 503) {
        assert.equal(r.json?.error, 'temporarily_unavailable', r.text);
        assert.ok(r.headers.get('retry-after'), 'Retry-After');
        assertNoToken(r, 'refresh 503');
        await sleep(20);
      } else if (r.status === 400 && r.json?.error === 'invalid_grant') {
        // A COMMIT whose answer the kill cut may have been durable: the
        // token we still hold was then spent, and presenting it again is
        // reuse, which ends the family (RT-01). Correct, but noted.
        f.dead = true;
        bad.push(`family ended by reuse detection after a cut commit: ${r.text}`);
      } else {
        bad.push(`refresh: ${r.status} ${r.text.slice(0, 200)}`);
        return;
      }
    }
  });

  let sessions = 0;
  let loginsAfterResume = 0;
  const loginLoop = guarded(async () => {
    while (!stop) {
      const c = new Client(srv);
      let r;
      try {
        const page = await c.get('/login', { headers: {} });
        note('login-get', page);
        if (page.status !== 200) {
          if (page.status !== 503) bad.push(`GET /login: ${page.status} ${page.text.slice(0, 200)}`);
          else assertNoSession(page, 'GET /login 503');
          await sleep(50);
          continue;
        }
        const csrf = csrfOf(page.text, '/login');
        r = await c.post('/login', { csrf, email, password: GOOD_PW });
      } catch (e) {
        bad.push(`login: ${e.name} ${e.message}`);
        return;
      }
      note('login', r);
      if (r.status === 303 && r.location === '/account') {
        assert.ok(c.sid, 'a session cookie with the 303');
        sessions++;
        if (phase === 'resumed') loginsAfterResume++;
      } else if (r.status === 503) {
        assert.ok(r.headers.get('retry-after'), 'Retry-After');
        // The jar holds the pre-session from GET /login; the 503 must not
        // replace it with a signed-in one.
        assertNoSession(r, 'POST /login 503');
        await sleep(50);
      } else {
        bad.push(`POST /login: ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
  });

  const loops = [...families.map(familyLoop)];
  for (let i = 0; i < LOGIN_LOOPS; i++) loops.push(loginLoop());
  try {
    await sleep(1500);
    phase = 'down';
    cluster.halt();
    await sleep(500);
    // While it is down: not ready.
    const ready = await call('/readyz');
    assert.equal(ready.status, 503, 'readyz while PostgreSQL is down');
    assert.ok(ready.headers.get('retry-after'));
    await sleep(2500);
  } finally {
    cluster.resume();
    phase = 'resumed';
  }
  // Service resumes without a restart of Portcullis: every live family
  // rotates again and logins succeed again.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline &&
    (families.some((f) => !f.dead && f.okAfterResume < 2) || loginsAfterResume < 1) && bad.length === 0) {
    await sleep(100);
  }
  stop = true;
  await Promise.all(loops);
  const seen = Object.fromEntries(statuses);
  t.diagnostic(`responses: ${JSON.stringify(seen)}`);
  for (const b of bad) t.diagnostic(b);
  assert.deepEqual(bad.filter((b) => !b.startsWith('family ended')), [], JSON.stringify(seen));
  for (const f of families) {
    if (!f.dead) assert.ok(f.okAfterResume >= 2, `a family rotates again after resume: ${JSON.stringify(seen)}`);
  }
  assert.ok(loginsAfterResume >= 1, `logins succeed again after resume: ${JSON.stringify(seen)}`);
  // Before the kill nothing failed: not even the first uses of each
  // worker's connection, opened together (the backoff holds back only
  // after a failure).
  assert.ok(![...statuses.keys()].some((k) => / up 5\d\d$/.test(k)), `a 5xx before the kill: ${JSON.stringify(seen)}`);
  // The kill really hit the burst: some 503s while down, 200s before.
  assert.ok([...statuses.keys()].some((k) => k.endsWith(' 503')), `no 503 seen: ${JSON.stringify(seen)}`);
  assert.ok(![...statuses.keys()].some((k) => / 5\d\d$/.test(k) && !k.endsWith(' 503')), JSON.stringify(seen));
  assert.ok(families.filter((f) => !f.dead).length >= FAMILIES - 1, `at most one family lost to a cut commit: ${bad}`);
  await waitReady(200);

  // Every refresh token handed out in a 200 is either spent (inactive) or
  // the family's one live token: the write behind each 200 was durable,
  // and no family has two live tokens.
  for (const f of families) {
    const live = [];
    for (const t of f.handedOut) {
      const r = await introspect(t);
      assert.equal(r.status, 200, r.text);
      if (r.json.active) live.push(t);
    }
    if (f.dead) {
      assert.deepEqual(live, [], 'a family ended by reuse has no live token');
      continue;
    }
    assert.deepEqual(live, [f.current], 'exactly the last token handed out is live');
    for (const t of f.spent) assert.ok(!live.includes(t));
  }
  // Presenting a token spent by a 200 is refused as reuse (RT-01), and the
  // family then dies: its live token is refused too.
  for (const f of families.filter((x) => !x.dead)) {
    const old = f.spent[f.spent.length - 1];
    const r = await refresh(old);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_grant');
    assertNoToken(r, 'reuse');
    const r2 = await refresh(f.current);
    assert.equal(r2.status, 400, r2.text);
    assert.equal(r2.json.error, 'invalid_grant');
  }
  assert.ok(sessions > 0, 'some logins succeeded');
  // AU-05: the audit chain written across the outage verifies.
  const v = cliAt(srv, ['audit', 'verify']);
  assert.equal(v.code, 0, v.stderr + v.stdout);
});

test('fail closed: with PostgreSQL down every endpoint that needs the store answers 503 (no 500, no token, no session); /readyz 503; all resume by themselves', async () => {
  const email = 'closed@example.com';
  addUser(srv, email);
  await waitReady(200);
  // Before the outage: a signed-in browser, tokens, an unredeemed code, a
  // login form and an account page with their CSRF tokens.
  const f = await codeFlow(srv, rp, { email, scope: 'openid offline_access' });
  const jar = f.jar;
  assert.ok(await jar.signedIn());
  const pending = await authorize(srv, rp, { email, jar, scope: 'openid offline_access' });
  assert.ok(pending.code, 'an unredeemed code');
  const fresh = new Client(srv);
  const loginPage = await fresh.get('/login');
  const loginCsrf = csrfOf(loginPage.text, '/login');
  const forgot = new Client(srv);
  const forgotCsrf = csrfOf((await forgot.get('/forgot')).text, '/forgot');
  assert.ok(forgotCsrf, 'forgot form');
  // A consent page waiting for an answer (a second client: no consent yet).
  const rp2 = addClient(srv, { name: 'Second RP', scope: 'openid offline_access' });
  const consentJar = new Client(srv);
  assert.equal((await consentJar.login(email)).status, 303);
  const q = new URLSearchParams({ response_type: 'code', client_id: rp2.client_id, redirect_uri: rp2.redirectUri,
    scope: 'openid', state: 'st', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
  const consentPage = await consentJar.get('/authorize?' + q, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(consentPage.status, 200, consentPage.text);
  const consentCsrf = csrfOf(consentPage.text, '/authorize/consent');
  const consentReq = /name="req" value="([^"]+)"/.exec(consentPage.text)?.[1];
  assert.ok(consentCsrf && consentReq, 'a consent form');
  // The account page (two sessions now: it offers to end the other).
  const account = await jar.get('/account');
  assert.equal(account.status, 200);
  const logoutCsrf = csrfOf(account.text, '/logout');
  const passwordCsrf = csrfOf(account.text, '/account/password');
  const sessionsCsrf = csrfOf(account.text, '/account/sessions');
  assert.ok(logoutCsrf && passwordCsrf && sessionsCsrf, 'account forms');
  // Past reauth_window, ending sessions asks for the password again.
  await new Promise((res) => setTimeout(res, 2100));
  const reauthPage = await jar.post('/account/sessions', { csrf: sessionsCsrf, session: 'others' });
  assert.equal(reauthPage.status, 403, reauthPage.text);
  const reauthCsrf = csrfOf(reauthPage.text, '/account/reauth');
  assert.ok(reauthCsrf, 'a re-authentication form');
  const reg = new Client(srv);
  const regCsrf = csrfOf((await reg.get('/register')).text, '/register');
  assert.ok(regCsrf, 'a registration form');
  const cc = await tokenRequest(srv, svc, { grant_type: 'client_credentials', scope: 'api.read' });
  assert.equal(cc.status, 200);
  const jwksBefore = await call('/jwks.json');
  assert.equal(jwksBefore.status, 200);
  // A pushed authorization request (RFC 9126), not yet used.
  const parForm = { response_type: 'code', client_id: rp.client_id, redirect_uri: rp.redirectUri, scope: 'openid',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
  const pushed = await call('/par', { method: 'POST', headers: { authorization: basic(rp.client_id, rp.client_secret) }, form: parForm });
  assert.equal(pushed.status, 201, pushed.text);
  const parQuery = new URLSearchParams({ client_id: rp.client_id, request_uri: pushed.json.request_uri });

  cluster.halt();
  try {
    await waitReady(503);
    const at = f.tokens.access_token;
    const rpAuth = { authorization: basic(rp.client_id, rp.client_secret) };
    const checks = [
      ['POST /login', () => fresh.post('/login', { csrf: loginCsrf, email, password: GOOD_PW })],
      ['GET /login', () => new Client(srv).get('/login')],
      ['POST /token authorization_code', () => call('/token', { method: 'POST', headers: rpAuth,
        form: { grant_type: 'authorization_code', code: pending.code, redirect_uri: rp.redirectUri, code_verifier: pending.verifier } })],
      ['POST /token refresh_token', () => call('/token', { method: 'POST', headers: rpAuth,
        form: { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token } })],
      ['POST /token client_credentials', () => call('/token', { method: 'POST',
        headers: { authorization: basic(svc.client_id, svc.client_secret) },
        form: { grant_type: 'client_credentials', scope: 'api.read' } })],
      ['GET /userinfo', () => call('/userinfo', { headers: { authorization: 'Bearer ' + at } })],
      ['POST /userinfo', () => call('/userinfo', { method: 'POST', form: { access_token: at } })],
      ['POST /introspect', () => call('/introspect', { method: 'POST', headers: rpAuth, form: { token: at } })],
      ['POST /revoke', () => call('/revoke', { method: 'POST', headers: rpAuth, form: { token: f.tokens.refresh_token } })],
      ['GET /account', () => jar.get('/account')],
      ['GET /logout', () => jar.get('/logout')],
      ['POST /logout', () => jar.post('/logout', { csrf: logoutCsrf })],
      ['POST /account/password', () => jar.post('/account/password', { csrf: passwordCsrf, current: GOOD_PW, new: 'another-long-pass-phrase-42' })],
      ['POST /account/sessions', () => jar.post('/account/sessions', { csrf: sessionsCsrf, session: 'others' })],
      ['POST /authorize/consent', () => consentJar.post('/authorize/consent', { csrf: consentCsrf, req: consentReq, decision: 'allow' })],
      ['GET /authorize (new browser)', () => new Client(srv).get('/authorize?' + q, { headers: { 'sec-fetch-site': 'cross-site' } })],
      ['POST /par', () => call('/par', { method: 'POST', headers: rpAuth, form: parForm })],
      ['GET /authorize with a pushed request_uri', () => new Client(srv).get('/authorize?' + parQuery, { headers: { 'sec-fetch-site': 'cross-site' } })],
      ['GET /forgot', () => new Client(srv).get('/forgot')],
      ['POST /forgot', () => forgot.post('/forgot', { csrf: forgotCsrf, email })],
      ['GET /reset?token=', () => new Client(srv).get('/reset?token=' + 'A'.repeat(43))],
      ['GET /reset (cookie)', () => { const c = new Client(srv); c.jar.set('reset', 'A'.repeat(43)); return c.get('/reset'); }],
      ['GET /verify', () => new Client(srv).get('/verify?token=' + 'A'.repeat(43))],
      ['POST /account/reauth', () => jar.post('/account/reauth', { csrf: reauthCsrf, then: 'sessions', password: GOOD_PW })],
      ['GET /register', () => new Client(srv).get('/register')],
      ['POST /register', () => reg.post('/register', { csrf: regCsrf, email: 'new-user@example.com', name: 'New', password: 'another-long-pass-phrase-42' })],
    ];
    for (const [what, fn] of checks) {
      for (let i = 0; i < 3; i++) {
        const r = await fn();
        assert503(r, what);
        if (r.json) assert.equal(r.json.error, 'temporarily_unavailable', `${what}: ${r.text}`);
        else assert.match(r.headers.get('content-type') ?? '', /text\/html/, what);
      }
    }
    // /authorize with a signed-in browser: a 503 page, or the RFC 6749
    // error temporarily_unavailable at the client (never a code).
    for (let i = 0; i < 3; i++) {
      const a = await authorize(srv, rp, { email, jar, scope: 'openid offline_access' });
      assert.equal(a.code, undefined, 'no code while the store is down');
      if (a.status === 503) assert503({ status: a.status, headers: new Headers({ 'retry-after': '5' }), text: a.text, json: null }, '/authorize');
      else assert.equal(a.error, 'temporarily_unavailable', `${a.status} ${a.location} ${a.text.slice(0, 200)}`);
    }
    // Health: alive, not ready.
    assert.equal((await call('/healthz')).status, 200);
    assert503(await call('/readyz'), '/readyz');
    // Public metadata needs no store: discovery is built from the config
    // at start, the JWKS is the key ring in memory (public keys only).
    assert.equal((await call('/.well-known/openid-configuration')).status, 200);
    const jwks = await call('/jwks.json');
    assert.equal(jwks.status, 200);
    assert.equal(jwks.text, jwksBefore.text);
  } finally {
    cluster.resume();
  }
  // Back by itself: the session, the tokens and the code work again.
  await waitReady(200);
  assert.ok(await jar.signedIn(), 'the session survived the outage');
  const ui = await call('/userinfo', { headers: { authorization: 'Bearer ' + f.tokens.access_token } });
  assert.equal(ui.status, 200, ui.text);
  const t = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code: pending.code,
    redirect_uri: rp.redirectUri, code_verifier: pending.verifier });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  const r = await refresh(f.tokens.refresh_token);
  assert.equal(r.status, 200, r.text);
  const l = await new Client(srv).login(email);
  assert.equal(l.status, 303);
  assert.equal(l.location, '/account');
  // The outage used nothing up: the pushed request works, once.
  const par = await new Client(srv).get('/authorize?' + parQuery, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(par.status, 303, par.text);
  assert.match(par.location, /^\/login\?req=/);
});
