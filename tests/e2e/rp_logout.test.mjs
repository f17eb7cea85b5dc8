// OpenID Connect RP-Initiated Logout 1.0 at /logout, attacked (OI-11,
// JW-06, CF-01, CF-02, AZ-03): a GET never signs out, only a CSRF-checked
// POST of the confirmation form does; the browser goes back only to a
// post-logout URI registered for the client a verified id_token_hint (or
// client_id) names, with its state; tampered, alg:none and access-token
// hints are refused; without a client the given URI is never used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean } from './lib/server.mjs';
import { Client, addUser, auditRows, csrfOf } from './lib/web.mjs';
import { addClient, codeFlow, tokenRequest } from './lib/oauth.mjs';

let srv;
let rp; // a client with registered post-logout URIs
let other; // another client
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const BYE = 'https://rp.example/bye';
const BYE_Q = 'https://rp.example/bye?lang=en';

before(async () => {
  srv = await startServer({ config: { login_delay_free: 99, login_ip_failures: 100000 } });
  addUser(srv, ALICE);
  addUser(srv, BOB);
  rp = addClient(srv, { name: 'Logout RP', postLogoutUris: [BYE, BYE_Q], firstParty: true });
  other = addClient(srv, { name: 'Other RP', postLogoutUris: ['https://other.example/bye'], firstParty: true });
});
after(async () => { await stopClean(srv); });

const b64u = (s) => Buffer.from(s).toString('base64url');
const q = (params) => '/logout?' + new URLSearchParams(params);

// A signed-in browser with an ID token (and refresh token) for client.
async function signedIn(client = rp, email = ALICE, jar) {
  const f = await codeFlow(srv, client, { email, jar, scope: 'openid offline_access' });
  assert.ok(f.tokens.id_token, 'id_token');
  return { jar: f.jar, idToken: f.tokens.id_token, tokens: f.tokens };
}

// The confirmation page's form: its fields by name.
function confirmForm(html) {
  const m = html.match(/<form method="post" action="\/logout">([\s\S]*?)<\/form>/);
  assert.ok(m, 'a confirmation form posting to /logout');
  const fields = {};
  for (const f of m[1].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[f[1]] = f[2].replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'")
      .replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  return fields;
}

test('OI-11: discovery advertises end_session_endpoint at issuer/logout', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.end_session_endpoint, srv.issuer + '/logout');
});

