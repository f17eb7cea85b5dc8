// The store: migrations are all-or-nothing and safe while the server runs,
// a newer schema is served unchanged, /readyz tells the truth about the
// store, and a busy store is a 503.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { openSync, writeSync, closeSync, rmSync, copyFileSync } from 'node:fs';
import { BIN, run, tempDir, startServer, stopClean, LATEST_MIGRATION, freePort } from './lib/server.mjs';
import { addClient, codeFlow, tokenRequest } from './lib/oauth.mjs';
import { addUser } from './lib/web.mjs';

// serve binds its address before anything else: runs that must fail later
// get a free port (port 1 needs root and may be taken by a parallel run).
const SPARE_PORT = await freePort();

const LATEST = LATEST_MIGRATION.version;
const NEXT = LATEST + 1;

const sql = (db, q) => spawnSync('sqlite3', [db, q], { encoding: 'utf8' });

test('a failing migration stops the server with a clear message and leaves no trace', () => {
  const dir = tempDir();
  const db = join(dir, 'portcullis.db');
  // A table in the way of migration 0001.
  assert.equal(sql(db, 'CREATE TABLE signing_keys (x INT);').status, 0);
  const r = run(['serve', '--mode', 'development', '--data-dir', dir, '--listen', `127.0.0.1:${SPARE_PORT}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /migration 0001_init failed: .*signing_keys.*rolled back; the store stays at version 0/);
  const t = sql(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name");
  assert.equal(t.stdout.trim(), 'signing_keys', 'no schema_version, no half-applied tables');
  const m = run(['migrate', '--data-dir', dir]);
  assert.notEqual(m.code, 0);
  assert.match(m.stderr, /migration 0001_init failed/);
});

// SQLite by name, whatever store the suite runs on.
const sqliteUrl = (dir) => `sqlite:${join(dir, 'portcullis.db')}`;
const sqlAsync = (db, q) => new Promise((resolve) => {
  const p = spawn('sqlite3', ['-cmd', '.timeout 10000', db, q], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d) => { stderr += d; });
  p.on('close', (code) => resolve({ code, stderr }));
});
const migrateAsync = (dir, env = {}) => new Promise((resolve) => {
  const p = spawn(BIN, ['migrate', '--data-dir', dir, '--store-url', sqliteUrl(dir)],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  p.on('close', (code) => resolve({ code, stdout, stderr }));
});
const versions = (db) => sql(db, 'SELECT count(*), count(DISTINCT version), min(version), max(version) FROM schema_version').stdout.trim();

// A newer release's next additive migration, applied as store_migrate()
// applies one: in one write transaction with its schema_version row.
const FUTURE = `BEGIN IMMEDIATE;
ALTER TABLE clients ADD COLUMN software_id TEXT NULL;
ALTER TABLE client_secrets ADD COLUMN label TEXT NOT NULL DEFAULT '';
CREATE TABLE future_things (id TEXT NOT NULL PRIMARY KEY, created_at BIGINT NOT NULL);
CREATE INDEX audit_log_ts ON audit_log (ts_ms);
INSERT INTO schema_version (version, name, applied_at) VALUES (${NEXT}, 'future', 0);
COMMIT;`;

test('a store from a newer release is served unchanged: migrate leaves it alone, serve starts and says so', async () => {
  const dir = tempDir();
  const db = join(dir, 'portcullis.db');
  assert.equal(run(['migrate', '--data-dir', dir, '--store-url', sqliteUrl(dir)]).code, 0);
  assert.equal(sql(db, FUTURE).status, 0);
  const r = run(['migrate', '--data-dir', dir, '--store-url', sqliteUrl(dir)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`is at schema version ${NEXT}, newer than this binary knows \\(${LATEST}\\): left unchanged`));
  assert.equal(versions(db), `${NEXT}|${NEXT}|1|${NEXT}`);
  const srv = await startServer({ dataDir: dir, keepDataDir: true, config: { store_url: sqliteUrl(dir) } });
  assert.equal((await fetch(srv.url + '/readyz')).status, 200);
  const c = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
  const t = await tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  assert.equal(sql(db, 'SELECT count(*) FROM clients WHERE software_id IS NULL').stdout.trim(), '1');
  await stopClean(srv);
  assert.match(srv.rawLogs(), new RegExp(`"store.schema_newer".*"version":${NEXT},"binary_version":${LATEST}`));
  assert.equal(versions(db), `${NEXT}|${NEXT}|1|${NEXT}`);
});

test('several migrate processes and a serve at once on an empty SQLite store: all succeed, each migration applied once', async () => {
  const dir = tempDir();
  const [ms, srv] = await Promise.all([
    Promise.all(Array.from({ length: 4 }, () => migrateAsync(dir))),
    startServer({ dataDir: dir, keepDataDir: true, config: { store_url: sqliteUrl(dir) } }),
  ]);
  for (const m of ms) assert.equal(m.code, 0, m.stderr);
  assert.equal(versions(join(dir, 'portcullis.db')), `${LATEST}|${LATEST}|1|${LATEST}`);
  assert.equal((await fetch(srv.url + '/readyz')).status, 200);
  await stopClean(srv);
});

test('migrate, and a newer release\'s additive migration, while the server grants tokens: no failed request', async () => {
  const dir = tempDir();
  const db = join(dir, 'portcullis.db');
  const srv = await startServer({ dataDir: dir, keepDataDir: true, config: { store_url: sqliteUrl(dir) } });
  const c = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
  const statuses = [];
  let running = true;
  const loops = Array.from({ length: 6 }, async () => {
    while (running) {
      try {
        const r = await tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });
        statuses.push(r.status === 200 && r.json?.access_token ? 200 : r.status);
      } catch (e) { statuses.push(`error ${e.message}`); }
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  for (const m of await Promise.all([migrateAsync(dir), migrateAsync(dir)])) assert.equal(m.code, 0, m.stderr);
  const f = await sqlAsync(db, FUTURE);
  assert.equal(f.code, 0, f.stderr);
  const m = await migrateAsync(dir);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, new RegExp(`newer than this binary knows \\(${LATEST}\\): left unchanged`));
  await new Promise((r) => setTimeout(r, 300));
  running = false;
  await Promise.all(loops);
  const bad = statuses.filter((x) => x !== 200);
  assert.ok(statuses.length > 20, `only ${statuses.length} requests`);
  assert.deepEqual(bad, [], `${bad.length} of ${statuses.length} failed`);
  await stopClean(srv);
});

test('migrate_on_start = false: serve and the CLI refuse an older store and leave it as it is', () => {
  const dir = tempDir();
  const db = join(dir, 'portcullis.db');
  const env = { PORTCULLIS_MIGRATE_ON_START: 'false' };
  let r = run(['serve', '--mode', 'development', '--data-dir', dir, '--store-url', sqliteUrl(dir), '--listen', `127.0.0.1:${SPARE_PORT}`], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`is at schema version 0 and this binary needs ${LATEST}: run \`portcullis migrate\` first \\(migrate_on_start = false\\)`));
  assert.equal(sql(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'").stdout.trim(), '0', 'nothing created');
  r = run(['client', 'list', '--data-dir', dir, '--store-url', sqliteUrl(dir)], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /run `portcullis migrate` first/);
  assert.equal(run(['migrate', '--data-dir', dir, '--store-url', sqliteUrl(dir)], { env }).code, 0);
  r = run(['client', 'list', '--data-dir', dir, '--store-url', sqliteUrl(dir)], { env });
  assert.equal(r.code, 0, r.stderr);
});

// docs/operations.md, "Restoring an older backup": an online backup taken
// while a grant is live brings back a refresh token that was rotated
// since; the SQL the guide gives ends it, and the session with it.
test('a restored backup resurrects a rotated refresh token; the restore procedure of docs/operations.md ends it', async () => {
  const dir = tempDir();
  const db = join(dir, 'portcullis.db');
  const opts = { dataDir: dir, keepDataDir: true, config: { store_url: sqliteUrl(dir) } };
  let srv = await startServer(opts);
  opts.port = srv.port; // the same issuer, and the browser's jar, across restarts
  addUser(srv, 'restore@example.com');
  const c = addClient(srv, { firstParty: true });
  const f = await codeFlow(srv, c, { email: 'restore@example.com', scope: 'openid offline_access' });
  const rt0 = f.tokens.refresh_token;
  const backup = join(dir, 'backup.db');
  assert.equal(sql(db, `.backup ${backup}`).status, 0, 'online backup while serving');
  const r1 = await tokenRequest(srv, c, { grant_type: 'refresh_token', refresh_token: rt0 });
  assert.equal(r1.status, 200);
  await stopClean(srv);
  // Restore: the backup in place of the store, its -wal and -shm removed.
  for (const x of ['', '-wal', '-shm']) rmSync(db + x, { force: true });
  copyFileSync(backup, db);
  srv = await startServer(opts);
  // The token rotated after the backup works again: what the guide warns of.
  const again = await tokenRequest(srv, c, { grant_type: 'refresh_token', refresh_token: rt0 });
  assert.equal(again.status, 200, 'a restore resurrects a used refresh token');
  assert.equal((await f.jar.get('/account')).status, 200, 'the session is alive before the procedure');
  await stopClean(srv);
  // The guide's step 1, server stopped.
  assert.equal(sql(db, `UPDATE token_families SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER),
       revoke_reason = 'restore' WHERE revoked_at IS NULL;
   DELETE FROM sessions;`).status, 0);
  srv = await startServer(opts);
  const after = await tokenRequest(srv, c, { grant_type: 'refresh_token', refresh_token: again.json.refresh_token });
  assert.equal(after.status, 400);
  assert.equal(after.json.error, 'invalid_grant');
  const page = await f.jar.get('/account');
  assert.notEqual(page.status, 200, 'the session is gone too');
  await stopClean(srv);
});

// The SQLite file under a running server (PostgreSQL outages:
// pg_outage.test.mjs).
test('/readyz: 503 when the store cannot be read, /healthz stays up', async () => {
  const srv = await startServer({ keepDataDir: true, store: 'sqlite' });
  assert.equal((await fetch(srv.url + '/readyz')).status, 200);
  // Corrupt the database header under the running server.
  const db = join(srv.dataDir, 'portcullis.db');
  const fd = openSync(db, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x41), 0, 4096, 0);
  closeSync(fd);
  for (const f of ['-wal', '-shm']) {
    try { const x = openSync(db + f, 'r+'); writeSync(x, Buffer.alloc(4096, 0x42), 0, 4096, 0); closeSync(x); } catch {}
  }
  // Each worker thread has its own connection; one that reads the file
  // finds it corrupt.
  let r;
  for (let i = 0; i < 20; i++) {
    r = await fetch(srv.url + '/readyz');
    if (r.status === 503) break;
  }
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('retry-after'), '5');
  assert.equal((await r.json()).status, 'unavailable');
  assert.equal((await fetch(srv.url + '/healthz')).status, 200);
  await stopClean(srv);
});

