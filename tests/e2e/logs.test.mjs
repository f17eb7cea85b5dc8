// Logging: one JSON object per line, control characters escaped (AU-04),
// and no secret ever written (AU-03): canary values planted in the master
// key, headers, query strings and bodies never reach the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, stopClean, rawRequest, tempDir, run, storeDir } from './lib/server.mjs';

test('AU-03: canary secrets never appear in the logs', async () => {
  const mk = randomBytes(32).toString('base64url');
  const dir = storeDir();
  assert.equal(run(['key', 'list', '--data-dir', dir], { env: { PORTCULLIS_MASTER_KEY: mk } }).code, 0);
  const srv = await startServer({ dataDir: dir, config: { mode: 'production', log_level: 'debug' },
    env: { PORTCULLIS_MASTER_KEY: mk } });
  const canary = 'CANARY' + randomBytes(12).toString('hex');
  const h = `127.0.0.1:${srv.port}`;
  const reqs = [
    `GET /jwks.json?client_secret=${canary}&code=${canary} HTTP/1.1\r\nHost: ${h}\r\nAuthorization: Bearer ${canary}\r\nCookie: __Host-sid=${canary}\r\nConnection: close\r\n\r\n`,
    `POST /jwks.json HTTP/1.1\r\nHost: ${h}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${canary.length + 9}\r\nDPoP: ${canary}\r\nConnection: close\r\n\r\npassword=${canary}`,
    `GET /nope?token=${canary} HTTP/1.1\r\nHost: ${h}\r\nProxy-Authorization: Basic ${canary}\r\nConnection: close\r\n\r\n`,
    `GET /healthz HTTP/1.1\r\nHost: evil-${canary}\r\nConnection: close\r\n\r\n`,
  ];
  for (const r of reqs) await rawRequest(srv.port, r);
  await fetch(`${srv.url}/readyz?x=${canary}`, { headers: { 'X-Api-Key': canary } });
  await new Promise((r) => setTimeout(r, 200));
  const text = srv.rawLogs();
  await stopClean(srv);
  assert.ok(text.includes('"http.request"'), 'requests were logged');
  assert.ok(!text.includes(canary), 'a canary leaked into the log');
  assert.ok(!text.includes(mk), 'the master key leaked into the log');
});

test('AU-04: every line is one JSON object; control characters are escaped', async () => {
  const srv = await startServer();
  const h = `127.0.0.1:${srv.port}`;
  // Controls inside a header are refused outright (400), and logged safely.
  const bad = await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: ${h}\r\nUser-Agent: x\u001b[31mred\u0007\r\nConnection: close\r\n\r\n`);
  assert.match(bad.data, /^HTTP\/1\.1 400/);
  await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: ${h}\r\nUser-Agent: x"},"level":"error","forged":"\\red\u00ff\r\nConnection: close\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 200));
  const lines = srv.rawLogs().trim().split('\n');
  await stopClean(srv);
  for (const l of lines) {
    assert.doesNotMatch(l, /[\u0000-\u001f\u007f]/, 'raw control character in a log line');
    const j = JSON.parse(l);
    for (const k of ['ts', 'level', 'event']) assert.ok(k in j, `${k} missing in ${l}`);
    assert.match(j.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  const ua = lines.map((l) => JSON.parse(l)).find((j) => j.ua?.includes('red'));
  assert.ok(ua, 'user agent logged');
  assert.equal(ua.level, 'info', 'no forged members');
  assert.equal(ua.forged, undefined);
  assert.ok(ua.ua.startsWith('x"},"level":"error"'), 'quotes escaped and round-trip through JSON');
});
