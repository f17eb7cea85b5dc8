// The admin API (issue 17 item 1; docs/admin-api.md, decision 0070).
//
// Generic, from the OpenAPI document the server serves: every route is
// attacked without a token, with a session cookie and no token, with a
// token of another kind's scope, with a read scope on a write route, with
// an expired token, with a token for another resource and with a malformed
// one; every body route gets bad JSON, the wrong content type, an oversize
// body, an unknown member, a wrong type and deep nesting. Every answer is
// validated against the document's schema (ajv, draft 2020-12) and must
// carry Cache-Control: no-store. The conformance test compares the
// document with the dispatcher's own tables (`portcullis admin routes`)
// and probes undocumented neighbours. Then the routes of h-admin's part
// (users, factors, groups, sessions, audit) are driven end to end, each
// change checked for its audit row naming the acting principal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as jose from 'jose';
import Ajv2020 from 'ajv/dist/2020.js';
import { parseRaw, rawRequest, startServer, stopClean, TOOLS, toolEnv } from './lib/server.mjs';
import { addUser, auditRows, cliAt, Client, GOOD_PW } from './lib/web.mjs';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TT_KEY = 'urn:portcullis:params:oauth:token-type:api_key';
const OTHER_API = 'https://orders.example.com';
const IP = '192.0.2.10';
let srv, doc, ajv, init, aud, other, ops;

function cli(args, opts) {
  const r = cliAt(srv, args, opts);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}
const cliJson = (args) => JSON.parse(cli([...args, '--json']));

async function post(path, form, ip = IP) {
  const r = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
    body: new URLSearchParams(form).toString(),
  });
  return { status: r.status, body: await r.json() };
}

// An access token for the admin API from an API key (RFC 8693 exchange
// through the ordinary grant code), narrowed to scope.
const tokens = new Map();
async function token(scope, key = init.key, resource = aud) {
  const k = `${key}|${scope}|${resource}`;
  if (tokens.has(k)) return tokens.get(k);
  const r = await post('/token', { grant_type: GRANT, subject_token: key, subject_token_type: TT_KEY,
    resource, ...(scope ? { scope } : {}) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  tokens.set(k, r.body.access_token);
  return r.body.access_token;
}

// The same token with exp and iat moved into the past, signed with the
// server's own key ring (tests/tools/pc-sign): expired, everything else
// valid. (The shortest access_token_ttl is 60 s: too long to wait here.)
function expired(at) {
  const claims = jose.decodeJwt(at);
  const now = Math.floor(Date.now() / 1000);
  claims.iat = now - 600;
  claims.exp = now - 300;
  claims.jti = claims.jti + 'x';
  const r = spawnSync(join(TOOLS, 'pc-sign'), [srv.dataDir, 'ES256', 'at+jwt'],
    { input: JSON.stringify(claims), encoding: 'utf8', env: toolEnv(srv) });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

async function call(method, path, { tok, body, raw, headers = {}, ip = IP } = {}) {
  const h = { 'x-forwarded-for': ip, ...headers };
  if (tok) h.authorization = 'Bearer ' + tok;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const r = await fetch(srv.url + '/admin/v1' + path, { method, headers: h, body: payload });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* checked below */ }
  return { status: r.status, headers: r.headers, text, body: json };
}

// HT-03 on every answer, and the body against the document's schema for
// this operation and status (errors: the Error schema).
function conforms(op, r, what) {
  assert.equal(r.headers.get('cache-control'), 'no-store', `HT-03 ${what}`);
  const spec = op.responses[String(r.status)] ?? op.responses.default;
  assert.ok(spec, `${what}: status ${r.status} is not documented`);
  const resolved = spec.$ref ? doc.components.responses[spec.$ref.split('/').pop()] : spec;
  const schema = resolved.content?.['application/json']?.schema;
  if (!schema) {
    assert.equal(r.text, '', `${what}: ${r.status} has no body`);
    return;
  }
  const validate = validator(schema);
  assert.ok(validate(r.body), `${what}: ${JSON.stringify(validate.errors)} in ${r.text.slice(0, 300)}`);
}

// One compiled validator per schema: refs resolve inside the document's
// components (added to ajv as the schema "admin").
const validators = new Map();
function validator(schema) {
  const key = JSON.stringify(schema);
  if (!validators.has(key))
    validators.set(key, ajv.compile(schema.$ref ? { $ref: 'admin' + schema.$ref } : schema));
  return validators.get(key);
}

// Every documented operation with its method, path and scope.
function operations() {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths))
    for (const [m, op] of Object.entries(item))
      out.push({ method: m.toUpperCase(), path, op, scope: op['x-scope'] });
  return out;
}

