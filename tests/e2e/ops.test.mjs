// Operations hardening (issue 11, items 6, 8, 9, 10, 5): a wrong master
// key never writes (AU-05: no false tamper alarm), read-only commands never
// create a store, /readyz reflects whether the store takes writes, a port
// in use is reported before anything is created, and stopping the server
// while sign-ins hammer it over keep-alive connections is clean under ASan.
// Runs on SQLite, and on PostgreSQL too when PORTCULLIS_TEST_PG is set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { run, tempDir, startServer, stopClean, freePort } from './lib/server.mjs';
import { SHARED as PG, createDatabase, dropDatabase, psql, parseUrl, urlFor } from './lib/pg.mjs';
import { Client, addUser, csrfOf } from './lib/web.mjs';

const PW = 'violet-anchor-quartz-meadow-91';
// For serve runs that must fail before they listen.
const SPARE_PORT = await freePort();

// A new, empty store of the suite's kind: args for every command, and SQL.
function newStore() {
  const dir = tempDir();
  const url = PG ? createDatabase(PG) : null;
  const args = ['--data-dir', dir, ...(url ? ['--store-url', url] : [])];
  const sql = (q) => {
    if (url) return psql(url, q);
    const r = spawnSync('sqlite3', [join(dir, 'portcullis.db'), q], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  return { dir, url, args, sql, drop: () => url && dropDatabase(url) };
}

const key = () => randomBytes(32).toString('hex');

function counts(s) {
  return ['users', 'clients', 'signing_keys', 'audit_log', 'key_check'].map((t) => `${t}=${s.sql(`SELECT count(*) FROM ${t}`)}`).join(' ');
}

// Every command that writes, as a wrong key would run it.
function writers(s) {
  return [
    { args: ['user', 'add', '--email', 'mallory@example.com', '--password-stdin'], input: PW + '\n' },
    { args: ['user', 'disable', '--email', 'alice@example.com'] },
    { args: ['user', 'set-password', '--email', 'alice@example.com', '--password-stdin'], input: PW + '\n' },
    { args: ['user', 'sign-out', '--email', 'alice@example.com'] },
    { args: ['user', 'delete', '--email', 'alice@example.com'] },
    { args: ['client', 'add', '--name', 'Evil', '--redirect-uri', 'https://evil.example/cb'] },
    { args: ['key', 'rotate', '--alg', 'ES256'] },
    { args: ['key', 'list'] },
    { args: ['serve', '--listen', `127.0.0.1:${SPARE_PORT}`, '--issuer', `http://127.0.0.1:${SPARE_PORT}`] },
  ].map((w) => ({ ...w, args: [...w.args, ...s.args] }));
}

function assertWrongKeyWritesNothing(s, good, bad) {
  const before = counts(s);
  for (const w of writers(s)) {
    const r = run(w.args, { env: { PORTCULLIS_MASTER_KEY: bad }, input: w.input });
    assert.notEqual(r.code, 0, `${w.args.slice(0, 2).join(' ')} with a wrong key exited 0`);
    assert.match(r.stderr, /master key does not match the store/, w.args.slice(0, 2).join(' '));
  }
  assert.equal(counts(s), before, 'a wrong master key wrote rows');
  const v = run(['audit', 'verify', ...s.args], { env: { PORTCULLIS_MASTER_KEY: good } });
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /audit log OK/);
  const c = run(['check-config', ...s.args], { env: { PORTCULLIS_MASTER_KEY: bad } });
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /the master key does not match the store/);
  const ok = run(['check-config', ...s.args], { env: { PORTCULLIS_MASTER_KEY: good } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /the master key matches the store/);
}

test('AU-05: a wrong master key writes nothing on a store without signing keys (key-check row)', () => {
  const s = newStore();
  const good = key(), bad = key();
  try {
    assert.equal(run(['migrate', ...s.args]).code, 0);
    // The first command holding a key seals the store's key check.
    const a = run(['user', 'add', '--email', 'alice@example.com', '--password-stdin', ...s.args],
      { env: { PORTCULLIS_MASTER_KEY: good }, input: PW + '\n' });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(s.sql('SELECT count(*) FROM key_check'), '1');
    assert.equal(s.sql('SELECT count(*) FROM signing_keys'), '0');
    assertWrongKeyWritesNothing(s, good, bad);
  } finally {
    s.drop();
  }
});

test('AU-05: a wrong master key writes nothing on a store from before the key-check row (signing keys prove it)', () => {
  const s = newStore();
  const good = key(), bad = key();
  try {
    assert.equal(run(['migrate', ...s.args]).code, 0);
    assert.equal(run(['key', 'list', ...s.args], { env: { PORTCULLIS_MASTER_KEY: good } }).code, 0);
    const a = run(['user', 'add', '--email', 'alice@example.com', '--password-stdin', ...s.args],
      { env: { PORTCULLIS_MASTER_KEY: good }, input: PW + '\n' });
    assert.equal(a.code, 0, a.stderr);
    // As a store migrated to 0016 by a node that never held the key.
    s.sql('DELETE FROM key_check');
    // (audit verify with the right key then records the check row.)
    assertWrongKeyWritesNothing(s, good, bad);
    assert.equal(s.sql('SELECT count(*) FROM key_check'), '1');
    const r = run(['user', 'enable', '--email', 'alice@example.com', ...s.args], { env: { PORTCULLIS_MASTER_KEY: good } });
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(run(['user', 'enable', '--email', 'alice@example.com', ...s.args], { env: { PORTCULLIS_MASTER_KEY: bad } }).code, 0);
  } finally {
    s.drop();
  }
});

test('AU-05: development mode makes no new master key for a store sealed under one', () => {
  const s = newStore();
  try {
    assert.equal(run(['migrate', ...s.args]).code, 0);
    assert.equal(run(['key', 'list', '--mode', 'development', ...s.args]).code, 0);
    const before = counts(s);
    rmSync(join(s.dir, 'master.key'));
    for (const cmd of [['key', 'list'], ['client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb'],
      ['serve', '--listen', `127.0.0.1:${SPARE_PORT}`, '--issuer', `http://127.0.0.1:${SPARE_PORT}`]]) {
      const r = run([...cmd, '--mode', 'development', ...s.args]);
      assert.notEqual(r.code, 0, cmd.join(' '));
      assert.match(r.stderr, /holds data sealed under a master key, so none is created/);
      assert.ok(!existsSync(join(s.dir, 'master.key')), `${cmd.join(' ')} made a new master key`);
    }
    assert.equal(counts(s), before);
  } finally {
    s.drop();
  }
});

test('ops: read-only commands refuse a missing store, naming it, and create nothing', () => {
  const parent = tempDir();
  const dir = join(parent, 'data');
  const env = { PORTCULLIS_MASTER_KEY: key() };
  const readers = [['user', 'list'], ['user', 'show', '--email', 'a@example.com'], ['client', 'list'],
    ['audit', 'tail'], ['audit', 'verify'], ['key', 'list'], ['user', 'add', '--email', 'a@example.com', '--password-stdin']];
  for (const cmd of readers) {
    const r = run([...cmd, '--data-dir', dir], { env, input: PW + '\n' });
    assert.notEqual(r.code, 0, `${cmd.join(' ')} exited 0`);
    assert.match(r.stderr, new RegExp(`no store at ${join(dir, 'portcullis.db').replace(/[/.]/g, '\\$&')}`), cmd.join(' '));
    assert.match(r.stderr, /--data-dir/);
    assert.match(r.stderr, /--store-url/);
    assert.deepEqual(readdirSync(parent), [], `${cmd.join(' ')} created something`);
  }
  // An existing data dir without a store: the same, and still no file.
  const d2 = tempDir();
  const r = run(['user', 'list', '--data-dir', d2]);
  assert.notEqual(r.code, 0);
  assert.ok(!existsSync(join(d2, 'portcullis.db')), 'user list created the store');
  // check-config says so and creates nothing either.
  const c = run(['check-config', '--data-dir', d2], { env });
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /store: none yet/);
  assert.ok(!existsSync(join(d2, 'portcullis.db')));
  // migrate creates it; then user list works.
  assert.equal(run(['migrate', '--data-dir', d2]).code, 0);
  assert.equal(run(['user', 'list', '--data-dir', d2]).code, 0);
});

