// Issue 11 item 15, development in containers: an http:// issuer on a host
// that is not loopback (a docker compose service name) runs in development
// mode with a loud warning, its cookies as on loopback http (no Secure, no
// __Host- prefix, no HSTS); production mode keeps refusing it (HT-04,
// SS-04).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, run, tempDir, rawRequest, parseRaw, freePort } from './lib/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('HT-04/SS-04: development mode serves an http:// issuer on a container host name, with a warning and cookies as on loopback', async () => {
  const port = await freePort();
  const issuer = `http://portcullis.test:${port}`;
  const srv = await startServer({ port, issuer });
  try {
    await sleep(200);
    const warn = srv.logs.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
      .find((l) => l.event === 'config.insecure_issuer');
    assert.ok(warn, srv.rawLogs());
    assert.equal(warn.level, 'warn');
    assert.match(warn.msg, /passkeys/i);
    assert.match(warn.msg, /Secure/);
    const get = async (path) => parseRaw((await rawRequest(port,
      `GET ${path} HTTP/1.1\r\nHost: portcullis.test:${port}\r\nConnection: close\r\n\r\n`)).data);
    const d = JSON.parse((await get('/.well-known/openid-configuration')).body);
    assert.equal(d.issuer, issuer);
    const login = await get('/login');
    assert.equal(login.status, 200);
    const setCookie = login.headers['set-cookie'];
    assert.ok(setCookie, JSON.stringify(login.headers));
    assert.match(setCookie, /^sid=/);
    assert.ok(!/;\s*Secure/i.test(setCookie), setCookie);
    assert.equal(login.headers['strict-transport-security'], undefined);
  } finally {
    await stopClean(srv);
  }
  // Production mode keeps the rule.
  const dir = tempDir();
  const r = run(['serve', '--mode', 'production', '--data-dir', dir, '--issuer', issuer, '--listen', `127.0.0.1:${port}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /https:\/\//);
  assert.match(r.stderr, /development/);
});
