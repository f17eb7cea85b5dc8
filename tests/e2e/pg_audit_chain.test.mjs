// The audit chain on PostgreSQL without the global write lock (issue 13,
// item 4; decision 0051): two nodes on one store write their audit rows
// unchained (audit_pending) in transactions that take no global lock, and
// one chainer at a time links them. Rows are durable before the answer
// (AU-01), `audit verify` checks pending rows by their own mac and tells
// pending from tampered (AU-05), and rows a killed node left pending are
// chained by the other node.
//
// A test holds a lock from its own psql session to stop what it needs
// stopped: the global write lock (a client_credentials grant must not
// wait for it) or the chainer's lock (rows stay pending while it is held).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort, startServer, stopClean } from './lib/server.mjs';
import { startCluster, createDatabase, parseUrl, psql } from './lib/pg.mjs';
import { cliAt } from './lib/web.mjs';
import { addClient, tokenRequest } from './lib/oauth.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WRITE_LOCK = "x'7046757263756c6c'::bigint"; // src/store/pg.c WRITE_LOCK_KEY
const CHAIN_LOCK = "x'7063636861696e72'::bigint"; // src/store/pg.c SINGLETON_LOCK_KEY

let cluster, store, A, B, svc;

before(async () => {
  cluster = startCluster();
  store = createDatabase(cluster.url);
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const [pa, pb] = [await freePort(), await freePort()];
  A = await startServer({ port: pa, issuer, config: { store_url: store, allowed_hosts: `127.0.0.1:${pa}` } });
  B = await startServer({ port: pb, issuer, config: { store_url: store, allowed_hosts: `127.0.0.1:${pb}` } });
  svc = addClient(A, { name: 'Service', grants: 'client_credentials', scope: 'api.read' });
});

after(async () => {
  const stops = await Promise.allSettled([A, B].filter(Boolean).map((n) =>
    n.proc.exitCode === null && n.proc.signalCode === null ? stopClean(n) : n.stop()));
  cluster?.stop();
  for (const s of stops) if (s.status === 'rejected') throw s.reason;
});

const grant = (node) => tokenRequest(node, svc, { grant_type: 'client_credentials', scope: 'api.read' });
const pending = () => Number(psql(store, 'SELECT count(*) FROM audit_pending'));
const chained = (event) => Number(psql(store, `SELECT count(*) FROM audit_log WHERE event = '${event}'`));
const verify = () => cliAt(B, ['audit', 'verify']);

// Holds lock (a bigint SQL expression) in a session of its own until
// release(); resolves once it is granted.
async function hold(lock) {
  const name = `pc-hold-${Math.random().toString(36).slice(2)}`;
  const p = parseUrl(store);
  const proc = spawn('psql', ['-X', '-q', '-h', p.host, '-p', p.port, '-U', p.user, '-d', p.db,
    '-c', `SELECT pg_advisory_lock(${lock}); SELECT pg_sleep(120)`], { env: { ...process.env, PGAPPNAME: name }, stdio: 'ignore' });
  const exited = new Promise((r) => proc.on('exit', r));
  for (let i = 0; ; i++) {
    const n = Number(psql(store, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE a.application_name = '${name}' AND l.locktype = 'advisory' AND l.granted`));
    if (n > 0) break;
    assert.ok(i < 200, 'the lock was not granted');
    await sleep(25);
  }
  return async () => {
    psql(store, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${name}'`);
    await exited;
  };
}

async function untilNoPending(ms = 10_000) {
  const end = Date.now() + ms;
  while (pending() > 0) {
    assert.ok(Date.now() < end, `rows still pending after ${ms} ms`);
    await sleep(50);
  }
}

test('AU-01: a client_credentials grant takes no global lock: it is issued, audited and chained while another session holds the write lock', async () => {
  const before = chained('token.issue') + pending();
  const release = await hold(WRITE_LOCK);
  try {
    // With the write lock, this waited for the holder (lock_timeout: 503).
    const r = await Promise.race([grant(A), sleep(5000).then(() => ({ status: 'timeout' }))]);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await untilNoPending();
    assert.equal(chained('token.issue'), before + 1, 'its row is chained while the write lock is held');
  } finally {
    await release();
  }
});

test('AU-01/AU-05: concurrent grants on both nodes all get audit rows; the chain verifies once the chainer ran', async () => {
  const before = chained('token.issue') + pending();
  const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => grant(i % 2 ? A : B)));
  for (const r of rs) assert.equal(r.status, 200, JSON.stringify(r.json));
  // Durable before the answer: chained or pending, every row is there.
  assert.equal(chained('token.issue') + pending(), before + 40);
  await untilNoPending();
  assert.equal(chained('token.issue'), before + 40);
  const seqs = psql(store, 'SELECT min(seq), max(seq), count(*) FROM audit_log').split('|').map(Number);
  assert.deepEqual(seqs, [1, seqs[2], seqs[2]], 'seq 1..n without gaps');
  const v = verify();
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`^audit log OK: ${seqs[2]} rows, head seq ${seqs[2]} `, 'm'));
  assert.doesNotMatch(v.stdout, /pending/);
});

