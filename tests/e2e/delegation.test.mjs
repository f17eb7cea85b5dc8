// Delegation a person can see (issue 15 item 2): the authorization code
// flow with `resource` (RFC 8707; TX-04: the access token's aud is that one
// registered resource, through the code, the grant and every refresh;
// anything else is invalid_target), the consent page of an agent (it says
// an agent will act for the user, at which resource, with which scopes,
// for how long, and the user chooses the lifetime within delegation_ttl)
// and of a client that registered itself (unverified, with its host), and
// the account page's "Agents acting for you" whose Revoke ends every token
// of that delegation at once (TX-08). Audit: delegation.grant and
// delegation.revoke (TX-07).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { Client, addUser, auditRows, cliAt, csrfOf } from './lib/web.mjs';
import { addClient, authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';
const DAY = 86400;
let srv, alice, bob, api, other, rp, agent, jwks;

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}
const cliJson = (args) => JSON.parse(cli([...args, '--json']));

function addAgent(extra = [], name = 'Trip Planner') {
  const a = cliJson(['agent', 'add', '--name', name, '--owner', alice.id, '--resource', API, '--public',
    '--no-dpop-required', '--redirect-uri', 'https://agent.example/cb', ...extra]);
  return { ...a, authMethod: 'none', redirectUri: 'https://agent.example/cb', public: true };
}

async function post(path, form, headers = {}) {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}
const basic = (c) => ({ authorization: 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64') });
const introspect = async (res, t) => (await post('/introspect', { token: t }, basic(res))).body;
const redeem = (c, a, extra = {}) => tokenRequest(srv, c, {
  grant_type: 'authorization_code', code: a.code, redirect_uri: c.redirectUri, code_verifier: a.verifier, ...extra,
});
const refresh = (c, rt, extra = {}) => tokenRequest(srv, c, { grant_type: 'refresh_token', refresh_token: rt, ...extra });
const claims = async (at) => (await jose.jwtVerify(at, jwks, { issuer: srv.issuer, typ: 'at+jwt' })).payload;
const now = () => Math.floor(Date.now() / 1000);

async function browser(email) {
  const jar = new Client(srv);
  const r = await jar.login(email);
  assert.equal(r.status, 303, r.text);
  return jar;
}

before(async () => {
  srv = await startServer({ config: { delegation_ttl: '30d', refresh_token_absolute: '60d' } });
  jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  alice = addUser(srv, 'alice@example.com');
  bob = addUser(srv, 'bob@example.com');
  api = cliJson(['resource', 'add', '--id', API, '--scope', 'orders:read orders:write', '--name', 'Orders API']);
  other = cliJson(['resource', 'add', '--id', OTHER_API, '--scope', 'stock:read']);
  rp = addClient(srv, { name: 'Shop', scope: 'openid offline_access orders:read stock:read', redirectUris: ['https://shop.example/cb'] });
  agent = addAgent();
});
after(async () => { await stopClean(srv); });

test('TX-04: resource in the code flow: aud is exactly the resource, and every refresh keeps it', async () => {
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid orders:read offline_access', params: { resource: API } });
  const c = await claims(f.tokens.access_token);
  assert.equal(c.aud, API, 'a single string: the resource alone');
  assert.equal(c.scope, 'openid orders:read offline_access');
  assert.ok(f.tokens.id_token, 'an ID token still, for the client');
  assert.equal((await introspect(api, f.tokens.access_token)).active, true, 'the resource\'s server sees it');
  assert.equal((await introspect(other, f.tokens.access_token)).active, false, 'another resource learns nothing');
  const ui = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + f.tokens.access_token } });
  assert.equal(ui.status, 401, 'not a token for us');
  assert.equal(storeSql(srv, `SELECT resource FROM token_families WHERE family_id = '${c.gid}'`), API);
  const r = await refresh(rp, f.tokens.refresh_token);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal((await claims(r.json.access_token)).aud, API, 'the refresh is for the same resource');
  // The same resource named again at /token is fine (the MCP SDK does so).
  const r2 = await refresh(rp, r.json.refresh_token, { resource: API });
  assert.equal(r2.status, 200);
  assert.equal((await claims(r2.json.access_token)).aud, API);
  const row = auditRows(srv).filter((e) => e.event === 'token.issue' && e.details.family === c.gid);
  assert.ok(row.length >= 3 && row.every((e) => e.details.resource === API), 'TX-07: the resource is in every row');
  // Without a resource nothing changes: aud is us.
  const plain = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid' });
  assert.equal((await claims(plain.tokens.access_token)).aud, srv.issuer);
});

