// Personal API keys on the account page (issue 14; SECURITY.md AK-07):
// creation needs the form's CSRF token and a recent sign-in, shows the
// key once, is audited and mailed; a user revokes only their own keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stopClean } from './lib/server.mjs';
import { Client, addUser, auditRows, cliAt, csrfOf, GOOD_PW } from './lib/web.mjs';

let srv;
before(async () => {
  srv = await startServer({ config: { reauth_window: '4s', pwhash_memory: '19m', pwhash_iterations: '2' } });
  // A personal key holds only scopes some registered resource offers.
  const r = cliAt(srv, ['resource', 'add', '--id', 'https://api.example.com', '--scope', 'orders:read a']);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => { await stopClean(srv); });

function keysOf(owner) {
  const r = cliAt(srv, ['api-key', 'list', '--owner', owner, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function mails() {
  const dir = join(srv.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, ''));
}

test('AK-07: creating a key needs the CSRF token and a recent sign-in; it is shown once, audited and mailed', async () => {
  const alice = addUser(srv, 'alice-pk@example.com');
  const a = new Client(srv);
  assert.equal((await a.login('alice-pk@example.com')).status, 303);
  const page = await a.get('/account/keys');
  assert.equal(page.status, 200);
  assert.ok((await a.get('/account')).text.includes('href="/account/keys"'));
  const csrf = csrfOf(page.text, '/account/keys');
  const form = { action: 'create', name: 'laptop', scope: 'orders:read', days: '30' };
  // No token, a wrong token, another site: nothing is created.
  assert.equal((await a.post('/account/keys', form)).status, 403);
  assert.equal((await a.post('/account/keys', { ...form, csrf: 'x'.repeat(43) })).status, 403);
  assert.equal((await a.post('/account/keys', { ...form, csrf }, { site: 'cross-site', headers: { origin: 'https://evil.example' } })).status, 403);
  assert.equal(keysOf(alice.id).length, 0);
  // Within the window: the key, this once.
  const made = await a.post('/account/keys', { ...form, csrf });
  assert.equal(made.status, 200, made.text.slice(0, 600));
  assert.match(made.headers.get('cache-control') ?? '', /no-store/);
  const key = made.text.match(/pck_usr_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}/)?.[0];
  assert.ok(key, 'the key is on the page');
  const [k] = keysOf(alice.id);
  assert.equal(k.id, `key_${key.slice(8, 24)}`);
  assert.equal(k.name, 'laptop');
  assert.ok(Math.abs(k.expires_at - (Date.now() / 1000 + 30 * 86400)) < 120);
  const list = await a.get('/account/keys');
  assert.ok(list.text.includes(k.id));
  assert.ok(!list.text.includes(key.slice(25)), 'never shown again');
  const ev = auditRows(srv).find((e) => e.event === 'api_key.create' && e.target === k.id);
  assert.equal(ev?.actor, alice.id);
  let told = false;
  for (let i = 0; i < 50 && !told; i++) {
    told = mails().some((m) => m.includes('To: alice-pk@example.com') && m.includes(k.id) && !m.includes(key.slice(25)));
    if (!told) await sleep(100);
  }
  assert.ok(told, 'the owner is told by mail');
  // Past the window: the password first, then back to the keys.
  await sleep(4200);
  const p2 = await a.get('/account/keys');
  const stale = await a.post('/account/keys', { ...form, csrf: csrfOf(p2.text, '/account/keys') });
  assert.equal(stale.status, 403);
  assert.match(stale.text, /Confirm it is you/);
  assert.equal(keysOf(alice.id).length, 1);
  const re = await a.post('/account/reauth', { csrf: csrfOf(stale.text, '/account/reauth'), password: GOOD_PW, then: 'keys' });
  assert.equal(re.status, 303);
  assert.equal(re.location, '/account/keys?done=reauth');
  const p3 = await a.get('/account/keys');
  assert.equal((await a.post('/account/keys', { ...form, csrf: csrfOf(p3.text, '/account/keys') })).status, 200);
  assert.equal(keysOf(alice.id).length, 2);
});

test('AK-07: a user revokes their own keys only; a signed-out browser gets nothing', async () => {
  const bob = addUser(srv, 'bob-pk@example.com');
  const eve = addUser(srv, 'eve-pk@example.com');
  const r = cliAt(srv, ['api-key', 'add', '--owner', bob.id, '--scope', 'a', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const bk = JSON.parse(r.stdout);
  const e = new Client(srv);
  await e.login('eve-pk@example.com');
  const ep = await e.get('/account/keys');
  const no = await e.post('/account/keys', { action: 'revoke', id: bk.id, csrf: csrfOf(ep.text, '/account/keys') });
  assert.equal(no.status, 400);
  assert.equal(keysOf(bob.id)[0].revoked_at, null);
  assert.equal(keysOf(eve.id).length, 0);
  const anon = new Client(srv);
  assert.equal((await anon.get('/account/keys')).status, 303);
  const b = new Client(srv);
  await b.login('bob-pk@example.com');
  const bp = await b.get('/account/keys');
  assert.ok(bp.text.includes(bk.id));
  const yes = await b.post('/account/keys', { action: 'revoke', id: bk.id, csrf: csrfOf(bp.text, '/account/keys') });
  assert.equal(yes.status, 303);
  assert.equal(keysOf(bob.id)[0].revoke_reason, 'owner');
  assert.ok(auditRows(srv).some((x) => x.event === 'api_key.revoke' && x.target === bk.id && x.actor === bob.id));
});
