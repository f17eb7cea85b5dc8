// HTTP hardening: headers, error statuses, caps, smuggling, slow clients,
// connection caps and graceful shutdown (SECURITY.md HT-01..07, CF-04).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, stopClean, rawRequest, parseRaw } from './lib/server.mjs';

let srv;
before(async () => {
  srv = await startServer({
    config: { http_header_timeout: '2', http_body_timeout: '3', http_idle_timeout: '4', http_max_connections_per_ip: '8' },
  });
});
after(async () => { await stopClean(srv); });

const host = () => `127.0.0.1:${srv.port}`;
const req = (line, headers = '', body = '') =>
  rawRequest(srv.port, `${line}\r\nHost: ${host()}\r\n${headers}Connection: close\r\n\r\n${body}`).then((r) => parseRaw(r.data));

function assertSecurityHeaders(h, { sensitive }) {
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.equal(h['x-frame-options'], 'DENY');
  assert.equal(h['referrer-policy'], 'no-referrer');
  const csp = h['content-security-policy'];
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /object-src 'none'/);
  assert.match(csp, /base-uri 'none'/);
  if (sensitive) assert.equal(h['cache-control'], 'no-store');
  assert.equal(h['server'], undefined, 'no version banner (HT-09)');
  assert.equal(h['strict-transport-security'], undefined, 'no HSTS on an http issuer');
}

test('HT-01/HT-02/CF-04: security headers on every response, errors included', async () => {
  const cases = [
    ['GET /.well-known/openid-configuration HTTP/1.1', 200, false],
    ['GET /jwks.json HTTP/1.1', 200, false],
    ['GET /healthz HTTP/1.1', 200, true],
    ['GET /nope HTTP/1.1', 404, true],
    ['DELETE /jwks.json HTTP/1.1', 405, true],
  ];
  for (const [line, status, sensitive] of cases) {
    const r = await req(line);
    assert.equal(r.status, status, line);
    assertSecurityHeaders(r.headers, { sensitive });
    assert.match(r.headers['content-type'], /json/, line);
  }
});

test('HT-03: error and health responses are not cacheable', async () => {
  for (const p of ['/healthz', '/readyz', '/nope']) {
    const r = await fetch(srv.url + p);
    assert.equal(r.headers.get('cache-control'), 'no-store', p);
    assert.equal(r.headers.get('pragma'), 'no-cache', p);
  }
});

test('CF-05: public metadata allows any origin without credentials', async () => {
  const r = await fetch(srv.url + '/jwks.json', { headers: { Origin: 'https://app.example' } });
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(r.headers.get('access-control-allow-credentials'), null);
  const h = await fetch(srv.url + '/healthz', { headers: { Origin: 'https://app.example' } });
  assert.equal(h.headers.get('access-control-allow-origin'), null);
});

test('404: unknown path, JSON for APIs and HTML for browsers', async () => {
  const j = await fetch(srv.url + '/does-not-exist');
  assert.equal(j.status, 404);
  assert.deepEqual(Object.keys(await j.json()).sort(), ['error', 'error_description']);
  const h = await fetch(srv.url + '/does-not-exist', { headers: { Accept: 'text/html' } });
  assert.equal(h.status, 404);
  assert.match(h.headers.get('content-type'), /^text\/html; charset=utf-8/);
  assert.match(await h.text(), /Not Found/);
  // Paths are exact: no prefix, suffix, case or encoding variants.
  for (const p of ['/jwks.json/', '/JWKS.json', '/jwks%2ejson', '/jwks.json;x', '//jwks.json']) {
    assert.equal((await fetch(srv.url + p)).status, 404, p);
  }
});

test('HT-07: 405 with Allow for a wrong method; TRACE refused', async () => {
  for (const m of ['POST', 'PUT', 'DELETE', 'TRACE', 'OPTIONS']) {
    const r = await req(`${m} /jwks.json HTTP/1.1`, 'Content-Length: 0\r\n');
    assert.equal(r.status, 405, m);
    assert.equal(r.headers['allow'], 'GET, HEAD');
  }
});

test('HT-05: an oversized header block gets 431', async () => {
  const big = 'X-Big: ' + 'a'.repeat(9000) + '\r\n';
  const r = await req('GET /healthz HTTP/1.1', big);
  assert.equal(r.status, 431);
  const many = Array.from({ length: 80 }, (_, i) => `X-H${i}: v\r\n`).join('');
  assert.equal((await req('GET /healthz HTTP/1.1', many)).status, 431);
});

test('HT-05: a body where none is accepted, or over the cap, is refused before reading', async () => {
  const r = await req('GET /healthz HTTP/1.1', 'Content-Length: 5\r\n', 'hello');
  assert.equal(r.status, 400);
  const big = await req('POST /jwks.json HTTP/1.1', 'Content-Length: 10000000\r\n');
  assert.ok([405, 413].includes(big.status));
});

