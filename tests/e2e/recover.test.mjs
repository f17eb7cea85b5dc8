// Registration, email verification, forgot and reset password, attacked:
// enumeration (LG-01, RS-01), token reuse, replacement and expiry (RS-02..
// 04), host-header poisoning (RS-05), token out of the URL (RS-06), mail
// limits (RS-07), reset ends every session and does not sign in (RS-08),
// verification bound to the address and never a login (RS-10), GET never
// changes state (CF-02). Mail is read from the outbox (.eml files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rawRequest, parseRaw, startServer, stopClean, storeSql, storeDump } from './lib/server.mjs';
import { Client, addUser, auditRows, cliAt, csrfOf, GOOD_PW, OTHER_PW } from './lib/web.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const NEW_PW = 'lantern-orbit-saffron-glacier-7';

const sql = storeSql;

// Decoded text of every mail in the outbox, oldest first.
function outbox(srv) {
  const dir = join(srv.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml') && !f.startsWith('.')).sort().map((f) => {
    const p = join(dir, f);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    const raw = readFileSync(p, 'utf8');
    const [head, ...body] = raw.split('\r\n\r\n');
    const text = body.join('\r\n\r\n').replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    const to = head.match(/^To: (.*)$/m)?.[1];
    const subject = head.match(/^Subject: (.*)$/m)?.[1];
    return { file: f, head, to, subject, text };
  });
}

async function waitMail(srv, pred, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const m = outbox(srv).filter(pred);
    if (m.length) return m;
    if (Date.now() > end) return [];
    await sleep(50);
  }
}

const linkIn = (m, path) => m.text.match(new RegExp(`(https?://[^\\s]+${path}\\?token=[A-Za-z0-9_-]{43})`))?.[1];

test('registration is off by default', async () => {
  const srv = await startServer();
  try {
    const c = new Client(srv);
    assert.equal((await c.get('/register')).status, 404);
    assert.equal((await c.post('/register', { email: 'x@example.com', password: NEW_PW })).status, 404);
    assert.equal(sql(srv, 'SELECT count(*) FROM users'), '0');
  } finally { await stopClean(srv); }
});

test('RS-10/CF-02: register, then the link verifies the address on POST only and never signs in', async () => {
  const srv = await startServer({ config: { registration: 'true' } });
  try {
    const c = new Client(srv);
    const r = await c.submit('/register', '/register', { email: 'Reg@Example.com', name: 'Reg', password: NEW_PW });
    assert.equal(r.status, 200);
    assert.match(r.text, /Check your email/);
    assert.equal(sql(srv, "SELECT email_verified FROM users WHERE email = 'Reg@Example.com'"), '0');
    // Unverified: the right password does not sign in.
    const early = await c.login('reg@example.com', NEW_PW);
    assert.equal(early.status, 403);
    assert.match(early.text, /Confirm your email first/);
    assert.equal(await c.signedIn(), false);
    const [m] = await waitMail(srv, (x) => x.to === 'Reg@Example.com');
    assert.ok(m, 'verification mail');
    const link = linkIn(m, '/verify');
    assert.ok(link.startsWith(srv.issuer + '/verify?token='), link);
    const path = link.slice(srv.issuer.length);
    // A scanner's GET changes nothing.
    const v = new Client(srv);
    const g = await v.get(path);
    assert.equal(g.status, 200);
    assert.equal((await v.get(path)).status, 200);
    assert.equal(sql(srv, "SELECT email_verified FROM users WHERE email = 'Reg@Example.com'"), '0');
    const token = new URL(link).searchParams.get('token');
    // Cross-site POST refused.
    assert.equal((await v.post('/verify', { token }, { site: 'cross-site' })).status, 403);
    const p = await v.post('/verify', { token });
    assert.equal(p.status, 200);
    assert.match(p.text, /confirmed/);
    assert.equal(v.sid, undefined, 'verification sets no session');
    assert.equal(sql(srv, "SELECT email_verified FROM users WHERE email = 'Reg@Example.com'"), '1');
    // Single use.
    assert.equal((await v.post('/verify', { token })).status, 400);
    assert.equal((await c.login('reg@example.com', NEW_PW)).status, 303);
    assert.ok(auditRows(srv).some((e) => e.event === 'user.email_verified'));
  } finally { await stopClean(srv); }
});

