// Migrations on PostgreSQL while nodes serve (issue 5, item 4): several
// nodes migrating one empty database at once apply each migration once; a
// `portcullis migrate` and a newer release's additive migration while a
// node serves client_credentials grants fail no request; a binary older
// than the schema keeps serving it unchanged; with migrate_on_start =
// false a node refuses an older schema instead of migrating it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { BIN, run, tempDir, startServer, stopClean, LATEST_MIGRATION, freePort } from './lib/server.mjs';
const LATEST = LATEST_MIGRATION.version;
const NEXT = LATEST + 1;
const PREV = LATEST - 1;
// Undoes the newest migration, to make a store one migration behind.
// Update it with each new migration (the assertion says when).
const UNDO_LATEST = 'DROP TABLE fwd_sessions; DROP TABLE fwd_codes; DROP TABLE fwd_rules';
assert.equal(LATEST_MIGRATION.name, '0036_forward_auth', 'UNDO_LATEST undoes 0036 only: update it');
import { startCluster, createDatabase, parseUrl, psql, urlFor as urlOf } from './lib/pg.mjs';
import { addClient, tokenRequest } from './lib/oauth.mjs';

// serve binds its address before anything else: runs that must fail later
// get a free port (port 1 needs root and may be taken by a parallel run).
const SPARE_PORT = await freePort();

const WRITE_LOCK = "x'7046757263756c6c'::bigint"; // src/store/pg.c
// One master key for every node and every CLI command (addClient() too),
// as a deployment shares it.
const MK = randomBytes(32).toString('hex');
process.env.PORTCULLIS_MASTER_KEY = MK;
const ENV = { PORTCULLIS_MASTER_KEY: MK };

let cluster;
before(() => { cluster = startCluster(); });
after(() => { cluster?.stop(); });

// A process to completion without blocking the event loop (the traffic
// loops keep running meanwhile).
function runAsync(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const migrate = (url) => runAsync(BIN, ['migrate', '--mode', 'development', '--data-dir', tempDir(), '--store-url', url], ENV);

function psqlAsync(url, sql) {
  const p = parseUrl(url);
  return runAsync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', p.host, '-p', p.port,
    '-U', p.user, '-d', p.db, '-c', sql]);
}

function node(url, config = {}) {
  return startServer({ fresh: true, env: ENV, config: { store_url: url, ...config } });
}

// The schema_version table: [count, distinct versions, min, max].
const versions = (url) => psql(url, 'SELECT count(*), count(DISTINCT version), min(version), max(version) FROM schema_version').split('|').map(Number);

