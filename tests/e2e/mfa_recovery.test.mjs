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