test('TX-04: an unknown, malformed or repeated resource at /authorize is invalid_target, sent back with state', async () => {
  for (const params of [
    { resource: 'https://unknown.example.com' },
    { resource: 'https://API.example.com' },
    { resource: 'http://api.example.com' },
    { resource: 'not a uri' },
    { resource: '' },
  ]) {
    const a = await authorize(srv, rp, { email: 'alice@example.com', scope: 'orders:read', state: 's-1', params });
    assert.equal(a.error, 'invalid_target', JSON.stringify(params));
    assert.equal(a.state, 's-1');
    assert.equal(a.code, undefined);
  }
  // Repeated, even the same value twice.
  const q = `response_type=code&client_id=${rp.client_id}&redirect_uri=${encodeURIComponent(rp.redirectUri)}` +
    `&scope=orders:read&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256&state=s-2` +
    `&resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(API)}`;
  const res = await fetch(srv.url + '/authorize?' + q, { redirect: 'manual' });
  assert.equal(res.status, 303);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.searchParams.get('error'), 'invalid_target');
  assert.equal(back.searchParams.get('state'), 's-2');
});

test('TX-04: scope is held to the resource; none of its scopes asked: the client\'s that it knows', async () => {
  let a = await authorize(srv, rp, { email: 'alice@example.com', scope: 'orders:read stock:read', params: { resource: API } });
  assert.equal(a.error, 'invalid_scope');
  assert.match(a.error_description, /stock:read.*not a scope of the resource/);
  a = await authorize(srv, rp, { email: 'alice@example.com', scope: 'orders:write', params: { resource: API } });
  assert.equal(a.error, 'invalid_scope', 'AZ-10: never beyond the client\'s scopes');
  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid', params: { resource: API } });
  assert.equal((await claims(f.tokens.access_token)).scope, 'openid orders:read');
  // A client none of whose scopes the resource knows gets nothing.
  const narrow = addClient(srv, { name: 'Narrow', scope: 'openid stock:read', redirectUris: ['https://narrow.example/cb'] });
  a = await authorize(srv, narrow, { email: 'alice@example.com', scope: 'openid', params: { resource: API } });
  assert.equal(a.error, 'invalid_scope');
});

test('TX-04: at /token, a resource other than the grant\'s is invalid_target (and a refused refresh keeps the grant)', async () => {
  const a = await authorize(srv, rp, { email: 'alice@example.com', scope: 'orders:read offline_access', params: { resource: API } });
  let t = await redeem(rp, a, { resource: OTHER_API });
  assert.equal(t.status, 400);
  assert.equal(t.json.error, 'invalid_target');
  assert.equal(t.json.access_token, undefined);
  const b = await authorize(srv, rp, { email: 'alice@example.com', scope: 'orders:read offline_access', params: { resource: API } });
  t = await redeem(rp, b, { resource: API });
  assert.equal(t.status, 200);
  // A code issued without a resource is not turned into one for a resource.
  const c = await authorize(srv, rp, { email: 'alice@example.com', scope: 'openid' });
  const tc = await redeem(rp, c, { resource: API });
  assert.equal(tc.status, 400);
  assert.equal(tc.json.error, 'invalid_target');
  const r = await refresh(rp, t.json.refresh_token, { resource: OTHER_API });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_target');
  const ok = await refresh(rp, t.json.refresh_token);
  assert.equal(ok.status, 200, 'the refused request did not spend the refresh token');
});

test('TX-04: an agent acts only at a resource it lists, and must name one', async () => {
  let a = await authorize(srv, agent, { email: 'alice@example.com', scope: 'stock:read', params: { resource: OTHER_API } });
  assert.equal(a.error, 'invalid_target');
  assert.match(a.error_description, /may not act at this resource/);
  a = await authorize(srv, agent, { email: 'alice@example.com', scope: 'openid' });
  assert.equal(a.error, 'invalid_target');
  assert.match(a.error_description, /must name the resource/);
});

