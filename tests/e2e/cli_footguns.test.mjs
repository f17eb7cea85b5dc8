// Issue 11 item 14, CLI foot-guns found by a new operator: a piped password
// without --password-stdin (PW-01), no way to update a user, a directory
// given as --config, typos in PORTCULLIS_* variables, algorithm names in
// lower case, and a sign-in page linking to a registration page that is
// off. Runs on SQLite, and on PostgreSQL with PORTCULLIS_TEST_PG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, stopClean, run, tempDir, storeDir, storeSql } from './lib/server.mjs';
import { Client, GOOD_PW, addUser, auditRows, cliAt } from './lib/web.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('PW-01: a password piped without --password-stdin is refused; nothing is created', () => {
  const dir = storeDir();
  const user = (args, opts) => run(['user', ...args, '--mode', 'development', '--data-dir', dir], opts);
  let r = user(['add', '--email', 'pipe@example.com'], { input: `${GOOD_PW}\n` });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--password-stdin/);
  assert.match(r.stderr, /--no-password/);
  assert.ok(!r.stderr.includes(GOOD_PW));
  assert.deepEqual(JSON.parse(user(['list', '--json']).stdout), []);
  // Saying so creates a user without a password.
  r = user(['add', '--email', 'nopw@example.com', '--no-password', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).has_password, false);
  r = user(['add', '--email', 'both@example.com', '--no-password', '--password-stdin'], { input: `${GOOD_PW}\n` });
  assert.equal(r.code, 2);
});

test('user update: verify, rename, change email (unique, verification reset, reset links revoked), audited', async () => {
  const srv = await startServer();
  try {
    const u = addUser(srv, 'old@example.com', GOOD_PW, []);
    addUser(srv, 'taken@example.com');
    const upd = (args) => cliAt(srv, ['user', 'update', ...args]);
    let r = upd(['--id', u.id, '--verified', '--name', 'Ada Lovelace', '--json']);
    assert.equal(r.code, 0, r.stderr);
    let j = JSON.parse(r.stdout);
    assert.equal(j.email_verified, true);
    assert.equal(j.name, 'Ada Lovelace');
    // A reset link is outstanding for the old address.
    const jar = new Client(srv);
    const f = await jar.submit('/forgot', '/forgot', { email: 'old@example.com' });
    assert.ok(f.status < 400, f.text);
    const tokens = () => Number(storeSql(srv, `SELECT count(*) FROM user_tokens WHERE user_id = '${u.id}'`));
    for (let i = 0; i < 50 && tokens() === 0; i++) await sleep(100);
    assert.ok(tokens() > 0, 'a reset token was issued');
    // Another account's address, in any case: refused, nothing changes.
    r = upd(['--email', 'old@example.com', '--new-email', 'TAKEN@example.com']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already/);
    r = upd(['--email', 'old@example.com', '--new-email', 'not-an-address']);
    assert.equal(r.code, 2);
    // The change: not verified any more, the old links are dead.
    r = upd(['--email', 'old@example.com', '--new-email', 'New@Example.com', '--json']);
    assert.equal(r.code, 0, r.stderr);
    j = JSON.parse(r.stdout);
    assert.equal(j.email, 'New@Example.com');
    assert.equal(j.email_verified, false);
    assert.equal(tokens(), 0);
    assert.equal(cliAt(srv, ['user', 'show', '--email', 'old@example.com']).code, 1);
    // Nothing to change is a usage error.
    assert.equal(upd(['--id', u.id]).code, 2);
    const rows = auditRows(srv).filter((e) => e.event === 'user.updated' && e.target === u.id);
    assert.equal(rows.length, 2);
    assert.ok(!JSON.stringify(rows).includes('New@Example.com'), 'no address in the audit detail');
    assert.equal(cliAt(srv, ['audit', 'verify']).code, 0);
  } finally {
    await stopClean(srv);
  }
});

test('--config naming a directory is refused with a clear error', () => {
  const dir = tempDir();
  const conf = join(dir, 'conf.d');
  mkdirSync(conf);
  for (const args of [['--config', conf], []]) {
    const env = args.length ? {} : { PORTCULLIS_CONFIG: conf };
    const r = run(['check-config', '--mode', 'development', '--data-dir', dir, ...args], { env });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /is a directory/);
    assert.ok(r.stderr.includes(conf));
  }
});

test('unknown PORTCULLIS_* variables are named with the closest setting; the project\'s own are not', () => {
  const dir = tempDir();
  const r = run(['check-config', '--mode', 'development', '--data-dir', dir], {
    env: { PORTCULLIS_ISSUR: 'https://x.example', PORTCULLIS_SESION_IDLE_TIMEOUT: '5m', PORTCULLIS_ZZZZZZZZZZZZZZZZZZ: '1',
      PORTCULLIS_MASTER_KEY: 'ab'.repeat(32), PORTCULLIS_CONFIG: '', PORTCULLIS_TEST_PG: 'x', PORTCULLIS_BIN: 'x' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /PORTCULLIS_ISSUR.*PORTCULLIS_ISSUER/);
  assert.match(r.stderr, /PORTCULLIS_SESION_IDLE_TIMEOUT.*PORTCULLIS_SESSION_IDLE_TIMEOUT/);
  assert.match(r.stderr, /PORTCULLIS_ZZZZZZZZZZZZZZZZZZ/);
  for (const v of ['PORTCULLIS_MASTER_KEY', 'PORTCULLIS_CONFIG', 'PORTCULLIS_TEST_PG', 'PORTCULLIS_BIN']) {
    assert.ok(!r.stderr.includes(v + '"') && !r.stderr.includes(v + ' '), `${v} warned about: ${r.stderr}`);
  }
});

test('key rotate --alg takes any case', async () => {
  const srv = await startServer({ config: { signing_key_activation_delay: '1h' } });
  try {
    const r = cliAt(srv, ['key', 'rotate', '--alg', 'es256']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added ES256 key/);
    assert.equal(cliAt(srv, ['key', 'rotate', '--alg', 'eddsa']).code, 0);
    assert.equal(cliAt(srv, ['key', 'rotate', '--alg', 'hs256']).code, 2);
  } finally {
    await stopClean(srv);
  }
});

test('the sign-in page links to "Create an account" only when registration is on', async () => {
  for (const on of [false, true]) {
    const srv = await startServer({ config: { registration: on } });
    try {
      const r = await new Client(srv).get('/login');
      assert.equal(r.status, 200);
      assert.equal(r.text.includes('href="/register"'), on, r.text);
      assert.equal((await new Client(srv).get('/register')).status === 404, !on);
    } finally {
      await stopClean(srv);
    }
  }
});
