// Discovery, JWKS and health: shape, issuer exactness, no private members,
// and URLs that come from configuration only (SECURITY.md OI-10, HT-04, JW-09).
// Truthfulness (issue 15): every member of the document is checked against
// what the server does (each advertised endpoint answers, each grant,
// authentication method, algorithm, scope, prompt and claim works), and a
// member this file has no check for fails the run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { startServer, stopClean, rawRequest, parseRaw } from './lib/server.mjs';
import { Client, addUser, cliAt } from './lib/web.mjs';
import { addClient, authorize, authorizeParams, codeFlow, pkce, tokenRequest } from './lib/oauth.mjs';

let srv;
before(async () => { srv = await startServer({ config: { allowed_hosts: 'alias.example:8443' } }); });
after(async () => { await stopClean(srv); });

test('discovery: issuer is exactly the configured issuer and URLs derive from it', async () => {
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    const r = await fetch(srv.url + path);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const d = await r.json();
    assert.equal(d.issuer, srv.issuer);
    assert.equal(d.jwks_uri, `${srv.issuer}/jwks.json`);
    for (const [k, v] of Object.entries(d)) {
      if (typeof v === 'string' && /^https?:/.test(v)) assert.ok(v.startsWith(srv.issuer), `${k}=${v}`);
    }
  }
});

test('discovery: advertises only implemented endpoints', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  for (const [k, v] of Object.entries(d)) {
    if (!k.endsWith('_endpoint') && k !== 'jwks_uri') continue;
    const r = await fetch(v.replace(srv.issuer, srv.url));
    assert.notEqual(r.status, 404, `${k} advertised but 404`);
  }
});

test('discovery: the OpenID Connect and OAuth metadata say what is enforced (AZ-06..08, AZ-12, RFC 9207)', async () => {
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.authorization_endpoint, srv.issuer + '/authorize');
  assert.deepEqual(d.response_types_supported, ['code']);
  assert.deepEqual(d.response_modes_supported, ['query']);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.equal(d.authorization_response_iss_parameter_supported, true);
  assert.deepEqual(d.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
  assert.equal(d.request_parameter_supported, false);
  assert.equal(d.request_uri_parameter_supported, false);
  assert.deepEqual(d.subject_types_supported, ['public']);
  assert.ok(d.scopes_supported.includes('openid') && d.scopes_supported.includes('offline_access'));
  assert.ok(d.id_token_signing_alg_values_supported.includes('RS256'));
  assert.ok(!d.id_token_signing_alg_values_supported.includes('none'));
  assert.ok(d.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  assert.ok(!d.introspection_endpoint_auth_methods_supported.includes('none'));
  const rfc8414 = await (await fetch(srv.url + '/.well-known/oauth-authorization-server')).json();
  assert.deepEqual(rfc8414, d);
});

test('JW-09: JWKS holds public members only, with kid, alg and use', async () => {
  const r = await fetch(srv.url + '/jwks.json');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/jwk-set\+json/);
  const { keys } = await r.json();
  assert.ok(keys.length >= 2);
  const algs = new Set(keys.map((k) => k.alg));
  assert.ok(algs.has('ES256') && algs.has('RS256'));
  for (const k of keys) {
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) assert.equal(k[priv], undefined, `${priv} in ${k.kid}`);
    assert.equal(k.use, 'sig');
    assert.equal(typeof k.kid, 'string');
    if (k.kty === 'RSA') assert.ok(Buffer.from(k.n, 'base64url').length * 8 >= 2048);
    if (k.kty === 'EC') assert.equal(k.crv, 'P-256');
  }
  assert.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'kids unique');
});

test('OI-10/HT-04: forged Host and X-Forwarded-* never change the issuer', async () => {
  const r = await rawRequest(srv.port,
    'GET /.well-known/openid-configuration HTTP/1.1\r\nHost: alias.example:8443\r\n' +
    'X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nForwarded: host=evil.example\r\nConnection: close\r\n\r\n');
  const res = parseRaw(r.data);
  assert.equal(res.status, 200);
  const d = JSON.parse(res.body);
  assert.equal(d.issuer, srv.issuer);
  assert.ok(!res.body.includes('evil') && !res.body.includes('alias'));
});

