// The account page's grants, attacked: it lists the applications the user
// allowed (name, scopes, since when) with "Revoke access"; revoking is a
// CSRF-checked POST (CF-01, CF-02) that deletes the consent and kills every
// token of that user and client (RT-05: refresh tokens at once, access
// tokens through their grant). Ending other sessions also ends the tokens
// issued from them (RT-05); the current session's grants live on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean } from './lib/server.mjs';
import { Client, addUser, auditRows, csrfOf } from './lib/web.mjs';
import { addClient, authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

let srv, rpA, rpB;
const SCOPE = 'openid email offline_access';

before(async () => {
  srv = await startServer();
  addUser(srv, 'alice@example.com');
  addUser(srv, 'bob@example.com');
  rpA = addClient(srv, { name: 'Photo Printer <A>', redirectUris: ['https://a.example/cb'] });
  rpB = addClient(srv, { name: 'Calendar B', redirectUris: ['https://b.example/cb'] });
});
after(async () => { await stopClean(srv); });

async function userinfo(at) {
  const res = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + at } });
  return res.status;
}

const refresh = (rp, rt) => tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: rt });

// A signed-in browser for email (a new session).
async function browser(email) {
  const jar = new Client(srv);
  const r = await jar.login(email);
  assert.equal(r.status, 303, r.text);
  return jar;
}

test('the account page lists the applications allowed, with their scopes and a Revoke access form', async () => {
  const jar = await browser('bob@example.com');
  await codeFlow(srv, rpA, { email: 'bob@example.com', scope: SCOPE, jar });
  const page = await jar.get('/account');
  assert.equal(page.status, 200);
  assert.match(page.text, /Applications you allowed/);
  // The client's name is text, escaped.
  assert.ok(page.text.includes('Photo Printer &lt;A&gt;'), page.text);
  assert.ok(!page.text.includes('Photo Printer <A>'));
  assert.ok(page.text.includes(SCOPE));
  assert.ok(page.text.includes(`name="client_id" value="${rpA.client_id}"`));
  assert.ok(csrfOf(page.text, '/account/consents'));
  assert.ok(!page.text.includes(rpB.client_id), 'only what bob allowed');
});

test('CF-01 / CF-02 / RT-05: Revoke access needs the form token; then the consent and every token of that client are gone', async () => {
  const jar = await browser('alice@example.com');
  const a1 = await codeFlow(srv, rpA, { email: 'alice@example.com', scope: SCOPE, jar });
  const a2 = await codeFlow(srv, rpA, { email: 'alice@example.com', scope: SCOPE, jar });
  const b = await codeFlow(srv, rpB, { email: 'alice@example.com', scope: SCOPE, jar });
  for (const t of [a1, a2, b]) assert.equal(await userinfo(t.tokens.access_token), 200);

  const page = await jar.get('/account');
  const csrf = csrfOf(page.text, '/account/consents');
  assert.ok(csrf);
  // CF-02: a GET changes nothing (and is no route).
  const get = await jar.get('/account/consents?client_id=' + rpA.client_id);
  assert.notEqual(get.status, 200);
  assert.notEqual(get.status, 303);
  // CF-01: no token, a wrong token, the token of another form, a
  // cross-site POST: 403 and nothing changes.
  const other = csrfOf(page.text, '/account/sessions') ?? csrfOf(page.text, '/logout');
  for (const [form, opts] of [
    [{ client_id: rpA.client_id }, {}],
    [{ client_id: rpA.client_id, csrf: csrf.slice(0, -2) + (csrf.endsWith('AA') ? 'BB' : 'AA') }, {}],
    [{ client_id: rpA.client_id, csrf: other }, {}],
    [{ client_id: rpA.client_id, csrf }, { site: 'cross-site' }],
    [{ client_id: rpA.client_id, csrf }, { headers: { 'sec-fetch-site': null, origin: 'https://evil.example' }, site: null }],
  ]) {
    const r = await jar.post('/account/consents', form, opts);
    assert.equal(r.status, 403, JSON.stringify(form) + r.text.slice(0, 200));
  }
  // Another browser without a session gets nothing done either.
  const anon = await new Client(srv).post('/account/consents', { client_id: rpA.client_id, csrf });
  assert.notEqual(anon.status, 303);
  assert.equal(await userinfo(a1.tokens.access_token), 200, 'still alive after the refused attempts');
  assert.ok((await jar.get('/account')).text.includes(`value="${rpA.client_id}"`));

  const r = await jar.post('/account/consents', { client_id: rpA.client_id, csrf });
  assert.equal(r.status, 303, r.text);
  assert.equal(r.location, '/account?done=consents');
  const after = await jar.get(r.location);
  assert.match(after.text, /access was revoked/);
  assert.ok(!after.text.includes(`value="${rpA.client_id}"`), 'A no longer listed');
  assert.ok(after.text.includes(`value="${rpB.client_id}"`), 'B still listed');
  // Every token of A is dead: both grants, refresh and access.
  for (const t of [a1, a2]) {
    assert.equal(await userinfo(t.tokens.access_token), 401);
    const x = await refresh(rpA, t.tokens.refresh_token);
    assert.equal(x.status, 400, JSON.stringify(x.json));
    assert.equal(x.json.error, 'invalid_grant');
  }
  // B is untouched.
  assert.equal(await userinfo(b.tokens.access_token), 200);
  const nb = await refresh(rpB, b.tokens.refresh_token);
  assert.equal(nb.status, 200, JSON.stringify(nb.json));
  // A second revocation: nothing left.
  const again = await jar.post('/account/consents', { client_id: rpA.client_id, csrf });
  assert.equal(again.status, 400);
  // Audited, with the client as target.
  assert.ok(auditRows(srv).some((e) => e.event === 'consent.revoke' && e.outcome === 'success' &&
    e.target === rpA.client_id), 'consent.revoke audited');
  // The next authorization for A asks for consent again.
  const again2 = await authorize(srv, rpA, { email: 'alice@example.com', scope: SCOPE, jar, consent: 'allow' });
  assert.ok(again2.code);
  assert.ok(again2.steps.some((s) => s.status === 200), 'the consent page was shown');
});