// Whether a concrete path is one of the document's templates.
const documented = (p) => Object.keys(doc.paths).some((t) =>
  new RegExp('^' + t.replace(/\{\w+\}/g, '[A-Za-z0-9._~@:+-]+') + '$').test(p));

const placeholder = { id: 'usr_AAAAAAAAAAAAAAAAAAAAAA', kind: 'totp', member: 'usr_AAAAAAAAAAAAAAAAAAAAAA',
  session: 'a'.repeat(64) };
const fill = (path) => path.replace(/\{(\w+)\}/g, (_, n) => placeholder[n] ?? 'x1');

before(async () => {
  srv = await startServer({ config: { trusted_proxies: '127.0.0.1' } });
  init = cliJson(['admin', 'init']);
  aud = init.resource;
  assert.equal(aud, srv.issuer + '/admin/v1');
  const r = await fetch(srv.url + '/admin/v1/openapi.json');
  assert.equal(r.status, 200);
  doc = await r.json();
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'admin', components: doc.components });
  ops = operations();
  // A token for another resource, from another service account's key.
  cli(['resource', 'add', '--id', OTHER_API, '--scope', 'admin:users:read orders:read']);
  const sa = cliJson(['service-account', 'add', '--name', 'orders-bot', '--scope', 'admin:users:read orders:read']);
  other = cliJson(['api-key', 'add', '--owner', sa.id, '--scope', 'admin:users:read orders:read', '--resource', OTHER_API]);
});

after(async () => { if (srv) await stopClean(srv); });

test('HT-07: OpenAPI conformance: the document and the dispatcher\'s tables name the same routes', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const listed = cli(['admin', 'routes']).trim().split('\n').map((l) => l.split(' '));
  const fromServer = new Set(listed.map(([m, p, s]) => `${m} ${p.slice('/admin/v1'.length)} ${s}`));
  const fromDoc = new Set(ops.map((o) => `${o.method} ${o.path} ${o.scope}`));
  assert.deepEqual([...fromDoc].sort(), [...fromServer].sort());
  // Every scope is one of admin:<kind>:read|write.
  const scopes = new Set(cli(['admin', 'scopes']).trim().split('\n'));
  assert.equal(scopes.size, 22);
  for (const o of ops) if (o.scope !== '-') assert.ok(scopes.has(o.scope), o.scope);

  // Undocumented neighbours: another method (405 with Allow naming the
  // documented ones), a trailing slash, an extra segment, an encoded
  // character, a dot segment: never an answer the document lacks.
  const tok = await token(null);
  const byPath = new Map();
  for (const o of ops) byPath.set(o.path, [...(byPath.get(o.path) ?? []), o.method]);
  for (const [path, methods] of byPath) {
    const p = fill(path);
    const allow = new Set(methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])));
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      if (allow.has(m)) continue;
      const r = await call(m, p, { tok });
      assert.equal(r.status, 405, `${m} ${p}`);
      assert.deepEqual(new Set(r.headers.get('allow').split(', ')), allow, `Allow of ${p}`);
      conforms(ops[0].op, r, `${m} ${p}`);
    }
    const encoded = p.replace(/[a-z]/, (ch) => '%' + ch.charCodeAt(0).toString(16));
    for (const q of [p + '/', p + '/extra', encoded, '/' + p]) {
      if (documented(q)) continue; /* another route's path: tested there */
      const r = await call('GET', q, { tok });
      assert.equal(r.status, 404, `GET ${q}: ${r.text.slice(0, 100)}`);
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
  }
  assert.equal((await call('GET', '', { tok })).status, 404);
  // Dot segments and case, sent as is (fetch would resolve them).
  for (const target of ['/admin/v1/./users', '/admin/v1/users/..', '/admin/v1/x/../users', '/admin/v1/USERS']) {
    const raw = await rawRequest(srv.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
      `Authorization: Bearer ${tok}\r\nX-Forwarded-For: ${IP}\r\nConnection: close\r\n\r\n`);
    assert.equal(parseRaw(raw.data).status, 404, target);
  }
});

