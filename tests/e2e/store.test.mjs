// The store: migrations are all-or-nothing, a newer schema is refused, and
// /readyz tells the truth about the store, and a busy store is a 503.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { openSync, writeSync, closeSync } from 'node:fs';
import { run, tempDir, startServer, stopClean } from './lib/server.mjs';
import { addUser } from './lib/web.mjs';
import { addClient, codeFlow, tokenRequest } from './lib/oauth.mjs';

const sql = (db, q) => spawnSync('sqlite3', [db, q], { encoding: 'utf8' });

test('a failing migration stops the server with a clear message and leaves no trace', () => {
  const dir = tempDir();
  const db = join(dir, 'portcullis.db');
  // A table in the way of migration 0001.
  assert.equal(sql(db, 'CREATE TABLE signing_keys (x INT);').status, 0);
  const r = run(['serve', '--mode', 'development', '--data-dir', dir, '--listen', '127.0.0.1:1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /migration 0001_init failed: .*signing_keys.*rolled back; the store stays at version 0/);
  const t = sql(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name");
  assert.equal(t.stdout.trim(), 'signing_keys', 'no schema_version, no half-applied tables');
  const m = run(['migrate', '--data-dir', dir]);
  assert.notEqual(m.code, 0);
  assert.match(m.stderr, /migration 0001_init failed/);
});

test('a store from a newer release is refused', () => {
  const dir = tempDir();
  assert.equal(run(['migrate', '--data-dir', dir]).code, 0);
  const db = join(dir, 'portcullis.db');
  assert.equal(sql(db, "INSERT INTO schema_version VALUES (999, 'future', 0)").status, 0);
  const r = run(['migrate', '--data-dir', dir]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /newer than this binary/);
});

test('/readyz: 503 when the store cannot be read, /healthz stays up', async () => {
  const srv = await startServer({ keepDataDir: true });
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
  const srv = await startServer();
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
