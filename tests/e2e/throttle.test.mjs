// Online guessing, attacked: the per-account progressive delay and its
// reset on success (LG-03), attempts counted before the password check so
// a concurrent burst gets no more guesses (LG-03, LG-04), device cookies
// that keep the owner's browser out of a stranger's backoff (LG-03),
// per-IP limits that forged X-Forwarded-For cannot dodge (LG-04, LG-05),
// the account page's password forms on the same throttle (PW-08, LG-09),
// oversized passwords refused before any hashing (DS-02), and client
// authentication limited per IP and per (client, IP), never per client
// (TK-08).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseRaw, rawRequest, startServer, stopClean, storeDump, storeSql } from './lib/server.mjs';
import { Client, addUser, auditRows, cliAt, csrfOf, GOOD_PW } from './lib/web.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WRONG = 'not-the-password-at-all';

test('LG-03: from the 5th failure sign-in gets 429 + Retry-After without checking the password; success resets', async () => {
  const srv = await startServer({ config: { login_delay_base: '2s' } });
  try {
    addUser(srv, 'g@example.com');
    const c = new Client(srv);
    for (let i = 1; i <= 4; i++) assert.equal((await c.login('g@example.com', WRONG)).status, 400, `failure ${i}`);
    const t = await c.login('g@example.com', WRONG);
    assert.equal(t.status, 400, 'the 5th failure itself is checked');
    // Now delayed: even the right password is not looked at.
    const held = await c.login('g@example.com', GOOD_PW);
    assert.equal(held.status, 429);
    assert.ok(Number(held.headers.get('retry-after')) >= 1);
    assert.match(held.text, /Too many failed sign-ins/);
    assert.equal(await c.signedIn(), false);
    // The same holds for an unknown account: no enumeration by throttle.
    for (let i = 0; i < 5; i++) await c.login('ghost@example.com', WRONG);
    assert.equal((await c.login('ghost@example.com', WRONG)).status, 429);
    await sleep(2200);
    assert.equal((await c.login('g@example.com', GOOD_PW)).status, 303);
    // Reset on success: the next failure is an ordinary one.
    assert.equal((await new Client(srv).login('g@example.com', WRONG)).status, 400);
    assert.equal((await new Client(srv).login('g@example.com', GOOD_PW)).status, 303);
    assert.ok(auditRows(srv).some((e) => e.event === 'ratelimit' && e.outcome === 'alert'));
  } finally { await stopClean(srv); }
});

test('LG-04/LG-05: the per-IP limit holds across accounts, and a forged X-Forwarded-For does not reset it', async () => {
  const srv = await startServer({ config: { login_ip_failures: 3, login_delay_free: 99 } });
  try {
    addUser(srv, 'ip@example.com');
    const c = new Client(srv);
    for (let i = 0; i < 3; i++) {
      const r = await c.login(`spray${i}@example.com`, WRONG, { headers: { 'x-forwarded-for': `198.51.100.${i}` } });
      assert.equal(r.status, 400);
    }
    const r = await c.submit('/login', '/login', { email: 'ip@example.com', password: GOOD_PW },
      { headers: { 'x-forwarded-for': '203.0.113.77' } });
    assert.equal(r.status, 429);
    const rows = auditRows(srv).filter((e) => e.event === 'login');
    assert.ok(rows.every((e) => e.ip === '127.0.0.1'), 'the untrusted header is never the client IP');
  } finally { await stopClean(srv); }
});

test('LG-05: behind a trusted proxy, the client is the right-most untrusted X-Forwarded-For hop', async () => {
  const srv = await startServer({ config: { login_ip_failures: 2, login_delay_free: 99, trusted_proxies: '127.0.0.1' } });
  try {
    addUser(srv, 'px@example.com');
    const via = (ip) => ({ headers: { 'x-forwarded-for': ip } });
    const c = new Client(srv);
    // Client A (spoofing a left-most entry) uses up its own budget...
    for (let i = 0; i < 2; i++) {
      assert.equal((await c.submit('/login', '/login', { email: 'px@example.com', password: WRONG }, via(`10.9.9.${i}, 192.0.2.10`))).status, 400);
    }
    assert.equal((await c.submit('/login', '/login', { email: 'px@example.com', password: GOOD_PW }, via('1.2.3.4, 192.0.2.10'))).status, 429);
    // ...while client B behind the same proxy is untouched.
    assert.equal((await c.submit('/login', '/login', { email: 'px@example.com', password: GOOD_PW }, via('192.0.2.20'))).status, 303);
    const ips = new Set(auditRows(srv).filter((e) => e.event === 'login').map((e) => e.ip));
    assert.deepEqual([...ips].sort(), ['192.0.2.10', '192.0.2.20']);
  } finally { await stopClean(srv); }
});

