// Process lifecycle: graceful shutdown finishes requests in flight; TLS
// straight from libmicrohttpd with HSTS (HT-01, HT-08).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, stopClean, tempDir, freePort } from './lib/server.mjs';

test('SIGTERM: stop accepting, finish the request in flight, exit 0', async () => {
  const srv = await startServer();
  const h = `127.0.0.1:${srv.port}`;
  const s = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => s.on('connect', r));
  let data = '';
  s.on('data', (d) => { data += d; });
  const closed = new Promise((r) => s.on('close', r));
  s.write('GET /healthz HTTP/1.1\r\n');       // request line: in flight
  await new Promise((r) => setTimeout(r, 200));
  srv.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  // New connections are refused while the old request finishes.
  const refused = await new Promise((resolve) => {
    const c = net.connect(srv.port, '127.0.0.1', () => { c.destroy(); resolve(false); });
    c.on('error', () => resolve(true));
  });
  assert.ok(refused, 'still accepting after SIGTERM');
  s.write(`Host: ${h}\r\n\r\n`);
  await closed;
  assert.match(data, /^HTTP\/1\.1 200/);
  assert.match(data, /Connection: close/i);
  const r = await srv.wait();
  assert.equal(r.code, 0, srv.rawLogs());
  assert.ok(srv.logs.some((l) => l.includes('"server.stopped"')));
});

test('HT-01/HT-08: TLS from libmicrohttpd, TLS 1.2+ only, HSTS on every response', async () => {
  const dir = tempDir();
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const g = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(g.status, 0, g.stderr);
  const port = await freePort();
  const srv = await startServer({ port, tls: true, issuer: `https://127.0.0.1:${port}`,
    config: { tls_cert: cert, tls_key: key } });
  const get = (path, opts = {}) => new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, ...opts }, (res) => {
      let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve({ res, body: b }));
    }).on('error', reject);
  });
  const { res, body } = await get('/.well-known/openid-configuration');
  assert.equal(res.statusCode, 200);
  assert.equal(JSON.parse(body).issuer, `https://127.0.0.1:${port}`);
  assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  const e = await get('/nope');
  assert.equal(e.res.statusCode, 404);
  assert.match(e.res.headers['strict-transport-security'], /max-age=31536000/);
  // TLS 1.1 is refused.
  const old = await new Promise((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', rejectUnauthorized: false,
      ciphers: 'DEFAULT:@SECLEVEL=0' }, () => { c.destroy(); resolve('connected'); });
    c.on('error', () => resolve('refused'));
  });
  assert.equal(old, 'refused');
  // Plain HTTP on the TLS port gets nothing useful.
  const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status).catch(() => 'error');
  assert.notEqual(plain, 200);
  await stopClean(srv);
});