test('LG-01/PW-06: registering a taken email looks the same; the owner is told by mail; weak passwords say why', async () => {
  const srv = await startServer({ config: { registration: 'true' } });
  try {
    addUser(srv, 'taken@example.com');
    const mask = (t) => t.replace(/value="[A-Za-z0-9_-]{43}"/g, 'value="T"');
    const a = await new Client(srv).submit('/register', '/register', { email: 'taken@example.com', password: NEW_PW });
    const b = await new Client(srv).submit('/register', '/register', { email: 'fresh@example.com', password: NEW_PW });
    assert.equal(a.status, b.status);
    assert.equal(mask(a.text), mask(b.text));
    assert.equal(sql(srv, "SELECT count(*) FROM users WHERE email_key = 'taken@example.com'"), '1');
    const [m] = await waitMail(srv, (x) => x.to === 'taken@example.com');
    assert.ok(m);
    assert.match(m.text, /already have an account/i);
    assert.equal(linkIn(m, '/verify'), undefined);
    const weak = await new Client(srv).submit('/register', '/register', { email: 'w@example.com', password: 'password12345678' });
    assert.equal(weak.status, 400);
    assert.match(weak.text, /common|guess/i);
    const ctx = await new Client(srv).submit('/register', '/register', { email: 'zebediah@example.com', password: 'zebediah-zebediah-99' });
    assert.equal(ctx.status, 400);
    assert.equal(sql(srv, "SELECT count(*) FROM users WHERE email_key IN ('w@example.com', 'zebediah@example.com')"), '0');
  } finally { await stopClean(srv); }
});

test('DS-03/RS-07: registrations are bounded by the mail limits, before any hashing, taken or not', async () => {
  const srv = await startServer({ config: { registration: 'true', mail_per_account: 2, mail_per_ip: 4 } });
  try {
    addUser(srv, 'held@example.com');
    const st = [];
    for (const e of ['held@example.com', 'held@example.com', 'held@example.com']) {
      st.push((await new Client(srv).submit('/register', '/register', { email: e, password: NEW_PW })).status);
    }
    assert.deepEqual(st, [200, 200, 429]);
    // Per IP: every request counts, the refused one too (RS-01), so one
    // more address passes (the 4th request from this IP), then none.
    assert.equal((await new Client(srv).submit('/register', '/register', { email: 'n1@example.com', password: NEW_PW })).status, 200);
    const r = await new Client(srv).submit('/register', '/register', { email: 'n2@example.com', password: NEW_PW });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.equal(sql(srv, "SELECT count(*) FROM users WHERE email_key = 'n2@example.com'"), '0');
  } finally { await stopClean(srv); }
});

test('RS-01/RS-05: forgot-password answers the same for any address; the link uses the issuer, whatever the Host headers say', async () => {
  const srv = await startServer();
  try {
    addUser(srv, 'fp@example.com');
    const mask = (t) => t.replace(/value="[A-Za-z0-9_-]{43}"/g, 'value="T"');
    const known = await new Client(srv).submit('/forgot', '/forgot', { email: 'fp@example.com' });
    const unknown = await new Client(srv).submit('/forgot', '/forgot', { email: 'nobody@example.com' },
      { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } });
    assert.equal(known.status, 200);
    assert.equal(unknown.status, known.status);
    assert.equal(mask(unknown.text), mask(known.text));
    // Poisoned forwarding headers on a real account: the link is ours.
    await new Client(srv).submit('/forgot', '/forgot', { email: 'fp@example.com' },
      { headers: { 'x-forwarded-host': 'evil.example', forwarded: 'host=evil.example' } });
    const mails = await waitMail(srv, (x) => x.to === 'fp@example.com');
    await sleep(300);
    const all = outbox(srv);
    assert.ok(all.every((x) => x.to === 'fp@example.com'), 'mail only to the existing account');
    assert.ok(mails.length >= 1);
    for (const m of all) {
      assert.ok(!m.text.includes('evil.example'));
      assert.ok(linkIn(m, '/reset').startsWith(srv.issuer + '/reset?token='));
    }
    // A forged Host never reaches the page.
    const port = srv.port;
    const raw = await rawRequest(port, 'GET /forgot HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    assert.equal(parseRaw(raw.data).status, 400);
  } finally { await stopClean(srv); }
});