test('ops: on PostgreSQL an empty database is refused by read-only commands with a hint to migrate', { skip: !PG && 'needs PORTCULLIS_TEST_PG' }, () => {
  const url = createDatabase(PG);
  try {
    for (const cmd of [['user', 'list'], ['client', 'list'], ['audit', 'tail']]) {
      const r = run([...cmd, '--store-url', url, '--data-dir', tempDir()]);
      assert.notEqual(r.code, 0, cmd.join(' '));
      assert.match(r.stderr, /has no schema/);
      assert.match(r.stderr, /portcullis migrate/);
    }
    assert.equal(psql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), '0', 'a table was created');
  } finally {
    dropDatabase(url);
  }
});

async function readyz(srv) {
  const r = await fetch(`${srv.url}/readyz`);
  return { status: r.status, body: await r.text() };
}

async function waitReadyz(srv, status, ms) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < ms) {
    last = await readyz(srv);
    if (last.status === status) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`/readyz did not answer ${status} within ${ms} ms: last ${last.status} ${last.body}`);
}

// Reads work, writes fail. PostgreSQL: the database goes read-only for
// new sessions (as a failover to a standby would) and the server's
// sessions are ended, so that it reconnects into read-only ones. SQLite:
// as root (CI) file modes do not stop writes, and a connection keeps the
// mode it was opened with, so a trigger (written by another process, the
// sqlite3 CLI) makes every write to the probed table fail.
function refuseWrites(srv, on) {
  if (srv.storeUrl) {
    const db = parseUrl(srv.storeUrl).db;
    const admin = urlFor(srv.storeUrl, 'postgres');
    psql(admin, on ? `ALTER DATABASE ${db} SET default_transaction_read_only = on` : `ALTER DATABASE ${db} RESET default_transaction_read_only`);
    psql(admin, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}'`);
    return;
  }
  const sqlite = (q) => {
    const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', join(srv.dataDir, 'portcullis.db'), q], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  sqlite(on
    ? "CREATE TRIGGER ro_i BEFORE INSERT ON health_probe BEGIN SELECT RAISE(ABORT, 'read-only'); END;" +
      "CREATE TRIGGER ro_u BEFORE UPDATE ON health_probe BEGIN SELECT RAISE(ABORT, 'read-only'); END;"
    : 'DROP TRIGGER ro_i; DROP TRIGGER ro_u;');
}

