// The sign-in with a second factor (issue 16; SECURITY.md MF-03, MF-04,
// MF-08, RS-09, LG-09, SS-01, PW-03), attacked through the pages: after the
// password a user with a factor holds only a pending step (a new id, not
// signed in: every account page and /authorize refuse it), the step is bound
// to its own browser and expires, completing it issues a new id again; the
// per-account failure counter counts a burst before the check, backs off
// from the 5th failure, is not reset by the password, suspends TOTP past 20
// and mails the user; a password reset keeps the factors and the next
// sign-in still asks for one. TOTP codes come from npm otpauth (an
// independent implementation) at the real time: the server clock is not
// controlled. The TOTP credential is made through the account pages
// (/account/mfa/totp), recovery codes through /account/mfa/recovery.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as OTPAuth from 'otpauth';
import { freePort, startServer, stopClean, storeSql } from './lib/server.mjs';
import { chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, fillForm, submit, text } from './lib/browser.mjs';
import { Client, addUser, auditRows, csrfOf, GOOD_PW } from './lib/web.mjs';
import { addClient, authorizeParams, pkce } from './lib/oauth.mjs';

const FAST = { pwhash_memory: '19m', pwhash_iterations: '2' };
const SHORT_PW = 'amber-owl7'; // 10 characters: only with a second factor (PW-03)
const RESET_PW = 'lantern-orbit-saffron-glacier-7';

let srv;
before(async () => {
  srv = await startServer({ config: { ...FAST } });
});
after(async () => { await stopClean(srv); });

function mails(s) {
  const dir = join(s.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml') && !f.startsWith('.')).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
}

async function mailed(s, to, re, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const m = mails(s).filter((x) => x.includes(`To: ${to}`) && re.test(x));
    if (m.length || Date.now() > end) return m;
    await sleep(50);
  }
}

// Waits until the current 30 s step has at least 5 s left.
async function awayFromStepEdge() {
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < 5) await sleep(left * 1000 + 300);
}

const step = () => Math.floor(Date.now() / 30_000);

function lastStep(s, userId) {
  return Number(storeSql(s, `SELECT last_step FROM totp_credentials WHERE user_id = '${userId}'`));
}

// A code the server has not accepted yet for u (MF-01: only steps after
// the last accepted one): the current step's, waiting for the next step
// when the current one was spent.
async function freshCode(s, u) {
  for (;;) {
    await awayFromStepEdge();
    if (step() > lastStep(s, u.id)) return u.totp.generate({ timestamp: Date.now() });
    await sleep((30 - ((Date.now() / 1000) % 30)) * 1000 + 300);
  }
}

// A 6-digit code that is not valid now (neither this step nor a neighbour).
function wrongCode(u) {
  const near = new Set([-1, 0, 1].map((k) => u.totp.generate({ timestamp: Date.now() + k * 30_000 })));
  for (let i = 0; ; i++) {
    const c = String((123457 + i * 7919) % 1_000_000).padStart(6, '0');
    if (!near.has(c)) return c;
  }
}

// A user with an active TOTP credential, made through the account pages.
// The activation spends the PREVIOUS step's code (MF-02 accepts t-1), so
// that the current step's code is still good for the first sign-in.
// Returns { id, email, totp, c }: c is the browser that enrolled (signed
// in with the password only, amr "pwd").
async function totpUser(s, email) {
  const user = addUser(s, email);
  const c = new Client(s);
  assert.equal((await c.login(email)).status, 303);
  const page = await c.get('/account/mfa/totp');
  assert.equal(page.status, 200, page.text.slice(0, 400));
  const secret = page.text.match(/<code id="secret">([A-Z2-7]+)<\/code>/)?.[1];
  assert.ok(secret, 'the TOTP secret is on the enrolment page');
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  await awayFromStepEdge();
  const on = await c.post('/account/mfa/totp', { action: 'activate', code: totp.generate({ timestamp: Date.now() - 30_000 }), csrf: csrfOf(page.text, '/account/mfa/totp') });
  assert.equal(on.status, 303, on.text.slice(0, 400));
  return { id: user.id, email, totp, c };
}