async function resetLink(srv, email) {
  const seen = new Set(outbox(srv).map((m) => m.file));
  await new Client(srv).submit('/forgot', '/forgot', { email });
  const end = Date.now() + 5000;
  for (;;) {
    const fresh = outbox(srv).filter((m) => !seen.has(m.file));
    if (fresh.length) return linkIn(fresh[0], '/reset');
    assert.ok(Date.now() < end, 'reset mail');
    await sleep(50);
  }
}

test('RS-06/RS-08/RS-03: the token leaves the URL, the reset ends every session, does not sign in, and works once', async () => {
  const srv = await startServer({ config: { login_delay_free: 99 } });
  try {
    addUser(srv, 'rs@example.com');
    const victim = new Client(srv);
    assert.equal((await victim.login('rs@example.com')).status, 303);
    const link = await resetLink(srv, 'rs@example.com');
    // The request alone changes nothing (RS-07): the old password works.
    assert.equal((await new Client(srv).login('rs@example.com', GOOD_PW)).status, 303);
    const c = new Client(srv);
    const g = await c.get(link.slice(srv.issuer.length));
    assert.equal(g.status, 303);
    assert.equal(g.location, '/reset');
    assert.match(g.headers.get('set-cookie'), /^reset=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax/);
    assert.equal(g.headers.get('referrer-policy'), 'no-referrer');
    const form = await c.get('/reset');
    assert.equal(form.status, 200);
    assert.ok(!form.text.includes(new URL(link).searchParams.get('token')), 'the token is not in the page');
    // PW-03: a short password is refused with the reason; nothing changes.
    const short = await c.post('/reset', { csrf: csrfOf(form.text, '/reset'), password: 'short' });
    assert.equal(short.status, 400);
    assert.match(short.text, /at least 15/i);
    const done = await c.post('/reset', { csrf: csrfOf(short.text, '/reset'), password: NEW_PW });
    assert.equal(done.status, 200);
    assert.match(done.text, /Password changed/);
    assert.equal(await c.signedIn(), false, 'no automatic sign-in');
    assert.equal(await victim.signedIn(), false, 'existing sessions end');
    assert.equal((await new Client(srv).login('rs@example.com', GOOD_PW)).status, 400);
    assert.equal((await new Client(srv).login('rs@example.com', NEW_PW)).status, 303);
    // Reuse of the same link: invalid, password unchanged.
    const again = new Client(srv);
    const g2 = await again.get(link.slice(srv.issuer.length));
    assert.equal(g2.status, 400);
    assert.match(g2.text, /Invalid or expired/);
    // A notice went to the owner (RS-08 / AU-06).
    const notice = await waitMail(srv, (x) => x.to === 'rs@example.com' && /changed/i.test(x.subject ?? ''));
    assert.ok(notice.length >= 1, 'password-changed notice');
    const ev = auditRows(srv).map((e) => e.event);
    assert.ok(ev.includes('password.reset_request') && ev.includes('password.reset'));
  } finally { await stopClean(srv); }
});