test('HT-03 / AU-01 / JW-04 / TX-04 / CF-01: every route refuses a missing, cookie-only, wrong-scope, read-for-write, expired, foreign or malformed credential', async () => {
  const user = addUser(srv, 'cookie-holder@example.com');
  const browser = new Client(srv);
  assert.equal((await browser.login(user.email)).status, 303);
  assert.ok(browser.sid, 'a live session cookie');
  const foreign = await token('admin:users:read', other.key, OTHER_API);
  // Every admin scope, expired: the only reason left to refuse it.
  const expiredAll = expired(await token(null));
  for (const { method, path, op, scope } of ops) {
    if (scope === '-') continue;
    const p = fill(path);
    const body = op.requestBody ? {} : undefined;
    const what = `${method} ${path}`;
    const kind = scope.split(':')[1];
    const unrelated = kind === 'audit' ? 'admin:users:read admin:users:write' : 'admin:audit:read';
    const cases = [
      ['no token', {}, 401],
      ['session cookie, no token', { headers: { cookie: `${browser.cookieName}=${browser.sid}` } }, 401],
      ['another kind\'s scope', { tok: await token(unrelated) }, 403],
      ['expired', { tok: expiredAll }, 401],
      ['another resource', { tok: foreign }, 401],
      ['malformed', { headers: { authorization: 'Bearer ' + 'e30.e30.' } }, 401],
      ['not bearer', { headers: { authorization: 'Basic ' + Buffer.from('a:b').toString('base64') } }, 401],
    ];
    if (scope.endsWith(':write'))
      cases.push(['read scope writing', { tok: await token(scope.replace(':write', ':read')) }, 403]);
    for (const [why, opts, want] of cases) {
      const r = await call(method, p, { body, ...opts });
      assert.equal(r.status, want, `${what}: ${why}: ${r.text}`);
      conforms(op, r, `${what}: ${why}`);
      if (want === 401) assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="admin"/, `${what}: ${why}`);
      if (want === 403) {
        assert.equal(r.body.error, 'insufficient_scope');
        assert.match(r.headers.get('www-authenticate'), new RegExp(`scope="${scope}"`));
      }
    }
  }
});

