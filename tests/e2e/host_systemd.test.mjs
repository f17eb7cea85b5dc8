// systemd (issue 17, item 4; decision 0074), against the real server: the
// sd_notify messages it sends to a NOTIFY_SOCKET this test listens on
// (tests/e2e/lib/notify_sink.py) — READY only once /readyz answers,
// WATCHDOG=1 every half WATCHDOG_USEC and only while the server answers
// its own /readyz, RELOADING then READY on SIGHUP (a bad configuration
// file kept out, a change that needs a restart named), STOPPING on
// SIGTERM — and socket activation through systemd-socket-activate. Store
// independent: SQLite pass only (host_*).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { BIN, startServer, stopClean, tempDir, freePort, run } from './lib/server.mjs';

const SINK = fileURLToPath(new URL('./lib/notify_sink.py', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One GET on a connection of its own, closed after (no keep-alive pool:
// the watchdog test counts this IP's connections).
function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
}

async function until(fn, what, ms = 10_000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// The notify socket: every datagram as { t (monotonic ms), msg }.
async function notifySink(port) {
  const path = join(tempDir('pc-sd-'), 'notify');
  const proc = spawn('python3', [SINK, path, ...(port ? [String(port)] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const msgs = [];
  let buf = '';
  let listening;
  const ready = new Promise((r) => { listening = r; });
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'listening') listening();
      else msgs.push({ ...JSON.parse(line), at: Date.now() });
    }
  });
  await ready;
  return {
    path,
    msgs,
    // The first message after index from that matches re.
    async next(re, from = 0, ms = 30_000) {
      const until = Date.now() + ms;
      for (;;) {
        const i = msgs.findIndex((m, k) => k >= from && re.test(m.msg));
        if (i >= 0) return { ...msgs[i], index: i };
        if (Date.now() > until) assert.fail(`no ${re} after #${from} within ${ms} ms: ${JSON.stringify(msgs.slice(from).map((m) => m.msg))}`);
        await sleep(20);
      }
    },
    close() { proc.stdin.end(); },
  };
}

test('systemd: READY once /readyz answers, the watchdog, reload and stop', async () => {
  const port = await freePort();
  const sink = await notifySink(port);
  const srv = await startServer({
    port,
    noWait: true,
    // Two connections per IP: the watchdog test below fills them.
    config: { http_max_connections_per_ip: 2, http_header_timeout: 30, http_idle_timeout: 30 },
    env: { NOTIFY_SOCKET: sink.path, WATCHDOG_USEC: '2000000' },
  });
  try {
    const ready = await sink.next(/^READY=1\n/, 0, 60_000);
    // READY comes only when the server answers: the sink asked /readyz
    // the moment READY arrived.
    assert.equal(ready.probe, 200, 'READY before /readyz answers');
    assert.match(ready.msg, /^READY=1\nSTATUS=ready; serving http:\/\/127\.0\.0\.1:\d+ on port \d+$/);
    assert.equal(ready.index, 0, 'READY is the first message');

    // WATCHDOG=1 every half of WATCHDOG_USEC (1 s), each after a probe
    // of /readyz that the server answered.
    const k1 = await sink.next(/^WATCHDOG=1$/, ready.index + 1);
    const k2 = await sink.next(/^WATCHDOG=1$/, k1.index + 1);
    const k3 = await sink.next(/^WATCHDOG=1$/, k2.index + 1);
    for (const [a, b] of [[k1, k2], [k2, k3]]) {
      const gap = b.t - a.t;
      assert.ok(gap > 700 && gap < 2500, `kick interval ${gap} ms, want ~1000`);
    }
    await until(() => /"path":"\/readyz","status":200,.*"ua":"portcullis-watchdog"/.test(srv.rawLogs()), 'the probe in the log');

    // A server that takes no connection earns no kick: fill this IP's
    // two connections; the probe (from 127.0.0.1 too) is turned away.
    const held = await Promise.all([0, 1].map(() => new Promise((res) => {
      const s = net.connect(srv.port, '127.0.0.1', () => res(s));
    })));
    await sleep(300);
    const from = sink.msgs.length;
    await sleep(2500);
    const during = sink.msgs.slice(from).filter((m) => m.msg === 'WATCHDOG=1');
    assert.equal(during.length, 0, 'no kick while the server takes no connection');
    await until(() => /"event":"systemd.watchdog"/.test(srv.rawLogs()), 'the missed kick in the log');
    for (const s of held) s.destroy();
    await sink.next(/^WATCHDOG=1$/, from, 5000);

    // SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1.
    const conf = readFileSync(srv.configFile, 'utf8');
    let i = sink.msgs.length;
    srv.proc.kill('SIGHUP');
    const rl = await sink.next(/^RELOADING=1\n/, i);
    assert.match(rl.msg, /^RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=\d+$/);
    const rr = await sink.next(/^READY=1\n/, rl.index + 1);
    assert.equal(rr.msg, 'READY=1\nSTATUS=ready; reloaded');

    // A file that no longer passes its checks changes nothing, and says
    // so; the server keeps answering.
    writeFileSync(srv.configFile, conf + 'log_level = loud\n');
    i = sink.msgs.length;
    srv.proc.kill('SIGHUP');
    const bad = await sink.next(/^READY=1\n/, (await sink.next(/^RELOADING=1\n/, i)).index + 1);
    assert.match(bad.msg, /STATUS=reload failed, running on the previous configuration: .*log_level/);
    await until(() => /"event":"server.reload_failed"/.test(srv.rawLogs()), 'server.reload_failed');
    assert.equal(await get(`${srv.url}/healthz`), 200);

    // log_level applies at once; another change is named, not applied.
    writeFileSync(srv.configFile, conf + 'log_level = warn\naccess_token_ttl = 10m\n');
    i = sink.msgs.length;
    srv.proc.kill('SIGHUP');
    const ok = await sink.next(/^READY=1\n/, (await sink.next(/^RELOADING=1\n/, i)).index + 1);
    assert.equal(ok.msg, 'READY=1\nSTATUS=ready; reloaded, a restart is needed for: access_token_ttl');
    assert.equal(await get(`${srv.url}/no-such-page-at-warn`), 404);
    await sleep(1500);
    assert.doesNotMatch(srv.rawLogs(), /no-such-page-at-warn/, 'no info lines at log_level = warn');

    // SIGTERM: STOPPING=1, then a clean exit.
    i = sink.msgs.length;
    await stopClean(srv);
    await sink.next(/^STOPPING=1\n/, i, 1000);
  } finally {
    sink.close();
    if (srv.proc.exitCode === null) await srv.stop();
  }
});

// With TLS the probe speaks https, trusting our own certificate only (its
// name is not the probe's 127.0.0.1: the host name is not checked).
test('systemd: the watchdog probe works through TLS', async () => {
  const dir = tempDir('pc-sd-tls-');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const g = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=id.example',
    '-addext', 'subjectAltName=DNS:id.example'], { encoding: 'utf8' });
  assert.equal(g.status, 0, g.stderr);
  const sink = await notifySink();
  const port = await freePort();
  const srv = await startServer({ port, tls: true, issuer: `https://id.example:${port}`,
    config: { tls_cert: cert, tls_key: key, allowed_hosts: `127.0.0.1:${port}` },
    env: { NOTIFY_SOCKET: sink.path, WATCHDOG_USEC: '1000000' } });
  try {
    const ready = await sink.next(/^READY=1\n/, 0, 60_000);
    await sink.next(/^WATCHDOG=1$/, ready.index + 1, 5000);
    await until(() => /"path":"\/readyz","status":200,.*"ua":"portcullis-watchdog"/.test(srv.rawLogs()), 'the probe over TLS');
  } finally {
    sink.close();
    await stopClean(srv);
  }
});