test('RS-03: a newer link, or a password change, invalidates older reset links', async () => {
  const srv = await startServer();
  try {
    addUser(srv, 'nl@example.com');
    const first = await resetLink(srv, 'nl@example.com');
    const second = await resetLink(srv, 'nl@example.com');
    assert.notEqual(first, second);
    assert.equal((await new Client(srv).get(first.slice(srv.issuer.length))).status, 400);
    assert.equal((await new Client(srv).get(second.slice(srv.issuer.length))).status, 303);
    // Change the password from the account page: the second link dies too.
    const a = new Client(srv);
    await a.login('nl@example.com');
    assert.equal((await a.submit('/account', '/account/password', { current: GOOD_PW, new: OTHER_PW })).status, 303);
    assert.equal((await new Client(srv).get(second.slice(srv.issuer.length))).status, 400);
    // RS-02: only hashes are stored.
    const tok = new URL(second).searchParams.get('token');
    assert.ok(!storeDump(srv).includes(tok));
  } finally { await stopClean(srv); }
});

test('RS-04: a reset link past reset_token_ttl is refused, even once in the cookie', async () => {
  const srv = await startServer({ config: { reset_token_ttl: '4s' } });
  try {
    addUser(srv, 'ex@example.com');
    const link = await resetLink(srv, 'ex@example.com');
    const c = new Client(srv);
    assert.equal((await c.get(link.slice(srv.issuer.length))).status, 303);
    const form = await c.get('/reset');
    assert.equal(form.status, 200);
    await sleep(4500);
    const r = await c.post('/reset', { csrf: csrfOf(form.text, '/reset'), password: NEW_PW });
    assert.equal(r.status, 400);
    assert.equal((await new Client(srv).login('ex@example.com', NEW_PW)).status, 400);
  } finally { await stopClean(srv); }
});

test('RS-07: at most mail_per_account mails per account per hour; the answer stays the same', async () => {
  const srv = await startServer({ config: { mail_per_account: 2 } });
  try {
    addUser(srv, 'mb@example.com');
    const answers = [];
    for (let i = 0; i < 5; i++) {
      const r = await new Client(srv).submit('/forgot', '/forgot', { email: 'mb@example.com' });
      answers.push(r.status);
    }
    assert.deepEqual(answers, [200, 200, 200, 200, 200]);
    await sleep(500);
    assert.equal(outbox(srv).filter((m) => m.to === 'mb@example.com').length, 2);
    assert.ok(auditRows(srv).some((e) => e.event === 'ratelimit'));
  } finally { await stopClean(srv); }
});

// ---- Issue 11: answer first, count every request, budgets per (account, IP) ----

const maskCsrf = (t) => t.replace(/value="[A-Za-z0-9_-]{43}"/g, 'value="T"');
const via = (ip) => ({ headers: { 'x-forwarded-for': ip } });
const sent = (srv, to) => outbox(srv).filter((m) => m.to === to).length;

// Every header that is the same for any request to the same page (not
// Date, not the request id).
function stableHeaders(res) {
  return [...res.headers].filter(([k]) => k !== 'date' && k !== 'x-request-id').map(([k, v]) => `${k}: ${v}`).join('\n');
}

// The resend form, as a stranger reaches it: sign in with an unconfirmed
// account of one's own, then post any address with that form's token.
async function resendForm(srv, own, opts) {
  const c = new Client(srv);
  const r = await c.login(own, GOOD_PW, opts);
  assert.equal(r.status, 403, 'unconfirmed account');
  const csrf = csrfOf(r.text, '/verify/resend');
  assert.ok(csrf, 'resend form');
  return { c, post: (email, o = opts) => c.post('/verify/resend', { csrf, email }, o) };
}

// Log lines (parsed) of one request id, in the order they were written.
function linesOf(srv, rid) {
  return srv.logs.map((l, i) => { try { return { i, ...JSON.parse(l) }; } catch { return null; } })
    .filter((l) => l && l.rid === rid);
}

async function waitLine(srv, rid, event, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const l = linesOf(srv, rid).find((x) => x.event === event);
    if (l) return l;
    if (Date.now() > end) return undefined;
    await sleep(50);
  }
}

