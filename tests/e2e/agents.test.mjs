// Agents (issue 15 item 1): clients of kind 'agent' that act for people,
// registered with `portcullis agent add|list|show|update|disable|delete`.
// The rules (an owner, registered resources, no shared secret, no
// client_credentials, never first-party, a public agent DPoP-bound by
// default) are refused with a reason and create nothing; every change is
// audited. Disabling or deleting an agent revokes every token it holds in
// the same step, and a disabled agent can no longer authenticate (not even
// with a code it obtained before) or start an authorization (TX-08).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { Client, addUser, auditRows, cliAt } from './lib/web.mjs';
import { authorize, pkce, authorizeParams } from './lib/oauth.mjs';

const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';
const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
let srv, alice, api, key, jwksFile, group;

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}
const cliJson = (args) => JSON.parse(cli([...args, '--json']));

function addAgent(extra = [], { name = 'Travel agent', owner = alice.id } = {}) {
  return cliJson(['agent', 'add', '--name', name, '--owner', owner, '--resource', API,
    '--redirect-uri', 'https://agent.example/cb', ...extra]);
}
const publicAgent = (extra = [], o) => ({ ...addAgent(['--public', ...extra], o), authMethod: 'none', redirectUri: 'https://agent.example/cb' });
const keyedAgent = (extra = [], o) => ({ ...addAgent(['--jwks-file', jwksFile, ...extra], o), authMethod: 'private_key_jwt', redirectUri: 'https://agent.example/cb' });

async function assertion(id) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(id).setSubject(id).setAudience(srv.issuer)
    .setIssuedAt(now).setExpirationTime(now + 60)
    .sign(key.privateKey);
}

