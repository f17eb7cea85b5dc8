// Re-issuing the ID token on refresh is a client setting (issue 13 item 3;
// OIDC Core §12.2 makes it optional). On (the default, as before): every
// refresh of an openid grant answers a new ID token with the original
// sub, auth_time and sid (OI-07). Off (client add|update
// --no-id-token-on-refresh): the refresh answers a valid access token and
// a rotated refresh token and no ID token; rotation, reuse detection and
// scope narrowing (RT-01..03) are unchanged. Runs on SQLite, and on
// PostgreSQL with PORTCULLIS_TEST_PG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { addUser, cliAt } from './lib/web.mjs';
import { addClient, codeFlow, tokenRequest } from './lib/oauth.mjs';

let srv, JWKS, on, off;

before(async () => {
  srv = await startServer({ config: { login_delay_free: 50 } });
  addUser(srv, 'alice@example.com');
  on = addClient(srv, { name: 'On', redirectUris: ['https://on.example/cb'] });
  off = addClient(srv, { name: 'Off', redirectUris: ['https://off.example/cb'], extra: ['--no-id-token-on-refresh'] });
  JWKS = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
});
after(async () => { await stopClean(srv); });

const refresh = (client, rt, extra = {}) => tokenRequest(srv, client, { grant_type: 'refresh_token', refresh_token: rt, ...extra });
const start = async (client, scope = 'openid email offline_access') =>
  (await codeFlow(srv, client, { email: 'alice@example.com', scope })).tokens;
const verifyAt = async (at) =>
  (await jose.jwtVerify(at, JWKS, { issuer: srv.issuer, audience: srv.issuer, typ: 'at+jwt' })).payload;
const show = (client, json = true) => cliAt(srv, ['client', 'show', '--id', client.client_id, ...(json ? ['--json'] : [])]);

test('OI-07: id_token_on_refresh on (the default): a refresh answers a new ID token with the original sub, auth_time and sid', async () => {
  const t = await start(on);
  const first = jose.decodeJwt(t.id_token);
  const r = await refresh(on, t.refresh_token);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.ok(r.json.id_token, 'an ID token, as before the setting existed');
  const { payload: id } = await jose.jwtVerify(r.json.id_token, JWKS, { issuer: srv.issuer, audience: on.client_id });
  assert.equal(id.sub, first.sub);
  assert.equal(id.auth_time, first.auth_time);
  assert.equal(id.sid, first.sid);
  assert.equal(id.nonce, undefined);
  assert.equal(JSON.parse(show(on).stdout).id_token_on_refresh, true);
});

test('OI-07/RT-01: id_token_on_refresh off: the code grant still has its ID token; a refresh answers a valid access token and a rotated refresh token, no ID token', async () => {
  const t = await start(off);
  assert.ok(t.id_token, 'the authorization_code grant keeps its ID token');
  const first = jose.decodeJwt(t.id_token);
  const r = await refresh(off, t.refresh_token);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.id_token, undefined);
  assert.equal(r.json.token_type, 'Bearer');
  assert.equal(r.json.scope, 'openid email offline_access');
  assert.match(r.json.refresh_token, /^pcr_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(r.json.refresh_token, t.refresh_token);
  const at = await verifyAt(r.json.access_token);
  assert.equal(at.sub, first.sub);
  assert.equal(at.client_id, off.client_id);
  assert.equal(at.gid, jose.decodeJwt(t.access_token).gid, 'the same family');
  // The access token serves userinfo, which has the identity claims.
  const ui = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + r.json.access_token } });
  assert.equal(ui.status, 200);
  const claims = await ui.json();
  assert.equal(claims.sub, first.sub);
  assert.equal(claims.email, 'alice@example.com');
  // The successor works in turn.
  const r2 = await refresh(off, r.json.refresh_token);
  assert.equal(r2.status, 200, JSON.stringify(r2.json));
  assert.equal(r2.json.id_token, undefined);
  // RT-01: the rotated token again is reuse, and the family dies.
  const reuse = await refresh(off, r.json.refresh_token);
  assert.equal(reuse.json.error, 'invalid_grant');
  assert.equal((await refresh(off, r2.json.refresh_token)).json.error, 'invalid_grant');
});