test('LG-05: two X-Forwarded-For headers are one list: the client cannot fall back to the proxy address', async () => {
  const srv = await startServer({ config: { login_delay_free: 99, trusted_proxies: '127.0.0.1' } });
  try {
    const c = new Client(srv);
    const page = await c.get('/login');
    const body = new URLSearchParams({ csrf: csrfOf(page.text, '/login'), email: 'two@example.com', password: WRONG }).toString();
    const req = `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nCookie: sid=${c.sid}\r\n` +
      `Sec-Fetch-Site: same-origin\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.4\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const r = await rawRequest(srv.port, req);
    assert.equal(parseRaw(r.data).status, 400);
    const e = auditRows(srv).filter((x) => x.event === 'login').at(-1);
    assert.equal(e.ip, '198.51.100.4');
  } finally { await stopClean(srv); }
});

test('PW-08/LG-09: wrong current passwords on the account page count toward the same throttle', async () => {
  const srv = await startServer({ config: { login_delay_free: 2, login_delay_base: '1h' } });
  try {
    addUser(srv, 'acct@example.com');
    const c = new Client(srv);
    assert.equal((await c.login('acct@example.com')).status, 303);
    // login_delay_free = 2: the 3rd failure starts the account's delay...
    for (let i = 0; i < 3; i++) {
      const r = await c.submit('/account', '/account/password', { current: WRONG, new: 'lantern-orbit-saffron-glacier-7' });
      assert.equal(r.status, 400);
    }
    // ...so the sign-in form is held for any other browser.
    assert.equal((await new Client(srv).login('acct@example.com')).status, 429);
    // This browser has its device cookie (LG-03): it is held only after
    // device_cookie_failures (5) wrong passwords.
    for (let i = 0; i < 2; i++) {
      const r = await c.submit('/account', '/account/password', { current: WRONG, new: 'lantern-orbit-saffron-glacier-7' });
      assert.equal(r.status, 400);
    }
    const r = await c.submit('/account', '/account/password', { current: GOOD_PW, new: 'lantern-orbit-saffron-glacier-7' });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  } finally { await stopClean(srv); }
});

test('DS-02: a password over 1024 bytes is refused at once, before hashing, even with the pool saturated', async () => {
  const srv = await startServer({ config: { pwhash_concurrency: 1, pwhash_queue: 1, login_delay_free: 99, login_ip_failures: 100000 } });
  try {
    addUser(srv, 'big@example.com');
    const c = new Client(srv);
    const page = await c.get('/login');
    const csrf = csrfOf(page.text, '/login');
    const huge = 'x'.repeat(1025);
    const t = Date.now();
    const r = await c.post('/login', { csrf, email: 'big@example.com', password: huge });
    assert.equal(r.status, 400);
    assert.match(r.text, /Invalid email or password/);
    assert.ok(Date.now() - t < 5000);
    // A password of exactly 1024 bytes is checked normally.
    const ok = await c.post('/login', { csrf, email: 'big@example.com', password: 'y'.repeat(1024) });
    assert.equal(ok.status, 400);
  } finally { await stopClean(srv); }
});

// ---- TK-08: failed client authentication, per IP and per (client, IP) ----

const basicAuth = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

function addService(srv, name = 'Victim') {
  const r = cliAt(srv, ['client', 'add', '--json', '--name', name, '--redirect-uri', 'https://v.example/cb',
    '--grant', 'client_credentials', '--scope', 'api.read']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// POST to a client-authenticated endpoint as id:secret from ip (through
// the trusted proxy 127.0.0.1).
async function clientPost(srv, path, id, secret, ip, form = {}) {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(id, secret), 'x-forwarded-for': ip },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
}

const grant = (srv, c, ip, secret = c.client_secret) =>
  clientPost(srv, '/token', c.client_id, secret, ip, { grant_type: 'client_credentials' });

// Three endpoints, each with the real secret from ip: all must be 200.
async function realClientWorks(srv, c, ip) {
  const t = await grant(srv, c, ip);
  assert.equal(t.status, 200, `/token: ${JSON.stringify(t.body)}`);
  const i = await clientPost(srv, '/introspect', c.client_id, c.client_secret, ip, { token: t.body.access_token });
  assert.equal(i.status, 200, `/introspect: ${JSON.stringify(i.body)}`);
  assert.equal(i.body.active, true);
  const v = await clientPost(srv, '/revoke', c.client_id, c.client_secret, ip, { token: t.body.access_token });
  assert.equal(v.status, 200, `/revoke: ${JSON.stringify(v.body)}`);
}

const TK08 = { trusted_proxies: '127.0.0.1', client_auth_pair_failures: 3, client_auth_ip_failures: 6 };

test('TK-08: a stranger\'s bad secrets for a public client_id never lock the client out at /token, /introspect, /revoke from another IP', async () => {
  const srv = await startServer({ config: TK08 });
  try {
    const c = addService(srv);
    const attacker = '203.0.113.66';
    const seen = [];
    for (let i = 0; i < 12; i++) seen.push((await grant(srv, c, attacker, `pcs_wrong${i}`)).status);
    // The real application, elsewhere, is untouched on every endpoint.
    await realClientWorks(srv, c, '198.51.100.7');
    await realClientWorks(srv, c, '198.51.100.8');
    // Three failures per (client, IP), then that pair is refused.
    assert.deepEqual(seen.slice(0, 3), [401, 401, 401]);
    assert.ok(seen.slice(3).every((s) => s === 429), JSON.stringify(seen));
    // A 429 says when to come back and never looked at the secret.
    const held = await grant(srv, c, attacker);
    assert.equal(held.status, 429);
    assert.ok(Number(held.headers.get('retry-after')) >= 1);
    assert.equal(held.body.access_token, undefined);
  } finally { await stopClean(srv); }
});

test('TK-08: the attacker IP itself gets 429 after its per-IP limit, whatever client_id it names', async () => {
  const srv = await startServer({ config: TK08 });
  try {
    const victim = addService(srv, 'Victim');
    const own = addService(srv, 'Own');
    const attacker = '203.0.113.70';
    // Six failures over six different client_ids (known and unknown):
    // no pair reaches its limit, the IP does.
    const ids = [victim.client_id, own.client_id, 'pcc_AAAAAAAAAAAAAAAAAAAAAA', 'pcc_BBBBBBBBBBBBBBBBBBBBBB',
      'pcc_CCCCCCCCCCCCCCCCCCCCCC', 'pcc_DDDDDDDDDDDDDDDDDDDDDD'];
    for (const id of ids) assert.equal((await clientPost(srv, '/token', id, 'pcs_nope', attacker, { grant_type: 'client_credentials' })).status, 401);
    // Now even a correct secret from that IP is refused...
    const r = await grant(srv, own, attacker);
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal(r.body.error, 'invalid_client');
    // ...while both clients work from anywhere else.
    await realClientWorks(srv, victim, '198.51.100.9');
    assert.equal((await grant(srv, own, '198.51.100.10')).status, 200);
  } finally { await stopClean(srv); }
});

test('TK-08: a success clears that (client, IP) pair\'s failures, so an app that mistyped its secret is not held', async () => {
  const srv = await startServer({ config: { ...TK08, client_auth_ip_failures: 100 } });
  try {
    const c = addService(srv);
    const ip = '192.0.2.44';
    // Limit 3 per pair: two failures, a success, twice more. Without the
    // clear the pair would reach 3 failures in the second round.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) assert.equal((await grant(srv, c, ip, 'pcs_typo')).status, 401, `round ${round} failure ${i}`);
      assert.equal((await grant(srv, c, ip)).status, 200, `round ${round} success`);
    }
  } finally { await stopClean(srv); }
});

test('TK-08: under concurrency, a parallel burst of bad secrets never fails the real client\'s parallel grants', async () => {
  const srv = await startServer({ config: { trusted_proxies: '127.0.0.1', client_auth_pair_failures: 5, client_auth_ip_failures: 10 } });
  try {
    const c = addService(srv);
    const bad = Array.from({ length: 40 }, (_, i) => grant(srv, c, `203.0.113.${1 + (i % 2)}`, `pcs_bad${i}`));
    const good = Array.from({ length: 10 }, (_, i) => grant(srv, c, `198.51.100.${20 + (i % 3)}`));
    const [b, g] = await Promise.all([Promise.all(bad), Promise.all(good)]);
    assert.deepEqual(g.map((x) => x.status), Array(10).fill(200));
    assert.ok(b.every((x) => x.status === 401 || x.status === 429), JSON.stringify(b.map((x) => x.status)));
    // Afterwards both attacker addresses are held, the real client is not.
    for (const ip of ['203.0.113.1', '203.0.113.2']) assert.equal((await grant(srv, c, ip)).status, 429, ip);
    await realClientWorks(srv, c, '198.51.100.30');
  } finally { await stopClean(srv); }
});

// ---- LG-03/LG-04: an attempt is counted before its password is checked ----

// n browsers, each with its own sign-in form (pre-session and token),
// ready to post at once.
async function readyForms(srv, n, ipOf = () => undefined) {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const c = new Client(srv);
    const headers = ipOf(i) ? { 'x-forwarded-for': ipOf(i) } : {};
    const page = await c.get('/login', { headers });
    const csrf = csrfOf(page.text, '/login');
    assert.ok(csrf, `form ${i}`);
    return { c, csrf, headers };
  }));
}

const fire = (forms, emailOf, pwOf) => Promise.all(forms.map((f, i) =>
  f.c.post('/login', { csrf: f.csrf, email: emailOf(i), password: pwOf(i) }, { headers: f.headers })));

// Cheap hashes and a patient queue: every attempt that is let through
// must be checked, not dropped as busy.
const FAST = { pwhash_memory: '19m', pwhash_iterations: 2, pwhash_queue_timeout: '60s' };

const tally = (rs) => rs.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});

// How many attempts reached the password check, by the audit trail.
const checked = (srv) => auditRows(srv, 1000).filter((e) => e.event === 'login' &&
  (e.outcome === 'success' || e.details?.reason === 'bad_password' || e.detail?.reason === 'bad_password')).length;

test('LG-03: 40 concurrent wrong passwords for one account reach the password check only login_delay_free + 1 times', async () => {
  const srv = await startServer({ config: { ...FAST, login_delay_base: '1h', login_ip_failures: 1000 } });
  try {
    addUser(srv, 'burst@example.com');
    const forms = await readyForms(srv, 40);
    const rs = await fire(forms, () => 'burst@example.com', (i) => `${WRONG}-${i}`);
    const t = tally(rs);
    console.log(`# LG-03 burst of 40, one account: ${JSON.stringify(t)}; checked ${checked(srv)}`);
    assert.deepEqual(t, { 400: 5, 429: 35 });
    assert.equal(checked(srv), 5);
    // The account is now delayed, also for its owner without a device.
    assert.equal((await new Client(srv).login('burst@example.com')).status, 429);
  } finally { await stopClean(srv); }
});

