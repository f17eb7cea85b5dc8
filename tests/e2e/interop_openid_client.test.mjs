// Interop with a certified relying party, unchanged: npm openid-client
// (panva, OpenID Certified) against our discovery document, the
// authorization code flow with PKCE through our own sign-in and consent
// pages (driven by the web.mjs cookie-jar client, following the very URL
// openid-client builds), the token endpoint, ID token validation by
// openid-client itself (with its non-repudiation checks: the signature
// against our jwks_uri), userinfo, refresh, introspection, revocation and
// RP-initiated logout (OI-11).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startServer, stopClean } from './lib/server.mjs';
import { Client, addUser, csrfOf, GOOD_PW } from './lib/web.mjs';
import { addClient } from './lib/oauth.mjs';

let srv;
let user;
let rp;
const EMAIL = 'interop@example.com';
const REDIRECT = 'https://rp.example/callback';
const BYE = 'https://rp.example/signed-out';

before(async () => {
  srv = await startServer({ config: { login_delay_free: 99, login_ip_failures: 100000 } });
  user = addUser(srv, EMAIL);
  rp = addClient(srv, { name: 'openid-client RP', redirectUris: [REDIRECT], postLogoutUris: [BYE],
    scope: 'openid profile email offline_access' });
});
after(async () => { await stopClean(srv); });

// openid-client refuses http:// unless told; the test server's issuer is
// http://127.0.0.1:PORT (loopback only).
async function configure() {
  const config = await oidc.discovery(new URL(srv.issuer), rp.client_id, rp.client_secret,
    oidc.ClientSecretBasic(rp.client_secret), { execute: [oidc.allowInsecureRequests] });
  // Verify ID token signatures against our jwks_uri too (by default
  // openid-client trusts the TLS channel to the token endpoint).
  oidc.enableNonRepudiationChecks(config);
  return config;
}

// A browser (the cookie jar) follows url through sign-in and consent until
// it is sent back to the relying party; returns that URL.
async function browse(jar, url, email = EMAIL) {
  let r = await jar.get(url.pathname + url.search, { headers: { 'sec-fetch-site': 'cross-site' } });
  for (let i = 0; i < 8; i++) {
    if (r.status === 303 && r.location?.startsWith('/login')) {
      const page = await jar.get(r.location);
      assert.equal(page.status, 200, page.text);
      const csrf = csrfOf(page.text, '/login');
      const req = /name="req" value="([^"]+)"/.exec(page.text)?.[1];
      r = await jar.post('/login', { csrf, ...(req ? { req } : {}), email, password: GOOD_PW });
      continue;
    }
    if (r.status === 303 && r.location?.startsWith('/')) {
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
  assert.equal(r.status, 303, `expected a redirect back to the RP, got ${r.status}: ${r.text.slice(0, 300)}`);
  return new URL(r.location);
}

test('interop: openid-client discovers, runs code + PKCE, validates the ID token, then userinfo, refresh, introspect, revoke, logout', async () => {
  const config = await configure();
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, srv.issuer);

  // Authorization request, exactly as openid-client builds it.
  const verifier = oidc.randomPKCECodeVerifier();
  const challenge = await oidc.calculatePKCECodeChallenge(verifier);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid profile email offline_access',
    code_challenge: challenge, code_challenge_method: 'S256', state, nonce,
  });
  assert.equal(url.origin, new URL(srv.issuer).origin);
  const jar = new Client(srv);
  const back = await browse(jar, url);
  assert.equal(back.origin + back.pathname, REDIRECT);

  // Callback: openid-client checks state, iss (RFC 9207), the code
  // exchange, and the ID token (signature, iss, aud, exp, iat, nonce).
  const tokens = await oidc.authorizationCodeGrant(config, back,
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.access_token);
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  const claims = tokens.claims();
  assert.equal(claims.iss, srv.issuer);
  assert.equal(claims.aud, rp.client_id);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.nonce, nonce);

  // Userinfo (openid-client checks that sub matches the ID token's).
  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
  assert.equal(info.email, EMAIL);

  // Refresh: a new access and refresh token; the old refresh token is
  // rotated away.
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token);
  assert.ok(refreshed.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  if (refreshed.id_token) assert.equal(refreshed.claims().sub, claims.sub);

  // Introspection of the new access token: active, ours, this user.
  const intro = await oidc.tokenIntrospection(config, refreshed.access_token);
  assert.equal(intro.active, true);
  assert.equal(intro.client_id, rp.client_id);
  assert.equal(intro.sub, claims.sub);

  // Revocation of the refresh token ends the grant: the refresh token
  // and the access tokens of its family are dead.
  await oidc.tokenRevocation(config, refreshed.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token),
    (e) => e.error === 'invalid_grant');
  const after = await oidc.tokenIntrospection(config, refreshed.access_token);
  assert.equal(after.active, false);

  // RP-initiated logout with the URL openid-client builds.
  assert.equal(meta.end_session_endpoint, srv.issuer + '/logout');
  const logoutState = oidc.randomState();
  const end = oidc.buildEndSessionUrl(config,
    { id_token_hint: tokens.id_token, post_logout_redirect_uri: BYE, state: logoutState });
  const ask = await jar.get(end.pathname + end.search, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(ask.status, 200, 'a GET only asks (CF-02)');
  assert.equal(await jar.signedIn(), true);
  const form = {};
  for (const m of ask.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form[m[1]] = m[2];
  const done = await jar.post('/logout', form);
  assert.equal(done.status, 303);
  const out = new URL(done.location);
  assert.equal(out.origin + out.pathname, BYE);
  assert.equal(out.searchParams.get('state'), logoutState);
  assert.equal(await jar.signedIn(), false);
});

test('interop: openid-client refuses a code from a different PKCE verifier or state (the checks run on our responses)', async () => {
  const config = await configure();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid', state, nonce: oidc.randomNonce(),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const back = await browse(new Client(srv), url);
  await assert.rejects(oidc.authorizationCodeGrant(config, back,
    { pkceCodeVerifier: verifier, expectedState: 'another-state', idTokenExpected: true }));
  // The server refuses the wrong verifier (TK-03).
  await assert.rejects(oidc.authorizationCodeGrant(config, back,
    { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state, idTokenExpected: true }),
  (e) => e.error === 'invalid_grant');
});
