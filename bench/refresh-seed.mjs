// Initial refresh tokens for the rotation run, each from its own real
// authorization-code flow (a fresh cookie jar, so a fresh session and a
// fresh grant: chains never share a token family).
//
//   node bench/refresh-seed.mjs portcullis    ISSUER CLIENT_ID SECRET N OUT EMAIL[,EMAIL...] PASSWORD
//   node bench/refresh-seed.mjs oidc-provider ISSUER CLIENT_ID SECRET N OUT
//   BENCH_DPOP_KEY=FILE node bench/refresh-seed.mjs portcullis ... (DPoP)
//
// Writes N refresh tokens to OUT, one per line, and prints one JSON line:
//   {"ok":true,"n":N,"ms":..}  (or {"ok":false,"error":..} and exit 1).
//
// Both flows: GET /authorize (or /auth) with response_type=code, PKCE S256,
// state, scope "openid offline_access api.read", redirect URI
// https://127.0.0.1/cb; follow the redirects by hand with a cookie jar until
// one points at the redirect URI; then POST /token grant_type=
// authorization_code with client_secret_basic.
//  - portcullis: the sign-in form (/login: its csrf hidden field, email,
//    password, Sec-Fetch-Site: same-origin), then the consent form if one is
//    shown (the client is registered --first-party, so normally none).
//    EMAIL: the flows use the listed accounts in turn.
//  - oidc-provider: its devInteractions pages: POST prompt=login with a
//    login name (any is accepted; one per flow), then prompt=consent
//    (offline_access needs prompt=consent there).
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dpopKey, dpopProof } from './dpop-proof.mjs';

// BENCH_DPOP_KEY=FILE: a public client (no client authentication) whose
// code exchange carries a DPoP proof by the key in FILE, so its grants
// (and refresh tokens) are bound to that key (bench/dpop.sh).
const dpop = process.env.BENCH_DPOP_KEY ? dpopKey(process.env.BENCH_DPOP_KEY) : null;

const [kind, issuer, clientId, clientSecret, nArg, out, emailsArg, password] =
  process.argv.slice(2);
const N = Number(nArg);
if (!['portcullis', 'oidc-provider'].includes(kind) || !out || !(N >= 1) ||
    (kind === 'portcullis' && !password)) {
  console.error('usage: see the head of refresh-seed.mjs');
  process.exit(2);
}
const REDIRECT = 'https://127.0.0.1/cb';
const SCOPE = 'openid offline_access api.read';
const b64u = (b) => Buffer.from(b).toString('base64url');
const basic = 'Basic ' + Buffer.from(
  `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');

class Jar {
  constructor() { this.c = new Map(); }
  take(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [nv] = sc.split(';');
      const i = nv.indexOf('=');
      const name = nv.slice(0, i).trim();
      const value = nv.slice(i + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(sc) || value === '') this.c.delete(name);
      else this.c.set(name, value);
    }
  }
  header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; '); }
}

// One request with the jar; never follows redirects.
async function req(jar, url, { method = 'GET', form, headers = {} } = {}) {
  const h = { cookie: jar.header(), ...headers };
  if (form) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    h['sec-fetch-site'] = 'same-origin';
    h.origin = issuer;
  }
  const res = await fetch(url, {
    method, headers: h, redirect: 'manual',
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  jar.take(res);
  return { status: res.status, location: res.headers.get('location'), body: await res.text(), url };
}

const abs = (loc, base) => new URL(loc, base).toString();
const unescapeHtml = (s) => s.replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'")
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// The forms of an HTML page: [{action, method, fields: {name: value},
// buttons: [{name, value}]}].
function forms(html, base) {
  const found = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attr = (s, a) => {
      const r = s.match(new RegExp(`\\b${a}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
      return r ? unescapeHtml(r[2] ?? r[3] ?? r[4]) : undefined;
    };
    const fields = {};
    const buttons = [];
    for (const i of m[2].matchAll(/<(input|button)\b([^>]*)>/gi)) {
      const name = attr(i[2], 'name');
      const type = (attr(i[2], 'type') || (i[1] === 'button' ? 'submit' : 'text')).toLowerCase();
      if (!name) continue;
      if (type === 'submit') buttons.push({ name, value: attr(i[2], 'value') ?? '' });
      else fields[name] = attr(i[2], 'value') ?? '';
    }
    found.push({ action: abs(attr(m[1], 'action') ?? base, base), method: (attr(m[1], 'method') || 'GET').toUpperCase(), fields, buttons });
  }
  return found;
}

