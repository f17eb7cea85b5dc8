// Service accounts (issue 14; SECURITY.md section M, AK-08, SS-08, TX-07)
// through the real binary: the CLI round trips with --json, a client
// bound to a service account (AK-08, the preferred pattern) driven by npm
// openid-client with private_key_jwt, whose client_credentials token has
// sub = svc_... and client_id = pcc_..., scopes confined to client ∩
// (account ∪ its groups), verified with npm jose against our JWKS; and the
// revocation attacks: a disabled account's token is inactive at the next
// introspection and new grants are refused, enabling it again does not
// revive the old token, delete is final, a store that cannot answer fails
// closed (503). Two nodes on PostgreSQL when PORTCULLIS_TEST_PG is set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { freePort, startServer, stopClean, storeSql } from './lib/server.mjs';
import { createDatabase, SHARED } from './lib/pg.mjs';
import { addUser, auditRows, cliAt } from './lib/web.mjs';

let srv, owner;

before(async () => {
  srv = await startServer({ config: { client_auth_pair_failures: 10000, client_auth_ip_failures: 1000000 } });
  owner = addUser(srv, 'owner@example.com');
});
after(async () => { await stopClean(srv); });

function cli(node, args) {
  const r = cliAt(node, args);
  const out = r.stdout.trim();
  return { ...r, json: r.code === 0 && (out.startsWith('{') || out.startsWith('[')) ? JSON.parse(out) : null };
}