test('RS-01: forgot and resend answer the same bytes for known and unknown addresses, and the account work starts only after the answer was sent', async () => {
  const srv = await startServer({ config: { trusted_proxies: '127.0.0.1' } });
  try {
    addUser(srv, 'known@example.com');
    addUser(srv, 'unconf@example.com', GOOD_PW, []);
    addUser(srv, 'own@example.com', GOOD_PW, []);
    const forgot = async (email, ip) => new Client(srv).submit('/forgot', '/forgot', { email }, via(ip));
    const known = await forgot('known@example.com', '192.0.2.1');
    const unknown = await forgot('nobody-at-all@example.com', '192.0.2.2');
    assert.equal(known.status, 200);
    assert.equal(unknown.status, known.status);
    assert.equal(maskCsrf(unknown.text), maskCsrf(known.text));
    assert.equal(stableHeaders(unknown), stableHeaders(known));
    const rs = await resendForm(srv, 'own@example.com', via('192.0.2.3'));
    const rKnown = await rs.post('unconf@example.com');
    const rUnknown = await rs.post('nobody-either@example.com');
    assert.equal(rKnown.status, 200);
    assert.equal(rUnknown.status, rKnown.status);
    assert.equal(rUnknown.text, rKnown.text);
    assert.equal(stableHeaders(rUnknown), stableHeaders(rKnown));
    // The mails go out, and for each request the log shows the request
    // completed (its http.request line, written when the answer was out)
    // no later than its account work ran (lines carry ms timestamps; the
    // file order is per thread, so the timestamps are what compare).
    assert.equal((await waitMail(srv, (m) => m.to === 'known@example.com')).length, 1);
    assert.equal((await waitMail(srv, (m) => m.to === 'unconf@example.com')).length, 1);
    for (const res of [known, unknown, rKnown, rUnknown]) {
      const rid = res.headers.get('x-request-id');
      const work = await waitLine(srv, rid, 'mail.request');
      assert.ok(work, `no account work logged for ${rid}`);
      const done = linesOf(srv, rid).find((x) => x.event === 'http.request');
      assert.ok(done && done.ts <= work.ts, `request ${rid}: account work (${work.ts}) before the answer was complete (${done?.ts})`);
    }
    assert.equal(linesOf(srv, known.headers.get('x-request-id')).find((x) => x.event === 'mail.request').result, 'queued');
    assert.equal(linesOf(srv, unknown.headers.get('x-request-id')).find((x) => x.event === 'mail.request').result, 'no_account');
    // Nothing went to the unknown addresses.
    await sleep(200);
    assert.ok(outbox(srv).every((m) => m.to === 'known@example.com' || m.to === 'unconf@example.com'));
  } finally { await stopClean(srv); }
});