test('ops: /readyz answers 503 while the store refuses writes and 200 again once it takes them', async () => {
  const srv = await startServer();
  try {
    await waitReadyz(srv, 200, 5000);
    refuseWrites(srv, true);
    // The probe runs at most every 2 s: 503 within that (and slack).
    const down = await waitReadyz(srv, 503, 6000);
    const r = await readyz(srv);
    assert.equal(r.status, 503);
    assert.match(r.body, /not writable/);
    // Reads still work: this is not "store down".
    assert.equal((await fetch(`${srv.url}/jwks.json`)).status, 200);
    refuseWrites(srv, false);
    const up = await waitReadyz(srv, 200, 6000);
    console.log(`# 503 after ${down} ms, 200 again after ${up} ms`);
  } finally {
    if (srv.storeUrl) try { refuseWrites(srv, false); } catch { /* already */ }
    await stopClean(srv);
  }
  // Each change logged once (the log is flushed by the stop).
  const logs = srv.rawLogs();
  assert.equal(logs.split('"store.unwritable"').length - 1, 1, 'the change is logged once');
  assert.equal(logs.split('"store.writable"').length - 1, 1, 'the recovery is logged once');
});

test('ops: a listen address in use is named before anything is created', async () => {
  const busy = net.createServer();
  await new Promise((r) => busy.listen(0, '127.0.0.1', r));
  const { port } = busy.address();
  try {
    const parent = tempDir();
    const dir = join(parent, 'data');
    const url = PG ? createDatabase(PG) : null;
    try {
      const r = run(['serve', '--mode', 'development', '--data-dir', dir, '--listen', `127.0.0.1:${port}`,
        '--issuer', `http://127.0.0.1:${port}`, ...(url ? ['--store-url', url] : [])]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
      assert.doesNotMatch(r.stderr, /port 0/);
      assert.deepEqual(readdirSync(parent), [], 'a data dir, store or key was created');
      if (url) assert.equal(psql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), '0', 'tables were created');
    } finally {
      if (url) dropDatabase(url);
    }
  } finally {
    busy.close();
  }
});

// DS-01 / issue 11 item 5: the hashing pool used to be freed while
// keep-alive connections could still bring sign-ins to it (a use after
// free, or a 500, in the window before the HTTP server stopped). Sign-ins
// run on many keep-alive connections, with small pauses so that some
// connections sit idle through the drain and send after it; SIGTERM comes
// in the middle. ASan makes any use after free a non-zero exit.
test('DS-01: SIGTERM while sign-ins run over keep-alive connections: clean exit, no 500', async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const email = 'loop@example.com';
  for (let round = 0; round < 3; round++) {
    const srv = await startServer({ config: { pwhash_memory: '19m', pwhash_iterations: 2, shutdown_timeout: 1 } });
    addUser(srv, email, PW);
    const statuses = [];
    let running = true;
    const loops = Array.from({ length: 16 }, async () => {
      const c = new Client(srv);
      while (running) {
        try {
          const page = await c.get('/login');
          statuses.push(page.status);
          const csrf = page.status === 200 ? csrfOf(page.text, '/login') : null;
          if (csrf) statuses.push((await c.post('/login', { csrf, email, password: PW })).status);
        } catch { /* refused once the server is gone */ }
        await sleep(Math.random() * 25);
      }
    });
    await sleep(400 + round * 150);
    const before = statuses.length;
    await stopClean(srv); // asserts exit 0: no ASan report
    running = false;
    await Promise.all(loops);
    assert.ok(before > 0, 'no request was answered before the stop');
    assert.ok(statuses.includes(303), 'no sign-in succeeded');
    assert.deepEqual(statuses.filter((s) => s >= 500 && s !== 503), [], 'a 5xx other than 503');
  }
});