// Password sign-in of a user with a factor: the pending step.
async function pending(s, u, password = GOOD_PW) {
  const c = new Client(s);
  await c.get('/login');
  const pre = c.sid;
  const r = await c.login(u.email, password);
  assert.equal(r.status, 303, r.text.slice(0, 400));
  assert.equal(r.location, '/login/mfa');
  assert.ok(c.sid && c.sid !== pre, 'the pending step has a new id (SS-01)');
  const page = await c.get('/login/mfa');
  assert.equal(page.status, 200, page.text.slice(0, 400));
  const csrf = csrfOf(page.text, '/login/mfa');
  assert.ok(csrf, 'the factor form carries a CSRF token');
  assert.match(page.text, /name="code"/);
  return { c, csrf, pre };
}

test('MF-04: after the password, a user with a factor holds only the factor step; no page that needs a signed-in session accepts it', async () => {
  const u = await totpUser(srv, 'mf04-alice@example.com');
  const { c, csrf, pre } = await pending(srv, u);
  // The pre-session's id is worthless.
  const old = new Client(srv);
  old.sid = pre;
  assert.equal((await old.get('/account')).status, 303);
  // The pending session is not signed in anywhere.
  for (const path of ['/account', '/account/mfa', '/account/keys', '/account/mfa/totp', '/account/mfa/recovery', '/account/passkeys']) {
    const r = await c.get(path);
    assert.equal(r.status, 303, `${path} answered ${r.status}`);
    assert.match(r.location ?? '', /^\/login/, path);
  }
  assert.equal((await c.post('/account/password', { csrf, current: GOOD_PW, new: RESET_PW })).status, 401);
  assert.equal((await c.post('/account/sessions', { csrf, session: 'others' })).status, 401);
  assert.equal((await c.post('/account/keys', { csrf, action: 'create' })).status, 401);
  // /authorize: the pending step is no sign-in; the consent form refuses it.
  const client = addClient(srv, { name: 'MF04 RP' });
  const q = new URLSearchParams(authorizeParams(client, { challenge: pkce().challenge, prompt: 'none' }));
  const none = await c.get('/authorize?' + q, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(none.status, 303);
  assert.match(none.location, /error=login_required/);
  const q2 = new URLSearchParams(authorizeParams(client, { challenge: pkce().challenge }));
  const az = await c.get('/authorize?' + q2, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(az.status, 303);
  assert.match(az.location, /^\/login\?req=/);
  const req = az.location.slice('/login?req='.length);
  assert.equal((await c.post('/authorize/consent', { csrf, req, decision: 'allow' })).status, 403);
  // No "login success" row for the password alone.
  assert.ok(!auditRows(srv).some((e) => e.event === 'login' && e.outcome === 'success' && e.actor === u.id && /otp/.test(JSON.stringify(e.details ?? {}))));
  assert.ok(auditRows(srv).some((e) => e.event === 'mfa.pending' && e.actor === u.id));
  // Still on the step: the page answers.
  assert.equal((await c.get('/login/mfa')).status, 200);
});

test('MF-04/SS-01: completing the step issues a new session id; the pending id is then worthless; amr says pwd otp mfa', async () => {
  const u = await totpUser(srv, 'mf04-ok@example.com');
  const { c, csrf } = await pending(srv, u);
  const pendingSid = c.sid;
  // CF-01 before anything: no token, a wrong one.
  assert.equal((await c.post('/login/mfa', { code: u.totp.generate() })).status, 403);
  assert.equal((await c.post('/login/mfa', { code: u.totp.generate(), csrf: 'x'.repeat(43) })).status, 403);
  const ok = await c.post('/login/mfa', { csrf, code: await freshCode(srv, u) });
  assert.equal(ok.status, 303, ok.text.slice(0, 400));
  assert.equal(ok.location, '/account');
  assert.ok(c.sid && c.sid !== pendingSid, 'a new id at completion');
  assert.ok(await c.signedIn());
  const overview = await c.get('/account/mfa');
  assert.equal(overview.status, 200);
  assert.match(overview.text, /<code>pwd otp mfa<\/code>/);
  assert.match(overview.text, /Authenticator app<\/th><td>On/);
  // The pending id replayed: nothing.
  const replay = new Client(srv);
  replay.sid = pendingSid;
  assert.equal((await replay.get('/account')).status, 303);
  assert.equal((await replay.get('/login/mfa')).status, 303);
  const login = auditRows(srv).find((e) => e.event === 'login' && e.outcome === 'success' && e.actor === u.id && e.details?.amr === 'pwd otp mfa');
  assert.ok(login, 'the login row says pwd otp mfa');
});

test('MF-04: a factor cannot complete another browser\'s pending sign-in', async () => {
  const alice = await totpUser(srv, 'mf04-a2@example.com');
  const bob = await totpUser(srv, 'mf04-b2@example.com');
  const a = await pending(srv, alice);
  const b = await pending(srv, bob);
  const aliceCode = await freshCode(srv, alice);
  // Bob's step with Alice's code: checked against Bob, refused.
  const cross = await b.c.post('/login/mfa', { csrf: b.csrf, code: aliceCode });
  assert.equal(cross.status, 400);
  assert.match(cross.text, /not valid/);
  assert.ok(!(await b.c.signedIn()));
  // Alice's form token in Bob's browser: refused before anything.
  assert.equal((await b.c.post('/login/mfa', { csrf: a.csrf, code: aliceCode })).status, 403);
  // A browser with no step at all.
  const anon = new Client(srv);
  await anon.get('/login');
  assert.equal((await anon.post('/login/mfa', { csrf: a.csrf, code: aliceCode })).status, 403);
  assert.equal((await anon.get('/login/mfa')).status, 303);
  // Alice's own step still works with her code.
  const ok = await a.c.post('/login/mfa', { csrf: a.csrf, code: aliceCode });
  assert.equal(ok.status, 303, ok.text.slice(0, 400));
  assert.ok(await a.c.signedIn());
  const who = await a.c.get('/account');
  assert.match(who.text, /mf04-a2@example\.com/);
});

test('MF-04: the step completes the pending authorization request', async () => {
  const u = await totpUser(srv, 'mf04-rp@example.com');
  const client = addClient(srv, { name: 'MFA RP' });
  const c = new Client(srv);
  const q = new URLSearchParams(authorizeParams(client, { challenge: pkce().challenge }));
  let r = await c.get('/authorize?' + q, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.match(r.location, /^\/login\?req=/);
  const req = r.location.slice('/login?req='.length);
  const page = await c.get(r.location);
  r = await c.post('/login', { csrf: csrfOf(page.text, '/login'), req, email: u.email, password: GOOD_PW });
  assert.equal(r.status, 303);
  assert.equal(r.location, `/login/mfa?req=${req}`);
  const step = await c.get(r.location);
  assert.match(step.text, new RegExp(`name="req" value="${req}"`));
  r = await c.post('/login/mfa', { csrf: csrfOf(step.text, '/login/mfa'), req, code: await freshCode(srv, u) });
  assert.equal(r.status, 303, r.text.slice(0, 400));
  assert.match(r.location, /^\/authorize\/resume/);
});

test('MF-03: a burst of wrong codes counts each before the check; from the 5th the next waits; the password does not reset it; the user is mailed', async () => {
  const u = await totpUser(srv, 'mf03-carol@example.com');
  const { c, csrf } = await pending(srv, u);
  const bad = wrongCode(u);
  // Eight at once: exactly five are checked, three wait.
  const res = await Promise.all(Array.from({ length: 8 }, () => c.post('/login/mfa', { csrf, code: bad })));
  const st = res.map((r) => r.status).sort();
  assert.deepEqual(st, [400, 400, 400, 400, 400, 429, 429, 429]);
  const waited = res.find((r) => r.status === 429);
  assert.ok(Number(waited.headers.get('retry-after')) >= 1);
  // The correct code now: refused before the check, not spent.
  const good = await freshCode(srv, u);
  assert.equal((await c.post('/login/mfa', { csrf, code: good })).status, 429);
  // The password again (a new pending step): the count stays.
  const again = await pending(srv, u);
  const r = await again.c.post('/login/mfa', { csrf: again.csrf, code: good });
  assert.equal(r.status, 429);
  assert.ok(!(await again.c.signedIn()));
  assert.equal(Number(storeSql(srv, `SELECT failures FROM mfa_state WHERE user_id = '${u.id}'`)), 5);
  // Audited per failure; one burst alert and one mail at the 5th.
  const rows = auditRows(srv, 500).filter((e) => e.actor === u.id);
  assert.equal(rows.filter((e) => e.event === 'mfa.failure').length, 5);
  assert.equal(rows.filter((e) => e.event === 'mfa.failure_burst').length, 1);
  const m = await mailed(srv, u.email, /Failed second-factor attempts/);
  assert.equal(m.length, 1);
  assert.match(m[0], /5 wrong second-factor codes/);
});

test('MF-08/RS-09: a password reset keeps the factors, and the next sign-in still asks for one', async () => {
  const u = await totpUser(srv, 'mf08-dave@example.com');
  const c = new Client(srv);
  await c.submit('/forgot', '/forgot', { email: u.email });
  const m = await mailed(srv, u.email, /\/reset\?token=/);
  assert.equal(m.length, 1);
  const link = m[0].match(/https?:\/\/[^\s]+?(\/reset\?token=[A-Za-z0-9_-]{43})/)[1];
  assert.equal((await c.get(link)).status, 303);
  const form = await c.get('/reset');
  assert.equal(form.status, 200);
  // PW-03 on reset too: with a factor, 10 characters are enough.
  const done = await c.post('/reset', { csrf: csrfOf(form.text, '/reset'), password: SHORT_PW });
  assert.equal(done.status, 200, done.text.slice(0, 400));
  assert.match(done.text, /Password changed/);
  // LG-09: the reset signed nobody in.
  assert.ok(!(await c.signedIn()));
  assert.equal(storeSql(srv, `SELECT count(*) FROM totp_credentials WHERE user_id = '${u.id}' AND activated_at IS NOT NULL`), '1');
  // The new password leads to the factor step, not a session.
  const p = await pending(srv, u, SHORT_PW);
  assert.ok(!(await p.c.signedIn()));
  const ok = await p.c.post('/login/mfa', { csrf: p.csrf, code: await freshCode(srv, u) });
  assert.equal(ok.status, 303);
  assert.ok(await p.c.signedIn());
});

test('MF-04 step-up: a signed-in session proves a factor; the id changes, the user stays, amr gains otp mfa', async () => {
  // u.c signed in with the password, then enrolled: its amr is "pwd".
  const u = await totpUser(srv, 'stepup@example.com');
  const before = u.c.sid;
  const page = await u.c.get('/login/mfa');
  assert.equal(page.status, 200);
  const r = await u.c.post('/login/mfa', { csrf: csrfOf(page.text, '/login/mfa'), code: await freshCode(srv, u) });
  assert.equal(r.status, 303, r.text.slice(0, 400));
  assert.notEqual(u.c.sid, before);
  const o = await u.c.get('/account/mfa');
  assert.match(o.text, /<code>pwd otp mfa<\/code>/);
  const old = new Client(srv);
  old.sid = before;
  assert.equal((await old.get('/account')).status, 303);
});

test('PW-03: with a second factor a new password of 8 characters is enough; without one, 15', async () => {
  const u = await totpUser(srv, 'pw03-erin@example.com');
  // Without a factor: refused.
  addUser(srv, 'pw03-frank@example.com');
  const f = new Client(srv);
  assert.equal((await f.login('pw03-frank@example.com')).status, 303);
  const fp = await f.get('/account');
  assert.match(fp.text, /minlength="15"/);
  const no = await f.post('/account/password', { csrf: csrfOf(fp.text, '/account/password'), current: GOOD_PW, new: SHORT_PW });
  assert.equal(no.status, 400);
  // With one: accepted.
  const ep = await u.c.get('/account');
  assert.match(ep.text, /minlength="8"/);
  const yes = await u.c.post('/account/password', { csrf: csrfOf(ep.text, '/account/password'), current: GOOD_PW, new: SHORT_PW });
  assert.equal(yes.status, 303, yes.text.slice(0, 400));
  await pending(srv, u, SHORT_PW);
});

test('the account overview says what protects the account', async () => {
  addUser(srv, 'overview@example.com');
  const c = new Client(srv);
  assert.equal((await c.login('overview@example.com')).status, 303);
  const acct = await c.get('/account');
  assert.match(acct.text, /href="\/account\/mfa"/);
  const o = await c.get('/account/mfa');
  assert.equal(o.status, 200);
  assert.match(o.headers.get('cache-control') ?? '', /no-store/);
  assert.match(o.text, /only thing that protects/);
  assert.match(o.text, /Authenticator app<\/th><td>Off/);
  assert.match(o.text, /Passkeys<\/th><td>0/);
  assert.match(o.text, /0 left/);
  assert.match(o.text, /<code>pwd<\/code>/);
  for (const href of ['/account/mfa/totp', '/account/mfa/recovery', '/account/passkeys']) assert.match(o.text, new RegExp(`href="${href}"`));
  // Signed out: to /login.
  assert.equal((await new Client(srv).get('/account/mfa')).status, 303);
});

test('MF-04: an expired pending step is gone', async () => {
  const s = await startServer({ config: { ...FAST, mfa_step_timeout: '2s' } });
  try {
    const u = await totpUser(s, 'expire@example.com');
    const { c, csrf } = await pending(s, u);
    await sleep(2500);
    assert.equal((await c.get('/login/mfa')).status, 303);
    const r = await c.post('/login/mfa', { csrf, code: await freshCode(s, u) });
    assert.equal(r.status, 403);
    assert.ok(!(await c.signedIn()));
  } finally { await stopClean(s); }
});

test('MF-03: past 20 failures TOTP is suspended until a recovery code is used', async () => {
  const s = await startServer({ config: { ...FAST, mfa_backoff_base: '1s', mfa_backoff_max: '1s', reauth_window: '1h' } });
  try {
    const u = await totpUser(s, 'suspend@example.com');
    // Recovery codes, made on the account page.
    const rp = await u.c.get('/account/mfa/recovery');
    const made = await u.c.post('/account/mfa/recovery', { action: 'generate', csrf: csrfOf(rp.text, '/account/mfa/recovery') });
    assert.equal(made.status, 200);
    const codes = [...made.text.matchAll(/\b(10|[1-9])-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b/g)].map((m) => m[0]);
    assert.equal(codes.length, 10);
    let p = await pending(s, u);
    const bad = wrongCode(u);
    let failed = 0;
    while (failed < 20) {
      const r = await p.c.post('/login/mfa', { csrf: p.csrf, code: bad });
      if (r.status === 400) failed++;
      else if (r.status === 429) await sleep(Number(r.headers.get('retry-after')) * 1000);
      else if (r.status === 403) p = await pending(s, u); // the step expired
      else assert.fail(`unexpected ${r.status}`);
    }
    await sleep(1100);
    // The correct TOTP code: refused (suspended), and not spent.
    const good = await freshCode(s, u);
    const r = await p.c.post('/login/mfa', { csrf: p.csrf, code: good });
    assert.equal(r.status, 400);
    assert.match(r.text, /suspended/);
    assert.ok(!(await p.c.signedIn()));
    assert.ok((await mailed(s, u.email, /20 wrong second-factor codes/)).length === 1);
    await sleep(1100);
    // A recovery code signs in and lifts the suspension.
    const rc = await p.c.post('/login/mfa', { csrf: p.csrf, code: codes[0] });
    assert.equal(rc.status, 303, rc.text.slice(0, 400));
    assert.ok(await p.c.signedIn());
    const o = await p.c.get('/account/mfa');
    assert.match(o.text, /<code>pwd otp mfa<\/code>/);
    assert.equal(storeSql(s, `SELECT failures || '|' || COALESCE(totp_suspended_at, 0) FROM mfa_state WHERE user_id = '${u.id}'`), '0|0');
    // TOTP works again.
    const q = await pending(s, u);
    const ok = await q.c.post('/login/mfa', { csrf: q.csrf, code: await freshCode(s, u) });
    assert.equal(ok.status, 303, ok.text.slice(0, 400));
  } finally { await stopClean(s); }
});

// Chromium with the DevTools virtual authenticator (user verification on):
// the passkey button of the factor step completes a password sign-in.
test('MF-04: password then the passkey button of the factor step; amr pwd hwk mfa, a new id', async () => {
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const s = await startServer({ port, issuer: origin, config: { ...FAST } });
  const browser = await launchBrowser();
  try {
    const u = addUser(s, 'pk-factor@example.com');
    const page = await newPage(browser);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
        isUserVerified: true, automaticPresenceSimulation: true },
    });
    const signIn = async () => {
      await page.goto(origin + '/login');
      await fillForm(page, { Email: u.email, Password: GOOD_PW });
      await submit(page, 'Sign in');
    };
    await signIn();
    assert.equal(new URL(page.url()).pathname, '/account');
    await page.goto(origin + '/account/passkeys');
    await page.getByLabel('Name', { exact: true }).fill('Laptop');
    await submit(page, 'Add a passkey');
    assert.match(await text(page), /Laptop/);
    await page.context().clearCookies();
    // The password alone: the factor step, with the passkey button.
    await signIn();
    assert.equal(new URL(page.url()).pathname, '/login/mfa', await text(page));
    const pendingSid = (await page.context().cookies()).find((c) => c.name === 'sid')?.value;
    assert.ok(pendingSid);
    assert.equal((await page.goto(origin + '/account')) && new URL(page.url()).pathname, '/login');
    await page.goto(origin + '/login/mfa');
    await submit(page, 'Use a passkey');
    assert.equal(new URL(page.url()).pathname, '/account', await text(page));
    const sid = (await page.context().cookies()).find((c) => c.name === 'sid')?.value;
    assert.ok(sid && sid !== pendingSid, 'a new id at completion (SS-01)');
    const row = auditRows(s).filter((x) => x.event === 'login' && x.outcome === 'success' && x.actor === u.id).at(-1);
    assert.equal(row.details.amr, 'pwd hwk mfa');
    // MF-03: at the ceiling of failures every factor is refused, the
    // passkey too (the state is set in the store: 100 failures through
    // the pages would take the doubling backoff).
    storeSql(s, `UPDATE mfa_state SET failures = 100 WHERE user_id = '${u.id}'`);
    if (storeSql(s, `SELECT count(*) FROM mfa_state WHERE user_id = '${u.id}'`) === '0') {
      storeSql(s, `INSERT INTO mfa_state (user_id, failures) VALUES ('${u.id}', 100)`);
    }
    await page.context().clearCookies();
    await signIn();
    assert.equal(new URL(page.url()).pathname, '/login/mfa');
    const res = await submit(page, 'Use a passkey');
    assert.equal(res.status(), 429);
    assert.match(await text(page), /administrator/);
    assert.equal((await page.goto(origin + '/account')) && new URL(page.url()).pathname, '/login');
  } finally {
    await browser.close();
    await stopClean(s);
  }
});