test('the consent page says plainly that an agent will act for you, where, with what, and for how long; you choose the lifetime', async () => {
  const jar = await browser('alice@example.com');
  const t0 = now();
  const a = await authorize(srv, agent, { jar, email: 'alice@example.com', scope: 'orders:read offline_access', params: { resource: API },
    consentFields: { lifetime: String(DAY) } });
  const page = a.consentPage;
  assert.ok(page, 'an agent always gets the consent page');
  assert.match(page, /Let an agent act for you\?/);
  assert.match(page, /<strong>Trip Planner<\/strong> is an <strong>agent<\/strong>: a program that will act on your behalf/);
  assert.match(page, /It will act at <strong>Orders API<\/strong> \(<code>https:\/\/api\.example\.com<\/code>\)/);
  assert.match(page, /<code>orders:read<\/code>/);
  assert.match(page, /Stay connected while you are away/);
  assert.match(page, /<label for="lifetime">For how long<\/label>/);
  // The choices: up to the policy's 30 days, which is the default.
  const options = [...page.matchAll(/<option value="(\d+)"( selected)?>([^<]+)</g)].map((m) => [Number(m[1]), !!m[2], m[3]]);
  assert.deepEqual(options, [[3600, false, '1 hour'], [DAY, false, '1 day'], [7 * DAY, false, '7 days'], [30 * DAY, true, '30 days']]);
  assert.match(page, /Agents acting for you/);
  assert.ok(!/unverified/i.test(page), 'registered by the operator');
  const t = await redeem(agent, a);
  assert.equal(t.status, 200, JSON.stringify(t.json));
  const c = await claims(t.json.access_token);
  assert.equal(c.aud, API);
  assert.equal(c.client_id, agent.client_id);
  assert.equal(c.sub, alice.id);
  const end = Number(storeSql(srv, `SELECT expires_at FROM token_families WHERE family_id = '${c.gid}'`));
  assert.ok(end >= t0 + DAY && end <= now() + DAY, `the delegation ends when alice said: ${end - t0}`);
  const row = auditRows(srv).filter((e) => e.event === 'delegation.grant').at(-1);
  assert.equal(row.actor, alice.id);
  assert.equal(row.target, agent.client_id);
  assert.equal(row.details.resource, API);
  assert.equal(row.details.scope, 'orders:read offline_access');
  assert.ok(Math.abs(row.details.expires_at - end) <= 1);
  // Nothing is remembered: the next authorization asks again, and a
  // silent one is consent_required.
  const again = await authorize(srv, agent, { jar, email: 'alice@example.com', scope: 'orders:read', params: { resource: API } });
  assert.ok(again.consentPage, 'asked again');
  const silent = await authorize(srv, agent, { jar, email: 'alice@example.com', scope: 'orders:read', params: { resource: API }, prompt: 'none' });
  assert.equal(silent.error, 'consent_required');
});

test('TX-08: a delegation never outlives what the user chose, and nothing longer than the policy is accepted', async () => {
  const jar = await browser('alice@example.com');
  for (const lifetime of [String(31 * DAY), '59', '-1', '3600x', '1e5']) {
    const a = await authorize(srv, agent, { jar, email: 'alice@example.com', scope: 'orders:read', params: { resource: API },
      consentFields: { lifetime } });
    assert.equal(a.status, 400, lifetime);
    assert.equal(a.code, undefined, lifetime);
  }
  // A one-minute delegation: its access token lives one minute, not the
  // five of access_token_ttl, and the grant ends with it.
  const a = await authorize(srv, agent, { jar, email: 'alice@example.com', scope: 'orders:read offline_access', params: { resource: API },
    consentFields: { lifetime: '60' } });
  const t = await redeem(agent, a);
  assert.equal(t.status, 200);
  assert.ok(t.json.expires_in <= 60, `expires_in ${t.json.expires_in}`);
  const c = await claims(t.json.access_token);
  const end = Number(storeSql(srv, `SELECT expires_at FROM token_families WHERE family_id = '${c.gid}'`));
  assert.ok(c.exp <= end, 'no token outlives its delegation');
  assert.ok(end - now() <= 60);
  const r = await refresh(agent, t.json.refresh_token);
  assert.equal(r.status, 200);
  assert.ok(r.json.expires_in <= 60 && (await claims(r.json.access_token)).exp <= end);
  // Past its end it is dead (moved there rather than waited for).
  storeSql(srv, `UPDATE token_families SET expires_at = ${now() - 1} WHERE family_id = '${c.gid}'`);
  assert.equal((await introspect(api, r.json.access_token)).active, false);
  assert.equal((await refresh(agent, r.json.refresh_token)).status, 400);
});

