// The purge of expired rows (DS-04) runs inside the server
// (src/server/purge.c): once at start, then every minute, on its own
// thread, which a SIGTERM stops at once instead of after its minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, storeSql } from './lib/server.mjs';

async function until(fn, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('DS-04: the server purges expired rows at start, logs the counts and stops at once', async () => {
  const first = await startServer({ keepDataDir: true });
  await stopClean(first);
  // Arranged while no server runs (SQLite would be busy), then started.
  const now = Math.floor(Date.now() / 1000);
  storeSql(first, 'INSERT INTO revoked_access_tokens (jti, client_id, revoked_at, expires_at) VALUES ' +
    `('old-jti', 'pcc_x', ${now - 100}, ${now - 10}), ('live-jti', 'pcc_x', ${now}, ${now + 3600})`);

  const srv = await startServer({ dataDir: first.dataDir });
  const line = await until(() => srv.rawLogs().split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l)).find((j) => j.event === 'store.purge'));
  assert.ok(line, `no store.purge line:\n${srv.rawLogs()}`);
  assert.equal(Number(line.revoked_jtis), 1, JSON.stringify(line));
  assert.equal(storeSql(srv, "SELECT jti FROM revoked_access_tokens ORDER BY jti"), 'live-jti');
  // The purge thread waits on a condition variable, not a 60 s sleep.
  const t0 = Date.now();
  await stopClean(srv);
  assert.ok(Date.now() - t0 < 15_000, `stop took ${Date.now() - t0} ms`);
});