test('HT-05 / DS-02: every body route refuses bad JSON, other types, oversize, unknown members, wrong types, deep nesting; others refuse a body', async () => {
  for (const { method, path, op, scope } of ops) {
    if (scope === '-') continue;
    const p = fill(path);
    const tok = await token(scope);
    const what = `${method} ${path}`;
    if (!op.requestBody) {
      if (method === 'GET') continue;
      const r = await call(method, p, { tok, body: { a: 1 } });
      assert.equal(r.status, 400, `${what} with a body: ${r.text}`);
      conforms(op, r, what);
      continue;
    }
    const cases = [
      ['bad JSON', { raw: '{"email": ', headers: { 'content-type': 'application/json' } }, 400],
      ['not JSON', { raw: 'email=a%40b.example', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415],
      ['no content type', { raw: '{}' }, 415],
      ['text/json', { raw: '{}', headers: { 'content-type': 'text/json' } }, 415],
      ['oversize', { raw: JSON.stringify({ name: 'x'.repeat(70_000) }), headers: { 'content-type': 'application/json' } }, 413],
      ['unknown member', { body: { nonsense: true } }, 400],
      ['wrong type', { body: { email: 7, name: 7, password: 7, disabled: 'yes' } }, 400],
      ['too deep', { raw: '{"a":' + '['.repeat(40) + ']'.repeat(40) + '}', headers: { 'content-type': 'application/json' } }, 400],
      ['an array', { body: [] }, 400],
      ['duplicate member', { raw: '{"name":"a","name":"b"}', headers: { 'content-type': 'application/json' } }, 400],
    ];
    for (const [why, opts, want] of cases) {
      const r = await call(method, p, { tok, ...opts });
      assert.equal(r.status, want, `${what}: ${why}: ${r.text}`);
      if (r.status !== 413) conforms(op, r, `${what}: ${why}`);
      else assert.equal(r.headers.get('cache-control'), 'no-store');
    }
  }
});

// The audit row of a change: the acting principal and the target. Read
// through GET /audit, which the audit query test holds to the CLI's.
async function audited(event, target, actor = init.service_account) {
  const r = await call('GET', `/audit?principal=${target}&limit=500`, { tok: await token('admin:audit:read') });
  assert.equal(r.status, 200, r.text);
  const row = r.body.items.reverse().find((e) => e.event === event && e.target === target);
  assert.ok(row, `an audit row ${event} for ${target}`);
  assert.equal(row.actor, actor, `${event}: the acting principal`);
  assert.equal(row.details.via, 'admin_api');
  return row;
}

const opOf = (method, path) => ops.find((o) => o.method === method && o.path === path).op;
async function ok(method, path, p, opts, want = 200) {
  const r = await call(method, p, opts);
  assert.equal(r.status, want, `${method} ${p}: ${r.text}`);
  conforms(opOf(method, path), r, `${method} ${path}`);
  return r.body;
}

test('AU-01: users: create, read, page, update, disable, password through the pool, delete; each change audited', async () => {
  const w = await token('admin:users:write');
  const rd = await token('admin:users:read');
  const u = await ok('POST', '/users', '/users', { tok: w, body: { email: 'Ada@Example.com', name: 'Ada' } }, 201);
  assert.match(u.id, /^usr_/);
  assert.equal(u.has_password, false);
  await audited('user.created', u.id);
  assert.equal((await call('POST', '/users', { tok: w, body: { email: 'ada@example.com' } })).status, 409);
  assert.equal((await call('POST', '/users', { tok: w, body: { email: 'not an address' } })).status, 400);
  assert.deepEqual(await ok('GET', '/users/{id}', `/users/${u.id}`, { tok: rd }), u);
  assert.equal((await call('GET', '/users/usr_AAAAAAAAAAAAAAAAAAAAAA', { tok: rd })).status, 404);
  assert.equal((await call('GET', '/users/nope', { tok: rd })).status, 404);

  // Pages, keyset by id: every user exactly once.
  for (let i = 0; i < 3; i++) addUser(srv, `page${i}@example.com`);
  const seen = [];
  let after = null;
  for (;;) {
    const page = await ok('GET', '/users', `/users?limit=2${after ? '&after=' + after : ''}`, { tok: rd });
    seen.push(...page.items.map((x) => x.id));
    if (!page.next) break;
    after = page.next;
  }
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.includes(u.id));
  for (const q of ['limit=0', 'limit=501', 'limit=x', 'sort=id', 'limit=1&limit=2'])
    assert.equal((await call('GET', '/users?' + q, { tok: rd })).status, 400, q);

  const up = await ok('PATCH', '/users/{id}', `/users/${u.id}`, { tok: w, body: { name: 'Ada L.', email_verified: true } });
  assert.equal(up.name, 'Ada L.');
  assert.equal(up.email_verified, true);
  assert.equal((await audited('user.updated', u.id)).details.email_verified, true);
  assert.equal((await call('PATCH', `/users/${u.id}`, { tok: w, body: {} })).status, 400);

  // A password through the hashing pool; it then signs in.
  const pw = 'correct-horse-battery-admin-91';
  const set = await call('PUT', `/users/${u.id}/password`, { tok: w, body: { password: pw } });
  assert.equal(set.status, 204, set.text);
  assert.equal(set.headers.get('cache-control'), 'no-store');
  await audited('user.password_set', u.id);
  const weak = await call('PUT', `/users/${u.id}/password`, { tok: w, body: { password: 'password' } });
  assert.equal(weak.status, 400);
  assert.ok(!weak.text.includes('password"'), 'the refused password is not echoed');
  const b = new Client(srv);
  assert.equal((await b.login('ada@example.com', pw)).status, 303);
  assert.ok(await b.signedIn());

  // Disable ends the session (SS-08); enable lets it sign in again.
  const dis = await ok('PATCH', '/users/{id}', `/users/${u.id}`, { tok: w, body: { disabled: true } });
  assert.equal(dis.disabled, true);
  await audited('user.disabled', u.id);
  assert.equal(await b.signedIn(), false);
  await ok('PATCH', '/users/{id}', `/users/${u.id}`, { tok: w, body: { disabled: false } });
  await audited('user.enabled', u.id);

  // AU-03: no password, no token in the audit rows or the logs.
  const rows = JSON.stringify(auditRows(srv, 400));
  assert.ok(!rows.includes(pw));
  assert.ok(!srv.rawLogs().includes(pw));
  assert.ok(!srv.rawLogs().includes(w));

  await ok('DELETE', '/users/{id}', `/users/${u.id}`, { tok: w }, 204);
  await audited('user.deleted', u.id);
  assert.equal((await call('GET', `/users/${u.id}`, { tok: rd })).status, 404);
});