test('LG-03: 40 concurrent attempts with the right password among them: no more checks than the schedule, at most one sign-in', async () => {
  const srv = await startServer({ config: { ...FAST, login_delay_base: '1h', login_ip_failures: 1000 } });
  try {
    addUser(srv, 'mixed@example.com');
    const forms = await readyForms(srv, 40);
    const rs = await fire(forms, () => 'mixed@example.com', (i) => (i === 2 ? GOOD_PW : `${WRONG}-${i}`));
    const t = tally(rs);
    console.log(`# LG-03 burst of 40 with the right password at #3: ${JSON.stringify(t)}; checked ${checked(srv)}`);
    assert.ok((t[303] ?? 0) <= 1);
    // A success resets the counter, so at most two rounds of the free
    // failures get through: 5 before it, 5 after.
    assert.ok(checked(srv) <= 10, `checked ${checked(srv)}`);
    assert.ok((t[429] ?? 0) >= 30, JSON.stringify(t));
  } finally { await stopClean(srv); }
});

test('LG-04: 40 concurrent sign-ins over 40 accounts from one IP reach the password check only login_ip_failures times', async () => {
  const srv = await startServer({ config: { ...FAST, login_ip_failures: 5, login_delay_free: 99 } });
  try {
    const forms = await readyForms(srv, 40);
    const rs = await fire(forms, (i) => `spray${i}@example.com`, () => WRONG);
    const t = tally(rs);
    console.log(`# LG-04 burst of 40 accounts from one IP: ${JSON.stringify(t)}`);
    assert.deepEqual(t, { 400: 5, 429: 35 });
  } finally { await stopClean(srv); }
});