function ok(node, args) {
  const r = cli(node, args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.json;
}

// An ES256 key pair as WebCrypto keys (what openid-client signs with) and
// the public JWK registered with the client.
async function keyPair(kid) {
  const kp = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const jwk = { ...(await jose.exportJWK(kp.publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { ...kp, kid, jwk };
}

// A private_key_jwt client bound to the service account.
async function boundClient(node, saId, name, extra = []) {
  const key = await keyPair('k-' + name);
  const file = join(node.dataDir, `${name}.jwks.json`);
  writeFileSync(file, JSON.stringify({ keys: [key.jwk] }));
  const c = ok(node, ['client', 'add', '--json', '--name', name, '--service-account', saId,
    '--auth-method', 'private_key_jwt', '--jwks-file', file, ...extra]);
  return { ...c, key };
}

// openid-client, unchanged, configured from our discovery document.
async function rp(node, client) {
  return oidc.discovery(new URL(node.issuer), client.client_id, {},
    oidc.PrivateKeyJwt({ key: client.key.privateKey, kid: client.key.kid }),
    { execute: [oidc.allowInsecureRequests] });
}

async function grantError(config, params) {
  try {
    await oidc.clientCredentialsGrant(config, params);
  } catch (e) {
    return { status: e.status ?? e.response?.status ?? e.cause?.status, error: e.error ?? e.code, e };
  }
  return { status: 200 };
}

const userinfo = (node, at) => fetch(node.url + '/userinfo', { headers: { authorization: 'Bearer ' + at } });

test('service-account: CLI round trip with --json, refusals, audit', () => {
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'ci-deployer', '--owner', owner.id,
    '--description', 'deploys from CI', '--scope', 'orders:read orders:write',
    '--resource', 'https://api.example.com', '--expires', '90d']);
  assert.match(sa.id, /^svc_[A-Za-z0-9_-]{22}$/);
  assert.equal(sa.name, 'ci-deployer');
  assert.equal(sa.owner_id, owner.id);
  assert.equal(sa.scope, 'orders:read orders:write');
  assert.deepEqual(sa.resources, ['https://api.example.com']);
  assert.ok(Math.abs(sa.expires_at - (sa.created_at + 90 * 86400)) <= 1);
  assert.equal(sa.disabled, false);

  const list = ok(srv, ['service-account', 'list', '--json']);
  assert.ok(list.some((x) => x.id === sa.id));
  const shown = ok(srv, ['service-account', 'show', '--id', sa.id, '--json']);
  assert.equal(shown.name, 'ci-deployer');
  assert.deepEqual(shown.clients, []);

  const up = ok(srv, ['service-account', 'update', '--id', sa.id, '--json', '--no-expiry', '--no-owner',
    '--any-resource', '--scope', 'orders:read']);
  assert.equal(up.expires_at, null);
  assert.equal(up.owner_id, null);
  assert.deepEqual(up.resources, []);
  assert.equal(up.scope, 'orders:read');

  assert.equal(ok(srv, ['service-account', 'disable', '--id', sa.id, '--json']).disabled, true);
  assert.equal(ok(srv, ['service-account', 'show', '--id', sa.id, '--json']).disabled, true);
  assert.equal(ok(srv, ['service-account', 'enable', '--id', sa.id, '--json']).disabled, false);

  // Refused: exit 1 with the reason, nothing created.
  for (const [args, why] of [
    [['--name', 'ci-deployer'], /taken/],
    [['--name', 'bad name'], /name/],
    [['--name', 'x1', '--scope', 'openid'], /openid/],
    [['--name', 'x2', '--owner', 'usr_AAAAAAAAAAAAAAAAAAAAAA'], /owner/],
    [['--name', 'x3', '--owner', 'pcc_AAAAAAAAAAAAAAAAAAAAAA'], /owner/],
    [['--name', 'x4', '--resource', 'http://api.example.com'], /resource/],
    [['--name', 'x5', '--resource', 'https://api.example.com/#frag'], /resource/],
  ]) {
    const r = cli(srv, ['service-account', 'add', '--json', ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, why);
  }
  assert.equal(cli(srv, ['service-account', 'add', '--name', 'x6', '--expires', '90y']).code, 2);
  assert.equal(cli(srv, ['service-account', 'show', '--id', 'svc_AAAAAAAAAAAAAAAAAAAAAA']).code, 1);
  assert.ok(!ok(srv, ['service-account', 'list', '--json']).some((x) => /^x\d$/.test(x.name)));

  const events = auditRows(srv).filter((e) => e.target === sa.id).map((e) => e.event);
  for (const ev of ['service_account.create', 'service_account.update', 'service_account.disable', 'service_account.enable'])
    assert.ok(events.includes(ev), ev);
});

test('AK-08: a service account has no way to sign in on the login page', async () => {
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'no-login']);
  // No credentials row, no user row: the login form knows no such account.
  assert.equal(storeSql(srv, `SELECT count(*) FROM credentials WHERE user_id = '${sa.id}'`), '0');
  assert.equal(storeSql(srv, `SELECT count(*) FROM users WHERE id = '${sa.id}'`), '0');
  assert.equal(cli(srv, ['user', 'show', '--id', sa.id]).code, 1);
});

test('AK-08: a bound private_key_jwt client gets a token for the service account (openid-client)', async () => {
  const group = ok(srv, ['group', 'add', '--json', '--name', 'deployers', '--scope', 'deploy:write']);
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'orders-bot', '--scope', 'orders:read']);
  ok(srv, ['group', 'member', 'add', '--group', group.id, '--member', sa.id, '--json']);
  const client = await boundClient(srv, sa.id, 'orders-bot-key', ['--scope', 'orders:read deploy:write admin']);
  assert.equal(client.service_account_id, sa.id);
  assert.deepEqual(client.grant_types, ['client_credentials']);
  assert.deepEqual(ok(srv, ['service-account', 'show', '--id', sa.id, '--json']).clients, [client.client_id]);

  const config = await rp(srv, client);
  const t = await oidc.clientCredentialsGrant(config, { scope: 'orders:read deploy:write' });
  assert.equal(t.token_type.toLowerCase(), 'bearer');
  assert.equal(t.scope, 'orders:read deploy:write');
  assert.equal(t.refresh_token, undefined);
  const jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  const { payload } = await jose.jwtVerify(t.access_token, jwks, { issuer: srv.issuer, typ: 'at+jwt', audience: srv.issuer });
  assert.equal(payload.sub, sa.id);
  assert.equal(payload.client_id, client.client_id);
  assert.equal(payload.scope, 'orders:read deploy:write');
  assert.equal(payload.gid, undefined);

  // Client scopes ∩ (account ∪ groups): admin is a client scope only.
  const refused = await grantError(config, { scope: 'orders:read admin' });
  assert.equal(refused.status, 400);
  assert.equal(refused.error, 'invalid_scope');

  const intro = await oidc.tokenIntrospection(config, t.access_token);
  assert.equal(intro.active, true);
  assert.equal(intro.sub, sa.id);
  assert.equal(intro.client_id, client.client_id);
  // No userinfo: a service account is not a user.
  assert.equal((await userinfo(srv, t.access_token)).status, 401);

  // TX-07: actor the client, target the account, with the scope.
  const row = auditRows(srv).find((e) => e.event === 'token.issue' && e.target === sa.id);
  assert.ok(row, 'token.issue for the service account');
  assert.equal(row.actor, client.client_id);
  assert.equal(row.details.scope, 'orders:read deploy:write');
  assert.equal(row.details.jti, payload.jti);
});

