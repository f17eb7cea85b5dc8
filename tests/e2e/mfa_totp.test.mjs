// TOTP on the account page (issue 16; SECURITY.md MF-01, MF-02, MF-05,
// MF-06): enrolment after a recent sign-in, the QR code as inline SVG and
// the secret once, activation only with a correct code, the seed sealed in
// the store, removal after a recent sign-in; audited and mailed. Codes come
// from npm otpauth (an independent implementation) at the real time, plus
// or minus whole steps: the server's clock is not controlled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as OTPAuth from 'otpauth';
import { startServer, stopClean, storeSql, storeDump } from './lib/server.mjs';
import { Client, addUser, auditRows, csrfOf, GOOD_PW } from './lib/web.mjs';

const REAUTH_S = 3;
let srv;
before(async () => {
  srv = await startServer({ config: { reauth_window: `${REAUTH_S}s`, pwhash_memory: '19m', pwhash_iterations: '2' } });
});
after(async () => { await stopClean(srv); });

function mails() {
  const dir = join(srv.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, ''));
}

async function mailed(to, re) {
  for (let i = 0; i < 50; i++) {
    if (mails().some((m) => m.includes(`To: ${to}`) && re.test(m))) return true;
    await sleep(100);
  }
  return false;
}

// Codes at the real time; k whole steps away.
function codeAt(totp, k = 0) {
  return totp.generate({ timestamp: Date.now() + k * 30_000 });
}

// Waits until the current step has at least 5 s left, so that a code for
// step t+k is still for t+k when the server checks it.
async function awayFromStepEdge() {
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < 5) await sleep(left * 1000 + 300);
}

function row(userId) {
  const out = storeSql(srv, `SELECT seed_sealed, COALESCE(activated_at, -1), last_step FROM totp_credentials WHERE user_id = '${userId}'`);
  if (out === '') return null;
  const [seed, activated, last] = out.split('|');
  return { seed, activated: Number(activated), last: Number(last) };
}

// GET /account/mfa/totp: the secret and the activation form's token.
async function beginEnrol(c) {
  const page = await c.get('/account/mfa/totp');
  assert.equal(page.status, 200, page.text.slice(0, 600));
  const secret = page.text.match(/<code id="secret">([A-Z2-7]+)<\/code>/)?.[1];
  assert.ok(secret, 'the secret is on the page as base32 text');
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  return { page, secret, totp, csrf: csrfOf(page.text, '/account/mfa/totp') };
}

