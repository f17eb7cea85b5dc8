// The admin API's object routes (issue 17 item 1; decision 0071):
// clients, service accounts, API keys, resources, signing keys, agents and
// workload federation, each end to end against the real endpoints they
// govern — a client made over the API gets a token at /token, a revoked
// key's exchange fails, a rotated signing key is in /jwks.json at once, a
// disabled service account's token stops working — plus an audit row per
// change naming the acting principal (AU-01), secrets shown once and in no
// list, get, audit row or log line (AU-03), the object-scope rule
// (admin:clients:write reaches no service account), the admin-scope
// ceiling of decision 0071, and clear 4xx answers for bad input. One
// server for the file; both stores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Ajv2020 from 'ajv/dist/2020.js';
import { startServer, stopClean, freePort } from './lib/server.mjs';
import { auditRows, cliAt } from './lib/web.mjs';

const API = 'https://orders.example.com';
const ALL = ['clients', 'service_accounts', 'api_keys', 'resources', 'keys', 'agents', 'federation']
  .flatMap((k) => [`admin:${k}:read`, `admin:${k}:write`]).join(' ');
const GRANT_XCHG = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TT_KEY = 'urn:portcullis:params:oauth:token-type:api_key';
let srv, admin, adminUrl, ops, opsToken, clientsOnly, clientsToken, doc, ajv;
const secrets = []; // every secret the API answered: grepped in the logs

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}
const cliJson = (args) => JSON.parse(cli([...args, '--json']));
const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

async function form(path, body, headers = {}) {
  const r = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body: json, text };
}

// An admin token for a service account made with the CLI, through a
// client bound to it (client_credentials with resource = the admin API).
async function adminToken(name, scope) {
  const sa = cliJson(['service-account', 'add', '--name', name, '--scope', scope]);
  const c = cliJson(['client', 'add', '--name', name, '--service-account', sa.id,
    '--auth-method', 'client_secret_basic']);
  const t = await form('/token', { grant_type: 'client_credentials', resource: admin, scope },
    { authorization: basic(c.client_id, c.client_secret) });
  assert.equal(t.status, 200, t.text);
  return { sa, client: c, token: t.body.access_token };
}

// Every answer against the served OpenAPI document: its operation (the
// path's template), its status, and that status's schema (errors: the
// Error schema), so the fragments 50-56 stay true of 2xx answers too.
const validators = new Map();
function conforms(method, path, r) {
  const bare = path.split('?')[0];
  const tpl = Object.keys(doc.paths).find((t) => t === bare) ?? Object.keys(doc.paths).find((t) =>
    new RegExp('^' + t.replace(/\{\w+\}/g, '[A-Za-z0-9._~@:+-]+') + '$').test(bare));
  const op = tpl && doc.paths[tpl][method.toLowerCase()];
  if (!op) return; /* an undocumented path: the framework's 404/405 */
  const spec = op.responses[String(r.status)] ?? op.responses.default;
  assert.ok(spec, `${method} ${tpl}: status ${r.status} is not documented`);
  const resolved = spec.$ref ? doc.components.responses[spec.$ref.split('/').pop()] : spec;
  const schema = resolved.content?.['application/json']?.schema;
  if (!schema) {
    assert.equal(r.text, '', `${method} ${tpl}: ${r.status} has a body`);
    return;
  }
  const key = JSON.stringify(schema);
  if (!validators.has(key)) validators.set(key, ajv.compile(schema.$ref ? { $ref: 'admin' + schema.$ref } : schema));
  const v = validators.get(key);
  assert.ok(v(r.body), `${method} ${tpl} ${r.status}: ${JSON.stringify(v.errors)} in ${r.text.slice(0, 300)}`);
}

async function call(method, path, body, token = opsToken) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(adminUrl + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  const out = { status: r.status, body: json, text, headers: r.headers };
  conforms(method, path, out);
  return out;
}

// AU-01: a change expected in the audit log, with its actor; checked all
// at once by the AU-01 test at the end (one `audit tail`, not one each).
const expected = [];
function audited(event, target, actor = ops.sa.id) {
  expected.push({ event, target, actor });
}