test('systemd: without NOTIFY_SOCKET nothing is sent and the server runs as before', async () => {
  const sink = await notifySink();
  const srv = await startServer({ env: { NOTIFY_SOCKET: '', WATCHDOG_USEC: '2000000' } });
  try {
    assert.equal(await get(`${srv.url}/readyz`), 200);
    srv.proc.kill('SIGHUP');
    await sleep(1500);
    assert.equal(sink.msgs.length, 0);
    assert.doesNotMatch(srv.rawLogs(), /portcullis-watchdog/);
  } finally {
    sink.close();
    await stopClean(srv);
  }
});

// Socket activation: systemd-socket-activate (Debian's systemd) binds the
// port and passes it as systemd would with portcullis.socket; the server
// serves on it and binds nothing of its own (listen names another port).
test('systemd: socket activation serves on the passed sockets, by name', async () => {
  const port = await freePort();
  const adminPort = await freePort();
  const unused = await freePort();
  const dir = tempDir();
  const common = ['--mode', 'development', '--data-dir', dir];
  assert.equal(run(['migrate', ...common]).code, 0);
  const proc = spawn('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, '-l', `127.0.0.1:${adminPort}`,
    '--fdname=web:admin',
    BIN, 'serve', ...common, '--listen', `127.0.0.1:${unused}`, '--issuer', `http://127.0.0.1:${port}`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  proc.stderr.on('data', (d) => { logs += d; });
  const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  try {
    // The first connection starts the server (accept=no: the socket is
    // handed over whole); it answers that very request.
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(60_000) });
    assert.equal(r.status, 200);
    await until(() => /"event":"server.started"/.test(logs), 'server.started');
    // The socket named "admin" serves the admin API's router (whose table
    // has no /healthz), the other the main one.
    const started = JSON.parse(logs.split('\n').find((l) => l.includes('"server.started"')));
    assert.equal(started.port, port);
    assert.equal(started.admin_port, adminPort);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.notEqual((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status, 200);
    // Nothing bound on the configured listen address.
    const refused = await new Promise((res) => {
      const s = net.connect(unused, '127.0.0.1', () => { s.destroy(); res(false); });
      s.on('error', () => res(true));
    });
    assert.ok(refused, 'listen was not bound');
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, logs.slice(-2000));
  }
});

// A passed socket that is not a listening TCP socket is refused, not served.
test('systemd: socket activation refuses a datagram socket', async () => {
  const port = await freePort();
  const dir = tempDir();
  const proc = spawn('systemd-socket-activate', ['-d', '-l', `127.0.0.1:${port}`,
    BIN, 'serve', '--mode', 'development', '--data-dir', dir],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  proc.stderr.on('data', (d) => { logs += d; });
  const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  // A datagram wakes it (systemd-socket-activate waits for traffic).
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  const until = Date.now() + 30_000;
  let code = null;
  while (code === null && Date.now() < until) {
    s.send('x', port, '127.0.0.1');
    code = await Promise.race([exited, sleep(200).then(() => null)]);
  }
  s.close();
  if (code === null) proc.kill('SIGKILL');
  assert.equal(code, 1, logs);
  assert.match(logs, /not a listening TCP socket/);
});