test('AK-08: binding rules: confidential, client_credentials only, an existing account', async () => {
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'binding-rules', '--scope', 'a:b']);
  for (const [args, why] of [
    [['--service-account', 'svc_AAAAAAAAAAAAAAAAAAAAAA'], /does not exist/],
    [['--service-account', 'usr_AAAAAAAAAAAAAAAAAAAAAA'], /svc_/],
    [['--service-account', sa.id, '--public', '--redirect-uri', 'https://x.example/cb'], /public/],
    [['--service-account', sa.id, '--grant', 'authorization_code,client_credentials', '--redirect-uri', 'https://x.example/cb'], /client_credentials only/],
  ]) {
    const r = cli(srv, ['client', 'add', '--name', 'refused', ...args]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, why);
  }
  // A secret client may be bound too; the account's scopes are its default.
  const r = cli(srv, ['client', 'add', '--json', '--name', 'secret-bound', '--service-account', sa.id]);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.equal(c.scope, 'a:b');
  const basic = 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
  const res = await fetch(srv.url + '/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    body: 'grant_type=client_credentials&scope=a%3Ab' });
  assert.equal(res.status, 200);
  assert.equal(jose.decodeJwt((await res.json()).access_token).sub, sa.id);
  // Unbinding with update: its tokens are the client's own again.
  const u = cli(srv, ['client', 'update', '--id', c.client_id, '--no-service-account', '--json']);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(JSON.parse(u.stdout).service_account_id, null);
});

test('SS-08: disabling a service account kills its tokens at the next introspection and refuses new grants; enabling does not revive them', async () => {
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'to-disable', '--scope', 'orders:read']);
  const client = await boundClient(srv, sa.id, 'to-disable-key');
  const config = await rp(srv, client);
  const t = await oidc.clientCredentialsGrant(config, { scope: 'orders:read' });
  assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, true);

  ok(srv, ['service-account', 'disable', '--id', sa.id]);
  assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, false, 'dead at once');
  const r = await grantError(config, { scope: 'orders:read' });
  assert.equal(r.status, 400);
  assert.equal(r.error, 'invalid_grant');
  const ui = await userinfo(srv, t.access_token);
  assert.equal(ui.status, 401);
  assert.match(ui.headers.get('www-authenticate'), /invalid_token/);

  // A second later, enabled: a new token works, the old one stays dead.
  await new Promise((res) => setTimeout(res, 1100));
  ok(srv, ['service-account', 'enable', '--id', sa.id]);
  const t2 = await oidc.clientCredentialsGrant(config, { scope: 'orders:read' });
  assert.equal((await oidc.tokenIntrospection(config, t2.access_token)).active, true);
  assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, false, 'a disable revokes');
});

test('SS-08: an expired service account gets no token and its tokens are dead', async () => {
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'short-lived', '--scope', 'x', '--expires', '60']);
  const client = await boundClient(srv, sa.id, 'short-lived-key');
  const config = await rp(srv, client);
  const t = await oidc.clientCredentialsGrant(config, { scope: 'x' });
  assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, true);
  // Moved into the past in the store (no test path in the server).
  storeSql(srv, `UPDATE service_accounts SET expires_at = 1000 WHERE id = '${sa.id}'`);
  assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, false);
  assert.equal((await grantError(config, { scope: 'x' })).error, 'invalid_grant');
});

test('SS-08: delete is final: the account, its clients and its memberships go; the id never comes back', async () => {
  const group = ok(srv, ['group', 'add', '--json', '--name', 'del-group']);
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'to-delete', '--scope', 'x']);
  ok(srv, ['group', 'member', 'add', '--group', group.id, '--member', sa.id]);
  const client = await boundClient(srv, sa.id, 'to-delete-key');
  const config = await rp(srv, client);
  const t = await oidc.clientCredentialsGrant(config, { scope: 'x' });
  const other = await boundClient(srv, ok(srv, ['service-account', 'add', '--json', '--name', 'bystander', '--scope', 'x']).id, 'bystander-key');
  const otherConfig = await rp(srv, other);

  const d = ok(srv, ['service-account', 'delete', '--id', sa.id, '--json']);
  assert.deepEqual(d.clients_deleted, [client.client_id]);
  assert.equal(cli(srv, ['service-account', 'show', '--id', sa.id]).code, 1);
  assert.equal(cli(srv, ['client', 'show', '--id', client.client_id]).code, 1);
  assert.deepEqual(ok(srv, ['group', 'show', '--id', group.id, '--json']).members, []);
  assert.equal(cli(srv, ['service-account', 'delete', '--id', sa.id]).code, 1);
  // Its client can no longer authenticate; its token is dead everywhere.
  const r = await grantError(config, { scope: 'x' });
  assert.equal(r.status, 401);
  assert.equal((await userinfo(srv, t.access_token)).status, 401);
  assert.equal((await oidc.tokenIntrospection(otherConfig, t.access_token)).active, false);
  assert.equal(storeSql(srv, `SELECT count(*) FROM deleted_service_accounts WHERE id = '${sa.id}'`), '1');
  const events = auditRows(srv).map((e) => `${e.event} ${e.target}`);
  assert.ok(events.includes(`service_account.delete ${sa.id}`));
  assert.ok(events.includes(`client.deleted ${client.client_id}`));
});