async function flow(i) {
  const jar = new Jar();
  const verifier = b64u(crypto.randomBytes(32));
  const challenge = b64u(crypto.createHash('sha256').update(verifier).digest());
  const state = b64u(crypto.randomBytes(12));
  const q = new URLSearchParams({
    client_id: clientId, response_type: 'code', redirect_uri: REDIRECT, scope: SCOPE,
    state, code_challenge: challenge, code_challenge_method: 'S256', nonce: b64u(crypto.randomBytes(12)),
  });
  if (kind === 'oidc-provider') q.set('prompt', 'consent');
  let r = await req(jar, `${issuer}/${kind === 'oidc-provider' ? 'auth' : 'authorize'}?${q}`);
  const emails = (emailsArg || '').split(',').filter(Boolean);
  let code = null;
  for (let step = 0; step < 20 && code === null; step++) {
    if (r.status >= 300 && r.status < 400 && r.location) {
      const next = abs(r.location, r.url);
      if (next.startsWith(REDIRECT)) {
        const u = new URL(next);
        if (u.searchParams.get('error')) throw new Error(`authorization error: ${u.search}`);
        if (u.searchParams.get('state') !== state) throw new Error('state mismatch');
        code = u.searchParams.get('code');
        break;
      }
      r = await req(jar, next);
      continue;
    }
    if (r.status !== 200) throw new Error(`${r.url}: status ${r.status}: ${r.body.slice(0, 300)}`);
    const fs = forms(r.body, r.url).filter((f) => f.method === 'POST');
    if (kind === 'oidc-provider') {
      const f = fs[0];
      if (!f) throw new Error(`${r.url}: no form`);
      if ('login' in f.fields || 'password' in f.fields || /name="login"/.test(r.body)) {
        r = await req(jar, f.action, { method: 'POST', form: { prompt: 'login', login: `user${i}`, password: 'bench' } });
      } else {
        r = await req(jar, f.action, { method: 'POST', form: { prompt: 'consent', ...f.fields } });
      }
      continue;
    }
    // portcullis: the sign-in form, or the consent form.
    const login = fs.find((f) => 'password' in f.fields);
    if (login) {
      r = await req(jar, login.action, {
        method: 'POST',
        form: { ...login.fields, email: emails[i % emails.length], password },
      });
      continue;
    }
    const consent = fs.find((f) => f.buttons.some((b) => /allow|approve|accept|yes/i.test(`${b.name} ${b.value}`)) ||
      Object.keys(f.fields).some((k) => /csrf/i.test(k)));
    if (!consent) throw new Error(`${r.url}: a page without a form we know: ${r.body.slice(0, 300)}`);
    const btn = consent.buttons.find((b) => /allow|approve|accept|yes/i.test(`${b.name} ${b.value}`));
    r = await req(jar, consent.action, { method: 'POST', form: { ...consent.fields, ...(btn ? { [btn.name]: btn.value } : {}) } });
  }
  if (!code) throw new Error('no code after 20 steps');
  const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (dpop || clientSecret === '-') {
    // A public client (SECRET '-'): it names itself.
    form.client_id = clientId;
  }
  if (dpop) {
    headers.dpop = dpopProof(dpop, 'POST', `${issuer}/token`);
  } else if (clientSecret !== '-') {
    headers.authorization = basic;
  }
  const t = await fetch(`${issuer}/token`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  const j = await t.json().catch(() => ({}));
  if (t.status !== 200 || !j.refresh_token) throw new Error(`POST /token (code): ${t.status} ${JSON.stringify(j)}`);
  return j.refresh_token;
}

const t0 = Date.now();
try {
  const tokens = [];
  for (let i = 0; i < N; i++) tokens.push(await flow(i));
  writeFileSync(out, tokens.join('\n') + '\n', { mode: 0o600 });
  console.log(JSON.stringify({ ok: true, n: tokens.length, ms: Date.now() - t0 }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
  process.exit(1);
}
