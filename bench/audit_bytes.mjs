// Bytes per audit event (issue 17, item 7; docs/operations.md "Audit
// retention"): N client_credentials grants against a server, then the
// audit table and its indexes measured — SQLite with dbstat, PostgreSQL
// (PORTCULLIS_TEST_PG set) with pg_total_relation_size — and the average
// length of each column, for the compact-row estimate. Run from the
// repository root:
//   PORTCULLIS_BIN=build-test/src/portcullis node bench/audit_bytes.mjs [N]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer } from '../tests/e2e/lib/server.mjs';
import { psql } from '../tests/e2e/lib/pg.mjs';
import { addClient, tokenRequest } from '../tests/e2e/lib/oauth.mjs';

const N = Number(process.argv[2] ?? 2000);
const srv = await startServer({});
const c = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
const sql = (q) => srv.storeUrl ? psql(srv.storeUrl, q)
  : spawnSync('sqlite3', [join(srv.dataDir, 'portcullis.db'), q], { encoding: 'utf8' }).stdout.trim();
const count = () => Number(sql("SELECT count(*) FROM audit_log WHERE event = 'token.issue'"));
const size = () => srv.storeUrl
  ? Number(sql("SELECT pg_total_relation_size('audit_log')"))
  : Number(sql("SELECT sum(pgsize) FROM dbstat WHERE name IN ('audit_log', 'sqlite_autoindex_audit_log_1', 'audit_log_actor', 'audit_log_target')"));
const n0 = count(), s0 = size();
let next = 0;
await Promise.all(Array.from({ length: 8 }, async () => {
  while (next++ < N) {
    const r = await tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });
    if (r.status !== 200) throw new Error(`grant: ${r.status}`);
  }
}));
await new Promise((r) => setTimeout(r, 1500)); // the chainer (PostgreSQL)
if (srv.storeUrl) sql('VACUUM audit_log');
const n = count() - n0, s = size() - s0;
const cols = ['event', 'outcome', 'actor', 'target', 'ip', 'user_agent', 'request_id', 'session_hash', 'details', 'prev_mac', 'mac'];
const avg = sql(`SELECT ${cols.map((k) => `avg(coalesce(length(${k}), 0))`).join(', ')} FROM audit_log WHERE event = 'token.issue'`).split('|').map(Number);
const parts = srv.storeUrl
  ? sql("SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c WHERE c.relname IN ('audit_log', 'audit_log_pkey', 'audit_log_actor', 'audit_log_target')")
  : sql("SELECT name, sum(pgsize) FROM dbstat WHERE name IN ('audit_log', 'sqlite_autoindex_audit_log_1', 'audit_log_actor', 'audit_log_target') GROUP BY name");
console.log(JSON.stringify({
  store: srv.storeUrl ? 'postgresql' : 'sqlite', grants: n,
  bytes_per_event: Math.round(s / n), mb_per_million: Math.round(s / n),
  columns: Object.fromEntries(cols.map((k, i) => [k, Math.round(avg[i])])),
  relations: parts,
  sample: sql("SELECT actor, target, ip, user_agent, details FROM audit_log WHERE event = 'token.issue' LIMIT 1"),
}, null, 1));
await srv.stop();
