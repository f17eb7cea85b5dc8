// Recovery codes (issue 16; SECURITY.md MF-07, AU-06, SS-09, CF-01):
// a new set needs the form's CSRF token and a recent sign-in, is shown
// once (no-store), stored only as Argon2id hashes (10 codes of 80 bits),
// audited and mailed; a new set kills the old one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stopClean, storeSql, storeDump } from './lib/server.mjs';
import { Client, addUser, auditRows, csrfOf, GOOD_PW } from './lib/web.mjs';

const PAGE = '/account/mfa/recovery';
// "3-ABCD-EFGH-JKMN-PQRS": an index, 16 Crockford base32 characters.
const CODE = /\b(10|[1-9])-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})\b/g;

let srv;
before(async () => {
  srv = await startServer({ config: { reauth_window: '4s', pwhash_memory: '19m', pwhash_iterations: '2' } });
});
after(async () => { await stopClean(srv); });

function mails() {
  const dir = join(srv.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, ''));
}

async function mailed(pred) {
  for (let i = 0; i < 50; i++) {
    const m = mails().find(pred);
    if (m) return m;
    await sleep(100);
  }
  return null;
}

function rows(userId) {
  const out = storeSql(srv, `SELECT idx, phc, used_at FROM recovery_codes WHERE user_id = '${userId}' ORDER BY idx`);
  return out === '' ? [] : out.split('\n').map((l) => {
    const [idx, phc, used] = l.split('|');
    return { idx: Number(idx), phc, used: used === '' ? null : Number(used) };
  });
}

function codesOf(html) {
  return [...html.matchAll(CODE)].map((m) => ({ code: m[0], idx: Number(m[1]), secret: m.slice(2, 6).join('') }));
}

// Generates a set (confirming the password first if the sign-in is no
// longer recent, SS-09); the page's codes.
async function generate(c) {
  const page = await c.get(PAGE);
  assert.equal(page.status, 200);
  let made = await c.post(PAGE, { action: 'generate', csrf: csrfOf(page.text, PAGE) });
  if (made.status === 403 && /Confirm it is you/.test(made.text)) {
    const re = await c.post('/account/reauth', { csrf: csrfOf(made.text, '/account/reauth'), password: GOOD_PW, then: 'recovery' });
    assert.equal(re.status, 303);
    const p2 = await c.get(PAGE);
    made = await c.post(PAGE, { action: 'generate', csrf: csrfOf(p2.text, PAGE) });
  }
  assert.equal(made.status, 200, made.text.slice(0, 600));
  return { made, codes: codesOf(made.text) };
}

