// Users from the command line: opaque ids (OI-07), case-insensitive unique
// emails, the full add/list/show/disable/enable/delete round trip, the
// password policy with its reason (PW-06), Argon2id storage with per-hash
// salts (PW-01), and passwords never taken from argv nor echoed anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, run, tempDir, storeDir } from './lib/server.mjs';

const GOOD = 'Tq7!vR2#mZp9$Lw4xK-canary';

function user(dir, args, opts) {
  return run(['user', ...args, '--mode', 'development', '--data-dir', dir], opts);
}

function sql(dir, query) {
  const r = spawnSync('sqlite3', [join(dir, 'portcullis.db'), query], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function addJson(dir, email, extra = [], opts) {
  // Without a terminal, a user without a password must be asked for.
  const pw = extra.includes('--password-stdin') ? [] : ['--no-password'];
  const r = user(dir, ['add', '--email', email, '--json', ...pw, ...extra], opts);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// Every byte the data dir holds, for secret greps.
function dirBytes(dir) {
  let all = '';
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isFile()) all += readFileSync(p, 'latin1');
  }
  return all;
}

test('OI-07 user add --json: an opaque random id, not derived from the email', () => {
  const dir = storeDir();
  const u = addJson(dir, 'Alice.Smith@Example.com', ['--name', 'Alice', '--verified']);
  assert.match(u.id, /^usr_[A-Za-z0-9_-]{22}$/);
  assert.ok(!u.id.toLowerCase().includes('alice'));
  assert.ok(!u.id.toLowerCase().includes('example'));
  assert.equal(u.email, 'Alice.Smith@Example.com');
  assert.equal(u.email_verified, true);
  assert.equal(u.name, 'Alice');
  assert.equal(typeof u.created_at, 'number');
  assert.equal(u.has_password, false);
  const v = addJson(dir, 'bob@example.com');
  assert.notEqual(u.id, v.id);
  assert.equal(v.email_verified, false);
  assert.equal(v.name, '');
});

test('duplicate email in another case is refused', () => {
  const dir = storeDir();
  addJson(dir, 'carol@example.com');
  const r = user(dir, ['add', '--email', 'CAROL@Example.COM', '--no-password']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already exists/);
  assert.equal(sql(dir, 'SELECT count(*) FROM users'), '1');
});

test('invalid emails and usage errors exit 2', () => {
  const dir = storeDir();
  for (const e of ['nope', 'a@b', 'a b@c.d', '@x.y', 'a@@b.c', `${'a'.repeat(65)}@b.c`]) {
    const r = user(dir, ['add', '--email', e]);
    assert.equal(r.code, 2, e);
    assert.match(r.stderr, /not a valid address/, e);
  }
  const cases = [
    ['user'],
    ['user', 'frob'],
    ['user', 'add'],
    ['user', 'show'],
    ['user', 'show', '--id', 'x', '--email', 'a@b.c'],
    ['user', 'list', '--email', 'a@b.c'],
    ['user', 'delete', '--id', 'x', '--json'],
    ['user', 'disable', '--id'],
    ['user', 'add', '--email', 'a@b.c', 'extra'],
  ];
  for (const args of cases) {
    const r = run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /usage: portcullis user/, args.join(' '));
  }
});

test('every user sub-command has --help with the common options', () => {
  for (const sub of ['add', 'list', 'show', 'disable', 'enable', 'set-password', 'delete']) {
    const r = run(['user', sub, '--help']);
    assert.equal(r.code, 0, sub);
    for (const w of ['--config', '--data-dir', '--store-url', '--mode', '--email', '--password-stdin'])
      assert.ok(r.stdout.includes(w), `${sub}: ${w}`);
  }
  assert.equal(run(['user', '--help']).code, 0);
  assert.match(run(['--help']).stdout, /user add/);
});