test('CF-02: GET /logout (bare or from an RP, with a valid hint) never signs out; it asks', async () => {
  const { jar, idToken } = await signedIn();
  for (const path of ['/logout', q({ id_token_hint: idToken, post_logout_redirect_uri: BYE, state: 's1' }),
    q({ client_id: rp.client_id })]) {
    const r = await jar.get(path, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(r.status, 200, path);
    assert.equal(r.location, null);
    assert.match(r.text, /Sign out\?/);
    assert.ok(csrfOf(r.text, '/logout'), 'CSRF token in the form');
    assert.doesNotMatch(r.text, /<script/i, 'no JavaScript');
    assert.equal(r.headers.getSetCookie().length, 0, 'no cookie change');
    assert.equal(await jar.signedIn(), true, path);
  }
  const h = await fetch(srv.url + q({ id_token_hint: idToken }), { method: 'HEAD', headers: { cookie: jar.cookieHeader() } });
  assert.equal(h.status, 200);
  assert.equal(await jar.signedIn(), true);
  // A relying party's POST (its parameters, no token) becomes the same
  // request as a GET: a cross-site POST carries no SameSite=Lax cookie, the
  // top-level GET does. It changes nothing and never goes to the RP.
  const params = { id_token_hint: idToken, post_logout_redirect_uri: BYE, state: 'a b' };
  const p = await jar.post('/logout', params, { site: 'cross-site' });
  assert.equal(p.status, 303);
  assert.equal(p.location, q(params).replaceAll('+', '%20'));
  assert.equal(await jar.signedIn(), true);
  const follow = await jar.get(p.location, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(follow.status, 200);
  assert.match(follow.text, /Sign out\?/);
  assert.equal(confirmForm(follow.text).state, 'a b');
  assert.equal(await jar.signedIn(), true);
  // The same POST as the browser sends it cross-site (no cookie at all).
  const cookieless = new Client(srv);
  const c = await cookieless.post('/logout', params, { site: 'cross-site' });
  assert.equal(c.status, 303);
  assert.match(c.location, /^\/logout\?/);
});

test('OI-11/CF-01: the confirmation POST needs the session\'s token and same origin', async () => {
  const { jar, idToken } = await signedIn();
  const page = await jar.get(q({ id_token_hint: idToken, post_logout_redirect_uri: BYE, state: 'st' }));
  const fields = confirmForm(page.text);
  assert.ok(fields.csrf);
  // Missing token, another session's token, a forged token, cross-site.
  const { csrf, ...noToken } = fields;
  let r = await jar.post('/logout', noToken, { site: 'same-origin' });
  assert.equal(r.status, 303, 'parameters without a token only ask again');
  assert.match(r.location, /^\/logout\?/);
  assert.equal(await jar.signedIn(), true);
  const { jar: jar2 } = await signedIn(rp, BOB);
  const foreign = confirmForm((await jar2.get('/logout')).text).csrf;
  for (const bad of [foreign, 'A'.repeat(43), csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A')]) {
    r = await jar.post('/logout', { ...fields, csrf: bad });
    assert.equal(r.status, 403);
    assert.equal(r.location, null);
    assert.equal(await jar.signedIn(), true);
  }
  r = await jar.post('/logout', fields, { site: 'cross-site' });
  assert.equal(r.status, 403);
  r = await jar.post('/logout', fields, { site: null, headers: { origin: 'https://evil.example' } });
  assert.equal(r.status, 403);
  assert.equal(await jar.signedIn(), true);
  assert.ok(auditRows(srv, 300).some((e) => e.event === 'csrf.failure' && e.details?.form === 'logout'));
  // The real thing works.
  r = await jar.post('/logout', fields);
  assert.equal(r.status, 303);
  assert.equal(await jar.signedIn(), false);
});

test('OI-11: confirmed sign-out returns to the registered URI with state, ends the session and its tokens, and is audited', async () => {
  const { jar, idToken, tokens } = await signedIn();
  const old = jar.sid;
  const state = 'a b&c=d/é+%?#~x';
  const page = await jar.get(q({ id_token_hint: idToken, post_logout_redirect_uri: BYE_Q, state, ui_locales: 'fr' }));
  assert.equal(page.status, 200);
  assert.match(page.text, /Logout RP/);
  assert.match(page.text, /alice@example\.com/);
  const r = await jar.post('/logout', confirmForm(page.text));
  assert.equal(r.status, 303);
  const u = new URL(r.location);
  assert.equal(u.origin + u.pathname, 'https://rp.example/bye');
  assert.equal(u.searchParams.get('lang'), 'en');
  assert.equal(u.searchParams.get('state'), state);
  assert.deepEqual([...u.searchParams.keys()], ['lang', 'state']);
  assert.equal(u.hash, '');
  assert.match(r.headers.getSetCookie().join('\n'), /sid=; .*Max-Age=0/);
  assert.equal(r.headers.get('clear-site-data'), '"cookies", "storage"');
  const replay = new Client(srv);
  replay.sid = old;
  assert.equal(await replay.signedIn(), false);
  // RT-05: the refresh token issued in that session is dead.
  assert.ok(tokens.refresh_token, 'a refresh token was issued');
  const t = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  assert.equal(t.status, 400);
  assert.equal(t.json.error, 'invalid_grant');
  const row = auditRows(srv, 300).filter((e) => e.event === 'logout' && e.outcome === 'success').at(-1);
  assert.equal(row.target, rp.client_id);
  assert.equal(row.details.client_id, rp.client_id);
  // Without state: no state parameter at all.
  const s2 = await signedIn();
  const p2 = await s2.jar.get(q({ id_token_hint: s2.idToken, post_logout_redirect_uri: BYE }));
  const r2 = await s2.jar.post('/logout', confirmForm(p2.text));
  assert.equal(r2.location, BYE);
});

test('OI-11/AZ-03: an unregistered post_logout_redirect_uri is never redirected to, even with a valid hint', async () => {
  const { jar, idToken } = await signedIn();
  for (const uri of ['https://evil.example/', 'https://rp.example/bye/', 'https://rp.example/Bye',
    'https://rp.example/bye?lang=en&x=1', 'https://rp.example/bye#x', 'http://rp.example/bye',
    'https://rp.example:443/bye', 'https://other.example/bye', '//evil.example', '/account']) {
    const r = await jar.get(q({ id_token_hint: idToken, post_logout_redirect_uri: uri, state: 'x' }));
    assert.equal(r.status, 400, uri);
    assert.equal(r.location, null, uri);
    assert.doesNotMatch(r.text, /action="\/logout"/, uri);
    // Nor by a crafted confirmation POST with a real token.
    const page = await jar.get('/logout');
    const c = await jar.post('/logout', { csrf: confirmForm(page.text).csrf, client_id: rp.client_id,
      post_logout_redirect_uri: uri, state: 'x' });
    assert.equal(c.status, 400, uri);
    assert.equal(c.location, null, uri);
    assert.equal(await jar.signedIn(), true, uri);
  }
  // The hint's client and client_id must agree.
  const r = await jar.get(q({ id_token_hint: idToken, client_id: other.client_id,
    post_logout_redirect_uri: 'https://other.example/bye' }));
  assert.equal(r.status, 400);
  assert.equal(r.location, null);
  assert.ok(auditRows(srv, 300).some((e) => e.event === 'logout.request' && e.details?.why === 'unregistered-post-logout-uri'));
});

test('OI-11/JW-06: tampered, alg:none, foreign and access-token hints are refused, without a redirect or sign-out', async () => {
  const { jar, idToken, tokens } = await signedIn();
  const [h, p, s] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const evil = b64u(JSON.stringify({ ...claims, sub: 'usr_someone_else' }));
  const hints = {
    tampered: `${h}.${evil}.${s}`,
    flipped: `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`,
    none: `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`,
    noneKid: `${b64u(JSON.stringify({ ...header, alg: 'none' }))}.${p}.`,
    noneSig: `${b64u(JSON.stringify({ ...header, alg: 'none' }))}.${p}.${s}`,
    hs256: `${b64u(JSON.stringify({ ...header, alg: 'HS256' }))}.${p}.${s}`,
    unsigned: `${h}.${p}`,
    accessToken: tokens.access_token,
    garbage: 'not-a-jwt',
  };
  for (const [name, hint] of Object.entries(hints)) {
    const r = await jar.get(q({ id_token_hint: hint, post_logout_redirect_uri: BYE, state: 'x' }));
    assert.equal(r.status, 400, name);
    assert.equal(r.location, null, name);
    assert.doesNotMatch(r.text, /action="\/logout"/, name);
    assert.equal(await jar.signedIn(), true, name);
    // Not even when nobody is signed in (the immediate redirect path).
    const anon = await new Client(srv).get(q({ id_token_hint: hint, post_logout_redirect_uri: BYE, state: 'x' }));
    assert.equal(anon.status, 400, name);
    assert.equal(anon.location, null, name);
  }
  assert.ok(auditRows(srv, 300).some((e) => e.event === 'logout.request' && e.details?.why === 'bad-id-token-hint'));
});

test('OI-11/AZ-03: without a hint or client_id the given URI is never used', async () => {
  const { jar } = await signedIn();
  const page = await jar.get(q({ post_logout_redirect_uri: BYE, state: 'x' }));
  assert.equal(page.status, 200);
  assert.equal(page.location, null);
  assert.match(page.text, /will not be sent back/);
  const fields = confirmForm(page.text);
  assert.equal(fields.post_logout_redirect_uri, undefined);
  // Even if the URI is slipped into the confirmation POST.
  const r = await jar.post('/logout', { ...fields, post_logout_redirect_uri: BYE, state: 'x' });
  assert.equal(r.status, 303);
  assert.equal(r.location, '/login');
  assert.equal(await jar.signedIn(), false);
  // Nobody signed in: a page, not a redirect.
  const anon = await new Client(srv).get(q({ post_logout_redirect_uri: 'https://evil.example/', state: 'x' }));
  assert.equal(anon.status, 200);
  assert.equal(anon.location, null);
  assert.match(anon.text, /You are signed out/);
});

test('OI-11: client_id without a hint asks, then returns to the registered URI', async () => {
  const { jar } = await signedIn();
  const page = await jar.get(q({ client_id: rp.client_id, post_logout_redirect_uri: BYE, state: 'xyz' }));
  assert.equal(page.status, 200);
  assert.equal(page.location, null);
  const r = await jar.post('/logout', confirmForm(page.text));
  assert.equal(r.status, 303);
  assert.equal(r.location, BYE + '?state=xyz');
  // Nobody signed in and no hint: no redirect (the hint is what vouches).
  const anon = await new Client(srv).get(q({ client_id: rp.client_id, post_logout_redirect_uri: BYE, state: 'x' }));
  assert.equal(anon.status, 200);
  assert.equal(anon.location, null);
  // An unknown client_id is refused.
  const bad = await new Client(srv).get(q({ client_id: 'pcc_AAAAAAAAAAAAAAAAAAAAAA', post_logout_redirect_uri: BYE }));
  assert.equal(bad.status, 400);
  assert.equal(bad.location, null);
});

test('OI-11: a hint for another user is not a silent sign-out: the page warns and still asks', async () => {
  const { idToken: bobHint } = await signedIn(rp, BOB);
  const { jar } = await signedIn(rp, ALICE);
  const page = await jar.get(q({ id_token_hint: bobHint, post_logout_redirect_uri: BYE, state: 'x' }));
  assert.equal(page.status, 200);
  assert.match(page.text, /different account/);
  assert.equal(await jar.signedIn(), true);
  const r = await jar.post('/logout', confirmForm(page.text));
  assert.equal(r.status, 303);
  assert.equal(new URL(r.location).searchParams.get('state'), 'x');
  assert.equal(await jar.signedIn(), false);
});

test('OI-11: with nobody signed in, a valid hint and registered URI go straight back (nothing to confirm)', async () => {
  const { idToken } = await signedIn();
  const anon = new Client(srv);
  const r = await anon.get(q({ id_token_hint: idToken, post_logout_redirect_uri: BYE, state: 'k' }));
  assert.equal(r.status, 303);
  assert.equal(r.location, BYE + '?state=k');
});

test('AZ-09: repeated parameters are refused', async () => {
  const { jar, idToken } = await signedIn();
  const r = await jar.get(`/logout?id_token_hint=${idToken}&post_logout_redirect_uri=${encodeURIComponent(BYE)}` +
    `&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`);
  assert.equal(r.status, 400);
  assert.equal(r.location, null);
  assert.equal(await jar.signedIn(), true);
});

test('SS-06: the account page\'s sign-out form still works', async () => {
  const c = new Client(srv);
  await c.login(ALICE);
  const acct = await c.get('/account');
  const r = await c.post('/logout', { csrf: csrfOf(acct.text, '/logout') });
  assert.equal(r.status, 303);
  assert.equal(r.location, '/login');
  assert.equal(await c.signedIn(), false);
});