test('HT-04: an unknown Host gets 400 and no document', async () => {
  for (const host of ['evil.example', `127.0.0.2:${srv.port}`, '']) {
    const r = await rawRequest(srv.port,
      `GET /.well-known/openid-configuration HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const res = parseRaw(r.data);
    assert.equal(res.status, 400, `Host: ${host}`);
    assert.ok(!res.body.includes('issuer'));
  }
});

test('health: /healthz is up and /readyz reports the store ready, any Host', async () => {
  const h = await fetch(srv.url + '/healthz');
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { status: 'ok' });
  const r = await rawRequest(srv.port, 'GET /readyz HTTP/1.1\r\nHost: 10.1.2.3:9\r\nConnection: close\r\n\r\n');
  const res = parseRaw(r.data);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { status: 'ready' });
});

test('HT-03: errors on public metadata routes are never cacheable', async () => {
  const r = await fetch(srv.url + '/jwks.json?x', { method: 'POST' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('cache-control'), 'no-store');
});

test('HEAD works wherever GET does and sends no body', async () => {
  const r = await fetch(srv.url + '/jwks.json', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal((await r.text()).length, 0);
});

// ---- Truthfulness: what the document says is what the server does ----

// The members the checks below prove; anything else advertised fails.
const CHECKED = new Set([
  'issuer', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
  'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint', 'scopes_supported',
  'response_types_supported', 'response_modes_supported', 'grant_types_supported',
  'code_challenge_methods_supported', 'authorization_response_iss_parameter_supported',
  'prompt_values_supported', 'request_parameter_supported', 'request_uri_parameter_supported',
  'claims_parameter_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported',
  'claims_supported', 'token_endpoint_auth_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported', 'introspection_endpoint_auth_methods_supported',
  'introspection_endpoint_auth_signing_alg_values_supported', 'revocation_endpoint_auth_methods_supported',
  'revocation_endpoint_auth_signing_alg_values_supported',
  'pushed_authorization_request_endpoint', 'require_pushed_authorization_requests',
  'registration_endpoint', 'client_id_metadata_document_supported', 'dpop_signing_alg_values_supported',
  'acr_values_supported',
]);

const EMAIL = 'truth@example.com';
const ALL_SCOPES = 'openid profile email offline_access groups';
const ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
let doc, user;
const sent = new Set(); // "member value" pairs a check exercised

const disc = async () => {
  await truthUser();
  return doc ??= await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
};
const local = (u) => u.replace(srv.issuer, srv.url);
const local2 = (s2, u) => u.replace(s2.issuer, s2.url);
const saw = (member, value) => sent.add(`${member} ${value}`);
const cliOk = (args) => {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};
const basicAuth = (c) => ({ authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64') });

async function post(url, form, headers = {}) {
  const r = await fetch(local(url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

// A client's credentials for each way the document says it may authenticate.
async function signer(alg) {
  const opts = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true };
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, opts);
  return { alg, kid: alg.toLowerCase(), privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid: alg.toLowerCase(), alg, use: 'sig' } };
}
async function assertion(client, key) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(client.client_id).setSubject(client.client_id).setAudience(srv.issuer)
    .setIssuedAt(now).setExpirationTime(now + 60).sign(key.privateKey);
}

// The user every truthfulness check signs in as: a name, a verified
// email and a group, so that every claim has a value to give.
async function truthUser() {
  if (user) return user;
  user = addUser(srv, EMAIL, undefined, ['--verified', '--name', 'Truth Teller']);
  const g = cliOk(['group', 'add', '--name', 'auditors', '--json']);
  cliOk(['group', 'member', 'add', '--group', g.id, '--member', user.id, '--json']);
  return user;
}

test('truthfulness: every member of the document is one this file checks', async () => {
  const d = await disc();
  const unchecked = Object.keys(d).filter((k) => !CHECKED.has(k));
  assert.deepEqual(unchecked, [], 'advertised without a truthfulness check here');
  const rfc8414 = await (await fetch(srv.url + '/.well-known/oauth-authorization-server')).json();
  assert.deepEqual(Object.keys(rfc8414).filter((k) => !CHECKED.has(k)), []);
});

test('truthfulness: every advertised endpoint answers as that endpoint', async () => {
  const d = await disc();
  // Each with a request it must refuse for a reason of its own kind.
  let r = await fetch(local(d.authorization_endpoint) + '?client_id=pcc_nobodyAAAAAAAAAAAAAAAA', { redirect: 'manual' });
  assert.equal(r.status, 400, 'authorization_endpoint: unknown client');
  r = await post(d.token_endpoint, { grant_type: 'authorization_code', code: 'x' });
  assert.equal(r.status, 401, 'token_endpoint: no client');
  assert.equal(r.body.error, 'invalid_client');
  r = await fetch(local(d.userinfo_endpoint));
  assert.equal(r.status, 401, 'userinfo_endpoint');
  assert.match(r.headers.get('www-authenticate'), /^Bearer/);
  r = await fetch(local(d.jwks_uri));
  assert.equal(r.status, 200);
  assert.ok((await r.json()).keys.length > 0, 'jwks_uri');
  for (const k of ['introspection_endpoint', 'revocation_endpoint']) {
    r = await post(d[k], { token: 'x' });
    assert.equal(r.status, 401, k);
    assert.equal(r.body.error, 'invalid_client', k);
  }
  r = await fetch(local(d.end_session_endpoint), { redirect: 'manual' });
  assert.ok([200, 303].includes(r.status), `end_session_endpoint: ${r.status}`);
});

test('truthfulness: each grant type, response type and mode, PKCE method, iss parameter and subject type works', async () => {
  const d = await disc();
  const rp = addClient(srv, { name: 'Truth RP', scope: ALL_SCOPES });
  const flow = await codeFlow(srv, rp, { email: EMAIL, scope: ALL_SCOPES, nonce: 'n-1' });
  assert.deepEqual(d.response_types_supported, ['code']);
  saw('response_types_supported', 'code');
  assert.ok(flow.callbackUrl.search.includes('code='), 'the code comes in the query');
  saw('response_modes_supported', 'query');
  saw('code_challenge_methods_supported', 'S256'); // codeFlow sends S256
  assert.equal(d.authorization_response_iss_parameter_supported, true);
  assert.equal(flow.iss, srv.issuer, 'RFC 9207 iss in the response');
  saw('grant_types_supported', 'authorization_code');
  const rt = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: flow.tokens.refresh_token });
  assert.equal(rt.status, 200, JSON.stringify(rt.json));
  saw('grant_types_supported', 'refresh_token');
  // client_credentials, and token exchange with an API key as the subject.
  const api = 'https://truth.example.com/api';
  cliOk(['resource', 'add', '--id', api, '--scope', 'truth:read', '--json']);
  const svc = cliOk(['client', 'add', '--json', '--name', 'Truth svc', '--redirect-uri', 'https://svc.example/cb',
    '--grant', 'client_credentials', '--scope', 'truth:read']);
  let r = await post(d.token_endpoint, { grant_type: 'client_credentials', resource: api }, basicAuth(svc));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  saw('grant_types_supported', 'client_credentials');
  const sa = cliOk(['service-account', 'add', '--name', 'truth-sa', '--scope', 'truth:read', '--json']);
  const key = cliOk(['api-key', 'add', '--owner', sa.id, '--scope', 'truth:read', '--json']);
  r = await post(d.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token_type: 'urn:portcullis:params:oauth:token-type:api_key', subject_token: key.key, resource: api });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  saw('grant_types_supported', 'urn:ietf:params:oauth:grant-type:token-exchange');
  // public: one sub for the user whichever client asks.
  const rp2 = addClient(srv, { name: 'Truth RP 2', scope: 'openid' });
  const other = await codeFlow(srv, rp2, { email: EMAIL, scope: 'openid' });
  const sub = (t) => jose.decodeJwt(t.tokens.id_token).sub;
  assert.equal(sub(flow), sub(other));
  saw('subject_types_supported', 'public');
  for (const m of ['response_types_supported', 'response_modes_supported', 'code_challenge_methods_supported',
    'grant_types_supported', 'subject_types_supported']) {
    for (const v of d[m]) assert.ok(sent.has(`${m} ${v}`), `${m}: ${v} advertised, not shown to work`);
  }
});

test('truthfulness: each scope is granted, and each advertised claim is given', async () => {
  const d = await disc();
  const rp = addClient(srv, { name: 'Claims RP', scope: ALL_SCOPES });
  const flow = await codeFlow(srv, rp, { email: EMAIL, scope: d.scopes_supported.join(' '), nonce: 'n-2' });
  assert.deepEqual(flow.tokens.scope.split(' ').sort(), [...d.scopes_supported].sort());
  assert.ok(flow.tokens.refresh_token, 'offline_access gives a refresh token');
  const idt = jose.decodeJwt(flow.tokens.id_token);
  const ui = await (await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + flow.tokens.access_token } })).json();
  for (const c of d.claims_supported) {
    assert.ok(c in idt || c in ui, `claim ${c} advertised, in neither the ID token nor userinfo`);
  }
  assert.deepEqual(ui.groups, ['auditors']);
});

test('truthfulness: each prompt value does what it says; request, request_uri and claims are as advertised', async () => {
  const d = await disc();
  const rp = addClient(srv, { name: 'Prompt RP', scope: 'openid' });
  const fresh = await authorize(srv, rp, { email: EMAIL, prompt: 'none' });
  assert.equal(fresh.error, 'login_required', 'none: no session, no prompt');
  const jar = new Client(srv);
  await codeFlow(srv, rp, { email: EMAIL, jar });
  const none = await authorize(srv, rp, { email: EMAIL, prompt: 'none', jar });
  assert.ok(none.code, 'none: a session and consent, a code without a page');
  for (const p of ['login', 'select_account']) {
    const a = await authorize(srv, rp, { email: EMAIL, prompt: p, jar });
    assert.equal(a.steps[0].status, 303, p);
    assert.match(a.steps[0].location, /^\/login\?req=/, `${p}: the sign-in page again`);
    assert.ok(a.code, p);
  }
  const c = await authorize(srv, rp, { email: EMAIL, prompt: 'consent', jar });
  assert.ok(c.steps.some((s) => s.status === 200), 'consent: the consent page although consent was given');
  assert.ok(c.code);
  assert.deepEqual([...d.prompt_values_supported].sort(), ['consent', 'login', 'none', 'select_account']);
  // Not supported, and said so: the error, not a silent accept.
  assert.equal(d.request_parameter_supported, false);
  assert.equal((await authorize(srv, rp, { email: EMAIL, jar, params: { request: 'eyJhbGciOiJub25lIn0.e30.' } })).error, 'request_not_supported');
  assert.equal(d.request_uri_parameter_supported, false);
  assert.equal((await authorize(srv, rp, { email: EMAIL, jar, params: { request_uri: 'https://rp.example/r' } })).error, 'request_uri_not_supported');
  assert.equal(d.claims_parameter_supported, false);
  const cl = await authorize(srv, rp, { email: EMAIL, jar, params: { claims: '{"id_token":{"email":null}}' } });
  assert.ok(cl.code, 'claims: ignored, not an error');
});

test('truthfulness: each acr value is one an ID token carries, and asking for it does what it says (issue 16)', async () => {
  const d = await disc();
  const [pwd, mfa, phr] = ['urn:portcullis:acr:pwd', 'http://schemas.openid.net/pape/policies/2007/06/multi-factor', 'phr'];
  assert.deepEqual(d.acr_values_supported, [pwd, mfa, phr]);
  const rp = addClient(srv, { name: 'ACR RP', scope: 'openid', extra: ['--first-party'] });
  // A password sign-in is acr pwd, and asking for pwd asks nothing more.
  const u = addUser(srv, 'acr-truth@example.com');
  const jar = new Client(srv);
  const f = await codeFlow(srv, rp, { email: u.email, jar, params: { acr_values: pwd } });
  assert.equal(jose.decodeJwt(f.tokens.id_token).acr, pwd);
  saw('acr_values_supported', pwd);
  // Asking for mfa or phr sends a password session of a user with a
  // factor to the factor step (docs/mfa.md; tests/e2e/mfa_policy.test.mjs
  // follows the step to the ID token's acr).
  const { storeSql } = await import('./lib/server.mjs');
  storeSql(srv, `INSERT INTO totp_credentials (user_id, seed_sealed, created_at, activated_at) VALUES ('${u.id}', 'x', 1, 2)`);
  for (const v of [mfa, phr]) {
    const a = await authorize(srv, rp, { email: u.email, jar, params: { acr_values: v } });
    assert.match(a.location ?? '', /^\/login\/mfa\?req=/, `${v}: the factor step`);
    saw('acr_values_supported', v);
  }
  for (const v of d.acr_values_supported) assert.ok(sent.has(`acr_values_supported ${v}`), `acr ${v} advertised, not shown to work`);
});

test('truthfulness: each client authentication method and signing algorithm works where advertised', async () => {
  const d = await disc();
  const algs = new Set([...d.token_endpoint_auth_signing_alg_values_supported,
    ...d.introspection_endpoint_auth_signing_alg_values_supported, ...d.revocation_endpoint_auth_signing_alg_values_supported]);
  const keys = {};
  for (const alg of algs) keys[alg] = await signer(alg);
  const file = join(srv.dataDir, 'truth.jwks.json');
  writeFileSync(file, JSON.stringify({ keys: Object.values(keys).map((k) => k.jwk) }));
  const common = ['--redirect-uri', 'https://svc.example/cb', '--grant', 'client_credentials', '--scope', 'truth:read'];
  const secret = cliOk(['client', 'add', '--json', '--name', 'Truth secret', ...common]);
  const post_ = cliOk(['client', 'add', '--json', '--name', 'Truth post', '--auth-method', 'client_secret_post', ...common]);
  const pkj = cliOk(['client', 'add', '--json', '--name', 'Truth pkj', '--auth-method', 'private_key_jwt', '--jwks-file', file, ...common]);
  const pub = addClient(srv, { name: 'Truth public', public: true, scope: 'openid offline_access' });
  const pubFlow = await codeFlow(srv, pub, { email: EMAIL, scope: 'openid offline_access' });
  // How each method authenticates a request: [form fields, headers].
  const how = {
    client_secret_basic: async () => [{}, basicAuth(secret)],
    client_secret_post: async () => [{ client_id: post_.client_id, client_secret: post_.client_secret }, {}],
    none: async () => [{ client_id: pub.client_id }, {}],
  };
  const tokenFor = async (c) => (await post(d.token_endpoint, { grant_type: 'client_credentials', scope: 'truth:read' }, basicAuth(c))).body.access_token;
  const tok = await tokenFor(secret);
  for (const [endpoint, methods, algsMember] of [
    ['token_endpoint', 'token_endpoint_auth_methods_supported', 'token_endpoint_auth_signing_alg_values_supported'],
    ['introspection_endpoint', 'introspection_endpoint_auth_methods_supported', 'introspection_endpoint_auth_signing_alg_values_supported'],
    ['revocation_endpoint', 'revocation_endpoint_auth_methods_supported', 'revocation_endpoint_auth_signing_alg_values_supported'],
  ]) {
    for (const m of d[methods]) {
      const runs = m === 'private_key_jwt'
        ? d[algsMember].map((alg) => async () => [{ client_assertion_type: ASSERTION, client_assertion: await assertion(pkj, keys[alg]) }, {}])
        : [how[m]];
      assert.ok(runs[0], `${methods}: ${m} has no check`);
      for (const run of runs) {
        const [fields, headers] = await run();
        let form;
        if (endpoint === 'token_endpoint') form = m === 'none'
          ? { grant_type: 'refresh_token', refresh_token: pubFlow.tokens.refresh_token }
          : { grant_type: 'client_credentials', scope: 'truth:read' };
        else if (endpoint === 'introspection_endpoint') form = { token: tok };
        else if (m === 'none') form = { token: pubFlow.tokens.access_token };
        else {
          // A client revokes its own token: one it got the same way.
          const [f2, h2] = await run();
          form = { token: (await post(d.token_endpoint, { grant_type: 'client_credentials', scope: 'truth:read', ...f2 }, h2)).body.access_token };
          assert.ok(form.token);
        }
        const r = await post(d[endpoint], { ...form, ...fields }, headers);
        assert.equal(r.status, 200, `${endpoint} with ${m}${fields.client_assertion ? ' ' + jose.decodeProtectedHeader(fields.client_assertion).alg : ''}: ${JSON.stringify(r.body)}`);
        if (endpoint === 'token_endpoint') assert.ok(r.body.access_token);
        if (endpoint === 'introspection_endpoint') assert.equal(typeof r.body.active, 'boolean');
        if (m === 'none' && endpoint === 'token_endpoint') pubFlow.tokens = r.body;
      }
    }
  }
});

test('truthfulness: each advertised ID token algorithm signs the ID token of a client that asks for it', async () => {
  const d = await disc();
  const jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  for (const alg of d.id_token_signing_alg_values_supported) {
    const rp = addClient(srv, { name: `Alg ${alg}`, scope: 'openid', idTokenAlg: alg });
    const f = await codeFlow(srv, rp, { email: EMAIL, scope: 'openid', nonce: 'n' });
    assert.equal(jose.decodeProtectedHeader(f.tokens.id_token).alg, alg);
    await jose.jwtVerify(f.tokens.id_token, jwks, { issuer: srv.issuer, audience: rp.client_id, algorithms: [alg] });
  }
});

test('truthfulness: the pushed authorization request endpoint takes a request that /authorize then runs (RFC 9126)', async () => {
  const d = await disc();
  const rp = addClient(srv, { name: 'Truth PAR', scope: 'openid' });
  const { verifier, challenge } = pkce();
  const params = authorizeParams(rp, { challenge });
  const pushed = await post(d.pushed_authorization_request_endpoint, params, basicAuth(rp));
  assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
  assert.match(pushed.body.request_uri, /^urn:ietf:params:oauth:request_uri:/);
  const a = await authorize(srv, rp, { email: EMAIL, params: {
    response_type: undefined, redirect_uri: undefined, scope: undefined, state: undefined,
    code_challenge: undefined, code_challenge_method: undefined, request_uri: pushed.body.request_uri } });
  assert.ok(a.code, `${a.status} ${a.error ?? ''} ${a.error_description ?? ''}`);
  assert.equal(a.state, params.state);
  const t = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code: a.code, redirect_uri: rp.redirectUri, code_verifier: verifier });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  // Not required here (the default), and so not enforced: a plain
  // /authorize ran in every check above.
  assert.equal(d.require_pushed_authorization_requests, false);
  assert.ok((await authorize(srv, rp, { email: EMAIL })).code);
});

test('truthfulness: registration is advertised exactly when it is on, and works then; metadata-document client ids as configured', async () => {
  // Here (the defaults): neither. A URL client_id is no client, and
  // nothing registers.
  const d = await disc();
  assert.equal(d.registration_endpoint, undefined);
  assert.equal(d.client_id_metadata_document_supported, false);
  let r = await fetch(srv.url + '/oauth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(r.status, 404);
  const url = 'https://app.example.com/client.json';
  const page = await new Client(srv).get('/authorize?' + new URLSearchParams({ response_type: 'code', client_id: url,
    redirect_uri: 'https://app.example.com/cb', scope: 'openid', code_challenge: pkce().challenge, code_challenge_method: 'S256' }),
  { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(page.status, 400, 'a URL client_id is refused while documents are off');
  assert.match(page.text, /not enabled/);
  // Registration on: advertised, and what is advertised registers a
  // client that then signs a user in. (Metadata documents on are shown
  // working by tests/e2e/mcp.test.mjs, with the MCP SDK as the client.)
  const on = await startServer({ config: { client_registration: 'open' } });
  try {
    const d2 = await (await fetch(on.url + '/.well-known/openid-configuration')).json();
    assert.equal(d2.registration_endpoint, on.issuer + '/oauth/register');
    const reg = await fetch(local2(on, d2.registration_endpoint), {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Truth native', redirect_uris: ['http://127.0.0.1:8123/cb'],
        token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid' }),
    });
    assert.equal(reg.status, 201);
    const c = await reg.json();
    addUser(on, EMAIL);
    const f = await codeFlow(on, { client_id: c.client_id, redirectUri: 'http://127.0.0.1:8123/cb', authMethod: 'none' },
      { email: EMAIL, scope: 'openid' });
    assert.ok(f.tokens.id_token);
  } finally {
    await stopClean(on);
  }
});

test('truthfulness: each advertised DPoP algorithm binds a token to its key (RFC 9449)', async () => {
  const d = await disc();
  assert.ok(d.dpop_signing_alg_values_supported.length > 0);
  assert.ok(!d.dpop_signing_alg_values_supported.some((a) => a === 'none' || a.startsWith('HS')));
  const svc = cliOk(['client', 'add', '--json', '--name', 'Truth DPoP', '--redirect-uri', 'https://svc.example/cb',
    '--grant', 'client_credentials', '--scope', 'truth:read']);
  for (const alg of d.dpop_signing_alg_values_supported) {
    const opts = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true };
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, opts);
    const jwk = await jose.exportJWK(publicKey);
    const proof = await new jose.SignJWT({ jti: randomUUID(), htm: 'POST', htu: d.token_endpoint, iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk }).sign(privateKey);
    const r = await post(d.token_endpoint, { grant_type: 'client_credentials', scope: 'truth:read' }, { ...basicAuth(svc), dpop: proof });
    assert.equal(r.status, 200, `${alg}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.token_type, 'DPoP', alg);
    assert.equal(jose.decodeJwt(r.body.access_token).cnf?.jkt, await jose.calculateJwkThumbprint(jwk), alg);
  }
});