// PostgreSQL only: a session holding an exclusive lock on users stalls any
// account lookup. The answer must not wait for it; the mail follows once
// the lock goes.
test('RS-01: with the account table locked, forgot and resend still answer at once; the mail follows the unlock', { skip: !process.env.PORTCULLIS_TEST_PG && 'PostgreSQL only' }, async () => {
  const { spawn } = await import('node:child_process');
  const { parseUrl } = await import('./lib/pg.mjs');
  const srv = await startServer();
  let psqlProc;
  try {
    addUser(srv, 'lk@example.com');
    addUser(srv, 'lk-unconf@example.com', GOOD_PW, []);
    addUser(srv, 'lk-own@example.com', GOOD_PW, []);
    const f = new Client(srv);
    const page = await f.get('/forgot');
    const csrf = csrfOf(page.text, '/forgot');
    const rs = await resendForm(srv, 'lk-own@example.com');
    const p = parseUrl(srv.storeUrl);
    psqlProc = spawn('psql', ['-X', '-q', '-A', '-t', '-h', p.host, '-p', p.port, '-U', p.user, '-d', p.db],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    psqlProc.stdout.setEncoding('utf8');
    psqlProc.stdout.on('data', (d) => { out += d; });
    psqlProc.stdin.write("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n");
    for (let end = Date.now() + 10_000; !out.includes('locked'); await sleep(20)) assert.ok(Date.now() < end, 'lock');
    const t0 = Date.now();
    const timed = (p) => Promise.race([p, sleep(2500).then(() => ({ status: 'timeout' }))]);
    const a = await timed(f.post('/forgot', { csrf, email: 'lk@example.com' }));
    const b = await timed(rs.post('lk-unconf@example.com'));
    assert.equal(a.status, 200, 'forgot answered while the lookup is blocked');
    assert.equal(b.status, 200, 'resend answered while the lookup is blocked');
    assert.ok(Date.now() - t0 < 2500);
    assert.equal(sent(srv, 'lk@example.com'), 0, 'no mail while the account is unreadable');
    psqlProc.stdin.write('COMMIT;\n\\q\n');
    assert.equal((await waitMail(srv, (m) => m.to === 'lk@example.com', 10_000)).length, 1);
    assert.equal((await waitMail(srv, (m) => m.to === 'lk-unconf@example.com', 10_000)).length, 1);
  } finally {
    if (psqlProc && psqlProc.exitCode === null) psqlProc.kill();
    await stopClean(srv);
  }
});

test('RS-01/RS-07: unknown addresses count toward the per-IP mail limit: after 20 unknown, a known address from that IP gets no mail', async () => {
  const srv = await startServer({ config: { trusted_proxies: '127.0.0.1' } });
  try {
    addUser(srv, 'ip-known@example.com');
    addUser(srv, 'ip-unconf@example.com', GOOD_PW, []);
    addUser(srv, 'ip-own@example.com', GOOD_PW, []);
    const ip = '203.0.113.20';
    const rs = await resendForm(srv, 'ip-own@example.com', via(ip));
    for (let i = 0; i < 10; i++) {
      assert.equal((await new Client(srv).submit('/forgot', '/forgot', { email: `ghost${i}@example.com` }, via(ip))).status, 200);
      assert.equal((await rs.post(`phantom${i}@example.com`)).status, 200);
    }
    // The 21st and 22nd requests from this IP, for real accounts.
    const a = await new Client(srv).submit('/forgot', '/forgot', { email: 'ip-known@example.com' }, via(ip));
    const b = await rs.post('ip-unconf@example.com');
    assert.equal(a.status, 200);
    assert.equal(maskCsrf(a.text), maskCsrf((await new Client(srv).submit('/forgot', '/forgot', { email: 'x@example.com' }, via(ip))).text));
    assert.equal(b.status, 200);
    // From another IP the same accounts get their mail, so the accounts
    // were never the limit.
    await new Client(srv).submit('/forgot', '/forgot', { email: 'ip-known@example.com' }, via('203.0.113.21'));
    await (await resendForm(srv, 'ip-own@example.com', via('203.0.113.21'))).post('ip-unconf@example.com');
    assert.equal((await waitMail(srv, (m) => m.to === 'ip-known@example.com')).length, 1);
    assert.equal((await waitMail(srv, (m) => m.to === 'ip-unconf@example.com')).length, 1);
    await sleep(500);
    assert.equal(sent(srv, 'ip-known@example.com'), 1, 'no mail from the exhausted IP');
    assert.equal(sent(srv, 'ip-unconf@example.com'), 1, 'no mail from the exhausted IP');
    assert.equal(outbox(srv).length, 2);
  } finally { await stopClean(srv); }
});

test('RS-07: a stranger asking from one IP uses up only that IP\'s mail budget for the account; the owner from another IP still gets reset and verification mails', async () => {
  const srv = await startServer({ config: { trusted_proxies: '127.0.0.1', mail_per_account: 3 } });
  try {
    addUser(srv, 'victim@example.com');
    addUser(srv, 'victim-new@example.com', GOOD_PW, []);
    addUser(srv, 'stranger@example.com', GOOD_PW, []);
    const evil = '198.51.100.66';
    const rs = await resendForm(srv, 'stranger@example.com', via(evil));
    for (let i = 0; i < 6; i++) {
      assert.equal((await new Client(srv).submit('/forgot', '/forgot', { email: 'victim@example.com' }, via(evil))).status, 200);
      assert.equal((await rs.post('victim-new@example.com')).status, 200);
    }
    await sleep(500);
    assert.equal((await waitMail(srv, (m) => m.to === 'victim@example.com')).length, 3);
    assert.equal((await waitMail(srv, (m) => m.to === 'victim-new@example.com')).length, 3);
    // The owner, elsewhere.
    const home = '192.0.2.44';
    assert.equal((await new Client(srv).submit('/forgot', '/forgot', { email: 'victim@example.com' }, via(home))).status, 200);
    assert.equal((await (await resendForm(srv, 'victim-new@example.com', via(home))).post('victim-new@example.com')).status, 200);
    const end = Date.now() + 5000;
    while ((sent(srv, 'victim@example.com') < 4 || sent(srv, 'victim-new@example.com') < 4) && Date.now() < end) await sleep(50);
    assert.equal(sent(srv, 'victim@example.com'), 4, 'the owner\'s reset mail');
    assert.equal(sent(srv, 'victim-new@example.com'), 4, 'the owner\'s verification mail');
    assert.ok(auditRows(srv).some((e) => e.event === 'ratelimit'));
  } finally { await stopClean(srv); }
});

test('RS-07: mail_per_account_total bounds the mails one account gets from many IPs', async () => {
  const srv = await startServer({ config: { trusted_proxies: '127.0.0.1', mail_per_account: 2, mail_per_account_total: 5 } });
  try {
    addUser(srv, 'bombed@example.com');
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 2; j++) {
        assert.equal((await new Client(srv).submit('/forgot', '/forgot', { email: 'bombed@example.com' }, via(`203.0.113.${100 + i}`))).status, 200);
      }
    }
    await waitMail(srv, (m) => m.to === 'bombed@example.com');
    await sleep(800);
    assert.equal(sent(srv, 'bombed@example.com'), 5);
  } finally { await stopClean(srv); }
});

