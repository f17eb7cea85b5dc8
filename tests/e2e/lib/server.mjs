// Spawns the real portcullis binary with inline config on 127.0.0.1 and a
// temp data dir, and stops it again, checking its exit status (under ASan a
// leak or memory error makes it non-zero).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, cpSync, existsSync, rmSync, chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import assert from 'node:assert/strict';
import { SHARED as PG, createDatabase, dropDatabase, psql, parseUrl } from './pg.mjs';

// A server does not keep the test process alive unless a test waits for it
// (stop(), wait()); any that a failed test left running are killed when the
// process exits, so a failure never hangs the run.
// Temp dirs (data dirs, the key template) go when the process exits.
const live = new Set();
const made = new Set();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const d of made) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* in use or gone */ }
  }
});

// The newest migration the binary under test knows (src/store/migrations).
const MIGRATIONS = readdirSync(fileURLToPath(new URL('../../../src/store/migrations', import.meta.url)))
  .filter((f) => /^\d{4}_\w+\.sql$/.test(f)).sort();
export const LATEST_MIGRATION = { version: Number(MIGRATIONS.at(-1).slice(0, 4)), name: MIGRATIONS.at(-1).slice(0, -4) };

export const BIN = process.env.PORTCULLIS_BIN ?? 'build-test/src/portcullis';
export const TOOLS = process.env.PORTCULLIS_TEST_TOOLS ?? 'build-test/tests/tools';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'pc-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.add(d);
  return d;
}

// A temp data dir holding a new, migrated SQLite store: only serve and
// migrate create a store, so CLI tests start from one made like this.
export function storeDir(prefix = 'pc-') {
  const d = tempDir(prefix);
  const r = run(['migrate', '--data-dir', d, '--store-url', `sqlite:${join(d, 'portcullis.db')}`]);
  assert.equal(r.code, 0, `migrate failed: ${r.stderr}`);
  return d;
}

// Runs a CLI command to completion.
export function run(args, { env = {}, input } = {}) {
  const r = spawnSync(BIN, args, {
    env: { ...process.env, ...env },
    input,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

// Key generation (RSA-3072) is slow under ASan: make one data dir with
// keys per test process and copy it for each server unless asked not to.
// On PostgreSQL (PORTCULLIS_TEST_PG) the keys live in a template database
// that every server's own database is copied from.
let template;
let templateDb;
function templateDir() {
  if (template) return template;
  template = tempDir('pc-tmpl-');
  const common = ['--mode', 'development', '--data-dir', template];
  if (PG) {
    templateDb = createDatabase(PG);
    common.push('--store-url', templateDb);
  }
  // Only serve and migrate create a store; key list then makes the keys
  // (and the master key in development mode).
  for (const cmd of [['migrate'], ['key', 'list']]) {
    const r = run([...cmd, ...common]);
    assert.equal(r.code, 0, `template ${cmd.join(' ')} failed: ${r.stderr}`);
  }
  return template;
}

// Which store a server gets: the suite's PostgreSQL cluster when there is
// one (a database of its own, kept with its data dir so a restart on the
// same data dir finds it again), unless the test names a store itself.
function storeFor(opts, dataDir) {
  if (!PG || opts.store === 'sqlite' || opts.config?.store_url !== undefined) return null;
  const saved = join(dataDir, 'pg-url');
  if (opts.dataDir && existsSync(saved)) return readFileSync(saved, 'utf8');
  const url = opts.fresh || opts.dataDir ? createDatabase(PG)
    : createDatabase(PG, { template: (templateDir(), templateDb) });
  writeFileSync(saved, url);
  return url;
}

export function configText(settings) {
  return Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}

export async function startServer(opts = {}) {
  const port = opts.port ?? await freePort();
  const dataDir = opts.dataDir ?? tempDir();
  if (!opts.dataDir && !opts.fresh) {
    cpSync(templateDir(), dataDir, { recursive: true });
    chmodSync(dataDir, 0o700);
  }
  const issuer = opts.issuer ?? `http://127.0.0.1:${port}`;
  const storeUrl = storeFor(opts, dataDir);
  const settings = {
    mode: 'development',
    issuer,
    listen: `127.0.0.1:${port}`,
    ...(storeUrl ? { store_url: storeUrl } : {}),
    ...(opts.config ?? {}),
  };
  const configFile = join(dataDir, 'test.conf');
  writeFileSync(configFile, configText(settings));
  const args = ['serve', '--config', configFile, '--data-dir', dataDir, ...(opts.args ?? [])];
  const proc = spawn(BIN, args, {
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  let buffered = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    buffered += d;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      logs.push(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
  });
  proc.stdout.resume();
  live.add(proc);
  proc.unref();
  proc.stderr.unref();
  proc.stdout.unref();
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => { live.delete(proc); resolve({ code, signal }); }));
  const url = `http://127.0.0.1:${port}`;
  const base = opts.tls ? `https://127.0.0.1:${port}` : url;
  const server = {
    proc, port, url: base, issuer, dataDir, configFile, logs, storeUrl,
    rawLogs: () => logs.join('\n') + '\n' + buffered,
    exited,
    wait() {
      proc.ref();
      return exited;
    },
    async stop(signal = 'SIGTERM') {
      proc.ref();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const r = await exited;
      if (!opts.keepDataDir) {
        rmSync(dataDir, { recursive: true, force: true });
        if (storeUrl) dropDatabase(storeUrl);
      }
      return r;
    },
  };
  if (opts.noWait) return server;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`server exited with ${proc.exitCode}:\n${server.rawLogs()}`);
    }
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('server did not start:\n' + server.rawLogs());
    await new Promise((r) => setTimeout(r, 50));
  }
  return server;
}

