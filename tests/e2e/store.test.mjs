// The store: migrations are all-or-nothing, a newer schema is refused, and
// /readyz tells the truth about the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openSync, writeSync, closeSync } from 'node:fs';
import { run, tempDir, startServer, stopClean } from './lib/server.mjs';

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