test('MF-05 / AU-01: factors: list and operator reset (all, or one kind), audited as mfa.reset', async () => {
  const u = addUser(srv, 'factors@example.com');
  const f = await ok('GET', '/users/{id}/factors', `/users/${u.id}/factors`, { tok: await token('admin:users:read') });
  assert.equal(f.totp.enabled, false);
  const w = await token('admin:users:write');
  const r1 = await ok('DELETE', '/users/{id}/factors/{kind}', `/users/${u.id}/factors/totp`, { tok: w });
  assert.equal(r1.factor, 'totp');
  assert.equal((await audited('mfa.reset', u.id)).details.factor, 'totp');
  const r2 = await ok('DELETE', '/users/{id}/factors', `/users/${u.id}/factors`, { tok: w });
  assert.equal(r2.factor, 'all');
  assert.equal((await call('DELETE', `/users/${u.id}/factors/sms`, { tok: w })).status, 404);
});

test('SS-07 / RT-05: sessions: list a user\'s, end one, end all; audited', async () => {
  const u = addUser(srv, 'sessions@example.com');
  const a = new Client(srv), b = new Client(srv);
  await a.login(u.email);
  await b.login(u.email);
  const rd = await token('admin:sessions:read'), w = await token('admin:sessions:write');
  const list = await ok('GET', '/users/{id}/sessions', `/users/${u.id}/sessions`, { tok: rd });
  assert.equal(list.items.length, 2);
  // A users:read token does not read sessions.
  assert.equal((await call('GET', `/users/${u.id}/sessions`, { tok: await token('admin:users:read') })).status, 403);
  const one = list.items[0].id;
  const ended = await ok('DELETE', '/users/{id}/sessions/{session}', `/users/${u.id}/sessions/${one}`, { tok: w });
  assert.equal(ended.ended, 1);
  assert.equal((await audited('session.revoke', u.id)).details.session, one);
  assert.equal([await a.signedIn(), await b.signedIn()].filter(Boolean).length, 1);
  assert.equal((await call('DELETE', `/users/${u.id}/sessions/${one}`, { tok: w })).status, 404);
  const all = await ok('DELETE', '/users/{id}/sessions', `/users/${u.id}/sessions`, { tok: w });
  assert.equal(all.ended, 1);
  assert.equal(await a.signedIn() || await b.signedIn(), false);
});