before(async () => {
  const port = await freePort();
  srv = await startServer({ config: { admin_listen: `127.0.0.1:${port}`, signing_key_activation_delay: '1h' } });
  adminUrl = `http://127.0.0.1:${port}/admin/v1`;
  admin = `${srv.issuer}/admin/v1`;
  doc = await (await fetch(`${adminUrl}/openapi.json`)).json();
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'admin', components: doc.components });
  cliJson(['resource', 'add', '--id', API, '--scope', 'orders:read orders:write']);
  cli(['admin', 'resource']);
  ops = await adminToken('ops', ALL);
  opsToken = ops.token;
  clientsOnly = await adminToken('clients-only', 'admin:clients:read admin:clients:write');
  clientsToken = clientsOnly.token;
});

after(async () => { if (srv) await stopClean(srv); });

test('clients: create over the API, use at /token, rotate, update, delete (AU-01, AU-03, TK-08)', async () => {
  const r = await call('POST', '/clients', {
    name: 'billing-batch', grant_types: ['client_credentials'], scope: 'orders:read',
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const { client_id: id, client_secret: secret } = r.body;
  assert.match(secret, /^pcs_/);
  secrets.push(secret);
  audited('client.created', id);

  let t = await form('/token', { grant_type: 'client_credentials', scope: 'orders:read' },
    { authorization: basic(id, secret) });
  assert.equal(t.status, 200, t.text);

  // The secret is shown once: never in get or list.
  const got = await call('GET', `/clients/${id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.active_secrets, 1);
  assert.ok(!got.text.includes(secret) && !('client_secret' in got.body));
  const list = await call('GET', '/clients?limit=500');
  assert.equal(list.status, 200);
  assert.ok(list.body.items.some((c) => c.client_id === id));
  assert.ok(!list.text.includes(secret));

  const rot = await call('POST', `/clients/${id}/secret`);
  assert.equal(rot.status, 200, rot.text);
  assert.notEqual(rot.body.client_secret, secret);
  secrets.push(rot.body.client_secret);
  audited('client.secret_rotated', id);
  t = await form('/token', { grant_type: 'client_credentials' },
    { authorization: basic(id, rot.body.client_secret) });
  assert.equal(t.status, 200, t.text);

  const up = await call('PATCH', `/clients/${id}`, { name: 'billing-nightly', scope: 'orders:read orders:write' });
  assert.equal(up.status, 200, up.text);
  assert.equal(up.body.name, 'billing-nightly');
  audited('client.updated', id);

  const del = await call('DELETE', `/clients/${id}`);
  assert.equal(del.status, 204, del.text);
  audited('client.deleted', id);
  t = await form('/token', { grant_type: 'client_credentials' },
    { authorization: basic(id, rot.body.client_secret) });
  assert.equal(t.status, 401, t.text);
  assert.equal((await call('GET', `/clients/${id}`)).status, 404);
});

test('clients: the CLI\'s rules, as clear 400s, 404s, never a 500 (AZ-04)', async () => {
  const cases = [
    [{ name: 'x', redirect_uris: ['http://evil.example/cb'] }, /https/],
    [{ name: 'x', redirect_uris: ['https://a.example/cb#frag'] }, /fragment/],
    [{ name: 'x', redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'magic' }, /auth method/],
    [{ name: 'x', public: true, grant_types: ['client_credentials'] }, /public client/],
    [{ name: 'x', grant_types: ['password'] }, /grant types/],
    [{ name: 'x', redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'private_key_jwt' }, /JWKS/],
    [{ name: 'x', redirect_uris: ['https://a.example/cb'], jwks: 'not an object' }, /jwks must be a JSON object/],
    [{ name: 'x', colour: 'red' }, /unknown/],
    [{ name: 'x', service_account_id: 'svc_nope' }, /service account/],
    [{ name: 'x', id_token_signed_response_alg: 'HS256', redirect_uris: ['https://a.example/cb'] }, /RS256/],
    [{ name: '', redirect_uris: ['https://a.example/cb'] }, /name/],
  ];
  for (const [body, why] of cases) {
    const r = await call('POST', '/clients', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, why, JSON.stringify(body));
  }
  for (const id of ['pcc_AAAAAAAAAAAAAAAAAAAAAA', 'nope', 'pcc_']) {
    assert.equal((await call('GET', `/clients/${id}`)).status, 404);
    assert.equal((await call('PATCH', `/clients/${id}`, { name: 'y' })).status, 404);
    assert.equal((await call('POST', `/clients/${id}/secret`)).status, 404);
    assert.equal((await call('DELETE', `/clients/${id}`)).status, 404);
  }
  // A public client has no secret to rotate: 409.
  const pub = await call('POST', '/clients', { name: 'spa', public: true, redirect_uris: ['https://spa.example/cb'] });
  assert.equal(pub.status, 201, pub.text);
  assert.ok(!('client_secret' in pub.body));
  assert.equal((await call('POST', `/clients/${pub.body.client_id}/secret`)).status, 409);
});

test('service accounts: disable kills its token at once; enable, update, 409 on a taken name', async () => {
  const r = await call('POST', '/service-accounts', {
    name: 'reader-bot', description: 'reads clients', scope: 'admin:clients:read',
  });
  assert.equal(r.status, 201, r.text);
  const sa = r.body;
  audited('service_account.create', sa.id);
  assert.equal((await call('POST', '/service-accounts', { name: 'reader-bot' })).status, 409);

  // Its own credential, made over the API: a client bound to it.
  const c = await call('POST', '/clients', { name: 'reader-bot', service_account_id: sa.id });
  assert.equal(c.status, 201, c.text);
  secrets.push(c.body.client_secret);
  assert.deepEqual(c.body.grant_types, ['client_credentials']);
  const t = await form('/token', { grant_type: 'client_credentials', resource: admin, scope: 'admin:clients:read' },
    { authorization: basic(c.body.client_id, c.body.client_secret) });
  assert.equal(t.status, 200, t.text);
  const botToken = t.body.access_token;
  assert.equal((await call('GET', '/clients', undefined, botToken)).status, 200);

  const d = await call('POST', `/service-accounts/${sa.id}/disable`);
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.disabled, true);
  audited('service_account.disable', sa.id);
  // SS-08 for machines: the token dies at its next check.
  assert.equal((await call('GET', '/clients', undefined, botToken)).status, 401);

  const e = await call('POST', `/service-accounts/${sa.id}/enable`);
  assert.equal(e.status, 200, e.text);
  audited('service_account.enable', sa.id);
  // What the disable revoked stays revoked.
  assert.equal((await call('GET', '/clients', undefined, botToken)).status, 401);

  const u = await call('PATCH', `/service-accounts/${sa.id}`, { description: 'still reads', expires_in: 86400 });
  assert.equal(u.status, 200, u.text);
  assert.ok(u.body.expires_at > 0);
  audited('service_account.update', sa.id);
  const g = await call('GET', `/service-accounts/${sa.id}`);
  assert.deepEqual(g.body.clients, [c.body.client_id]);
  assert.equal((await call('PATCH', `/service-accounts/${sa.id}`, { name: 'bad name!' })).status, 400);
  assert.equal((await call('POST', '/service-accounts', { name: 'x', resources: ['ftp://a.example'] })).status, 400);

  const del = await call('DELETE', `/service-accounts/${sa.id}`);
  assert.equal(del.status, 204, del.text);
  audited('service_account.delete', sa.id);
  audited('client.deleted', c.body.client_id);
  assert.equal((await call('GET', `/service-accounts/${sa.id}`)).status, 404);
});

test('API keys: created once over the API, exchanged, rotated, revoked: the exchange fails (AK-01)', async () => {
  const sa = cliJson(['service-account', 'add', '--name', 'orders-bot', '--scope', 'orders:read orders:write']);
  const r = await call('POST', '/api-keys', { owner_id: sa.id, scope: 'orders:read', resource: API, name: 'nightly' });
  assert.equal(r.status, 201, r.text);
  const { id, key } = r.body;
  assert.match(key, /^pck_sa_/);
  secrets.push(key);
  audited('api_key.create', id);
  const xchg = (k) => form('/token', { grant_type: GRANT_XCHG, subject_token: k, subject_token_type: TT_KEY, resource: API });
  assert.equal((await xchg(key)).status, 200);

  const got = await call('GET', `/api-keys/${id}`);
  assert.equal(got.status, 200);
  assert.ok(!got.text.includes(key.slice(-49)) && !('key' in got.body));
  const mine = await call('GET', `/api-keys?owner_id=${sa.id}`);
  assert.deepEqual(mine.body.items.map((k) => k.id), [id]);

  const rot = await call('POST', `/api-keys/${id}/rotate`, { overlap_seconds: 0 });
  assert.equal(rot.status, 201, rot.text);
  secrets.push(rot.body.key);
  audited('api_key.rotate', id);
  assert.equal((await xchg(rot.body.key)).status, 200);

  const rev = await call('POST', `/api-keys/${rot.body.id}/revoke`);
  assert.equal(rev.status, 200, rev.text);
  assert.ok(rev.body.revoked_at > 0);
  audited('api_key.revoke', rot.body.id);
  const after = await xchg(rot.body.key);
  assert.equal(after.status, 400, after.text);
  assert.equal(after.body.error, 'invalid_grant');

  // The domain's rules, as 400s; an unknown key 404.
  assert.equal((await call('POST', '/api-keys', { owner_id: sa.id, scope: 'billing:write' })).status, 400);
  assert.equal((await call('POST', '/api-keys', { owner_id: 'svc_nope', scope: 'orders:read' })).status, 400);
  assert.equal((await call('GET', '/api-keys/key_0000000000000000')).status, 404);
  assert.equal((await call('POST', '/api-keys/key_0000000000000000/revoke')).status, 404);
});

test('signing keys: a rotation is in /jwks.json at once and listed with its state and age', async () => {
  const r = await call('POST', '/signing-keys/rotate', { alg: 'es256' });
  assert.equal(r.status, 201, r.text);
  const [{ kid }] = r.body.keys;
  audited('key.rotated', kid);
  const jwks = await (await fetch(srv.url + '/jwks.json')).json();
  assert.ok(jwks.keys.some((k) => k.kid === kid), 'the new key is published at once');
  const list = await call('GET', '/signing-keys');
  const k = list.body.items.find((x) => x.kid === kid);
  assert.equal(k.state, 'pending');
  assert.ok(k.age_seconds >= 0 && !('d' in k));
  assert.ok(list.body.items.some((x) => x.state === 'active' && x.age_seconds >= 0));
  assert.equal((await call('POST', '/signing-keys/rotate', { alg: 'HS256' })).status, 400);
  // No alg: every algorithm in use gets its successor (the CLI's rule).
  const all = await call('POST', '/signing-keys/rotate', {});
  assert.equal(all.status, 201, all.text);
  assert.deepEqual(all.body.keys.map((x) => x.alg).sort(), ['ES256', 'RS256']);
});

test('resources: created by ref with a one-time client secret, updated, deleted', async () => {
  const r = await call('POST', '/resources', { id: 'https://billing.example.com/v2', scope: 'billing:read' });
  assert.equal(r.status, 201, r.text);
  secrets.push(r.body.client_secret);
  assert.equal(r.body.ref.length, 43);
  audited('resource.create', 'https://billing.example.com/v2');
  audited('client.created', r.body.client_id);
  // Its client introspects.
  const i = await form('/introspect', { token: 'x' }, { authorization: basic(r.body.client_id, r.body.client_secret) });
  assert.equal(i.status, 200, i.text);
  const g = await call('GET', `/resources/${r.body.ref}`);
  assert.equal(g.body.id, 'https://billing.example.com/v2');
  assert.ok(!('client_secret' in g.body));
  assert.equal((await call('POST', '/resources', { id: 'https://billing.example.com/v2', scope: 'x' })).status, 409);
  assert.equal((await call('POST', '/resources', { id: 'http://billing.example.com', scope: 'x' })).status, 400);
  assert.equal((await call('POST', '/resources', { id: 'https://b.example', scope: 'openid' })).status, 400);
  const u = await call('PATCH', `/resources/${r.body.ref}`, { scope: 'billing:read billing:write', dpop_required: true });
  assert.equal(u.status, 200, u.text);
  audited('resource.update', 'https://billing.example.com/v2');
  assert.equal((await call('DELETE', `/resources/${r.body.ref}`)).status, 204);
  audited('resource.delete', 'https://billing.example.com/v2');
  assert.equal((await call('GET', `/resources/${r.body.ref}`)).status, 404);
  assert.equal((await call('GET', '/resources/not-a-ref')).status, 404);
  // The admin API's own resource is the CLI's: no lock-out over the API.
  const own = (await call('GET', '/resources?limit=500')).body.items.find((x) => x.id === admin);
  assert.ok(own);
  assert.equal((await call('DELETE', `/resources/${own.ref}`)).status, 409);
  assert.equal((await call('PATCH', `/resources/${own.ref}`, { scope: 'admin:users:read' })).status, 409);
});

test('agents: created, updated, disabled, deleted; not reachable under /clients', async () => {
  const owner = cliJson(['group', 'add', '--name', 'agent-owners']);
  const r = await call('POST', '/agents', {
    name: 'helper', owner_id: owner.id, resources: [API], public: true, redirect_uris: ['http://127.0.0.1/cb'],
  });
  assert.equal(r.status, 201, r.text);
  const id = r.body.client_id;
  assert.equal(r.body.dpop_required, true);
  assert.ok(!('client_secret' in r.body));
  audited('agent.create', id);
  assert.equal((await call('GET', `/clients/${id}`)).status, 404);
  assert.equal((await call('DELETE', `/clients/${id}`)).status, 404);
  assert.equal((await call('POST', '/agents', { name: 'x', owner_id: owner.id, resources: [API] })).status, 400);
  const u = await call('PATCH', `/agents/${id}`, { max_delegation_depth: 2 });
  assert.equal(u.status, 200, u.text);
  audited('agent.update', id);
  assert.equal((await call('POST', `/agents/${id}/disable`)).status, 200);
  audited('agent.disable', id);
  assert.equal((await call('POST', `/agents/${id}/disable`)).status, 409);
  assert.equal((await call('DELETE', `/agents/${id}`)).status, 200);
  audited('agent.delete', id);
});

test('federation: trusts and their rules', async () => {
  const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' }] };
  const sa = cliJson(['service-account', 'add', '--name', 'ci-deployer', '--scope', 'orders:write']);
  const r = await call('POST', '/federation/trusts', { issuer: 'https://ci.example.com', jwks });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  audited('workload.trust_add', id);
  assert.equal((await call('POST', '/federation/trusts', { issuer: 'https://ci.example.com', jwks })).status, 409);
  assert.equal((await call('POST', '/federation/trusts', { issuer: 'https://x.example', jwks, jwks_uri: 'https://x.example/k' })).status, 400);
  assert.equal((await call('POST', '/federation/trusts', { issuer: srv.issuer, jwks })).status, 400);
  const rule = await call('POST', `/federation/trusts/${id}/rules`, {
    sub: 'repo:acme/*', claims: { ref: 'refs/heads/main' }, service_account_id: sa.id,
  });
  assert.equal(rule.status, 201, rule.text);
  audited('workload.rule_add', id);
  assert.equal((await call('POST', `/federation/trusts/${id}/rules`, { sub: '*', service_account_id: sa.id })).status, 400);
  const g = await call('GET', `/federation/trusts/${id}`);
  assert.equal(g.body.rules.length, 1);
  assert.equal((await call('DELETE', `/federation/trusts/${id}/rules/${rule.body.rule}`)).status, 204);
  audited('workload.rule_remove', id);
  assert.equal((await call('DELETE', `/federation/trusts/${id}/rules/99`)).status, 404);
  assert.equal((await call('DELETE', `/federation/trusts/${id}`)).status, 204);
  audited('workload.trust_delete', id);
});

test('object scopes: admin:clients:write reaches no other kind, and no admin scope beyond its own (decision 0071)', async () => {
  const sa = cliJson(['service-account', 'add', '--name', 'bystander', '--scope', 'admin:users:write']);
  for (const [m, p, b] of [
    ['GET', '/service-accounts'], ['POST', `/service-accounts/${sa.id}/disable`],
    ['DELETE', `/service-accounts/${sa.id}`], ['POST', '/api-keys', { owner_id: sa.id, scope: 'admin:users:write' }],
    ['POST', '/signing-keys/rotate', {}], ['GET', '/agents'], ['GET', '/resources'], ['GET', '/federation/trusts'],
  ]) {
    const r = await call(m, p, b, clientsToken);
    assert.equal(r.status, 403, `${m} ${p}: ${r.text}`);
    assert.equal(r.body.error, 'insufficient_scope');
  }
  // Binding a client to an account that holds admin:users:write would
  // hand the caller that scope: refused.
  const r = await call('POST', '/clients', { name: 'escalate', service_account_id: sa.id }, clientsToken);
  assert.equal(r.status, 403, r.text);
  assert.equal((await call('POST', '/clients', { name: 'e2', grant_types: ['client_credentials'], scope: 'admin:users:read' }, clientsToken)).status, 403);
  // Within its own scopes it works, and the row names it.
  const ok = await call('POST', '/clients', { name: 'fine', grant_types: ['client_credentials'], scope: 'orders:read' }, clientsToken);
  assert.equal(ok.status, 201, ok.text);
  secrets.push(ok.body.client_secret);
  audited('client.created', ok.body.client_id, clientsOnly.sa.id);
  // The same ceiling for api keys and federation rules, with every scope but admin:users.
  assert.equal((await call('POST', '/api-keys', { owner_id: sa.id, scope: 'admin:users:write' })).status, 403);
  assert.equal((await call('PATCH', `/service-accounts/${ops.sa.id}`, { scope: `${ALL} admin:users:write` })).status, 403);
  // A federation rule without scopes grants all the account holds, its
  // groups' included: ops (no admin:users scope) may not map a workload to
  // an account whose group grants admin:users:read.
  const grp = cliJson(['group', 'add', '--name', 'user-admins', '--scope', 'admin:users:read']);
  const member = cliJson(['service-account', 'add', '--name', 'grouped', '--scope', 'orders:read']);
  cli(['group', 'member', 'add', '--group', grp.id, '--member', member.id]);
  const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] };
  const trust = await call('POST', '/federation/trusts', { issuer: 'https://ci2.example.com', jwks });
  assert.equal(trust.status, 201, trust.text);
  const esc = await call('POST', `/federation/trusts/${trust.body.id}/rules`, { sub: 'repo:x/*', service_account_id: member.id });
  assert.equal(esc.status, 403, esc.text);
  const narrowed = await call('POST', `/federation/trusts/${trust.body.id}/rules`,
    { sub: 'repo:x/*', service_account_id: member.id, scope: 'orders:read' });
  assert.equal(narrowed.status, 201, narrowed.text);
});

test('AU-01: every change above has its audit row, naming the acting principal and the API', () => {
  const rows = auditRows(srv, 1000);
  for (const e of expected) {
    const row = rows.findLast((r) => r.event === e.event && r.target === e.target);
    assert.ok(row, `no ${e.event} row for ${e.target}`);
    assert.equal(row.actor, e.actor, JSON.stringify(row));
    assert.equal(row.details?.via, 'admin_api', JSON.stringify(row));
  }
});

test('AU-03: no secret the API answered is in a log line or an audit row', () => {
  assert.equal(secrets.length, 7);
  const logs = srv.rawLogs();
  const audit = JSON.stringify(auditRows(srv, 1000));
  for (const s of secrets) {
    assert.ok(!logs.includes(s), 'AU-03: a secret in the server log');
    assert.ok(!audit.includes(s), 'AU-03: a secret in the audit log');
  }
});
