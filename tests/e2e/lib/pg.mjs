// PostgreSQL for the black-box tests.
//
// PORTCULLIS_TEST_PG, when set (scripts/test.sh sets it for the suite's
// second pass), is the store_url of a throwaway cluster; startServer() then
// gives every server its own database in it, so the whole suite runs on
// PostgreSQL as it does on SQLite. Tests that stop or kill PostgreSQL, or
// run several nodes, start a private cluster with startCluster().
import { spawnSync } from 'node:child_process';
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../tools/pg-cluster.sh', import.meta.url));

export const SHARED = process.env.PORTCULLIS_TEST_PG || '';

function sh(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

// The libpq URI's parts: postgresql:///DB?host=DIR&port=P&user=U
export function parseUrl(url) {
  const u = new URL(url);
  return {
    db: decodeURIComponent(u.pathname.slice(1)),
    host: u.searchParams.get('host'),
    port: u.searchParams.get('port'),
    user: u.searchParams.get('user') ?? 'postgres',
  };
}

export function urlFor(url, db) {
  const p = parseUrl(url);
  return `postgresql:///${db}?host=${p.host}&port=${p.port}&user=${p.user}`;
}

// Runs SQL in the database the URL names; returns psql's unaligned output.
export function psql(url, sql) {
  const p = parseUrl(url);
  return sh('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', p.host, '-p', p.port,
    '-U', p.user, '-d', p.db, '-c', sql], 'psql');
}

let seq = 0;
// Creates a new database (a copy of `template` when given) in the cluster
// `url` names; returns its URL.
export function createDatabase(url, { template } = {}) {
  const name = `t_${process.pid}_${++seq}`;
  const tmpl = template ? ` TEMPLATE ${parseUrl(template).db}` : '';
  psql(urlFor(url, 'postgres'), `CREATE DATABASE ${name}${tmpl}`);
  return urlFor(url, name);
}

export function dropDatabase(url) {
  try {
    psql(urlFor(url, 'postgres'), `DROP DATABASE IF EXISTS ${parseUrl(url).db} WITH (FORCE)`);
  } catch { /* the cluster may be gone already */ }
}

// A private cluster: { url, dir, halt(), resume(), stop() }. halt() kills
// the server at once (as a crash would); resume() starts it again on the
// same socket and data.
export function startCluster() {
  const dir = mkdtempSync('/tmp/pc-pg-');
  chmodSync(dir, 0o755);
  const cdir = `${dir}/cluster`;
  const url = sh('bash', [SCRIPT, 'start', cdir], 'pg-cluster start');
  return {
    url,
    dir: cdir,
    halt: () => sh('bash', [SCRIPT, 'halt', cdir], 'pg-cluster halt'),
    resume: () => sh('bash', [SCRIPT, 'resume', cdir], 'pg-cluster resume'),
    stop() {
      spawnSync('bash', [SCRIPT, 'stop', cdir], { timeout: 120_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
