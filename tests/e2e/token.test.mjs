// POST /token, the client_credentials slice (issue 4), attacked: client
// authentication by exactly one registered method (TK-07, TK-08), failures
// are 401 invalid_client with WWW-Authenticate, audited and throttled;
// scopes only within the client's (AZ-10); responses never cached; the
// access token is an RFC 9068 JWT that npm jose verifies against our JWKS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean } from './lib/server.mjs';
import { auditRows, cliAt } from './lib/web.mjs';

let srv, svc, pub;

function addClient(args) {
  const r = cliAt(srv, ['client', 'add', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

before(async () => {
  srv = await startServer({ config: { login_delay_free: 3, login_delay_base: '1h' } });
  svc = addClient(['--name', 'Service', '--redirect-uri', 'https://svc.example/cb',
    '--grant', 'client_credentials', '--scope', 'openid api.read api.write']);
  pub = addClient(['--name', 'SPA', '--redirect-uri', 'https://spa.example/cb', '--public']);
});
after(async () => { await stopClean(srv); });

const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

async function token(form, headers = {}) {
  const res = await fetch(srv.url + '/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
}

test('client_credentials with client_secret_basic: an RFC 9068 access token jose verifies against our JWKS', async () => {
  const r = await token({ grant_type: 'client_credentials', scope: 'api.read' }, { authorization: basic(svc.client_id, svc.client_secret) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.headers.get('pragma'), 'no-cache');
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.scope, 'api.read');
  assert.ok(r.body.expires_in > 0);
  assert.equal(r.body.refresh_token, undefined, 'no refresh token for client_credentials');
  const JWKS = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  const { payload, protectedHeader } = await jose.jwtVerify(r.body.access_token, JWKS,
    { issuer: srv.issuer, audience: srv.issuer, typ: 'at+jwt', algorithms: ['ES256'] });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.client_id, svc.client_id);
  assert.equal(payload.sub, svc.client_id);
  assert.equal(payload.scope, 'api.read');
  assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);
  assert.ok(auditRows(srv).some((e) => e.event === 'token.issue' && e.actor === svc.client_id));
  // The discovery document says what exists.
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.token_endpoint, srv.issuer + '/token');
  assert.deepEqual(d.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
});

test('TK-07: client_secret_post is refused for a client registered for Basic, and both at once is invalid_request', async () => {
  const post = await token({ grant_type: 'client_credentials', client_id: svc.client_id, client_secret: svc.client_secret });
  assert.equal(post.status, 401);
  assert.equal(post.body.error, 'invalid_client');
  const both = await token({ grant_type: 'client_credentials', client_secret: svc.client_secret },
    { authorization: basic(svc.client_id, svc.client_secret) });
  assert.equal(both.status, 400);
  assert.equal(both.body.error, 'invalid_request');
});

test('TK-07: a known client using another method than its registered one is told which; an unknown client is not', async () => {
  const post = await token({ grant_type: 'client_credentials', client_id: svc.client_id, client_secret: 'pcs_whatever' });
  assert.equal(post.status, 401);
  assert.equal(post.body.error, 'invalid_client');
  assert.match(post.body.error_description, /registered for client_secret_basic, not client_secret_post/);
  const none = await token({ grant_type: 'client_credentials', client_id: svc.client_id });
  assert.equal(none.status, 401);
  assert.match(none.body.error_description, /registered for client_secret_basic/);
  // The right method with a wrong secret, or an unknown client: generic.
  const wrong = await token({ grant_type: 'client_credentials' }, { authorization: basic(svc.client_id, 'pcs_whatever') });
  assert.equal(wrong.body.error_description, 'Client authentication failed.');
  const unknown = await token({ grant_type: 'client_credentials', client_id: 'pcc_AAAAAAAAAAAAAAAAAAAAAA', client_secret: 'pcs_x' });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.error_description, 'Client authentication failed.');
  assert.doesNotMatch(JSON.stringify(unknown.body), /client_secret_basic|client_secret_post|registered/);
  // A success clears this (client, IP) pair's failures again.
  assert.equal((await token({ grant_type: 'client_credentials' }, { authorization: basic(svc.client_id, svc.client_secret) })).status, 200);
});

test('TK-08: wrong secret, unknown client, malformed Basic, a public client: 401 invalid_client with WWW-Authenticate; no token', async () => {
  const cases = [
    { authorization: basic(svc.client_id, svc.client_secret.slice(0, -1) + (svc.client_secret.endsWith('A') ? 'B' : 'A')) },
    { authorization: basic('pcc_AAAAAAAAAAAAAAAAAAAAAA', 'pcs_whatever') },
    { authorization: 'Basic !!!not-base64!!!' },
    { authorization: basic(pub.client_id, 'anything') },
    {},
  ];
  for (const h of cases) {
    const r = await token({ grant_type: 'client_credentials' }, h);
    assert.equal(r.status, 401, JSON.stringify(h));
    assert.equal(r.body.error, 'invalid_client');
    assert.match(r.headers.get('www-authenticate'), /^Basic realm=/);
    assert.equal(r.body.access_token, undefined);
  }
  assert.ok(auditRows(srv).some((e) => e.event === 'client.auth' && e.outcome === 'failure'));
});

test('AZ-10/TK: scope beyond the client, user scopes, unknown or repeated parameters', async () => {
  const auth = { authorization: basic(svc.client_id, svc.client_secret) };
  for (const scope of ['api.admin', 'api.read api.admin', 'openid', 'a  b']) {
    const r = await token({ grant_type: 'client_credentials', scope }, auth);
    assert.equal(r.status, 400, scope);
    assert.equal(r.body.error, 'invalid_scope', scope);
  }
  assert.equal((await token({ grant_type: 'password', username: 'u', password: 'p' }, auth)).body.error, 'unsupported_grant_type');
  assert.equal((await token({ grant_type: 'implicit' }, auth)).body.error, 'unsupported_grant_type');
  assert.equal((await token({}, auth)).body.error, 'invalid_request');
  const dup = await fetch(srv.url + '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
    body: 'grant_type=client_credentials&grant_type=client_credentials' });
  assert.equal(dup.status, 400);
  assert.equal((await dup.json()).error, 'invalid_request');
  const get = await fetch(srv.url + '/token');
  assert.equal(get.status, 405);
  // A confidential client without the grant may not use it.
  const noGrant = addClient(['--name', 'Web', '--redirect-uri', 'https://web.example/cb']);
  const r = await token({ grant_type: 'client_credentials' }, { authorization: basic(noGrant.client_id, noGrant.client_secret) });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'unauthorized_client');
});

