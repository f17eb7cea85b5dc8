// API keys (issue 14; SECURITY.md AK-01..06, Part 2.7), black-box: the
// CLI, what the store holds, and a key in a URL. The exchange, the
// introspecting resource server and the per-IP limit are in
// api_keys_use.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { startServer, stopClean, storeDump, storeSql } from './lib/server.mjs';
import { addUser, cliAt, auditRows } from './lib/web.mjs';

const KEY_RE = /pck_(sa|usr)_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}/g;
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// The 6-character check of Part 2.7, computed independently of the server.
function check(body) {
  let v = crc32(Buffer.from(body));
  let out = '';
  for (let i = 0; i < 6; i++) { out = B62[v % 62] + out; v = Math.floor(v / 62); }
  return out;
}
// The same key id with another secret and a valid checksum: a look-alike.
function lookAlike(key) {
  const body = key.slice(0, -6);
  const last = body.at(-1) === 'A' ? 'B' : 'A';
  const b = body.slice(0, -1) + last;
  return b + check(b);
}

let srv;
let alice;

before(async () => {
  srv = await startServer();
  alice = addUser(srv, 'alice-keys@example.com');
  // A personal key holds only scopes some registered resource offers.
  const r = cliAt(srv, ['resource', 'add', '--id', 'https://api.example.com', '--scope', 'orders:read a']);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => { await stopClean(srv); });

function addKey(args = []) {
  const r = cliAt(srv, ['api-key', 'add', '--owner', alice.id, '--scope', 'orders:read', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function show(id) {
  const r = cliAt(srv, ['api-key', 'show', '--id', id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('AK-02: add prints the whole key once, in the documented format with a CRC32 check', () => {
  const k = addKey(['--name', 'ci']);
  assert.match(k.id, /^key_[0-9A-Za-z]{16}$/);
  assert.match(k.key, /^pck_usr_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$/);
  assert.equal(k.key.match(KEY_RE)[0], k.key);
  assert.equal(k.key.slice(8, 24), k.id.slice(4));
  assert.equal(k.key.slice(-6), check(k.key.slice(0, -6)));
  assert.ok(k.expires_at > Date.now() / 1000 + 89 * 86400);
  // show, list: never the key again.
  const s = show(k.id);
  assert.equal(s.key, undefined);
  assert.ok(!JSON.stringify(s).includes(k.key.slice(25, 68)));
  const l = cliAt(srv, ['api-key', 'list', '--owner', alice.id, '--json']);
  assert.ok(!l.stdout.includes(k.key.slice(25, 68)));
});

test('AK-01: the store holds only the SHA-256 of the secret', async () => {
  const k = addKey();
  const secret = k.key.slice(25, 68);
  const dump = storeDump(srv);
  assert.ok(!dump.includes(secret), 'the secret is in the store');
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256').update(secret).digest('hex');
  assert.equal(storeSql(srv, `SELECT secret_hash FROM api_keys WHERE key_id = '${k.id.slice(4)}'`), h);
  // Nor in the audit log.
  assert.ok(!JSON.stringify(auditRows(srv)).includes(secret));
});

test('AK-05: every key expires, within api_key_max_ttl', () => {
  const r = cliAt(srv, ['api-key', 'add', '--owner', alice.id, '--scope', 'a', '--expires', '366d']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /api_key_max_ttl/);
  const k = addKey(['--expires', '1h']);
  assert.ok(Math.abs(k.expires_at - (Date.now() / 1000 + 3600)) < 120);
});

test('AK-05: rotate issues a successor and schedules the old key\'s end; revoke is immediate', () => {
  const k = addKey();
  const r = cliAt(srv, ['api-key', 'rotate', '--id', k.id, '--overlap', '1h', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const succ = JSON.parse(r.stdout);
  assert.notEqual(succ.id, k.id);
  assert.match(succ.key, /^pck_usr_/);
  const old = show(k.id);
  assert.equal(old.replaced_by, succ.id);
  assert.ok(old.expires_at <= Date.now() / 1000 + 3600 + 60);
  const again = cliAt(srv, ['api-key', 'rotate', '--id', k.id]);
  assert.equal(again.code, 1);
  const rv = cliAt(srv, ['api-key', 'revoke', '--id', succ.id]);
  assert.equal(rv.code, 0, rv.stderr);
  assert.equal(show(succ.id).revoke_reason, 'operator');
  const events = auditRows(srv).map((e) => `${e.event} ${e.target}`);
  assert.ok(events.includes(`api_key.rotate ${k.id}`));
  assert.ok(events.includes(`api_key.revoke ${succ.id}`));
});

test('AK-06: a live key in a URL gets 400 and is revoked; a look-alike revokes nothing', async () => {
  const live = addKey();
  const victim = addKey();
  // A look-alike of victim's key (same id, valid checksum, other secret).
  const fake = lookAlike(victim.key);
  let res = await fetch(`${srv.url}/.well-known/openid-configuration?k=${fake}`);
  assert.equal(res.status, 400);
  assert.equal(show(victim.id).revoked_at, null);
  // A checksum-broken string is not a key: the route answers as usual.
  const broken = victim.key.slice(0, -1) + (victim.key.at(-1) === 'a' ? 'b' : 'a');
  res = await fetch(`${srv.url}/.well-known/openid-configuration?k=${broken}`);
  assert.equal(res.status, 200);
  // The live key, on any route (here a page and the token endpoint).
  res = await fetch(`${srv.url}/login?api_key=${live.key}`);
  assert.equal(res.status, 400);
  const body = await res.text();
  assert.ok(!body.includes(live.key));
  const s = show(live.id);
  assert.notEqual(s.revoked_at, null);
  assert.equal(s.revoke_reason, 'url_exposed');
  // Percent-encoded, to another route: refused all the same.
  const enc = [...victim.key].map((c) => '%' + c.charCodeAt(0).toString(16)).join('');
  res = await fetch(`${srv.url}/token?x=${enc}`, { method: 'POST' });
  assert.equal(res.status, 400);
  assert.equal(show(victim.id).revoke_reason, 'url_exposed');
  const ev = auditRows(srv).filter((e) => e.event === 'api_key.url_exposed');
  assert.deepEqual(ev.map((e) => e.target).sort(), [live.id, victim.id].sort());
  // Logs carry the key id, never the secret.
  const logs = srv.rawLogs();
  assert.ok(logs.includes(live.id));
  assert.ok(!logs.includes(live.key.slice(25, 68)));
  assert.ok(!logs.includes(victim.key.slice(25, 68)));
});

test('AK-02: revoke-leaked revokes the live keys in a text, mails their owners, and nothing else', async () => {
  const { readdirSync, readFileSync, existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const bob = addUser(srv, 'bob-leak@example.com');
  const live = addKey();
  const revoked = addKey();
  assert.equal(cliAt(srv, ['api-key', 'revoke', '--id', revoked.id]).code, 0);
  const bobs = JSON.parse(cliAt(srv, ['api-key', 'add', '--owner', bob.id, '--scope', 'a', '--json']).stdout);
  const bystander = addKey();
  // A foreign key (same format, another server's: unknown id and secret),
  // a look-alike of the bystander (its id, a valid checksum, not its
  // secret), and a checksum-broken copy of the bystander's key.
  const foreignBody = 'pck_sa_' + 'F'.repeat(16) + '_' + 'G'.repeat(43);
  const foreign = foreignBody + check(foreignBody);
  const alike = lookAlike(bystander.key);
  const broken = bystander.key.slice(0, -1) + (bystander.key.at(-1) === 'a' ? 'b' : 'a');
  const text = [
    `2026-12-05 INFO deploy with PCK=${live.key}`,
    `old: "${revoked.key}", bob: ${bobs.key}`,
    `foreign ${foreign} alike ${alike} broken ${broken}`,
    `again ${live.key}`,
  ].join('\n');
  const r = cliAt(srv, ['api-key', 'revoke-leaked', '-', '--json'], { input: text });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.revoked.map((x) => x.id).sort(), [live.id, bobs.id].sort());
  assert.deepEqual(out.already_revoked, [revoked.id]);
  assert.deepEqual(out.not_ours.sort(), [`key_${'F'.repeat(16)}`, bystander.id].sort());
  assert.equal(out.checksum_failed, 1);
  assert.ok(!r.stdout.includes(live.key.slice(25)), 'no secret printed');
  assert.equal(show(live.id).revoke_reason, 'leaked');
  assert.equal(show(bobs.id).revoke_reason, 'leaked');
  assert.equal(show(bystander.id).revoked_at, null, 'a look-alike revokes nothing');
  assert.equal(show(revoked.id).revoke_reason, 'operator');
  const ev = auditRows(srv).filter((e) => e.event === 'api_key.revoke_leaked').map((e) => e.target);
  assert.deepEqual(ev.sort(), [live.id, bobs.id].sort());
  // Each owner is told, with key ids only.
  const dir = join(srv.dataDir, 'outbox');
  const mails = existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, '')) : [];
  const toBob = mails.find((m) => m.includes('To: bob-leak@example.com') && m.includes('leaked'));
  assert.ok(toBob && toBob.includes(bobs.id) && !toBob.includes(live.id));
  const toAlice = mails.find((m) => m.includes('To: alice-keys@example.com') && m.includes('leaked'));
  assert.ok(toAlice && toAlice.includes(live.id));
  assert.ok(!mails.some((m) => m.includes(live.key.slice(25)) || m.includes(bobs.key.slice(25))));
  // From a file, the plain text report.
  const { writeFileSync } = await import('node:fs');
  const f = join(srv.dataDir, 'leak.txt');
  writeFileSync(f, `x ${bystander.key} y`);
  const t = cliAt(srv, ['api-key', 'revoke-leaked', f]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, new RegExp(`revoked ${bystander.id}`));
});
