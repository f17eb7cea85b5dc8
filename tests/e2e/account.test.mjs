// The account page, attacked: expiry (SS-05), sessions listed and ended
// (SS-07), recent sign-in for sensitive changes (SS-09), password change
// (PW-08, PW-03/06 with the reason, other sessions end), a disabled user
// (SS-08), re-hash on login (PW-02), and the hashing pool under a login
// flood (DS-01): 503 with Retry-After, discovery still answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { Client, addUser, auditRows, cliAt, csrfOf, GOOD_PW, OTHER_PW } from './lib/web.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const sql = storeSql;

test('SS-05: a session idle past session_idle_timeout is signed out, server-side', async () => {
  // Times are whole seconds: 5 s leaves room for a loaded machine.
  const srv = await startServer({ config: { session_idle_timeout: '5s' } });
  try {
    addUser(srv, 'idle@example.com');
    const c = new Client(srv);
    assert.equal((await c.login('idle@example.com')).status, 303);
    assert.equal(await c.signedIn(), true);
    await sleep(6200);
    assert.equal(await c.signedIn(), false);
    assert.equal(sql(srv, "SELECT count(*) FROM sessions WHERE user_id IS NOT NULL"), '0');
  } finally { await stopClean(srv); }
});

test('SS-05: activity does not extend a session past session_absolute_timeout', async () => {
  const srv = await startServer({ config: { session_absolute_timeout: '6s', session_idle_timeout: '1h' } });
  try {
    addUser(srv, 'abs@example.com');
    const c = new Client(srv);
    const t0 = Date.now();
    assert.equal((await c.login('abs@example.com')).status, 303);
    // Busy the whole time: activity keeps the idle timer fresh...
    while (Date.now() - t0 < 4000) {
      assert.equal(await c.signedIn(), true, `still in at ${Date.now() - t0} ms`);
      await sleep(400);
    }
    // ...but not the absolute limit.
    await sleep(Math.max(0, 6500 - (Date.now() - t0)));
    assert.equal(await c.signedIn(), false);
  } finally { await stopClean(srv); }
});

test('SS-07/SS-09/SS-01: sessions are listed; ending others needs a recent sign-in, which renews the id', async () => {
  const srv = await startServer({ config: { reauth_window: '4s' } });
  try {
    addUser(srv, 'multi@example.com');
    const a = new Client(srv), b = new Client(srv), cc = new Client(srv);
    // a signs in last, so its sign-in is the freshest when it acts.
    for (const c of [b, cc, a]) assert.equal((await c.login('multi@example.com')).status, 303);
    const page = await a.get('/account');
    assert.equal((page.text.match(/<tr><td>/g) ?? []).length, 3);
    assert.match(page.text, /This session/);
    assert.match(page.text, /127\.0\.0\.1/);
    // End one named session (b's), within the window.
    const hashes = [...page.text.matchAll(/name="session" value="([0-9a-f]{64})"/g)].map((m) => m[1]);
    assert.equal(hashes.length, 2);
    const r1 = await a.post('/account/sessions', { csrf: csrfOf(page.text, '/account/sessions'), session: hashes[0] });
    assert.equal(r1.status, 303);
    const left = [b, cc].map(async (c) => c.signedIn());
    assert.equal((await Promise.all(left)).filter(Boolean).length, 1);
    // Another user's session handle cannot be ended from elsewhere.
    addUser(srv, 'eve@example.com');
    const eve = new Client(srv), eve2 = new Client(srv);
    await eve.login('eve@example.com');
    await eve2.login('eve@example.com');
    const evePage = await eve.get('/account');
    const r0 = await eve.post('/account/sessions', { csrf: csrfOf(evePage.text, '/account/sessions'), session: hashes[1] });
    assert.equal(r0.status, 400);
    assert.equal((await Promise.all([b, cc].map((c) => c.signedIn()))).filter(Boolean).length, 1);
    // Past the window: "sign out all others" asks for the password (403).
    await sleep(4200);
    const p2 = await a.get('/account');
    const before = a.sid;
    const r2 = await a.post('/account/sessions', { csrf: csrfOf(p2.text, '/account/sessions'), session: 'others' });
    assert.equal(r2.status, 403);
    assert.match(r2.text, /Confirm it is you/);
    assert.equal((await Promise.all([b, cc].map((c) => c.signedIn()))).filter(Boolean).length, 1);
    // Wrong password: refused, audited.
    const bad = await a.post('/account/reauth', { csrf: csrfOf(r2.text, '/account/reauth'), password: 'not-it-at-all', then: 'sessions' });
    assert.equal(bad.status, 400);
    const ok = await a.post('/account/reauth', { csrf: csrfOf(bad.text, '/account/reauth'), password: GOOD_PW, then: 'sessions' });
    assert.equal(ok.status, 303);
    assert.notEqual(a.sid, before, 'reauthentication renews the session id');
    const p3 = await a.get('/account');
    const r3 = await a.post('/account/sessions', { csrf: csrfOf(p3.text, '/account/sessions'), session: 'others' });
    assert.equal(r3.status, 303);
    assert.equal((await Promise.all([b, cc].map((c) => c.signedIn()))).filter(Boolean).length, 0);
    assert.equal(await a.signedIn(), true);
    const ev = auditRows(srv).map((e) => `${e.event}:${e.outcome}`);
    assert.ok(ev.includes('reauth:failure') && ev.includes('reauth:success') && ev.includes('session.revoke:success'));
  } finally { await stopClean(srv); }
});