test('RT-03: id_token_on_refresh off: scope may narrow, never widen; a refused scope does not consume the token', async () => {
  const t = await start(off);
  const wider = await refresh(off, t.refresh_token, { scope: 'openid email profile offline_access' });
  assert.equal(wider.json.error, 'invalid_scope');
  const narrow = await refresh(off, t.refresh_token, { scope: 'openid' });
  assert.equal(narrow.status, 200, JSON.stringify(narrow.json));
  assert.equal(narrow.json.scope, 'openid');
  assert.equal(narrow.json.id_token, undefined);
  assert.equal((await verifyAt(narrow.json.access_token)).scope, 'openid');
});

test('client update --id-token-on-refresh / --no-id-token-on-refresh switches it for the next refresh; show says so in text and JSON', async () => {
  const c = addClient(srv, { name: 'Switch', redirectUris: ['https://switch.example/cb'] });
  let s = show(c, false);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^id_token_on_refresh: +yes$/m);
  const t = await start(c);
  let r = cliAt(srv, ['client', 'update', '--id', c.client_id, '--no-id-token-on-refresh', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).id_token_on_refresh, false);
  assert.equal(JSON.parse(show(c).stdout).id_token_on_refresh, false);
  assert.match(show(c, false).stdout, /^id_token_on_refresh: +no$/m);
  const a = await refresh(c, t.refresh_token);
  assert.equal(a.status, 200, JSON.stringify(a.json));
  assert.equal(a.json.id_token, undefined);
  // Another update that does not name the flag keeps it.
  r = cliAt(srv, ['client', 'update', '--id', c.client_id, '--name', 'Renamed']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(show(c).stdout).id_token_on_refresh, false);
  r = cliAt(srv, ['client', 'update', '--id', c.client_id, '--id-token-on-refresh']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(show(c).stdout).id_token_on_refresh, true);
  const b = await refresh(c, a.json.refresh_token);
  assert.equal(b.status, 200, JSON.stringify(b.json));
  assert.ok(b.json.id_token);
  assert.equal(jose.decodeJwt(b.json.id_token).sub, jose.decodeJwt(t.id_token).sub);
});

test('client add|update with --id-token-on-refresh and --no-id-token-on-refresh at once is a usage error', () => {
  for (const args of [
    ['client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--id-token-on-refresh', '--no-id-token-on-refresh'],
    ['client', 'update', '--id', on.client_id, '--id-token-on-refresh', '--no-id-token-on-refresh'],
  ]) {
    const r = cliAt(srv, args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /--id-token-on-refresh and --no-id-token-on-refresh conflict/);
  }
  assert.equal(JSON.parse(show(on).stdout).id_token_on_refresh, true, 'nothing changed');
});

test('RT-05: a refresh for a user disabled behind the server\'s back (family not revoked) is invalid_grant and consumes nothing', async () => {
  addUser(srv, 'bob@example.com');
  for (const client of [on, off]) {
    const t = (await codeFlow(srv, client, { email: 'bob@example.com', scope: 'openid offline_access' })).tokens;
    storeSql(srv, "UPDATE users SET disabled_at = 1 WHERE email = 'bob@example.com'");
    const r = await refresh(client, t.refresh_token);
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.error, 'invalid_grant');
    storeSql(srv, "UPDATE users SET disabled_at = NULL WHERE email = 'bob@example.com'");
    // The refused refresh did not use the token up (no reuse afterwards).
    const again = await refresh(client, t.refresh_token);
    assert.equal(again.status, 200, JSON.stringify(again.json));
  }
});