test('SS-08 list / show / disable / enable / delete round trip', () => {
  const dir = storeDir();
  const a = addJson(dir, 'dave@example.com', ['--name', 'Dave']);
  const b = addJson(dir, 'erin@example.com');

  let r = user(dir, ['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  let list = JSON.parse(r.stdout);
  // Ordered by created_at: both were made in the same second here.
  assert.deepEqual(list.map((u) => u.id).sort(), [a.id, b.id].sort());
  r = user(dir, ['list']);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.includes(a.id) && r.stdout.includes('erin@example.com'));

  r = user(dir, ['show', '--email', 'DAVE@example.com', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).id, a.id);
  assert.equal(JSON.parse(r.stdout).disabled_at, null);

  r = user(dir, ['disable', '--id', a.id]);
  assert.equal(r.code, 0, r.stderr);
  r = user(dir, ['show', '--id', a.id, '--json']);
  assert.equal(typeof JSON.parse(r.stdout).disabled_at, 'number');
  assert.match(user(dir, ['list']).stdout, new RegExp(`${a.id}\\s+no\\s+yes`));

  r = user(dir, ['enable', '--email', 'dave@example.com']);
  assert.equal(r.code, 0, r.stderr);
  r = user(dir, ['show', '--id', a.id]);
  assert.match(r.stdout, /disabled_at:\s+-/);

  r = user(dir, ['delete', '--id', a.id]);
  assert.equal(r.code, 0, r.stderr);
  r = user(dir, ['show', '--id', a.id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no such user/);
  for (const sub of ['disable', 'enable', 'delete']) assert.equal(user(dir, [sub, '--id', a.id]).code, 1, sub);
  list = JSON.parse(user(dir, ['list', '--json']).stdout);
  assert.deepEqual(list.map((u) => u.id), [b.id]);
});

test('OI-07 a deleted user\'s email can be added again, with a new id', () => {
  const dir = storeDir();
  const a = addJson(dir, 'frank@example.com', ['--password-stdin'], { input: `${GOOD}\n` });
  assert.equal(user(dir, ['delete', '--email', 'frank@example.com']).code, 0);
  assert.equal(sql(dir, 'SELECT count(*) FROM credentials'), '0');
  assert.equal(sql(dir, `SELECT count(*) FROM deleted_users WHERE id = '${a.id}'`), '1');
  const b = addJson(dir, 'Frank@example.com');
  assert.notEqual(a.id, b.id);
  assert.equal(b.has_password, false);
});

test('PW-06 a weak, short or common password is refused with the reason; nothing is created', () => {
  const dir = storeDir();
  const cases = [
    ['short', /short/i],
    ['password', /./],
    ['passwordpassword', /./],
    ['aaaaaaaaaaaaaaaaaaaa', /./],
    ['grace.hopper.grace.hopper', /./], // the email local part
    ['portcullisportcullis', /./], // the service name
    ['', /short/i],
  ];
  for (const [pw, re] of cases) {
    const r = user(dir, ['add', '--email', 'grace.hopper@example.com', '--password-stdin'], { input: `${pw}\n` });
    assert.equal(r.code, 1, `accepted: ${pw}`);
    assert.match(r.stderr, /password refused: /, pw);
    assert.match(r.stderr, re, pw);
    if (['aaaaaaaaaaaaaaaaaaaa', 'passwordpassword', 'grace.hopper.grace.hopper'].includes(pw)) {
      assert.ok(!r.stderr.includes(pw), `echoed: ${pw}`);
      assert.ok(!r.stdout.includes(pw), `echoed: ${pw}`);
    }
  }
  // Over the hard cap.
  const long = user(dir, ['add', '--email', 'grace.hopper@example.com', '--password-stdin'], { input: 'x'.repeat(2000) });
  assert.equal(long.code, 1);
  assert.match(long.stderr, /password refused/);
  assert.equal(sql(dir, 'SELECT count(*) FROM users'), '0');
  assert.equal(sql(dir, 'SELECT count(*) FROM credentials'), '0');
});

test('PW-01 a good password is stored as an Argon2id PHC string; same password, different hashes', () => {
  const dir = storeDir();
  const a = addJson(dir, 'heidi@example.com', ['--password-stdin'], { input: `${GOOD}\n` });
  const b = addJson(dir, 'ivan@example.com', ['--password-stdin'], { input: `${GOOD}\r\n` });
  assert.equal(a.has_password, true);
  const ha = sql(dir, `SELECT secret FROM credentials WHERE user_id = '${a.id}' AND kind = 'password'`);
  const hb = sql(dir, `SELECT secret FROM credentials WHERE user_id = '${b.id}' AND kind = 'password'`);
  for (const h of [ha, hb]) {
    assert.ok(h.startsWith('$argon2id$v=19$m=65536,t=3,p=1$'), h);
    assert.match(h, /^\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  }
  assert.notEqual(ha, hb);
  assert.ok(!dirBytes(dir).includes(GOOD), 'plaintext password in the data dir');
});

test('PW-01 set-password from stdin replaces the hash; refused one keeps the old', () => {
  const dir = storeDir();
  const a = addJson(dir, 'judy@example.com');
  const q = `SELECT secret FROM credentials WHERE user_id = '${a.id}'`;
  assert.equal(sql(dir, q), '');
  let r = user(dir, ['set-password', '--id', a.id, '--password-stdin'], { input: `${GOOD}\n` });
  assert.equal(r.code, 0, r.stderr);
  const h1 = sql(dir, q);
  assert.ok(h1.startsWith('$argon2id$v=19$'));
  r = user(dir, ['set-password', '--email', 'JUDY@example.com', '--password-stdin'], { input: 'judyjudyjudyjudy\n' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /password refused/);
  assert.equal(sql(dir, q), h1);
  r = user(dir, ['set-password', '--email', 'judy@example.com', '--password-stdin'], { input: `${GOOD}x\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(sql(dir, q), h1);
  // Without a terminal and without --password-stdin there is no password.
  r = user(dir, ['set-password', '--id', a.id], { input: `${GOOD}\n` });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--password-stdin/);
  assert.equal(user(dir, ['set-password', '--id', 'usr_nobody', '--password-stdin'], { input: `${GOOD}\n` }).code, 1);
});

test('PW-01 a password can never be given as an argument, and is never echoed', () => {
  const dir = storeDir();
  const secret = 'Argv-Secret-9f3k2-canary';
  const attempts = [
    ['add', '--email', 'kim@example.com', '--password', secret],
    ['add', '--email', 'kim@example.com', `--password=${secret}`],
    ['add', '--email', 'kim@example.com', '--pass', secret],
    ['add', '--email', 'kim@example.com', '-p', secret],
    ['add', '--email', 'kim@example.com', '--password-stdin', secret],
    ['add', '--email', 'kim@example.com', `--password-stdin=${secret}`],
    ['set-password', '--email', 'kim@example.com', '--password', secret],
    ['set-password', '--email', 'kim@example.com', secret],
  ];
  for (const args of attempts) {
    const r = user(dir, args, { input: `${GOOD}\n` });
    assert.equal(r.code, 2, args.join(' '));
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `echoed: ${args.join(' ')}`);
  }
  assert.deepEqual(JSON.parse(user(dir, ['list', '--json']).stdout), []);
  // The good path prints nothing of the password either, and logs none.
  const r = user(dir, ['add', '--email', 'kim@example.com', '--password-stdin'], {
    input: `${GOOD}\n`,
    env: { PORTCULLIS_LOG_LEVEL: 'debug' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(GOOD) && !r.stderr.includes(GOOD));
  assert.ok(!dirBytes(dir).includes(GOOD));
});

// A terminal: python3's pty module plays the user at the keyboard.
function onTty(dir, args, answers) {
  const r = spawnSync('python3', [new URL('./lib/pty_run.py', import.meta.url).pathname, JSON.stringify(answers), '--',
    BIN, 'user', ...args, '--mode', 'development', '--data-dir', dir], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout };
}

test('PW-01 the terminal prompt asks twice without echo; mismatch or empty stores no password', () => {
  const dir = storeDir();
  let r = onTty(dir, ['add', '--email', 'leo@example.com'], [['New password: ', GOOD], ['Repeat password: ', GOOD]]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /added user usr_\S+ <leo@example.com> with a password/);
  assert.ok(!r.out.includes(GOOD), 'password echoed on the terminal');
  assert.ok(sql(dir, "SELECT secret FROM credentials").startsWith('$argon2id$'));

  r = onTty(dir, ['add', '--email', 'mia@example.com'], [['New password: ', GOOD], ['Repeat password: ', `${GOOD}x`]]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /passwords differ/);
  assert.ok(!r.out.includes(GOOD));
  assert.equal(sql(dir, "SELECT count(*) FROM users WHERE email_key = 'mia@example.com'"), '0');

  r = onTty(dir, ['add', '--email', 'mia@example.com'], [['New password: ', '']]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /without a password/);

  r = onTty(dir, ['set-password', '--email', 'mia@example.com'], [['New password: ', GOOD], ['Repeat password: ', GOOD]]);
  assert.equal(r.code, 0, r.out);
  assert.ok(!r.out.includes(GOOD));
  assert.equal(sql(dir, 'SELECT count(*) FROM credentials'), '2');
});

test('AU-01/AU-05: user changes are audited with the user id and the chain verifies', () => {
  const dir = storeDir();
  const u = addJson(dir, 'audited@example.com', ['--password-stdin'], { input: GOOD + '\n' });
  assert.equal(user(dir, ['disable', '--id', u.id]).code, 0);
  assert.equal(user(dir, ['enable', '--id', u.id]).code, 0);
  assert.equal(user(dir, ['set-password', '--id', u.id, '--password-stdin'], { input: GOOD + 'x\n' }).code, 0);
  assert.equal(user(dir, ['delete', '--id', u.id]).code, 0);
  const tail = run(['audit', 'tail', '--json', '-n', '50', '--mode', 'development', '--data-dir', dir]);
  assert.equal(tail.code, 0, tail.stderr);
  const rows = tail.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.event.startsWith('user.'));
  assert.deepEqual(rows.map((r) => r.event),
    ['user.created', 'user.disabled', 'user.enabled', 'user.password_set', 'user.deleted']);
  for (const r of rows) {
    assert.equal(r.target, u.id);
    assert.equal(r.actor, 'cli');
    assert.equal(r.outcome, 'success');
  }
  assert.ok(!tail.stdout.includes(GOOD), 'no password in the audit log');
  const v = run(['audit', 'verify', '--mode', 'development', '--data-dir', dir]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

test('LG-08: a fresh store has no account at all', () => {
  const dir = storeDir();
  const r = user(dir, ['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), []);
});