test('HT-07: request smuggling shapes get 400 and the connection closes', async () => {
  const cases = [
    'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n',
    'Content-Length: 4\r\nContent-Length: 5\r\n',
    'Transfer-Encoding: gzip\r\n',
  ];
  for (const h of cases) {
    const raw = await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: ${host()}\r\n${h}\r\nabcd`);
    const r = parseRaw(raw.data);
    assert.equal(r.status, 400, h);
    assert.ok(raw.closed, 'connection closed');
  }
  // Bare CR inside a header value.
  const cr = await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: ${host()}\r\nX-A: a\rb\r\nConnection: close\r\n\r\n`);
  assert.equal(parseRaw(cr.data).status, 400);
});

// libmicrohttpd 0.9.75 replaces obs-fold with SP before we see the header
// (allowed by RFC 9112 §5.2, but SECURITY.md HT-07 asks for 400).
test.todo('HT-07: obs-fold continuation lines get 400 (libmicrohttpd unfolds them first)', async () => {
  const fold = await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: ${host()}\r\nX-A: a\r\n b\r\nConnection: close\r\n\r\n`);
  assert.equal(parseRaw(fold.data).status, 400);
});

test('400: malformed request lines and targets', async () => {
  assert.equal((await req('GET /healthz#frag HTTP/1.1')).status, 400);
  const r = await rawRequest(srv.port, 'GARBAGE\r\n\r\n');
  assert.ok(r.data === '' || parseRaw(r.data).status === 400);
  const long = await req('GET /' + 'a'.repeat(9000) + ' HTTP/1.1');
  assert.ok([404, 414, 431].includes(long.status), `long target ${long.status}`);
});

test('HT-06: a slowloris client is cut off at the header deadline', async () => {
  const start = Date.now();
  const r = await new Promise((resolve) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let timer;
    s.on('connect', () => {
      s.write('GET /healthz HTTP/1.1\r\n');
      timer = setInterval(() => s.write('X-Slow: a\r\n'), 500);
    });
    s.on('close', () => { clearInterval(timer); resolve(Date.now() - start); });
    s.on('error', () => {});
    setTimeout(() => { clearInterval(timer); s.destroy(); resolve(-1); }, 15000);
  });
  assert.ok(r > 0, 'the server never closed the slow connection');
  assert.ok(r < 6000, `closed after ${r} ms`);
  await new Promise((res) => setTimeout(res, 300));
  assert.ok(srv.logs.some((l) => l.includes('"http.timeout"')));
});

test('HT-06: a client trickling a form body is cut off at the body deadline', async () => {
  const start = Date.now();
  const r = await new Promise((resolve) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let timer;
    s.on('connect', () => {
      s.write(`POST /login HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n`);
      timer = setInterval(() => s.write('a'), 500);
    });
    s.on('close', () => { clearInterval(timer); resolve(Date.now() - start); });
    s.on('error', () => {});
    s.resume();
    setTimeout(() => { clearInterval(timer); s.destroy(); resolve(-1); }, 20000);
  });
  assert.ok(r > 0, 'the server never closed the slow body');
  // http_body_timeout = 3 s; each byte resets libmicrohttpd's own idle
  // timer, so only the body deadline can end it this early.
  assert.ok(r >= 2500 && r < 10000, `closed after ${r} ms`);
});

test('HT-06: an idle keep-alive connection is closed at the idle deadline', async () => {
  const start = Date.now();
  const r = await new Promise((resolve) => {
    const s = net.connect(srv.port, '127.0.0.1');
    s.on('connect', () => s.write(`DELETE /jwks.json HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 0\r\n\r\n`));
    s.on('close', () => resolve(Date.now() - start));
    s.on('error', () => {});
    s.resume();
    setTimeout(() => { s.destroy(); resolve(-1); }, 15000);
  });
  assert.ok(r > 0 && r < 8000, `idle keep-alive closed after ${r} ms`);
});

test('HT-06: connections per IP are capped', async () => {
  const socks = [];
  for (let i = 0; i < 12; i++) {
    socks.push(await new Promise((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1', () => resolve(s));
      s.on('error', () => resolve(s));
    }));
  }
  await new Promise((r) => setTimeout(r, 300));
  const closed = socks.filter((s) => s.destroyed || s.readyState !== 'open').length;
  // The cap is 8: at least the extra 4 were refused.
  assert.ok(closed >= 4, `only ${closed} of 12 refused`);
  for (const s of socks) s.destroy();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await fetch(srv.url + '/healthz')).status, 200);
});

test('request id: each response carries one and the log line matches', async () => {
  const r = await fetch(srv.url + '/healthz');
  const rid = r.headers.get('x-request-id');
  assert.match(rid, /^[0-9a-f]{8}-[0-9a-f]{12}$/);
  await new Promise((res) => setTimeout(res, 100));
  const line = srv.logs.find((l) => l.includes(rid));
  assert.ok(line, 'request logged');
  const j = JSON.parse(line);
  assert.equal(j.event, 'http.request');
  assert.equal(j.status, 200);
});
