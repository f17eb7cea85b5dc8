// A small cookie-jar HTTP client that behaves like a browser towards our
// pages (no redirects followed, so tests see every 303), plus helpers to
// create users and read CSRF tokens out of forms.
import assert from 'node:assert/strict';
import { run } from './server.mjs';

export const GOOD_PW = 'Tq7!vR2#mZp9$Lw4xK-canary';
export const OTHER_PW = 'violet-anchor-quartz-meadow-91';

// Creates a user with a password through the CLI against the server's
// data dir. Returns the user's JSON (with its id).
export function addUser(srv, email, password = GOOD_PW, extra = ['--verified']) {
  const r = run(['user', 'add', '--email', email, '--password-stdin', '--json',
    '--config', srv.configFile, '--data-dir', srv.dataDir, ...extra], { input: password + '\n' });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

export function cliAt(srv, args, opts) {
  return run([...args, '--config', srv.configFile, '--data-dir', srv.dataDir], opts);
}

// The value of the hidden csrf field of the form posting to action.
export function csrfOf(html, action) {
  const forms = html.split('<form');
  for (const f of forms) {
    if (action && !f.includes(`action="${action}"`)) continue;
    const m = f.match(/name="csrf" value="([^"]+)"/);
    if (m) return m[1];
  }
  return null;
}

export class Client {
  constructor(srv, { origin, name = 'sid' } = {}) {
    this.srv = srv;
    this.base = srv.url;
    this.origin = origin ?? srv.issuer;
    this.jar = new Map();
    this.cookieName = name;
  }

  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get sid() { return this.jar.get(this.cookieName); }
  set sid(v) { if (v === undefined) this.jar.delete(this.cookieName); else this.jar.set(this.cookieName, v); }

  absorb(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const k = pair.slice(0, i).trim();
      const v = pair.slice(i + 1).trim();
      if (v === '' || /max-age=0/i.test(c)) this.jar.delete(k); else this.jar.set(k, v);
    }
  }

  async request(method, path, { form, headers = {}, site = 'same-origin' } = {}) {
    const h = { accept: 'text/html', ...headers };
    if (this.jar.size) h.cookie = this.cookieHeader();
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
      if (site !== null && h['sec-fetch-site'] === undefined) h['sec-fetch-site'] = site;
      if (h.origin === undefined && site !== null) h.origin = this.origin;
      for (const k of Object.keys(h)) if (h[k] === null) delete h[k];
    }
    const res = await fetch(this.base + path, { method, headers: h, body, redirect: 'manual' });
    this.absorb(res);
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
  }

  get(path, opts) { return this.request('GET', path, opts); }
  post(path, form, opts = {}) { return this.request('POST', path, { ...opts, form }); }

  // GET the page holding the form, then POST it with its token.
  async submit(pagePath, action, fields, opts) {
    const page = await this.get(pagePath);
    const csrf = csrfOf(page.text, action);
    assert.ok(csrf, `no csrf token for ${action} on ${pagePath} (status ${page.status})`);
    return this.post(action, { csrf, ...fields }, opts);
  }

  login(email, password = GOOD_PW, opts) {
    return this.submit('/login', '/login', { email, password }, opts);
  }

  async signedIn() {
    const r = await this.get('/account');
    return r.status === 200;
  }
}

// Audit rows as JSON objects (portcullis audit tail --json).
export function auditRows(srv, n = 200) {
  const r = cliAt(srv, ['audit', 'tail', '-n', String(n), '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