// ---- LG-03: device cookies ----

const NEW_PW = 'lantern-orbit-saffron-glacier-7';
const DEV = { ...FAST, trusted_proxies: '127.0.0.1', login_delay_base: '1h' };
const from = (ip) => ({ headers: { 'x-forwarded-for': ip } });
const STRANGER = '203.0.113.5';
const HOME = '192.0.2.50';

// A browser that signed in to email from HOME once (so it holds a device
// cookie) and whose session then ended.
async function knownBrowser(srv, email, password = GOOD_PW) {
  const c = new Client(srv);
  const r = await c.login(email, password, from(HOME));
  assert.equal(r.status, 303);
  assert.ok(c.jar.get('did'), 'a device cookie was set');
  c.sid = undefined;
  return c;
}

// n wrong passwords for email from the stranger's address.
async function stranger(srv, email, n) {
  const statuses = [];
  for (let i = 0; i < n; i++) statuses.push((await new Client(srv).login(email, `${WRONG}-${i}`, from(STRANGER))).status);
  return statuses;
}

test('LG-03: a stranger\'s failures hold the account for others, never the owner\'s known browser (device cookie)', async () => {
  const srv = await startServer({ config: DEV });
  try {
    addUser(srv, 'victim@example.com');
    const c = new Client(srv);
    const first = await c.login('victim@example.com', GOOD_PW, from(HOME));
    assert.equal(first.status, 303);
    // On loopback http like the session cookie: HttpOnly, SameSite=Lax,
    // no Secure (and so no __Host- prefix); 256 bits; a lifetime.
    const set = first.headers.getSetCookie().find((h) => h.startsWith('did='));
    assert.match(set, /^did=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=7776000; HttpOnly; SameSite=Lax$/);
    c.sid = undefined;
    const st = await stranger(srv, 'victim@example.com', 10);
    assert.deepEqual(st, [400, 400, 400, 400, 400, 429, 429, 429, 429, 429]);
    // The owner's browser, from another address: signed in at once.
    const r = await c.login('victim@example.com', GOOD_PW, from('192.0.2.51'));
    assert.equal(r.status, 303);
    assert.equal(await c.signedIn(), true);
    // Its success reset the account. The stranger holds it again, and a
    // browser without the device cookie, even with the right password and
    // from the owner's address, waits like anyone.
    await stranger(srv, 'victim@example.com', 6);
    const held = await new Client(srv).login('victim@example.com', GOOD_PW, from(HOME));
    assert.equal(held.status, 429);
    assert.ok(Number(held.headers.get('retry-after')) >= 1);
    c.sid = undefined;
    assert.equal((await c.login('victim@example.com', GOOD_PW, from(HOME))).status, 303, 'the known browser again');
    // The store keeps only the hash of a device cookie.
    const h = createHash('sha256').update(Buffer.from(c.jar.get('did'), 'base64url')).digest('hex');
    assert.equal(storeSql(srv, `SELECT count(*) FROM device_cookies WHERE id_hash = '${h}'`), '1');
    assert.ok(!storeDump(srv).includes(c.jar.get('did')), 'the cookie value is not stored');
  } finally { await stopClean(srv); }
});