test('RT-01: a store that stays busy (write lock held elsewhere) makes a refresh 503, not invalid_grant, and the token stays good', async () => {
  const srv = await startServer({ store: 'sqlite' });
  addUser(srv, 'busy@example.com');
  const rp = addClient(srv, { scope: 'openid offline_access' });
  const f = await codeFlow(srv, rp, { email: 'busy@example.com', scope: 'openid offline_access' });
  const rt = f.tokens.refresh_token;
  // Another process holds SQLite's write lock longer than the 5 s busy
  // timeout: the rotation's BEGIN IMMEDIATE gets SQLITE_BUSY.
  const holder = spawn('sqlite3', [join(srv.dataDir, 'portcullis.db')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const held = new Promise((resolve) => holder.stdout.once('data', resolve));
  holder.stdin.write("BEGIN IMMEDIATE;\nSELECT 'locked';\n.shell sleep 8\nROLLBACK;\n.quit\n");
  await held;
  const done = new Promise((resolve) => holder.on('exit', resolve));
  const r = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: rt });
  assert.equal(r.status, 503, JSON.stringify(r.json));
  assert.equal(r.json.error, 'temporarily_unavailable');
  assert.ok(r.headers.get('retry-after'));
  assert.equal(r.json.refresh_token, undefined);
  await done;
  // Nothing was spent: the same token rotates once the lock is gone.
  const again = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: rt });
  assert.equal(again.status, 200, JSON.stringify(again.json));
  await stopClean(srv);
});
