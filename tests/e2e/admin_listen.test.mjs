// The admin API on its own address (admin_listen) and its per-IP limits
// (issue 17 item 1; decision 0070). With admin_listen set the main
// listener answers 404 under /admin/; requests are counted per client IP
// before any work (admin_ip_requests), and failed authentications per IP
// (api_key_ip_failures, the counter of AK-03) are checked before a
// credential is looked at. Client IPs come from X-Forwarded-For
// (trusted_proxies 127.0.0.1) so each case counts against its own.
import { test, before, after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { freePort, parseRaw, rawRequest, startServer, stopClean } from './lib/server.mjs';
import { cliAt } from './lib/web.mjs';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TT_KEY = 'urn:portcullis:params:oauth:token-type:api_key';
const REQUESTS = 6;
const FAILURES = 3;
const TTL = 5; // access_token_ttl, s: client_credentials tokens here
let srv, adminUrl, adminPort, tok, short, shortAt;

const admin = (path, ip, headers = {}) => fetch(adminUrl + '/admin/v1' + path,
  { headers: { 'x-forwarded-for': ip, ...headers } });

before(async () => {
  const port = await freePort();
  srv = await startServer({ config: { trusted_proxies: '127.0.0.1', admin_listen: `127.0.0.1:${port}`,
    admin_ip_requests: REQUESTS, api_key_ip_failures: FAILURES, access_token_ttl: `${TTL}s` } });
  adminPort = port;
  adminUrl = `http://127.0.0.1:${port}`;
  const r = cliAt(srv, ['admin', 'init', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const init = JSON.parse(r.stdout);
  const t = await fetch(srv.url + '/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.1' },
    body: new URLSearchParams({ grant_type: GRANT, subject_token: init.key, subject_token_type: TT_KEY,
      resource: init.resource, scope: 'admin:users:read' }) });
  assert.equal(t.status, 200);
  tok = (await t.json()).access_token;
  // A short-lived token: client_credentials of a client bound to the
  // admin service account lives access_token_ttl.
  const c = JSON.parse(cliAt(srv, ['client', 'add', '--json', '--name', 'short', '--service-account',
    init.service_account, '--scope', 'admin:users:read']).stdout);
  const cc = await fetch(srv.url + '/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.2',
      authorization: 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: init.resource,
      scope: 'admin:users:read' }) });
  assert.equal(cc.status, 200);
  const body = await cc.json();
  assert.equal(body.expires_in, TTL);
  short = body.access_token;
  shortAt = Date.now();
});

after(async () => { if (srv) await stopClean(srv); });

test('admin_listen: the API answers there only; the main listener has no /admin/', async () => {
  for (const p of ['/admin/v1/openapi.json', '/admin/v1/users']) {
    const r = await fetch(srv.url + p, { headers: { 'x-forwarded-for': '203.0.113.1', authorization: 'Bearer ' + tok } });
    assert.equal(r.status, 404, p);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  }
  const d = await admin('/openapi.json', '203.0.113.2');
  assert.equal(d.status, 200);
  assert.equal((await d.json()).openapi, '3.1.0');
  // Any Host: the operator chose the address, not the issuer's name
  // (sent raw: fetch will not set Host).
  const raw = (line, host) => rawRequest(adminPort, `${line} HTTP/1.1\r\nHost: ${host}\r\n` +
    `Authorization: Bearer ${tok}\r\nX-Forwarded-For: 203.0.113.3\r\nContent-Length: 0\r\n` +
    'Connection: close\r\n\r\n').then((x) => parseRaw(x.data));
  assert.equal((await raw('GET /admin/v1/users?limit=1', 'admin.internal')).status, 200);
  // The main listener's routes are not served there.
  assert.equal((await raw('POST /token', new URL(srv.issuer).host)).status, 404);
});

test('DS-03: requests are limited per client IP, counted before any work', async () => {
  for (let i = 0; i < REQUESTS; i++)
    assert.equal((await admin('/users', '203.0.113.10')).status, 401, `request ${i + 1}`);
  const over = await admin('/users', '203.0.113.10', { authorization: 'Bearer ' + tok });
  assert.equal(over.status, 429);
  assert.ok(Number(over.headers.get('retry-after')) >= 1);
  assert.equal(over.headers.get('cache-control'), 'no-store');
  assert.equal((await over.json()).error, 'too_many_requests');
  // Another address is not held back by this one.
  assert.equal((await admin('/users?limit=1', '203.0.113.11', { authorization: 'Bearer ' + tok })).status, 200);
});

test('DS-03 / AK-03: failed authentications are limited per client IP, checked before the credential', async () => {
  for (let i = 0; i < FAILURES; i++) {
    const r = await admin('/users', '203.0.113.20', { authorization: 'Bearer not-a-token-' + i });
    assert.equal(r.status, 401);
  }
  // Even a good token is refused from there until the hour ends.
  const r = await admin('/users', '203.0.113.20', { authorization: 'Bearer ' + tok });
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  assert.equal((await admin('/users?limit=1', '203.0.113.21', { authorization: 'Bearer ' + tok })).status, 200);
});

test('JW-04: an admin token is refused once access_token_ttl has passed (no leeway)', async () => {
  const use = () => admin('/users?limit=1', '203.0.113.30', { authorization: 'Bearer ' + short });
  if (Date.now() - shortAt < (TTL - 2) * 1000) assert.equal((await use()).status, 200);
  const wait = shortAt + (TTL + 1) * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
  const r = await use();
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, 'invalid_token');
  assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
});