test('RT-05: signing out all other sessions ends the tokens issued from them, not those of this session', async () => {
  const email = 'carol@example.com';
  addUser(srv, email);
  const old = await browser(email);
  const fromOld = await codeFlow(srv, rpA, { email, scope: SCOPE, jar: old });
  const here = await browser(email);
  const fromHere = await codeFlow(srv, rpB, { email, scope: SCOPE, jar: here });
  assert.equal(await userinfo(fromOld.tokens.access_token), 200);

  const r = await here.submit('/account', '/account/sessions', { session: 'others' });
  assert.equal(r.status, 303, r.text);
  assert.equal(r.location, '/account?done=sessions');
  assert.equal(await old.signedIn(), false, 'the other session ended');
  assert.equal(await userinfo(fromOld.tokens.access_token), 401);
  const x = await refresh(rpA, fromOld.tokens.refresh_token);
  assert.equal(x.status, 400, JSON.stringify(x.json));
  assert.equal(x.json.error, 'invalid_grant');
  // This session's grant lives on.
  assert.equal(await here.signedIn(), true);
  assert.equal(await userinfo(fromHere.tokens.access_token), 200);
  const y = await refresh(rpB, fromHere.tokens.refresh_token);
  assert.equal(y.status, 200, JSON.stringify(y.json));
  const row = auditRows(srv).reverse().find((e) => e.event === 'session.revoke');
  assert.ok(row);
});

test('RT-05: signing out one other session ends that session\'s tokens only', async () => {
  const email = 'dave@example.com';
  addUser(srv, email);
  const s1 = await browser(email);
  const t1 = await codeFlow(srv, rpA, { email, scope: SCOPE, jar: s1 });
  const s2 = await browser(email);
  const t2 = await codeFlow(srv, rpA, { email, scope: SCOPE, jar: s2 });
  const here = await browser(email);
  const page = await here.get('/account');
  // The session rows carry their id hash; find the one that is not ours
  // by trying each until s1 is signed out.
  const hashes = [...page.text.matchAll(/name="session" value="([0-9a-f]{64})"/g)].map((m) => m[1]);
  assert.equal(hashes.length, 2);
  const csrf = csrfOf(page.text, '/account/sessions');
  let ended = null;
  for (const h of hashes) {
    const r = await here.post('/account/sessions', { csrf, session: h });
    assert.equal(r.status, 303, r.text);
    if (!(await s1.signedIn())) { ended = h; break; }
    // That was s2: its tokens end, s1's live on.
    assert.equal(await userinfo(t2.tokens.access_token), 401);
    assert.equal(await userinfo(t1.tokens.access_token), 200);
  }
  assert.ok(ended, 's1 signed out');
  if (ended === hashes[0]) assert.equal(await userinfo(t2.tokens.access_token), 200, 's2 untouched');
  assert.equal(await userinfo(t1.tokens.access_token), 401);
  assert.equal((await refresh(rpA, t1.tokens.refresh_token)).json.error, 'invalid_grant');
  assert.equal(await here.signedIn(), true);
});