async function post(path, form, headers = {}) {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

// /token as the agent: none (public) or a fresh private_key_jwt assertion.
async function token(agent, form) {
  const auth = agent.authMethod === 'none'
    ? { client_id: agent.client_id }
    : { client_assertion_type: TYPE, client_assertion: await assertion(agent.client_id) };
  return post('/token', { ...form, ...auth });
}

const basic = (c) => ({ authorization: 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64') });
const active = async (t) => (await post('/introspect', { token: t }, basic(api))).body.active;

// A delegation: alice's code, then tokens, for the agent at API.
async function delegate(agent, extra = {}) {
  const a = await authorize(srv, agent, { email: 'alice@example.com', scope: 'orders:read offline_access', params: { resource: API }, ...extra });
  assert.ok(a.code, `${a.status} ${a.error ?? ''} ${a.error_description ?? ''}`);
  return a;
}
async function redeem(agent, a) {
  return token(agent, { grant_type: 'authorization_code', code: a.code, redirect_uri: agent.redirectUri, code_verifier: a.verifier });
}

before(async () => {
  srv = await startServer();
  alice = addUser(srv, 'alice@example.com');
  api = cliJson(['resource', 'add', '--id', API, '--scope', 'orders:read orders:write', '--name', 'Orders API']);
  cliJson(['resource', 'add', '--id', OTHER_API, '--scope', 'stock:read']);
  group = cliJson(['group', 'add', '--name', 'assistants']);
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  key = { privateKey };
  jwksFile = join(srv.dataDir, 'agent.jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }));
});
after(async () => { await stopClean(srv); });

test('agent add: a public agent must prove a DPoP key by default; a confidential one uses private_key_jwt', () => {
  const pub = addAgent(['--public']);
  assert.equal(pub.kind, 'agent');
  assert.equal(pub.public, true);
  assert.equal(pub.token_endpoint_auth_method, 'none');
  assert.equal(pub.dpop_required, true, 'TX-06: on by default for a public agent');
  assert.equal(pub.owner_id, alice.id);
  assert.deepEqual(pub.resources, [API]);
  assert.deepEqual(pub.grant_types, ['authorization_code', 'refresh_token']);
  assert.equal(pub.scope, 'orders:read orders:write offline_access', 'default: its resources\' scopes');
  assert.equal(pub.max_delegation_depth, 0);
  assert.equal(pub.may_delegate, false);
  assert.equal(pub.disabled_at, null);
  assert.equal(pub.client_secret, undefined, 'no secret, ever');
  const off = addAgent(['--public', '--no-dpop-required']);
  assert.equal(off.dpop_required, false);
  const conf = addAgent(['--jwks-file', jwksFile, '--max-delegation-depth', '2', '--may-delegate',
    '--resource', OTHER_API, '--scope', 'orders:read stock:read'], { owner: group.id });
  assert.equal(conf.token_endpoint_auth_method, 'private_key_jwt');
  assert.equal(conf.has_jwks, true);
  assert.equal(conf.owner_id, group.id, 'a group may own an agent');
  assert.deepEqual(conf.resources, [API, OTHER_API]);
  assert.equal(conf.max_delegation_depth, 2);
  assert.equal(conf.may_delegate, true);
  assert.equal(conf.client_secret, undefined);
  // The plain client commands see it as a client, and it stays an agent.
  assert.equal(cliJson(['client', 'show', '--id', conf.client_id]).client_id, conf.client_id);
  const rows = auditRows(srv).filter((e) => e.event === 'agent.create');
  const row = rows.find((e) => e.target === conf.client_id);
  assert.ok(row, 'agent.create audited');
  assert.equal(row.actor, 'cli');
  assert.equal(row.details.owner_id, group.id);
  assert.equal(row.details.resources, `${API} ${OTHER_API}`);
});

test('agent add: agents that break the rules are refused with the reason and create nothing', () => {
  const before = cliJson(['agent', 'list']).length;
  const base = ['agent', 'add', '--name', 'Bad', '--redirect-uri', 'https://agent.example/cb', '--public'];
  const bad = [
    [['--resource', API], /owner/],
    [['--owner', 'usr_AAAAAAAAAAAAAAAAAAAAAA', '--resource', API], /owner does not exist/],
    [['--owner', 'svc_AAAAAAAAAAAAAAAAAAAAAA', '--resource', API], /owner/],
    [['--owner', alice.id], /at least one resource/],
    [['--owner', alice.id, '--resource', 'https://unknown.example'], /not a registered resource/],
    [['--owner', alice.id, '--resource', 'http://api.example.com'], /https/],
    [['--owner', alice.id, '--resource', API, '--grant', 'client_credentials'], /client_credentials/],
    [['--owner', alice.id, '--resource', API, '--max-delegation-depth', '17'], /0 to 16/],
    [['--owner', alice.id, '--resource', API, '--scope', 'orders:read', '--grant', 'authorization_code', '--resource', API], /distinct/],
  ];
  for (const [extra, why] of bad) {
    const r = cliAt(srv, [...base, ...extra]);
    assert.equal(r.code, 1, `${extra.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, why, extra.join(' '));
  }
  // Usage: a confidential agent needs its keys; public and keys conflict.
  let r = cliAt(srv, ['agent', 'add', '--name', 'K', '--owner', alice.id, '--resource', API, '--redirect-uri', 'https://a.example/cb']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /jwks-file/);
  r = cliAt(srv, [...base, '--owner', alice.id, '--resource', API, '--jwks-file', jwksFile]);
  assert.equal(r.code, 2);
  assert.equal(cliJson(['agent', 'list']).length, before, 'nothing was created');
  // Through the plain client commands the agent rules hold too.
  const a = addAgent(['--public']);
  for (const [extra, why] of [
    [['--first-party'], /first-party/],
    [['--grant', 'authorization_code,client_credentials'], /client_credentials/],
  ]) {
    r = cliAt(srv, ['client', 'update', '--id', a.client_id, ...extra]);
    assert.equal(r.code, 1, extra.join(' '));
    assert.match(r.stderr, why, extra.join(' '));
  }
  const shown = cliJson(['agent', 'show', '--id', a.client_id]);
  assert.equal(shown.first_party, false);
  // A confidential agent never takes a shared secret.
  const k = keyedAgent();
  r = cliAt(srv, ['client', 'update', '--id', k.client_id, '--auth-method', 'client_secret_basic']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /private_key_jwt/);
  assert.equal(cliJson(['agent', 'show', '--id', k.client_id]).token_endpoint_auth_method, 'private_key_jwt');
});

test('agent list, show, update: only agents; updates replace lists and are audited', () => {
  const a = addAgent(['--public'], { name: 'Listed' });
  const plain = cliJson(['client', 'add', '--name', 'Plain', '--redirect-uri', 'https://plain.example/cb']);
  const listed = cliJson(['agent', 'list']);
  assert.ok(listed.some((x) => x.client_id === a.client_id));
  assert.ok(!listed.some((x) => x.client_id === plain.client_id), 'a plain client is not an agent');
  assert.ok(listed.every((x) => x.kind === 'agent'));
  const text = cli(['agent', 'list']);
  assert.match(text, new RegExp(`${a.client_id} +public +active +${alice.id} +Listed`));
  let r = cliAt(srv, ['agent', 'show', '--id', plain.client_id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not an agent/);
  const u = cliJson(['agent', 'update', '--id', a.client_id, '--resource', OTHER_API, '--scope', 'stock:read',
    '--max-delegation-depth', '3', '--may-delegate', '--no-dpop-required']);
  assert.deepEqual(u.resources, [OTHER_API], 'replaced');
  assert.equal(u.scope, 'stock:read');
  assert.equal(u.max_delegation_depth, 3);
  assert.equal(u.may_delegate, true);
  assert.equal(u.dpop_required, false);
  assert.deepEqual(cliJson(['agent', 'show', '--id', a.client_id]).resources, [OTHER_API]);
  assert.match(cli(['agent', 'show', '--id', a.client_id]), /may_delegate: +yes/);
  r = cliAt(srv, ['agent', 'update', '--id', a.client_id, '--may-delegate', '--no-may-delegate']);
  assert.equal(r.code, 2);
  r = cliAt(srv, ['agent', 'update', '--id', a.client_id, '--resource', 'https://nope.example']);
  assert.equal(r.code, 1);
  assert.deepEqual(cliJson(['agent', 'show', '--id', a.client_id]).resources, [OTHER_API], 'a refused update changes nothing');
  const row = auditRows(srv).filter((e) => e.event === 'agent.update' && e.target === a.client_id);
  assert.equal(row.length, 1);
  assert.equal(row[0].details.resources, OTHER_API);
});

test('TX-08: disabling an agent revokes every token it holds at once; it cannot authenticate or start an authorization again', async () => {
  const agent = keyedAgent();
  const jar = new Client(srv);
  const a1 = await delegate(agent, { jar });
  const t = await redeem(agent, a1);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(await active(t.body.access_token), true);
  // A second code, obtained before the disable and redeemed after it.
  const a2 = await delegate(agent, { jar });
  const out = cliJson(['agent', 'disable', '--id', agent.client_id]);
  assert.deepEqual(out, { client_id: agent.client_id, disabled: true, token_families_revoked: 1 });
  assert.equal(await active(t.body.access_token), false, 'its access token is dead at once');
  const rt = await token(agent, { grant_type: 'refresh_token', refresh_token: t.body.refresh_token });
  assert.equal(rt.status, 401);
  assert.equal(rt.body.error, 'invalid_client');
  const late = await redeem(agent, a2);
  assert.equal(late.status, 401, 'a disabled agent authenticates no more, even with a valid key');
  assert.equal(late.body.error, 'invalid_client');
  assert.equal(late.body.access_token, undefined);
  // No authorization starts: a page, nothing sent back to it.
  const { challenge } = pkce();
  const q = new URLSearchParams(authorizeParams(agent, { challenge, scope: 'orders:read', params: { resource: API } }));
  const page = await jar.get('/authorize?' + q);
  assert.equal(page.status, 400);
  assert.match(page.text, /disabled/);
  assert.equal(page.location, null);
  // Disabled already; listed as such; audited with the count.
  const again = cliAt(srv, ['agent', 'disable', '--id', agent.client_id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /disabled already/);
  assert.notEqual(cliJson(['agent', 'show', '--id', agent.client_id]).disabled_at, null);
  assert.match(cli(['agent', 'list']), new RegExp(`${agent.client_id} +confidential +disabled`));
  const row = auditRows(srv).find((e) => e.event === 'agent.disable' && e.target === agent.client_id);
  assert.equal(row.details.token_families, 1);
  const fail = auditRows(srv).filter((e) => e.event === 'client.auth' && e.outcome === 'failure' && e.actor === agent.client_id);
  assert.ok(fail.some((e) => e.details.reason === 'disabled'));
});

test('TX-08: deleting an agent revokes its tokens in the same step; its id is gone', async () => {
  const agent = publicAgent(['--no-dpop-required']);
  const t1 = await redeem(agent, await delegate(agent));
  const t2 = await redeem(agent, await delegate(agent));
  for (const t of [t1, t2]) assert.equal(await active(t.body.access_token), true);
  const out = cliJson(['agent', 'delete', '--id', agent.client_id]);
  assert.deepEqual(out, { client_id: agent.client_id, deleted: true, token_families_revoked: 2 });
  for (const t of [t1, t2]) assert.equal(await active(t.body.access_token), false);
  assert.equal(storeSql(srv, `SELECT count(*) FROM token_families WHERE client_id = '${agent.client_id}'`), '0');
  assert.equal(cliAt(srv, ['agent', 'show', '--id', agent.client_id]).code, 1);
  const row = auditRows(srv).find((e) => e.event === 'agent.delete' && e.target === agent.client_id);
  assert.equal(row.details.token_families, 2);
});

test('TX-08: disabling the user revokes what their agents hold', async () => {
  const bob = addUser(srv, 'bob@example.com');
  const agent = publicAgent(['--no-dpop-required']);
  const a = await authorize(srv, agent, { email: 'bob@example.com', scope: 'orders:read', params: { resource: API } });
  const t = await redeem(agent, a);
  assert.equal(await active(t.body.access_token), true);
  cli(['user', 'disable', '--id', bob.id]);
  assert.equal(await active(t.body.access_token), false);
});