test('MF-07, SS-09, CF-01: a new set needs the CSRF token and a recent sign-in; it is shown once, no-store, audited and mailed', async () => {
  const alice = addUser(srv, 'alice-rc@example.com');
  const a = new Client(srv);
  assert.equal((await a.login('alice-rc@example.com')).status, 303);
  const page = await a.get(PAGE);
  assert.equal(page.status, 200);
  assert.match(page.text, /no unused recovery codes/);
  const csrf = csrfOf(page.text, PAGE);
  assert.ok(csrf);
  // Just signed in: ten codes, this once.
  const made = await a.post(PAGE, { action: 'generate', csrf });
  assert.equal(made.status, 200, made.text.slice(0, 600));
  const made1 = rows(alice.id);
  assert.equal(made1.length, 10);
  // No token, a wrong token, another site: no new set.
  assert.equal((await a.post(PAGE, { action: 'generate' })).status, 403);
  assert.equal((await a.post(PAGE, { action: 'generate', csrf: 'x'.repeat(43) })).status, 403);
  assert.equal((await a.post(PAGE, { action: 'generate', csrf }, { site: 'cross-site', headers: { origin: 'https://evil.example' } })).status, 403);
  assert.deepEqual(rows(alice.id), made1);
  // A signed-out browser gets nothing.
  const anon = new Client(srv);
  assert.equal((await anon.get(PAGE)).status, 303);
  assert.equal((await anon.post(PAGE, { action: 'generate', csrf })).status, 401);

  assert.match(made.headers.get('cache-control') ?? '', /no-store/);
  const codes = codesOf(made.text);
  assert.deepEqual(codes.map((c) => c.idx), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(new Set(codes.map((c) => c.secret)).size, 10);
  const again = await a.get(PAGE);
  assert.match(again.text, /10 of 10 recovery codes left/);
  for (const c of codes) assert.ok(!again.text.includes(c.secret.slice(0, 4) + '-' + c.secret.slice(4, 8)), 'never shown again');

  const ev = auditRows(srv).find((e) => e.event === 'mfa.recovery.generate' && e.actor === alice.id);
  assert.ok(ev, 'audited');
  assert.ok(!JSON.stringify(ev).includes(codes[0].secret.slice(0, 4)), 'no code in the audit row');
  const m = await mailed((x) => x.includes('To: alice-rc@example.com') && x.includes('New recovery codes'));
  assert.ok(m, 'the owner is told by mail');
  for (const c of codes) assert.ok(!m.includes(c.secret.slice(0, 4) + '-' + c.secret.slice(4, 8)), 'no code in the mail');

  // Past the window: the password first, then back here; nothing changed.
  const before = rows(alice.id);
  await sleep(4200);
  const p2 = await a.get(PAGE);
  const stale = await a.post(PAGE, { action: 'generate', csrf: csrfOf(p2.text, PAGE) });
  assert.equal(stale.status, 403);
  assert.match(stale.text, /Confirm it is you/);
  assert.equal(codesOf(stale.text).length, 0);
  assert.deepEqual(rows(alice.id), before);
  const re = await a.post('/account/reauth', { csrf: csrfOf(stale.text, '/account/reauth'), password: GOOD_PW, then: 'recovery' });
  assert.equal(re.status, 303);
  assert.equal(re.location, `${PAGE}?done=reauth`);
  assert.equal((await generate(a)).codes.length, 10);
});

test('MF-07: stored as Argon2id PHC strings, never the codes: 10 codes of 80 bits; a new set kills the old one', async () => {
  const bob = addUser(srv, 'bob-rc@example.com');
  const b = new Client(srv);
  await b.login('bob-rc@example.com');
  const { codes } = await generate(b);
  assert.equal(codes.length, 10);
  for (const c of codes) assert.equal(c.secret.length * 5, 80);
  const first = rows(bob.id);
  assert.deepEqual(first.map((r) => r.idx), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (const r of first) {
    assert.match(r.phc, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(r.used, null);
  }
  assert.equal(new Set(first.map((r) => r.phc.split('$')[4])).size, 10, 'a salt per code');
  // An attacker with a copy of the store finds no code in any form.
  const dump = storeDump(srv);
  for (const c of codes) {
    assert.ok(!dump.includes(c.secret), 'no code in the store');
    assert.ok(!dump.includes(c.secret.toLowerCase()));
    assert.ok(!dump.includes(c.code));
  }
  // A new set: ten new hashes, none of the old ones left.
  const { codes: next } = await generate(b);
  assert.equal(next.length, 10);
  const second = rows(bob.id);
  assert.equal(second.length, 10);
  for (const r of second) assert.ok(!first.some((o) => o.phc === r.phc), 'the old set is gone');
  assert.equal(auditRows(srv).filter((e) => e.event === 'mfa.recovery.generate' && e.actor === bob.id).length, 2);
});

// The factor step (/login/mfa) needs a second factor; the code under
// test is the recovery code, so the TOTP credential is only arranged in
// the store (activated, never used here).
function arrangeTotp(userId) {
  const now = Math.floor(Date.now() / 1000);
  storeSql(srv, `INSERT INTO totp_credentials (user_id, seed_sealed, created_at, activated_at) VALUES ('${userId}', 'unused', ${now}, ${now})`);
}

// Password, then the factor step with code: the final answer.
async function signInWith(email, code) {
  const c = new Client(srv);
  const first = await c.login(email);
  assert.equal(first.status, 303);
  assert.match(first.location, /^\/login\/mfa/);
  const step = await c.get(first.location);
  assert.equal(step.status, 200);
  const res = await c.post('/login/mfa', { csrf: csrfOf(step.text, '/login/mfa'), code });
  return { c, res };
}

test('MF-07, AU-06: a recovery code signs in once at the factor step; the use is audited and mailed, the page shows what is left', async () => {
  const carol = addUser(srv, 'carol-rc@example.com');
  const a = new Client(srv);
  await a.login('carol-rc@example.com');
  const { codes } = await generate(a);
  arrangeTotp(carol.id);
  const three = codes[2];
  // Typed as people type: lower case, spaces for hyphens.
  const typed = three.code.toLowerCase().replace(/-/g, ' ');
  const { c, res } = await signInWith('carol-rc@example.com', typed);
  assert.equal(res.status, 303, res.text.slice(0, 600));
  assert.equal(res.location, '/account');
  assert.ok(await c.signedIn());
  const rowsNow = rows(carol.id);
  assert.equal(rowsNow.filter((r) => r.used !== null).map((r) => r.idx).join(), '3');

  const audit = auditRows(srv);
  const use = audit.find((e) => e.event === 'mfa.recovery.use' && e.actor === carol.id);
  assert.ok(use, 'audited');
  assert.equal(use.details.index, 3);
  assert.equal(use.details.left, 9);
  assert.ok(!JSON.stringify(audit).includes(three.secret.slice(0, 4) + '-'), 'never the code');
  const login = audit.find((e) => e.event === 'login' && e.outcome === 'success' && e.actor === carol.id && /mfa/.test(e.details?.amr ?? ''));
  assert.ok(login, 'the sign-in is a multi-factor one');
  const m = await mailed((x) => x.includes('To: carol-rc@example.com') && x.includes('A recovery code was used'));
  assert.ok(m, 'the user is told by mail');
  assert.match(m, /number 3/);
  assert.ok(m.includes('/account/mfa/recovery'), 'the mail says how to make a new set');
  assert.ok(!m.includes(three.secret.slice(0, 4) + '-' + three.secret.slice(4, 8)));
  const page = await c.get(PAGE);
  assert.match(page.text, /9 of 10 recovery codes left/);
  assert.match(page.text, /Generate a new set/);

  // Single use: the same code again fails, in any spelling.
  const again = await signInWith('carol-rc@example.com', three.code);
  assert.equal(again.res.status, 400);
  assert.ok(!(await again.c.signedIn()));
  // A wrong code at a live index, and another user's code, fail too.
  const wrong = three.code.slice(0, -1) + (three.code.endsWith('Z') ? 'Y' : 'Z');
  assert.equal((await signInWith('carol-rc@example.com', codes[3].code.slice(0, -1) + (codes[3].code.endsWith('Z') ? 'Y' : 'Z'))).res.status, 400);
  assert.equal((await signInWith('carol-rc@example.com', wrong)).res.status, 400);
  assert.equal(rows(carol.id).filter((r) => r.used !== null).length, 1);
  // Another code still works once.
  assert.equal((await signInWith('carol-rc@example.com', codes[9].code)).res.status, 303);
  assert.equal(auditRows(srv).filter((e) => e.event === 'mfa.recovery.use' && e.actor === carol.id).length, 2);
});

test('MF-07: a new set kills the old one at sign-in too', async () => {
  const dave = addUser(srv, 'dave-rc@example.com');
  const a = new Client(srv);
  await a.login('dave-rc@example.com');
  const { codes: old } = await generate(a);
  arrangeTotp(dave.id);
  await generate(a);
  assert.equal((await signInWith('dave-rc@example.com', old[0].code)).res.status, 400);
  assert.equal(rows(dave.id).filter((r) => r.used !== null).length, 0);
});