test('TX-08: "Agents acting for you" lists each delegation; Revoke ends every token of it at once, and only it', async () => {
  const jar = await browser('bob@example.com');
  const scope = 'orders:read offline_access';
  const a1 = await authorize(srv, agent, { jar, email: 'bob@example.com', scope, params: { resource: API }, consentFields: { lifetime: String(7 * DAY) } });
  const t1 = (await redeem(agent, a1)).json;
  const a2 = await authorize(srv, agent, { jar, email: 'bob@example.com', scope, params: { resource: API } });
  const t2 = (await redeem(agent, a2)).json;
  const f = await codeFlow(srv, rp, { jar, email: 'bob@example.com', scope: 'openid orders:read', params: { resource: API } });
  const plain = await codeFlow(srv, rp, { jar, email: 'bob@example.com', scope: 'openid' });
  const r1 = await refresh(agent, t1.refresh_token);
  assert.equal(r1.status, 200);
  const gid1 = (await claims(t1.access_token)).gid;
  const gid2 = (await claims(t2.access_token)).gid;
  let page = await jar.get('/account');
  assert.equal(page.status, 200);
  assert.match(page.text, /<h2>Agents acting for you<\/h2>/);
  const table = page.text.slice(page.text.indexOf('<table id="agents">'));
  const rows = table.slice(0, table.indexOf('</table>')).split('<tr>').slice(2);
  assert.equal(rows.length, 3, 'two delegations to the agent, one grant for a resource; not the plain sign-in');
  const row1 = rows.find((r) => r.includes(gid1));
  assert.match(row1, /Trip Planner \(agent\)/);
  assert.match(row1, /<code>https:\/\/api\.example\.com<\/code>/);
  assert.match(row1, /orders:read offline_access/);
  const until = new Date((Number(storeSql(srv, `SELECT expires_at FROM token_families WHERE family_id = '${gid1}'`))) * 1000)
    .toISOString().slice(0, 16).replace('T', ' ');
  assert.ok(row1.includes(until + ' UTC'), `until ${until}: ${row1}`);
  assert.ok(!/<td>never<\/td>/.test(row1), 'used: it was refreshed');
  assert.match(rows.find((r) => r.includes(gid2)), /<td>never<\/td>/, 'the other was not used since');
  assert.ok(!page.text.includes((await claims(plain.tokens.access_token)).gid), 'a plain sign-in is not a delegation');
  // CF-01: no form token, nothing revoked.
  let r = await jar.post('/account/agents', { delegation: gid1 });
  assert.equal(r.status, 403);
  assert.equal((await introspect(api, r1.json.access_token)).active, true);
  // Another user's delegation cannot be revoked by bob.
  const alices = await authorize(srv, agent, { email: 'alice@example.com', scope: 'orders:read', params: { resource: API } });
  const ta = (await redeem(agent, alices)).json;
  const gidA = (await claims(ta.access_token)).gid;
  r = await jar.post('/account/agents', { csrf: csrfOf(page.text, '/account/agents'), delegation: gidA });
  assert.equal(r.status, 400);
  assert.equal((await introspect(api, ta.access_token)).active, true, 'alice\'s delegation lives');
  // Revoke: the access tokens die at once, the refresh token too.
  r = await jar.post('/account/agents', { csrf: csrfOf(page.text, '/account/agents'), delegation: gid1 });
  assert.equal(r.status, 303);
  assert.equal(r.location, '/account?done=agents');
  for (const at of [t1.access_token, r1.json.access_token]) assert.equal((await introspect(api, at)).active, false);
  assert.equal((await refresh(agent, r1.json.refresh_token)).status, 400);
  // Only that one.
  assert.equal((await introspect(api, t2.access_token)).active, true);
  assert.equal((await introspect(api, f.tokens.access_token)).active, true);
  page = await jar.get('/account?done=agents');
  assert.match(page.text, /The delegation was revoked/);
  assert.ok(!page.text.includes(gid1));
  r = await jar.post('/account/agents', { csrf: csrfOf(page.text, '/account/agents'), delegation: gid1 });
  assert.equal(r.status, 400, 'revoked already');
  const audit = auditRows(srv).filter((e) => e.event === 'delegation.revoke');
  assert.equal(audit.length, 1);
  assert.equal(audit[0].actor, bob.id);
  assert.equal(audit[0].target, agent.client_id);
  assert.equal(audit[0].details.family, gid1);
  // `audit query --principal AGENT` answers what the agent got, for whom.
  const q = cliAt(srv, ['audit', 'query', '--principal', agent.client_id, '--json']);
  assert.equal(q.code, 0, q.stderr);
  const events = q.stdout.trim().split('\n').map((l) => JSON.parse(l).event);
  for (const e of ['delegation.grant', 'token.issue', 'delegation.revoke']) assert.ok(events.includes(e), e);
});

test('CR-01, CR-05: a client that registered itself is marked unverified on the consent page, with its host', async () => {
  const self = addClient(srv, { name: 'Totally Official Bank', scope: 'openid orders:read', redirectUris: ['https://evil.example.net/cb'] });
  storeSql(srv, `UPDATE clients SET registration = 'dynamic' WHERE client_id = '${self.client_id}'; ` +
    `UPDATE cache_versions SET value = value + 1 WHERE name = 'clients'`);
  const a = await authorize(srv, self, { email: 'alice@example.com', scope: 'openid orders:read', params: { resource: API }, consent: 'deny' });
  const page = a.consentPage;
  assert.ok(page);
  assert.match(page, /Unverified application\./);
  assert.match(page, /registered itself from <strong>evil\.example\.net<\/strong>/);
  assert.match(page, /asks to act at <strong>Orders API<\/strong>/);
  assert.equal(a.error, 'access_denied');
});