// client_credentials grants from `workers` loops until stop(); every status.
function traffic(srv, client, workers = 6) {
  const statuses = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const r = await tokenRequest(srv, client, { grant_type: 'client_credentials', scope: 'api.read' });
        statuses.push(r.status === 200 && r.json?.access_token ? 200 : r.status);
      } catch (e) {
        statuses.push(`error ${e.message}`);
      }
    }
  });
  return {
    statuses,
    async stop() { running = false; await Promise.all(loops); return statuses; },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A newer release's next migration, applied as store_migrate() applies
// one (under the write lock, with its schema_version row), with every
// kind of additive change: a nullable column and a column with a default
// on tables the token endpoint reads, a new table, and an index on the
// table every grant appends to.
const FUTURE = `BEGIN;
SELECT pg_advisory_xact_lock(${WRITE_LOCK});
ALTER TABLE clients ADD COLUMN software_id TEXT NULL;
ALTER TABLE client_secrets ADD COLUMN label TEXT NOT NULL DEFAULT '';
CREATE TABLE future_things (id TEXT NOT NULL PRIMARY KEY, created_at BIGINT NOT NULL);
CREATE INDEX audit_log_ts ON audit_log (ts_ms);
INSERT INTO schema_version (version, name, applied_at) VALUES (${NEXT}, 'future', 0);
COMMIT;`;

test('several migrate and serve processes at once on one empty database: all succeed, each migration applied once', async () => {
  const url = createDatabase(cluster.url);
  const [migrates, nodes] = await Promise.all([
    Promise.all(Array.from({ length: 4 }, () => migrate(url))),
    Promise.all(Array.from({ length: 3 }, () => node(url))),
  ]);
  for (const m of migrates) {
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, new RegExp(`(migrated from schema version \\d+ to ${LATEST}|up to date at schema version ${LATEST})`));
  }
  assert.deepEqual(versions(url), [LATEST, LATEST, 1, LATEST], `migrations 1..${LATEST}, each recorded once`);
  // The first keys too: one per algorithm, however many nodes started.
  assert.equal(psql(url, 'SELECT alg || count(*) FROM signing_keys GROUP BY alg ORDER BY alg'), 'ES2561\nRS2561');
  for (const n of nodes) assert.equal((await fetch(n.url + '/readyz')).status, 200);
  // The tables really are there: a client added through one node's CLI
  // gets tokens from every node.
  const c = addClient(nodes[0], { grants: 'client_credentials', scope: 'api.read' });
  for (const n of nodes) {
    const r = await tokenRequest(n, c, { grant_type: 'client_credentials', scope: 'api.read' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  for (const n of nodes) await stopClean(n);
});

test('migrate, and a newer release\'s additive migration, while a node serves grants: no failed request; the older binary keeps serving the newer schema', async () => {
  const url = createDatabase(cluster.url);
  assert.equal((await migrate(url)).code, 0);
  let srv = await node(url);
  const c = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
  const t = traffic(srv, c);
  await sleep(500);
  // portcullis migrate on a current store, three at once, under load.
  const ms = await Promise.all([migrate(url), migrate(url), migrate(url)]);
  for (const m of ms) assert.equal(m.code, 0, m.stderr);
  // Then a newer release migrates, still under load.
  const f = await psqlAsync(url, FUTURE);
  assert.equal(f.code, 0, f.stderr);
  // And this (now older) binary's migrate changes nothing.
  const m2 = await migrate(url);
  assert.equal(m2.code, 0, m2.stderr);
  assert.match(m2.stdout, new RegExp(`schema version ${NEXT}, newer than this binary knows \\(${LATEST}\\): left unchanged`));
  await sleep(500);
  const statuses = await t.stop();
  const bad = statuses.filter((s) => s !== 200);
  assert.ok(statuses.length > 20, `only ${statuses.length} requests`);
  assert.deepEqual(bad, [], `${bad.length} of ${statuses.length} requests failed`);
  assert.deepEqual(versions(url), [NEXT, NEXT, 1, NEXT]);
  assert.equal(psql(url, "SELECT to_regclass('future_things') IS NOT NULL AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'clients' AND column_name = 'software_id')"), 't',
    'the newer schema is left as it is');
  await stopClean(srv);

  // A node of the older release restarts on the newer schema: it serves,
  // and says so once; with migrate_on_start = false as well.
  for (const config of [{}, { migrate_on_start: 'false' }]) {
    srv = await node(url, config);
    const r = await tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal((await fetch(srv.url + '/readyz')).status, 200);
    const warn = srv.logs.filter((l) => l.includes('"store.schema_newer"'));
    assert.equal(warn.length, 1, srv.rawLogs());
    assert.match(warn[0], new RegExp(`"version":${NEXT},"binary_version":${LATEST}`));
    await stopClean(srv);
  }
  assert.deepEqual(versions(url), [NEXT, NEXT, 1, NEXT]);
});

test('migrate_on_start = false: a node refuses an older schema, changes nothing, and starts once `portcullis migrate` ran', async () => {
  const url = createDatabase(cluster.url);
  const dir = tempDir();
  const serve = () => run(['serve', '--mode', 'development', '--data-dir', dir, '--store-url', url, '--listen', `127.0.0.1:${SPARE_PORT}`],
    { env: { ...ENV, PORTCULLIS_MIGRATE_ON_START: 'false' } });
  let r = serve();
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`is at schema version 0 and this binary needs ${LATEST}: run \`portcullis migrate\` first \\(migrate_on_start = false\\)`));
  assert.equal(psql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), '0', 'nothing created');
  // The other commands follow the same setting.
  r = run(['user', 'list', '--mode', 'development', '--data-dir', dir, '--store-url', url], { env: { ...ENV, PORTCULLIS_MIGRATE_ON_START: 'false' } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /run `portcullis migrate` first/);
  // A store one migration behind is refused too, not half-used.
  assert.equal((await migrate(url)).code, 0);
  psql(url, `${UNDO_LATEST}; DELETE FROM schema_version WHERE version = ${LATEST}`);
  r = serve();
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`is at schema version ${PREV} and this binary needs ${LATEST}`));
  assert.deepEqual(versions(url), [PREV, PREV, 1, PREV]);
  const m = await migrate(url);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, new RegExp(`migrated from schema version ${PREV} to ${LATEST}`));
  const srv = await node(url, { migrate_on_start: 'false' });
  assert.equal((await fetch(srv.url + '/readyz')).status, 200);
  await stopClean(srv);
});

test('a node whose role may only read and write rows (no CREATE, no UPDATE or DELETE on audit_log, only SELECT on audit_anchor) serves a migrated store, and refuses an older one cleanly', async () => {
  const url = createDatabase(cluster.url);
  assert.equal((await migrate(url)).code, 0);
  const role = `svc_${process.pid}`;
  psql(url, `CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA public TO ${role};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role};
    REVOKE UPDATE, DELETE ON audit_log FROM ${role};
    REVOKE INSERT, UPDATE, DELETE ON audit_anchor FROM ${role}`);
  assert.equal(psql(url, `SELECT has_schema_privilege('${role}', 'public', 'CREATE')`), 'f');
  const svc = url.replace('user=postgres', `user=${role}`);
  for (const config of [{}, { migrate_on_start: 'false' }]) {
    const srv = await node(svc, config);
    const c = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
    const r = await tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const v = run(['audit', 'verify', '--config', srv.configFile, '--data-dir', srv.dataDir], { env: ENV });
    assert.equal(v.code, 0, v.stderr);
    await stopClean(srv);
  }
  // One migration behind: that role cannot migrate; it says so, and the
  // store stays as it was.
  psql(url, `${UNDO_LATEST}; DELETE FROM schema_version WHERE version = ${LATEST}`);
  const dir = tempDir();
  let r = run(['serve', '--mode', 'development', '--data-dir', dir, '--store-url', svc, '--listen', `127.0.0.1:${SPARE_PORT}`], { env: ENV });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`migration ${LATEST_MIGRATION.name} failed: .*(permission denied|must be owner).*rolled back; the store stays at version ${PREV}`, 's'));
  r = run(['serve', '--mode', 'development', '--data-dir', dir, '--store-url', svc, '--listen', `127.0.0.1:${SPARE_PORT}`],
    { env: { ...ENV, PORTCULLIS_MIGRATE_ON_START: 'false' } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`schema version ${PREV} and this binary needs ${LATEST}: run \`portcullis migrate\` first`));
  assert.deepEqual(versions(url), [PREV, PREV, 1, PREV]);
  psql(url, `REASSIGN OWNED BY ${role} TO postgres; DROP OWNED BY ${role}`);
  psql(urlOf(url, 'postgres'), `DROP ROLE ${role}`);
});