test('AU-01: groups: create, read, members, delete; admin: scopes never widened through a group', async () => {
  const w = await token('admin:groups:write'), rd = await token('admin:groups:read');
  const g = await ok('POST', '/groups', '/groups', { tok: w, body: { name: 'ops', description: 'Operators', scope: 'orders:read' } }, 201);
  await audited('group.create', g.id);
  assert.equal((await call('POST', '/groups', { tok: w, body: { name: 'ops' } })).status, 409);
  assert.equal((await call('POST', '/groups', { tok: w, body: { name: 'bad name!' } })).status, 400);
  const u = addUser(srv, 'member@example.com');
  const m = await ok('PUT', '/groups/{id}/members/{member}', `/groups/${g.id}/members/${u.id}`, { tok: w });
  assert.equal(m.changed, true);
  assert.equal((await audited('group.member_add', g.id)).details.member, u.id);
  const got = await ok('GET', '/groups/{id}', `/groups/${g.id}`, { tok: rd });
  assert.deepEqual(got.members, [u.id]);
  const page = await ok('GET', '/groups', '/groups?limit=1', { tok: rd });
  assert.equal(page.items.length, 1);
  await ok('DELETE', '/groups/{id}/members/{member}', `/groups/${g.id}/members/${u.id}`, { tok: w });
  await audited('group.member_remove', g.id);

  // Escalation: groups:write alone cannot mint admin authority.
  const esc = await call('POST', '/groups', { tok: w, body: { name: 'root', scope: 'admin:users:write' } });
  assert.equal(esc.status, 403, esc.text);
  const admins = cliJson(['group', 'add', '--name', 'user-admins', '--scope', 'admin:users:write']);
  const self = await call('PUT', `/groups/${admins.id}/members/${init.service_account}`, { tok: w });
  assert.equal(self.status, 403, self.text);
  const both = await token('admin:groups:write admin:users:write');
  await ok('PUT', '/groups/{id}/members/{member}', `/groups/${admins.id}/members/${u.id}`, { tok: both });

  await ok('DELETE', '/groups/{id}', `/groups/${g.id}`, { tok: w }, 204);
  await audited('group.delete', g.id);
  assert.equal((await call('GET', `/groups/${g.id}`, { tok: rd })).status, 404);
});

test('AU-01: the audit query answers what portcullis audit query does', async () => {
  const u = addUser(srv, 'audited@example.com');
  await ok('PATCH', '/users/{id}', `/users/${u.id}`, { tok: await token('admin:users:write'), body: { name: 'Audited' } });
  const rd = await token('admin:audit:read');
  const q = await ok('GET', '/audit', `/audit?principal=${u.id}&limit=500`, { tok: rd });
  const cliRows = cli(['audit', 'query', '--principal', u.id, '--json']).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(q.items.map((e) => e.event), cliRows.map((e) => e.event));
  assert.ok(q.items.some((e) => e.event === 'user.updated' && e.actor === init.service_account));
  for (const bad of ['', 'principal=', `principal=${u.id}&since=yesterday`, `principal=${u.id}&since=2&until=1`, 'principal=x&after=y'])
    assert.equal((await call('GET', '/audit?' + bad, { tok: rd })).status, 400, bad);
});

test('an operator\'s personal key holds admin: scopes only through a group; actor is the key\'s owner', async () => {
  const op = addUser(srv, 'operator@example.com');
  const refused = cliAt(srv, ['api-key', 'add', '--owner', op.id, '--scope', 'admin:users:read', '--resource', aud]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /groups do not grant/);
  const g = cliJson(['group', 'add', '--name', 'readers', '--scope', 'admin:users:read admin:users:write']);
  cli(['group', 'member', 'add', '--group', g.id, '--member', op.id]);
  const key = cliJson(['api-key', 'add', '--owner', op.id, '--scope', 'admin:users:read admin:users:write', '--resource', aud]);
  const tok = await token(null, key.key);
  const created = await ok('POST', '/users', '/users', { tok, body: { email: 'by-operator@example.com' } }, 201);
  const row = await audited('user.created', created.id, op.id);
  assert.equal(row.details.credential, key.id);
  // Out of the group: the key's admin scopes are gone at the next exchange.
  cli(['group', 'member', 'remove', '--group', g.id, '--member', op.id]);
  const r = await post('/token', { grant_type: GRANT, subject_token: key.key, subject_token_type: TT_KEY,
    resource: aud, scope: 'admin:users:read' });
  assert.equal(r.status, 400);
});