test('TK-08: repeated failed client authentication from one IP is throttled for that (client, IP) pair (429 + Retry-After) without checking the secret', async () => {
  const c = addClient(['--name', 'Victim', '--redirect-uri', 'https://v.example/cb', '--grant', 'client_credentials', '--scope', 'api.read']);
  // client_auth_pair_failures defaults to 10 (other IPs: throttle.test.mjs).
  for (let i = 0; i < 10; i++) {
    const r = await token({ grant_type: 'client_credentials' }, { authorization: basic(c.client_id, 'pcs_wrong' + i) });
    assert.equal(r.status, 401);
  }
  const held = await token({ grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret) });
  assert.equal(held.status, 429);
  assert.ok(Number(held.headers.get('retry-after')) > 0);
  assert.equal(held.body.access_token, undefined);
});

test('TK-11: /token is POST only, refuses credentials in the URL, and is never cached', async () => {
  const get = await fetch(srv.url + '/token?grant_type=client_credentials');
  assert.equal(get.status, 405);
  assert.match(get.headers.get('allow') ?? '', /POST/);
  for (const path of ['/token', '/introspect', '/revoke']) {
    for (const q of [`client_secret=${svc.client_secret}`, 'code=pca_x', 'refresh_token=pcr_x', 'token=abc', 'client_assertion=x.y.z']) {
      const res = await fetch(`${srv.url}${path}?${q}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(svc.client_id, svc.client_secret) },
        body: new URLSearchParams({ grant_type: 'client_credentials', token: 'x' }).toString(),
      });
      assert.equal(res.status, 400, `${path}?${q}`);
      const body = await res.json();
      assert.equal(body.error, 'invalid_request');
      assert.equal(body.access_token, undefined);
    }
  }
  // The secret never reaches the logs (paths are logged without queries).
  assert.ok(!srv.rawLogs().includes(svc.client_secret));
  const ok = await token({ grant_type: 'client_credentials' }, { authorization: basic(svc.client_id, svc.client_secret) });
  assert.equal(ok.headers.get('cache-control'), 'no-store');
  assert.equal(ok.headers.get('pragma'), 'no-cache');
});
