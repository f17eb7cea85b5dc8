// Disk full on SQLite (issue 17, item 7; SECURITY.md DS-04, AU-01): the
// data dir lives on a small tmpfs; once it is full the server fails
// closed — /token and the sign-in answer 503 with Retry-After, no token,
// no session cookie, never a 500 or a crash — while /healthz keeps
// answering; when space returns the same process serves again without a
// restart, and `audit verify` passes (no half-written row). Needs root
// (mount); skipped with the reason otherwise. SQLite pass only (host_*).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, stopClean, tempDir, run } from './lib/server.mjs';
import { addClient, tokenRequest } from './lib/oauth.mjs';
import { Client, addUser, csrfOf, GOOD_PW } from './lib/web.mjs';

function mountTmpfs() {
  if (process.getuid?.() !== 0) return { skip: 'not root: mounting a small tmpfs needs root' };
  const dir = tempDir('pc-diskfull-');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) return { skip: `mount -t tmpfs refused: ${(m.stderr || '').trim()}` };
  return { dir };
}

const mnt = mountTmpfs();
after(() => {
  if (mnt.dir) spawnSync('umount', ['-l', mnt.dir]);
});

// Fills the filesystem to the last byte with one file.
function fill(path) {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let n = 0;
  try {
    for (;;) n += writeSync(fd, chunk);
  } catch (e) {
    assert.equal(e.code, 'ENOSPC', String(e));
  }
  // The last partial page too.
  for (const size of [4096, 512, 1]) {
    try { for (;;) n += writeSync(fd, chunk.subarray(0, size)); } catch { /* full */ }
  }
  closeSync(fd);
  return n;
}

test('DS-04: disk full — 503 with Retry-After, no token, no session, /healthz alive; recovers without a restart; audit verify passes', { skip: mnt.skip }, async () => {
  const dataDir = join(mnt.dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const srv = await startServer({ dataDir, fresh: true, store: 'sqlite', keepDataDir: true });
  try {
    const c = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
    addUser(srv, 'full@example.com');
    const ok = await tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    // A sign-in form fetched while there is room; posted once there is none.
    const web = new Client(srv);
    const page = await web.get('/login');
    const csrf = csrfOf(page.text, '/login');
    assert.ok(csrf);
    const sqlite = (q) => spawnSync('sqlite3', [join(dataDir, 'portcullis.db'), q], { encoding: 'utf8' });
    const rowsBefore = Number(sqlite('SELECT count(*) FROM audit_log').stdout.trim());
    // The WAL keeps its size after a checkpoint and is rewritten in place:
    // truncate it, so the next commit must allocate, then fill the disk.
    assert.equal(sqlite('PRAGMA wal_checkpoint(TRUNCATE)').status, 0);
    const filler = join(mnt.dir, 'filler');
    fill(filler);

    for (let i = 0; i < 5; i++) {
      const r = await tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });
      assert.equal(r.status, 503, `token on a full disk: ${r.status} ${JSON.stringify(r.json)}`);
      assert.ok(r.headers.get('retry-after'), 'Retry-After');
      assert.equal(r.json?.access_token, undefined, 'no token');
      assert.equal(r.json?.error, 'temporarily_unavailable');
    }
    const s = await web.post('/login', { csrf, email: 'full@example.com', password: GOOD_PW });
    assert.equal(s.status, 503, `sign-in on a full disk: ${s.status}`);
    assert.ok(s.headers.get('retry-after'), 'Retry-After on the sign-in');
    assert.equal(s.headers.getSetCookie().filter((x) => !/max-age=0/i.test(x) && /=[^;]/.test(x)).length, 0, 'no session cookie');
    assert.equal((await fetch(srv.url + '/healthz')).status, 200, '/healthz still answers');
    assert.equal((await fetch(srv.url + '/readyz')).status, 503, '/readyz says the store takes no writes');
    assert.equal(srv.proc.exitCode, null, 'still running');

    // Space returns: the same process serves again.
    unlinkSync(filler);
    let r;
    for (let i = 0; i < 50; i++) {
      r = await tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(r.status, 200, `after space returned: ${r.status} ${JSON.stringify(r.json)}`);
    assert.ok(r.json.access_token);
    const web2 = new Client(srv);
    const li = await web2.login('full@example.com');
    assert.equal(li.status, 303, `sign-in after space returned: ${li.status}`);
    assert.ok(await web2.signedIn());
    assert.doesNotMatch(srv.rawLogs(), /AddressSanitizer|runtime error|"status":500/);

    const v = run(['audit', 'verify', '--config', srv.configFile, '--data-dir', dataDir]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const rowsAfter = Number(sqlite('SELECT count(*) FROM audit_log').stdout.trim());
    assert.ok(rowsAfter >= rowsBefore + 2, `rows: ${rowsBefore} -> ${rowsAfter}`);
  } finally {
    await stopClean(srv);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