test('TK-09: a service account with private_key_jwt gets an admin token by client_credentials with resource=', async () => {
  const kp = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const jwk = { ...(await jose.exportJWK(kp.publicKey)), kid: 'adm-1', alg: 'ES256', use: 'sig' };
  const file = join(srv.dataDir, 'adm.jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [jwk] }));
  const c = cliJson(['client', 'add', '--name', 'admin-bot', '--service-account', init.service_account,
    '--auth-method', 'private_key_jwt', '--jwks-file', file, '--scope', 'admin:users:read']);
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new jose.SignJWT({ jti: 'j-' + now })
    .setProtectedHeader({ alg: 'ES256', kid: 'adm-1' })
    .setIssuer(c.client_id).setSubject(c.client_id).setAudience(srv.issuer)
    .setIssuedAt(now).setExpirationTime(now + 60).sign(kp.privateKey);
  const r = await post('/token', { grant_type: 'client_credentials', resource: aud, scope: 'admin:users:read',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const list = await call('GET', '/users?limit=1', { tok: r.body.access_token });
  assert.equal(list.status, 200);
  assert.equal((await call('POST', '/users', { tok: r.body.access_token, body: { email: 'x@example.com' } })).status, 403);
});

// A DPoP proof by key for (htm, htu), with ath for the token.
async function dpopProof(key, htm, htu, at) {
  const b64u = (b) => Buffer.from(b).toString('base64url');
  const claims = { jti: b64u(webcrypto.getRandomValues(new Uint8Array(16))), htm, htu,
    iat: Math.floor(Date.now() / 1000) };
  if (at) claims.ath = b64u(await webcrypto.subtle.digest('SHA-256', new TextEncoder().encode(at)));
  return new jose.SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .sign(key.privateKey);
}

test('TX-06: a DPoP-bound admin token works only with the DPoP scheme and a proof of its key for this URL', async () => {
  const kp = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const key = { ...kp, jwk: await jose.exportJWK(kp.publicKey) };
  const other = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const otherKey = { ...other, jwk: await jose.exportJWK(other.publicKey) };
  // client_credentials of a client bound to the admin service account.
  const c = cliJson(['client', 'add', '--name', 'admin-dpop', '--service-account', init.service_account,
    '--scope', 'admin:users:read']);
  const t = await fetch(srv.url + '/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': IP,
      authorization: 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64'),
      dpop: await dpopProof(key, 'POST', srv.issuer + '/token') },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: aud, scope: 'admin:users:read' }).toString() });
  assert.equal(t.status, 200);
  const body = await t.json();
  assert.equal(body.token_type, 'DPoP');
  const at = body.access_token;
  const url = aud + '/users?limit=1';
  const get = async (scheme, dpop) => {
    const h = { authorization: `${scheme} ${at}`, 'x-forwarded-for': IP };
    if (dpop) h.dpop = dpop;
    return fetch(srv.url + '/admin/v1/users?limit=1', { headers: h });
  };
  // As Bearer: refused (a stolen bound token is useless alone).
  const bearer = await get('Bearer');
  assert.equal(bearer.status, 401);
  assert.match(bearer.headers.get('www-authenticate'), /^DPoP /);
  assert.equal((await get('DPoP', await dpopProof(key, 'GET', url, at))).status, 200);
  // Another key, another URL, another method, no proof: refused.
  assert.equal((await get('DPoP', await dpopProof(otherKey, 'GET', url, at))).status, 401);
  assert.equal((await get('DPoP', await dpopProof(key, 'GET', aud + '/groups', at))).status, 401);
  assert.equal((await get('DPoP', await dpopProof(key, 'POST', url, at))).status, 401);
  assert.equal((await get('DPoP')).status, 401);
  // An unbound token with the DPoP scheme is no DPoP token.
  const plain = await token('admin:users:read');
  const r = await fetch(srv.url + '/admin/v1/users?limit=1', { headers: { authorization: 'DPoP ' + plain,
    dpop: await dpopProof(key, 'GET', url, plain), 'x-forwarded-for': IP } });
  assert.equal(r.status, 401);
});