test('AU-05: audit verify reports pending rows as pending, and names a tampered pending row and a tampered chained row', async () => {
  let release = await hold(CHAIN_LOCK);
  try {
    for (let i = 0; i < 3; i++) assert.equal((await grant(B)).status, 200);
    assert.equal(pending(), 3, 'no chainer can link them while the lock is held');
    let v = verify();
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /^audit log OK: /m);
    assert.match(v.stdout, /^pending: 3 rows not chained yet, their own macs verify$/m);
    // tail shows them last, without a seq.
    const tail = cliAt(B, ['audit', 'tail', '-n', '3', '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(tail.map((t) => [t.event, t.seq]), [['token.issue', null], ['token.issue', null], ['token.issue', null]]);
    // An edited pending row (no key: its mac cannot follow) is named.
    const id = psql(store, 'SELECT min(id) FROM audit_pending');
    psql(store, `UPDATE audit_pending SET actor = 'someone-else' WHERE id = '${id}'`);
    v = verify();
    assert.equal(v.code, 1, v.stdout);
    assert.match(v.stdout, new RegExp(`BROKEN: pending row ${id} forged or edited`));
    // A forged one too.
    psql(store, `UPDATE audit_pending SET actor = '${svc.client_id}' WHERE id = '${id}'`);
    psql(store, `INSERT INTO audit_pending (id, ts_ms, event, outcome, mac) VALUES ('${'f'.repeat(32)}', 1, 'login', 'success', '${'0'.repeat(64)}')`);
    v = verify();
    assert.equal(v.code, 1, v.stdout);
    assert.match(v.stdout, /BROKEN: pending row f{32} forged or edited/);
    await release();
    release = null;
    // The chainer links the three, never the forgery.
    const end = Date.now() + 10_000;
    while (pending() > 1) { assert.ok(Date.now() < end, 'not chained'); await sleep(50); }
    assert.equal(psql(store, 'SELECT id FROM audit_pending'), 'f'.repeat(32));
    psql(store, 'DELETE FROM audit_pending');
    v = verify();
    assert.equal(v.code, 0, v.stdout);
    // A chained row edited after the chainer linked it is named by seq.
    const seq = Number(psql(store, 'SELECT max(seq) FROM audit_log'));
    psql(store, `UPDATE audit_log SET actor = 'someone-else' WHERE seq = ${seq}`);
    v = verify();
    assert.equal(v.code, 1, v.stdout);
    assert.match(v.stdout, new RegExp(`BROKEN at seq ${seq}: row edited`));
    psql(store, `UPDATE audit_log SET actor = '${svc.client_id}' WHERE seq = ${seq}`);
  } finally {
    if (release) await release();
  }
});

test('AU-05: rows a killed node left pending are chained by the other node', async () => {
  const before = chained('token.issue');
  const release = await hold(CHAIN_LOCK);
  try {
    for (let i = 0; i < 4; i++) assert.equal((await grant(A)).status, 200);
    A.proc.kill('SIGKILL');
    await A.exited;
    assert.equal(pending(), 4, "A died with its rows pending");
  } finally {
    await release();
  }
  // B's chainer runs every second whether or not B appended anything.
  await untilNoPending();
  assert.equal(chained('token.issue'), before + 4);
  const v = verify();
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.doesNotMatch(v.stdout, /pending/);
});