test('SS-08: the store cannot answer the liveness check: 503, never active', async () => {
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'outage', '--scope', 'x']);
  const client = await boundClient(srv, sa.id, 'outage-key');
  const config = await rp(srv, client);
  const t = await oidc.clientCredentialsGrant(config, { scope: 'x' });
  storeSql(srv, 'ALTER TABLE service_accounts RENAME TO service_accounts_gone');
  try {
    const ui = await userinfo(srv, t.access_token);
    assert.equal(ui.status, 503);
    const g = await grantError(config, { scope: 'x' });
    assert.equal(g.status, 503, String(g.e));
  } finally {
    storeSql(srv, 'ALTER TABLE service_accounts_gone RENAME TO service_accounts');
  }
  assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, true, 'service resumes');
});

// Two nodes on one PostgreSQL store: a disable through the CLI of one is
// seen by the other at its next check (no per-node state).
test('SS-08: two nodes: a service account disabled through one node is dead on both at the next request', { skip: !SHARED && 'needs PORTCULLIS_TEST_PG' }, async () => {
  const store = createDatabase(SHARED);
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const [pa, pb] = [await freePort(), await freePort()];
  const A = await startServer({ port: pa, issuer, config: { store_url: store, allowed_hosts: `127.0.0.1:${pa}` } });
  let B;
  try {
    B = await startServer({ port: pb, issuer, config: { store_url: store, allowed_hosts: `127.0.0.1:${pb}` } });
    const sa = ok(A, ['service-account', 'add', '--json', '--name', 'two-nodes', '--scope', 'x']);
    const client = await boundClient(A, sa.id, 'two-nodes-key');
    // Discovery names the issuer, not a node: talk to each node directly.
    const assertion = async () => {
      const now = Math.floor(Date.now() / 1000);
      const a = await new jose.SignJWT({ jti: webcrypto.randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: client.key.kid })
        .setIssuer(client.client_id).setSubject(client.client_id).setAudience(issuer)
        .setIssuedAt(now).setExpirationTime(now + 60).sign(client.key.privateKey);
      return { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a };
    };
    const post = async (node, path, form) => {
      const res = await fetch(node.url + path, { method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...form, ...(await assertion()) }).toString() });
      return { status: res.status, body: await res.json().catch(() => null) };
    };
    const g = await post(A, '/token', { grant_type: 'client_credentials', scope: 'x' });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    const at = g.body.access_token;
    assert.equal((await post(B, '/introspect', { token: at })).body.active, true);
    ok(A, ['service-account', 'disable', '--id', sa.id]);
    assert.equal((await post(B, '/introspect', { token: at })).body.active, false, 'B sees the disable');
    assert.equal((await post(A, '/introspect', { token: at })).body.active, false);
    assert.equal((await post(B, '/token', { grant_type: 'client_credentials', scope: 'x' })).body.error, 'invalid_grant');
  } finally {
    const stops = await Promise.allSettled([A, B].filter(Boolean).map(stopClean));
    for (const s of stops) if (s.status === 'rejected') throw s.reason;
  }
});

test('AK-08: a bound client asks for a resource: aud is exactly it, scopes within the account; one outside the account\'s list is invalid_target', async () => {
  const api = `https://orders-${Date.now()}.example.com`;
  const other = `https://billing-${Date.now()}.example.com`;
  ok(srv, ['resource', 'add', '--id', api, '--scope', 'orders:read orders:write', '--json']);
  ok(srv, ['resource', 'add', '--id', other, '--scope', 'orders:read', '--json']);
  const sa = ok(srv, ['service-account', 'add', '--json', '--name', 'res-bot', '--scope', 'orders:read', '--resource', api]);
  const client = await boundClient(srv, sa.id, 'res-bot-key', ['--scope', 'orders:read orders:write']);
  const config = await rp(srv, client);
  const t = await oidc.clientCredentialsGrant(config, { resource: api });
  const jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  const { payload } = await jose.jwtVerify(t.access_token, jwks, { issuer: srv.issuer, typ: 'at+jwt', audience: api });
  assert.equal(payload.aud, api);
  assert.equal(payload.sub, sa.id);
  assert.equal(payload.scope, 'orders:read', 'orders:write is the client\'s, not the account\'s');
  const w = await grantError(config, { resource: api, scope: 'orders:write' });
  assert.equal(w.error, 'invalid_scope');
  const r = await grantError(config, { resource: other });
  assert.equal(r.status, 400);
  assert.equal(r.error, 'invalid_target');
  // Disabled: the resource path is refused too.
  ok(srv, ['service-account', 'disable', '--id', sa.id]);
  assert.equal((await grantError(config, { resource: api })).error, 'invalid_grant');
});