test('RS-01: mail goes only to existing accounts: never to unknown or disabled addresses, and no verification link to a confirmed one', async () => {
  const srv = await startServer();
  try {
    addUser(srv, 'live@example.com');
    addUser(srv, 'gone@example.com');
    addUser(srv, 'own2@example.com', GOOD_PW, []);
    assert.equal(cliAt(srv, ['user', 'disable', '--email', 'gone@example.com']).code, 0);
    for (const email of ['nobody1@example.com', 'gone@example.com', 'live@example.com']) {
      assert.equal((await new Client(srv).submit('/forgot', '/forgot', { email })).status, 200);
    }
    const rs = await resendForm(srv, 'own2@example.com');
    for (const email of ['nobody2@example.com', 'gone@example.com', 'live@example.com']) {
      assert.equal((await rs.post(email)).status, 200);
    }
    await waitMail(srv, (m) => m.to === 'live@example.com');
    await sleep(800);
    const all = outbox(srv);
    assert.equal(all.length, 1, all.map((m) => `${m.to}: ${m.subject}`).join('\n'));
    assert.equal(all[0].to, 'live@example.com');
    assert.ok(linkIn(all[0], '/reset'));
  } finally { await stopClean(srv); }
});

test('RS-01: a server stopped with account work still queued exits cleanly (every job run or released, ASan)', async () => {
  const srv = await startServer({ config: { mail_per_ip: 1000, mail_per_account: 1000, mail_per_account_total: 2000, shutdown_timeout: 1 } });
  addUser(srv, 'stop@example.com');
  const c = new Client(srv);
  const csrf = csrfOf((await c.get('/forgot')).text, '/forgot');
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    c.post('/forgot', { csrf, email: i % 2 ? 'stop@example.com' : `none${i}@example.com` })));
  assert.ok(answers.every((r) => r.status === 200));
  await stopClean(srv);
  const ended = srv.logs.filter((l) => l.includes('"mail.request"')).length;
  const dropped = srv.logs.map((l) => l.match(/"mail\.jobs_dropped".*"count":(\d+)/)?.[1]).filter(Boolean).map(Number);
  assert.equal(ended + dropped.reduce((a, b) => a + b, 0), 40, 'every request\'s work ran or was released');
});