test('MF-05, MF-06: enrolment shows the QR code and the secret once; only a correct code activates it; the seed is sealed', async () => {
  const alice = addUser(srv, 'alice-totp@example.com');
  const a = new Client(srv);
  assert.equal((await a.login('alice-totp@example.com')).status, 303);
  const { page, secret, totp, csrf } = await beginEnrol(a);
  assert.match(page.headers.get('cache-control') ?? '', /no-store/);
  // The QR code: inline SVG, one path of rectangles, nothing to run, under the strict CSP.
  const svg = page.text.match(/<svg[^>]*>[\s\S]*?<\/svg>/)?.[0];
  assert.ok(svg, 'an inline SVG');
  assert.equal((svg.match(/<path /g) ?? []).length, 1);
  assert.match(svg, /<path fill="#000" d="(M\d+ \d+h\d+v1h-\d+z)+"\/>/);
  assert.doesNotMatch(page.text, /<script|style=|<img/i);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(secret.length, 32, '160 bits');
  // MF-06: the store holds the seed sealed, not the secret nor the seed's bytes.
  const seedHex = Buffer.from(OTPAuth.Secret.fromBase32(secret).bytes).toString('hex');
  const pending = row(alice.id);
  assert.ok(pending, 'a pending enrolment');
  assert.equal(pending.activated, -1);
  assert.match(pending.seed, /^v1\.[A-Za-z0-9_-]+$/);
  assert.ok(!pending.seed.includes(secret));
  assert.ok(!Buffer.from(pending.seed.slice(3), 'base64url').toString('hex').includes(seedHex));
  const dump = storeDump(srv);
  assert.ok(!dump.includes(secret) && !dump.toLowerCase().includes(seedHex), 'the store never holds the seed in the clear');
  // A pending enrolment is not a factor.
  assert.ok(!auditRows(srv).some((e) => e.event === 'mfa.totp.enrol' && e.actor === alice.id));
  // CF-01: no token, a wrong one: nothing happens.
  assert.equal((await a.post('/account/mfa/totp', { action: 'activate', code: codeAt(totp) })).status, 403);
  assert.equal((await a.post('/account/mfa/totp', { action: 'activate', code: codeAt(totp), csrf: 'x'.repeat(43) })).status, 403);
  // MF-05: a wrong code, a malformed one: refused, still pending.
  const good = codeAt(totp);
  const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0');
  const no = await a.post('/account/mfa/totp', { action: 'activate', code: wrong, csrf });
  assert.equal(no.status, 400);
  assert.match(no.text, /not correct/);
  assert.ok(!no.text.includes(secret), 'the secret is not shown again');
  for (const bad of ['', '12345', '1234567', 'abcdef', '12345\u0661']) {
    assert.equal((await a.post('/account/mfa/totp', { action: 'activate', code: bad, csrf })).status, 400);
  }
  assert.equal(row(alice.id).activated, -1);
  // The right code (as an app shows it, with a space): on.
  await awayFromStepEdge();
  const c = codeAt(totp);
  const yes = await a.post('/account/mfa/totp', { action: 'activate', code: `${c.slice(0, 3)} ${c.slice(3)}`, csrf });
  assert.equal(yes.status, 303, yes.text.slice(0, 600));
  assert.equal(yes.location, '/account/mfa?done=totp');
  const active = row(alice.id);
  assert.ok(active.activated > 0);
  assert.equal(active.seed, pending.seed, 'the proven seed is the one activated');
  assert.ok(active.last >= Math.floor(Date.now() / 30_000) - 1, 'the activation code spent its step');
  // AU-01, AU-06: audited and mailed.
  const ev = auditRows(srv).find((e) => e.event === 'mfa.totp.enrol' && e.outcome === 'success' && e.actor === alice.id);
  assert.ok(ev, 'audited as mfa.totp.enrol');
  assert.ok(await mailed('alice-totp@example.com', /authenticator app was added/), 'the user is told by mail');
  assert.ok(!mails().some((m) => m.includes(secret)), 'never in a mail');
  // The overview says it is on.
  const overview = await a.get('/account/mfa');
  assert.equal(overview.status, 200);
  assert.match(overview.text, /<a href="\/account\/mfa\/totp">Manage<\/a>/);
  // MF-06: never shown again; the page says it is on and offers removal only.
  const after = await a.get('/account/mfa/totp');
  assert.equal(after.status, 200);
  assert.match(after.text, /protects your account/);
  assert.ok(!after.text.includes(secret));
  assert.doesNotMatch(after.text, /<svg/);
  assert.equal(row(alice.id).seed, active.seed, 'no new enrolment over an active one');
  // The activation form no longer activates anything.
  assert.equal((await a.post('/account/mfa/totp', { action: 'activate', code: codeAt(totp, 1), csrf })).status, 400);
  assert.ok(!srv.rawLogs().includes(secret), 'never logged');
});

test('MF-02: activation accepts the current and the previous step; t+1, t-2 and t+2 are refused', async () => {
  const bob = addUser(srv, 'bob-totp@example.com');
  const b = new Client(srv);
  assert.equal((await b.login('bob-totp@example.com')).status, 303);
  const { totp, csrf } = await beginEnrol(b);
  for (const k of [-2, 2, 1, -3]) {
    await awayFromStepEdge();
    const r = await b.post('/account/mfa/totp', { action: 'activate', code: codeAt(totp, k), csrf });
    assert.equal(r.status, 400, `step t${k > 0 ? '+' : ''}${k} must be refused`);
  }
  assert.equal(row(bob.id).activated, -1);
  await awayFromStepEdge();
  const r = await b.post('/account/mfa/totp', { action: 'activate', code: codeAt(totp, -1), csrf });
  assert.equal(r.status, 303, 'step t-1 is in the window');
  assert.equal(row(bob.id).last, Math.floor(Date.now() / 30_000) - 1);
});