// Stops the server and asserts a clean exit (0: no ASan/LSan report).
export async function stopClean(server) {
  const r = await server.stop();
  assert.equal(r.code, 0, `server exit ${r.code} ${r.signal}:\n${server.rawLogs().slice(-4000)}`);
}

// A raw HTTP/1.1 exchange over a socket, for what fetch will not send.
export function rawRequest(port, text, { timeout = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    const t = setTimeout(() => { s.destroy(); resolve({ data, timedOut: true }); }, timeout);
    s.setEncoding('latin1');
    s.on('connect', () => s.write(text, 'latin1'));
    s.on('data', (d) => { data += d; });
    s.on('end', () => { clearTimeout(t); resolve({ data, closed: true }); });
    s.on('close', () => { clearTimeout(t); resolve({ data, closed: true }); });
    s.on('error', (e) => { clearTimeout(t); resolve({ data, error: e }); });
  });
}

export function parseRaw(data) {
  const [head, ...rest] = data.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: rest.join('\r\n\r\n') };
}

// Runs SQL straight against a server's store, bypassing Portcullis (as an
// attacker with database access, or a test arranging a state, would): the
// sqlite3 CLI on SQLite, psql on PostgreSQL; both print rows as a|b lines.
export function storeSql(srv, q) {
  if (srv.storeUrl) return psql(srv.storeUrl, q);
  const r = spawnSync('sqlite3', [join(srv.dataDir, 'portcullis.db'), q], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

// Everything the store holds, as bytes an attacker with a copy would see:
// the SQLite file, or a pg_dump of the server's database.
export function storeDump(srv) {
  if (!srv.storeUrl) return readFileSync(join(srv.dataDir, 'portcullis.db'), 'latin1');
  const p = parseUrl(srv.storeUrl);
  const r = spawnSync('pg_dump', ['-h', p.host, '-p', p.port, '-U', p.user, p.db], { encoding: 'latin1', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

// The environment a test tool (tests/tools) needs to reach a server's store.
export function toolEnv(srv) {
  return { ...process.env, ...(srv.storeUrl ? { PORTCULLIS_STORE_URL: srv.storeUrl } : {}) };
}
