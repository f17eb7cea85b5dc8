// OAuth / OpenID Connect helpers for the e2e tests: clients through the
// CLI, PKCE pairs, and a real authorization through our own pages (the
// cookie-jar Client of web.mjs signs in on /login and answers the consent
// page), then the token endpoint.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Client, GOOD_PW, cliAt, csrfOf } from './web.mjs';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

// Registers a client. opts: { name, public, grants, scope, firstParty,
// redirectUris, postLogoutUris, authMethod, idTokenAlg, extra }.
export function addClient(srv, opts = {}) {
  const redirectUris = opts.redirectUris ?? ['https://rp.example/cb'];
  const args = ['client', 'add', '--json', '--name', opts.name ?? 'Test RP'];
  for (const u of redirectUris) args.push('--redirect-uri', u);
  for (const u of opts.postLogoutUris ?? []) args.push('--post-logout-redirect-uri', u);
  if (opts.public) args.push('--public');
  args.push('--grant', opts.grants ?? 'authorization_code,refresh_token');
  args.push('--scope', opts.scope ?? 'openid profile email offline_access');
  if (opts.firstParty) args.push('--first-party');
  if (opts.authMethod) args.push('--auth-method', opts.authMethod);
  if (opts.idTokenAlg) args.push('--id-token-alg', opts.idTokenAlg);
  args.push(...(opts.extra ?? []));
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  return { ...c, redirectUri: redirectUris[0], public: !!opts.public,
    authMethod: opts.authMethod ?? (opts.public ? 'none' : 'client_secret_basic') };
}

export function pkce() {
  const verifier = b64u(randomBytes(32));
  const challenge = b64u(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

// The query of an /authorize URL for client, with defaults.
export function authorizeParams(client, opts = {}) {
  const p = {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: opts.redirectUri ?? client.redirectUri,
    scope: opts.scope ?? 'openid',
    state: opts.state ?? b64u(randomBytes(12)),
    code_challenge: opts.challenge,
    code_challenge_method: 'S256',
  };
  if (opts.nonce !== undefined) p.nonce = opts.nonce;
  if (opts.prompt !== undefined) p.prompt = opts.prompt;
  if (opts.maxAge !== undefined) p.max_age = String(opts.maxAge);
  if (opts.loginHint !== undefined) p.login_hint = opts.loginHint;
  if (opts.idTokenHint !== undefined) p.id_token_hint = opts.idTokenHint;
  for (const [k, v] of Object.entries(opts.params ?? {})) {
    if (v === undefined) delete p[k]; else p[k] = v;
  }
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  return p;
}

// Parses a redirect back to the client: the query as an object.
export function callback(location) {
  assert.ok(location, 'no Location');
  const u = new URL(location);
  return { url: u, params: Object.fromEntries(u.searchParams) };
}

// Drives /authorize through sign-in and consent. Returns the final
// redirect to the client, parsed: { code, state, iss, error, ... }.
// opts: { email, password, scope, nonce, state, prompt, maxAge, loginHint,
// idTokenHint, jar (a web.mjs Client: an existing browser), consent:
// 'allow' | 'deny', consentFields (more fields of the consent form, e.g. an
// agent's lifetime), params }. out.consentPage: the consent page, if shown.
export async function authorize(srv, client, opts = {}) {
  const jar = opts.jar ?? new Client(srv);
  const { verifier, challenge } = opts.pkce ?? pkce();
  const q = new URLSearchParams(authorizeParams(client, { ...opts, challenge }));
  let r = await jar.get('/authorize?' + q, { headers: { 'sec-fetch-site': 'cross-site' } });
  const steps = [];
  const out0 = {};
  for (let i = 0; i < 6; i++) {
    steps.push({ status: r.status, location: r.location });
    if (r.status === 303 && r.location && r.location.startsWith('/login?req=')) {
      const page = await jar.get(r.location);
      assert.equal(page.status, 200, page.text);
      const csrf = csrfOf(page.text, '/login');
      const req = /name="req" value="([^"]+)"/.exec(page.text)?.[1];
      assert.ok(csrf && req, 'login form with req');
      r = await jar.post('/login', { csrf, req, email: opts.email, password: opts.password ?? GOOD_PW });
      continue;
    }
    if (r.status === 303 && r.location && r.location.startsWith('/authorize/resume')) {
      r = await jar.get(r.location);
      continue;
    }
    if (r.status === 200 && r.text.includes('action="/authorize/consent"')) {
      const csrf = csrfOf(r.text, '/authorize/consent');
      const req = /name="req" value="([^"]+)"/.exec(r.text)?.[1];
      out0.consentPage = r.text;
      r = await jar.post('/authorize/consent', { csrf, req, decision: opts.consent ?? 'allow', ...(opts.consentFields ?? {}) });
      continue;
    }
    break;
  }
  const out = { status: r.status, location: r.location, text: r.text, jar, verifier, challenge, steps, ...out0 };
  if (r.status === 303 && r.location && /^[a-z][a-z0-9+.-]*:/i.test(r.location)) {
    const cb = callback(r.location);
    Object.assign(out, cb.params, { callbackUrl: cb.url });
  }
  return out;
}

const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

// POST /token with the client's authentication.
export async function tokenRequest(srv, client, params) {
  const form = { ...params };
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.authMethod === 'client_secret_basic') headers.authorization = basic(client.client_id, client.client_secret);
  else if (client.authMethod === 'client_secret_post') Object.assign(form, { client_id: client.client_id, client_secret: client.client_secret });
  else if (client.authMethod === 'none') form.client_id = client.client_id;
  const res = await fetch(srv.url + '/token', { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

// authorize + the authorization_code grant.
export async function codeFlow(srv, client, opts = {}) {
  const a = await authorize(srv, client, opts);
  assert.ok(a.code, `no code: ${a.status} ${a.location ?? ''} ${a.error ?? ''} ${a.error_description ?? ''}`);
  const t = await tokenRequest(srv, client, {
    grant_type: 'authorization_code', code: a.code,
    redirect_uri: opts.redirectUri ?? client.redirectUri, code_verifier: a.verifier,
  });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  return { ...a, tokens: t.json, token: t };
}