test('PW-08/SS-07/AU-06: a password change needs the current password and ends the other sessions', async () => {
  const srv = await startServer();
  try {
    addUser(srv, 'pat@example.com');
    const a = new Client(srv), b = new Client(srv);
    await a.login('pat@example.com');
    await b.login('pat@example.com');
    const oldHash = sql(srv, "SELECT secret FROM credentials");
    // Wrong current password: 400, nothing changes.
    const w = await a.submit('/account', '/account/password', { current: 'not-my-password', new: OTHER_PW });
    assert.equal(w.status, 400);
    assert.match(w.text, /current password is not correct/);
    assert.equal(sql(srv, "SELECT secret FROM credentials"), oldHash);
    // PW-03 / PW-06: a refused new password says why; nothing changes.
    const short = await a.submit('/account', '/account/password', { current: GOOD_PW, new: 'short' });
    assert.equal(short.status, 400);
    assert.match(short.text, /at least 15 characters/i);
    const common = await a.submit('/account', '/account/password', { current: GOOD_PW, new: 'passwordpassword' });
    assert.equal(common.status, 400);
    assert.equal(sql(srv, "SELECT secret FROM credentials"), oldHash);
    // CSRF: without the token, nothing changes.
    assert.equal((await a.post('/account/password', { current: GOOD_PW, new: OTHER_PW })).status, 403);
    const before = a.sid;
    const r = await a.submit('/account', '/account/password', { current: GOOD_PW, new: OTHER_PW });
    assert.equal(r.status, 303);
    assert.equal(r.location, '/account?done=password');
    assert.notEqual(a.sid, before);
    assert.equal(await a.signedIn(), true);
    assert.equal(await b.signedIn(), false, 'other sessions end');
    const c = new Client(srv);
    assert.equal((await c.login('pat@example.com', GOOD_PW)).status, 400);
    assert.equal((await c.login('pat@example.com', OTHER_PW)).status, 303);
    assert.ok(auditRows(srv).some((e) => e.event === 'password.change' && e.outcome === 'success'));
    // AU-06: the owner is told, by mail.
    const { readdirSync, readFileSync } = await import('node:fs');
    let told = false;
    for (let i = 0; i < 50 && !told; i++) {
      const dir = join(srv.dataDir, 'outbox');
      try { told = readdirSync(dir).filter((n) => n.endsWith('.eml')).some((f) => readFileSync(join(dir, f), 'utf8').includes('To: pat@example.com')); } catch { /* not yet */ }
      if (!told) await sleep(100);
    }
    assert.ok(told, 'a password-changed notice was mailed');
  } finally { await stopClean(srv); }
});