test('LG-03: a device cookie of user X does not help for user Y', async () => {
  const srv = await startServer({ config: DEV });
  try {
    addUser(srv, 'x@example.com');
    addUser(srv, 'y@example.com');
    const c = await knownBrowser(srv, 'x@example.com');
    await stranger(srv, 'y@example.com', 6);
    const r = await c.login('y@example.com', GOOD_PW, from(HOME));
    assert.equal(r.status, 429);
    // The browser still has X's cookie, which still works for X.
    await stranger(srv, 'x@example.com', 6);
    assert.equal((await c.login('x@example.com', GOOD_PW, from(HOME))).status, 303);
  } finally { await stopClean(srv); }
});

test('LG-03: after device_cookie_failures wrong passwords a device cookie no longer skips the delay', async () => {
  const srv = await startServer({ config: { ...DEV, device_cookie_failures: 3 } });
  try {
    addUser(srv, 'dv@example.com');
    const c = await knownBrowser(srv, 'dv@example.com');
    await stranger(srv, 'dv@example.com', 6);
    // Three wrong passwords through the device cookie are checked...
    for (let i = 0; i < 3; i++) assert.equal((await c.login('dv@example.com', WRONG, from(HOME))).status, 400, `device failure ${i + 1}`);
    // ...then the cookie no longer helps, even with the right password.
    const r = await c.login('dv@example.com', GOOD_PW, from(HOME));
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  } finally { await stopClean(srv); }
});