test('MF-05: a stale session gets the password page before enrolling or removing; removal is audited, mailed and immediate', async () => {
  const carol = addUser(srv, 'carol-totp@example.com');
  const c = new Client(srv);
  assert.equal((await c.login('carol-totp@example.com')).status, 303);
  await sleep(REAUTH_S * 1000 + 300);
  // Stale: the password first; no seed is made.
  const stale = await c.get('/account/mfa/totp');
  assert.equal(stale.status, 403);
  assert.match(stale.text, /Confirm it is you/);
  assert.doesNotMatch(stale.text, /<svg|id="secret"/);
  assert.equal(row(carol.id), null);
  const re = await c.post('/account/reauth', { csrf: csrfOf(stale.text, '/account/reauth'), password: GOOD_PW, then: 'totp' });
  assert.equal(re.status, 303);
  assert.equal(re.location, '/account/mfa/totp?done=reauth');
  const { totp, csrf } = await beginEnrol(c);
  await awayFromStepEdge();
  assert.equal((await c.post('/account/mfa/totp', { action: 'activate', code: codeAt(totp), csrf })).status, 303);
  // Removing: CSRF, then a recent sign-in.
  const page = await c.get('/account/mfa/totp');
  const rcsrf = csrfOf(page.text, '/account/mfa/totp');
  assert.equal((await c.post('/account/mfa/totp', { action: 'remove' })).status, 403);
  await sleep(REAUTH_S * 1000 + 300);
  const stale2 = await c.post('/account/mfa/totp', { action: 'remove', csrf: rcsrf });
  assert.equal(stale2.status, 403);
  assert.match(stale2.text, /Confirm it is you/);
  assert.ok(row(carol.id).activated > 0, 'still there');
  const re2 = await c.post('/account/reauth', { csrf: csrfOf(stale2.text, '/account/reauth'), password: GOOD_PW, then: 'totp' });
  assert.equal(re2.status, 303);
  const p2 = await c.get('/account/mfa/totp');
  const gone = await c.post('/account/mfa/totp', { action: 'remove', csrf: csrfOf(p2.text, '/account/mfa/totp') });
  assert.equal(gone.status, 303);
  assert.equal(gone.location, '/account/mfa?done=totp-removed');
  assert.equal(row(carol.id), null, 'a removed factor is gone at once');
  // Nothing active left to remove (a new enrolment is only pending).
  const p3 = await c.get('/account/mfa/totp');
  assert.equal(p3.status, 200);
  assert.equal((await c.post('/account/mfa/totp', { action: 'remove', csrf: csrfOf(p3.text, '/account/mfa/totp') })).status, 400);
  assert.ok(auditRows(srv).some((e) => e.event === 'mfa.totp.remove' && e.outcome === 'success' && e.actor === carol.id));
  assert.ok(await mailed('carol-totp@example.com', /authenticator app was removed/));
  // Signed out: nothing.
  const anon = new Client(srv);
  assert.equal((await anon.get('/account/mfa/totp')).status, 303);
  assert.equal((await anon.post('/account/mfa/totp', { action: 'remove' })).status, 401);
});

// Password sign-in of a user with TOTP: the factor step's form.
async function factorStep(email) {
  const c = new Client(srv);
  const r = await c.login(email);
  assert.equal(r.status, 303, r.text.slice(0, 400));
  assert.match(r.location ?? '', /^\/login\/mfa/);
  const page = await c.get('/login/mfa');
  assert.equal(page.status, 200, page.text.slice(0, 400));
  return { c, csrf: csrfOf(page.text, '/login/mfa') };
}

test('MF-01, MF-02: at sign-in a code is accepted once (two browsers racing with it: one wins), for step t or t-1 only', async () => {
  addUser(srv, 'dave-totp@example.com');
  const d = new Client(srv);
  assert.equal((await d.login('dave-totp@example.com')).status, 303);
  const { totp, csrf } = await beginEnrol(d);
  // Activate with the step before the current one: the current is unspent.
  await awayFromStepEdge();
  assert.equal((await d.post('/account/mfa/totp', { action: 'activate', code: codeAt(totp, -1), csrf })).status, 303);
  const one = await factorStep('dave-totp@example.com');
  const two = await factorStep('dave-totp@example.com');
  const three = await factorStep('dave-totp@example.com');
  await awayFromStepEdge();
  // MF-02: t+2 and t-2 are refused at sign-in.
  for (const k of [2, -2]) {
    const r = await one.c.post('/login/mfa', { csrf: one.csrf, code: codeAt(totp, k) });
    assert.equal(r.status, 400, `step t${k > 0 ? '+' : ''}${k} must be refused`);
  }
  // MF-01: two browsers, one code, at once: exactly one signs in.
  const code = codeAt(totp);
  const [a, b] = await Promise.all([
    two.c.post('/login/mfa', { csrf: two.csrf, code }),
    three.c.post('/login/mfa', { csrf: three.csrf, code }),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [303, 400]);
  // MF-01: the same code again: refused; so is step t-1 after t.
  assert.equal((await one.c.post('/login/mfa', { csrf: one.csrf, code })).status, 400, 'a replayed code');
  assert.equal((await one.c.post('/login/mfa', { csrf: one.csrf, code: codeAt(totp, -1) })).status, 400, 'an older step after a newer one');
  assert.ok(!(await one.c.signedIn()));
});