test('SS-08: disabling a user ends their sessions at once', async () => {
  const srv = await startServer();
  try {
    const u = addUser(srv, 'dis@example.com');
    const c = new Client(srv);
    await c.login('dis@example.com');
    assert.equal(await c.signedIn(), true);
    assert.equal(cliAt(srv, ['user', 'disable', '--id', u.id]).code, 0);
    assert.equal(await c.signedIn(), false);
    assert.equal((await new Client(srv).login('dis@example.com')).status, 400);
  } finally { await stopClean(srv); }
});

test('SS-07: an operator ends every session of a user from the CLI', async () => {
  const srv = await startServer();
  try {
    const u = addUser(srv, 'op@example.com');
    const a = new Client(srv), b = new Client(srv);
    await a.login('op@example.com');
    await b.login('op@example.com');
    const r = cliAt(srv, ['user', 'sign-out', '--email', 'op@example.com']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ended 2 sessions/);
    assert.equal(await a.signedIn(), false);
    assert.equal(await b.signedIn(), false);
    assert.ok(auditRows(srv).some((e) => e.event === 'session.revoke' && e.target === u.id));
  } finally { await stopClean(srv); }
});

test('PW-02: a hash with outdated parameters is upgraded at the next sign-in', async () => {
  const srv = await startServer({ config: { pwhash_iterations: 4 } });
  try {
    // The CLI uses the same config file: create the user with t=3 first.
    const r = cliAt(srv, ['user', 'add', '--email', 'old@example.com', '--verified', '--password-stdin', '--pwhash-iterations', '3'], { input: GOOD_PW + '\n' });
    if (r.code !== 0) {
      // No such flag: write the t=3 hash through an environment override.
      const r2 = cliAt(srv, ['user', 'add', '--email', 'old@example.com', '--verified', '--password-stdin'], { input: GOOD_PW + '\n', env: { PORTCULLIS_PWHASH_ITERATIONS: '3' } });
      assert.equal(r2.code, 0, r2.stderr);
    }
    assert.match(sql(srv, 'SELECT secret FROM credentials'), /\$m=65536,t=3,p=1\$/);
    assert.equal((await new Client(srv).login('old@example.com')).status, 303);
    let phc = '';
    for (let i = 0; i < 50 && !/t=4/.test(phc); i++) {
      await sleep(100);
      phc = sql(srv, 'SELECT secret FROM credentials');
    }
    assert.match(phc, /^\$argon2id\$v=19\$m=65536,t=4,p=1\$/);
    assert.equal((await new Client(srv).login('old@example.com')).status, 303);
  } finally { await stopClean(srv); }
});

test('DS-01: a login flood gets 503 + Retry-After past the pool, and discovery keeps answering', async () => {
  const srv = await startServer({ config: { pwhash_concurrency: 1, pwhash_queue: 2, pwhash_queue_timeout: '2s', http_threads: 2 } });
  try {
    addUser(srv, 'flood@example.com');
    const clients = [];
    for (let i = 0; i < 24; i++) {
      const c = new Client(srv);
      const p = await c.get('/login');
      clients.push([c, csrfOf(p.text, '/login')]);
    }
    // One account each: the per-account throttle counts attempts before
    // they reach the pool (LG-03), so one account would see only 5.
    const flood = clients.map(([c, csrf], i) => c.post('/login', { csrf, email: `flood${i}@example.com`, password: 'wrong-password-in-a-flood' }));
    // While hashes are queued, metadata is answered at once.
    const t = Date.now();
    const d = await fetch(srv.url + '/.well-known/openid-configuration');
    const took = Date.now() - t;
    assert.equal(d.status, 200);
    const results = await Promise.all(flood);
    const busy = results.filter((r) => r.status === 503);
    const denied = results.filter((r) => r.status === 400);
    assert.ok(busy.length > 0, 'some logins are shed');
    assert.ok(denied.length > 0, 'some logins are checked');
    assert.equal(busy.length + denied.length, results.length);
    for (const r of busy) assert.ok(Number(r.headers.get('retry-after')) >= 1);
    console.log(`# DS-01: ${denied.length} checked, ${busy.length} shed with 503; discovery answered in ${took} ms during the flood`);
  } finally { await stopClean(srv); }
});
