// Issue 17 item 2: /metrics on metrics_listen, scraped by a real Prometheus
// server (Debian `prometheus`, started here on a temp dir: its packaged
// daemon is not used), which must see counters this test moves: a
// client_credentials grant and a failed sign-in. Also: /metrics is not on
// the main listener, and the metrics listener answers nothing else.
// One server and one Prometheus for the whole file (SQLite pass only).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, stopClean, freePort, tempDir, rawRequest } from './lib/server.mjs';
import { addClient, tokenRequest } from './lib/oauth.mjs';
import { Client, addUser } from './lib/web.mjs';

const PROM = process.env.PORTCULLIS_PROMETHEUS ?? '/usr/bin/prometheus';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let srv;
let mport;
let prom;
let promUrl;
let promLogs = '';

before(async () => {
  mport = await freePort();
  srv = await startServer({ config: { metrics_listen: `127.0.0.1:${mport}` } });
  const dir = tempDir('pc-prom-');
  const pport = await freePort();
  promUrl = `http://127.0.0.1:${pport}`;
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: portcullis',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${mport}']`,
    '',
  ].join('\n'));
  prom = spawn(PROM, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${pport}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  prom.stderr.setEncoding('utf8');
  prom.stderr.on('data', (d) => { promLogs = (promLogs + d).slice(-8000); });
  prom.unref();
  prom.stderr.unref();
  for (let i = 0; ; i++) {
    const r = await fetch(`${promUrl}/-/ready`).catch(() => null);
    if (r?.status === 200) break;
    assert.ok(i < 300 && prom.exitCode === null, `prometheus did not start:\n${promLogs}`);
    await sleep(100);
  }
});

after(async () => {
  if (prom && prom.exitCode === null) {
    prom.kill('SIGTERM');
    await new Promise((r) => prom.once('exit', r));
  }
  if (srv) await stopClean(srv);
});

// One instant query's value for expr, or null when Prometheus has none.
async function query(expr) {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const j = await r.json();
  assert.equal(j.status, 'success', JSON.stringify(j));
  const v = j.data.result[0]?.value?.[1];
  return v === undefined ? null : Number(v);
}

// Waits until Prometheus's value for expr satisfies ok.
async function waitFor(expr, ok, what) {
  let last = null;
  for (let i = 0; i < 150; i++) {
    last = await query(expr);
    if (last !== null && ok(last)) return last;
    await sleep(100);
  }
  assert.fail(`${what}: Prometheus has ${last} for ${expr}\n${promLogs.slice(-2000)}`);
}

async function scrape() {
  const r = await fetch(`http://127.0.0.1:${mport}/metrics`);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

test('metrics: the exposition format 0.0.4 on metrics_listen', async () => {
  const s = await scrape();
  assert.equal(s.status, 200);
  assert.equal(s.type, 'text/plain; version=0.0.4; charset=utf-8');
  for (const want of [
    '# TYPE portcullis_http_requests_total counter',
    '# TYPE portcullis_http_request_duration_seconds histogram',
    '# TYPE portcullis_tokens_issued_total counter',
    '# TYPE portcullis_signins_total counter',
    '# TYPE portcullis_pwhash_queue_depth gauge',
    '# TYPE portcullis_store_batch_size histogram',
    '# TYPE portcullis_signing_key_age_seconds gauge',
    /^portcullis_build_info\{version="[^"]+"\} 1$/m,
    /^process_start_time_seconds \d+$/m,
    /^portcullis_signing_keys\{state="active",alg="ES256"\} [1-9]/m,
  ]) {
    if (typeof want === 'string') assert.ok(s.text.includes(want), `has ${want}`);
    else assert.match(s.text, want);
  }
  // Every sample line is name{labels} value; no label carries a client
  // or user id (cardinality is fixed at build time).
  for (const line of s.text.split('\n').filter((l) => l && !l.startsWith('#'))) {
    assert.match(line, /^[a-z_:][a-z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+$/, line);
    assert.doesNotMatch(line, /\b(pcc|usr|svc|key|grp|wif)_[A-Za-z0-9]{8,}/, line);
  }
});

test('metrics: /metrics is not served on the main listener; the metrics listener serves nothing else', async () => {
  for (const m of ['GET', 'HEAD']) {
    const r = await fetch(`${srv.url}/metrics`, { method: m });
    assert.equal(r.status, 404, `${m} /metrics on the main listener`);
  }
  const host = new URL(srv.url).host;
  for (const path of ['/healthz', '/token', '/.well-known/openid-configuration', '/jwks.json', '/login', '/metrics/', '/admin/v1/users']) {
    const r = await fetch(`http://127.0.0.1:${mport}${path}`);
    const body = await r.text();
    assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
    assert.doesNotMatch(body, /portcullis_|issuer|jwks_uri|"keys"/, path);
    // With the issuer's own Host (the allowlist passes): no such route.
    const { data: raw } = await rawRequest(mport, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.match(raw, /^HTTP\/1\.1 404 /, `${path} with Host ${host}`);
  }
  const { data: post } = await rawRequest(mport, `POST /metrics HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  assert.match(post, /^HTTP\/1\.1 405 /);
});

test('metrics: a real Prometheus scrapes the counters this test moves', async () => {
  const ccExpr = 'sum(portcullis_tokens_issued_total{grant="client_credentials",client_kind="user_client"})';
  const failExpr = 'portcullis_signins_total{outcome="failure",factor="password"}';
  const reqExpr = 'sum(portcullis_http_requests_total{route="/token",code="200"})';
  const cc0 = await waitFor(ccExpr, () => true, 'first scrape');
  const fail0 = await waitFor(failExpr, () => true, 'first scrape');

  const client = addClient(srv, { name: 'metrics-cc', grants: 'client_credentials', scope: 'api' });
  for (let i = 0; i < 2; i++) {
    const t = await tokenRequest(srv, client, { grant_type: 'client_credentials' });
    assert.equal(t.status, 200, JSON.stringify(t.json));
  }
  addUser(srv, 'metrics@example.com');
  const c = new Client(srv);
  const bad = await c.login('metrics@example.com', 'not-the-password-at-all');
  assert.notEqual(bad.status, 303);

  assert.equal(await waitFor(ccExpr, (v) => v >= cc0 + 2, 'client_credentials grants'), cc0 + 2);
  assert.equal(await waitFor(failExpr, (v) => v >= fail0 + 1, 'failed sign-in'), fail0 + 1);
  assert.ok(await waitFor(reqExpr, (v) => v >= 2, 'requests by route') >= 2);
  // The latency histogram aggregates as Prometheus expects.
  const p = await waitFor(
    'histogram_quantile(0.5, sum by (le) (portcullis_http_request_duration_seconds_bucket{route="/token"}))',
    (v) => v > 0 && v < 10, 'latency quantile');
  assert.ok(p > 0);
  // The scrape itself is healthy (up == 1).
  assert.equal(await query('up{job="portcullis"}'), 1);
});

test('metrics: the checked Prometheus is the Debian one', () => {
  const r = spawnSync(PROM, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout + r.stderr, /prometheus, version \d+\./);
});