test('LG-03: the lock at login_lock_after holds even for a device cookie', async () => {
  const srv = await startServer({ config: { ...DEV, login_delay_free: 99, login_lock_after: 6 } });
  try {
    addUser(srv, 'lk@example.com');
    const c = await knownBrowser(srv, 'lk@example.com');
    const st = await stranger(srv, 'lk@example.com', 7);
    assert.deepEqual(st, [400, 400, 400, 400, 400, 400, 429]);
    const r = await c.login('lk@example.com', GOOD_PW, from(HOME));
    assert.equal(r.status, 429);
    assert.ok(auditRows(srv).some((e) => e.event === 'ratelimit' && (e.details?.locked ?? e.detail?.locked) === true));
  } finally { await stopClean(srv); }
});

test('LG-03: "sign out all other sessions" revokes the other browsers\' device cookies, not this one\'s', async () => {
  const srv = await startServer({ config: DEV });
  try {
    addUser(srv, 'so@example.com');
    const other = await knownBrowser(srv, 'so@example.com');
    const me = new Client(srv);
    assert.equal((await me.login('so@example.com', GOOD_PW, from(HOME))).status, 303);
    const r = await me.submit('/account', '/account/sessions', { session: 'others' });
    assert.equal(r.status, 303);
    me.sid = undefined;
    await stranger(srv, 'so@example.com', 6);
    assert.equal((await other.login('so@example.com', GOOD_PW, from(HOME))).status, 429, 'the other browser\'s cookie is revoked');
    assert.equal((await me.login('so@example.com', GOOD_PW, from(HOME))).status, 303, 'this browser keeps its own');
  } finally { await stopClean(srv); }
});

test('LG-03: a completed password reset revokes every device cookie of the account', async () => {
  const srv = await startServer({ config: DEV });
  try {
    addUser(srv, 'pr@example.com');
    const c = await knownBrowser(srv, 'pr@example.com');
    // The reset, through the mail.
    const outbox = () => {
      const dir = join(srv.dataDir, 'outbox');
      return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => readFileSync(join(dir, f), 'utf8')) : [];
    };
    await new Client(srv).submit('/forgot', '/forgot', { email: 'pr@example.com' }, from(HOME));
    let link;
    for (let i = 0; i < 100 && !link; i++) {
      const m = outbox().map((t) => t.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))).match(/\/reset\?token=([A-Za-z0-9_-]{43})/)).find(Boolean);
      if (m) link = m[0]; else await sleep(50);
    }
    assert.ok(link, 'reset mail');
    const b = new Client(srv);
    assert.equal((await b.get(link)).status, 303);
    const form = await b.get('/reset');
    const done = await b.post('/reset', { csrf: csrfOf(form.text, '/reset'), password: NEW_PW });
    assert.equal(done.status, 200);
    await stranger(srv, 'pr@example.com', 6);
    assert.equal((await c.login('pr@example.com', NEW_PW, from(HOME))).status, 429, 'the old device cookie no longer helps');
  } finally { await stopClean(srv); }
});

test('LG-03: the CLI\'s `user sign-out` and `user set-password` revoke every device cookie of the account', async () => {
  const srv = await startServer({ config: DEV });
  try {
    addUser(srv, 'cli-out@example.com');
    addUser(srv, 'cli-pw@example.com');
    const out = await knownBrowser(srv, 'cli-out@example.com');
    const pw = await knownBrowser(srv, 'cli-pw@example.com');
    const id = (email) => JSON.parse(cliAt(srv, ['user', 'show', '--email', email, '--json']).stdout).id;
    let r = cliAt(srv, ['user', 'sign-out', '--id', id('cli-out@example.com')]);
    assert.equal(r.code, 0, r.stderr);
    r = cliAt(srv, ['user', 'set-password', '--id', id('cli-pw@example.com'), '--password-stdin'], { input: `${NEW_PW}\n` });
    assert.equal(r.code, 0, r.stderr);
    await stranger(srv, 'cli-out@example.com', 6);
    await stranger(srv, 'cli-pw@example.com', 6);
    assert.equal((await out.login('cli-out@example.com', GOOD_PW, from(HOME))).status, 429, 'sign-out: the old device cookie no longer helps');
    assert.equal((await pw.login('cli-pw@example.com', NEW_PW, from(HOME))).status, 429, 'set-password: the old device cookie no longer helps');
  } finally { await stopClean(srv); }
});
