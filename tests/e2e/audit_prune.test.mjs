// Audit retention (issue 17, item 7; decision 0077), on SQLite and on
// PostgreSQL: rows older than audit_retention (laid down in the set-up,
// 40 days old, through the same audit_append() the server uses:
// tests/tools/pc_audit_append.c) are pruned by `portcullis audit prune`
// as a whole prefix, with an anchor and an audit.prune row; `audit
// verify` proves the rest from the anchor (AU-05); `audit export` is
// checked elsewhere with the master key alone and holds no secret
// (AU-03); a row deleted by hand and an edited anchor are caught (AU-05).
// On PostgreSQL the serving role cannot delete audit rows nor rewrite the
// anchor, and prune runs under its own role (audit_prune_store_url).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRaw, rawRequest, run, startServer, stopClean, tempDir, TOOLS } from './lib/server.mjs';
import { SHARED as PG, createDatabase, psql, urlFor } from './lib/pg.mjs';
import { addClient, tokenRequest } from './lib/oauth.mjs';

const DAY = 86400_000;
const OLD = 50;
let srv, dir, storeUrl, client, token, roles;

function sql(q) {
  if (storeUrl) return psql(storeUrl, q);
  const r = spawnSync('sqlite3', [join(dir, 'portcullis.db'), q], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const cli = (args, env = {}) => run([...args, '--config', srv.configFile, '--data-dir', dir], { env });
const withRole = (url, role) => url.replace(/user=[^&]*/, `user=${role}`);

before(async () => {
  dir = tempDir('pc-prune-');
  if (PG) {
    storeUrl = createDatabase(PG);
    writeFileSync(join(dir, 'pg-url'), storeUrl);
  }
  const store = storeUrl ?? `sqlite:${join(dir, 'portcullis.db')}`;
  assert.equal(run(['migrate', '--data-dir', dir, '--store-url', store]).code, 0);
  assert.equal(run(['master-key', 'init', '--data-dir', dir]).code, 0);
  // 40 days old: the first rows of the chain, older than any retention.
  const r = spawnSync(join(TOOLS, 'pc-audit-append'), [dir, String(Date.now() - 40 * DAY), String(OLD)],
    { env: { ...process.env, ...(storeUrl ? { PORTCULLIS_STORE_URL: storeUrl } : {}) }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  srv = await startServer({ dataDir: dir, keepDataDir: true, config: { audit_retention: '30d', rsa_key_bits: '2048' } });
  client = addClient(srv, { grants: 'client_credentials', scope: 'api.read' });
  const t = await tokenRequest(srv, client, { grant_type: 'client_credentials', scope: 'api.read' });
  assert.equal(t.status, 200);
  token = t.json.access_token;
});

after(async () => {
  if (srv) await stopClean(srv);
  if (roles) {
    for (const role of roles) psql(storeUrl, `REASSIGN OWNED BY ${role} TO postgres; DROP OWNED BY ${role}`);
    for (const role of roles) psql(urlFor(storeUrl, 'postgres'), `DROP ROLE ${role}`);
  }
});

test('audit_retention below the 30 days of the inventory is refused', () => {
  const r = run(['check-config', '--config', '/dev/null', '--mode', 'development', '--data-dir', tempDir()],
    { env: { PORTCULLIS_AUDIT_RETENTION: '29d' } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /audit_retention/);
});

test('AU-05: on PostgreSQL the serving role cannot delete audit rows nor rewrite the anchor; prune under it deletes nothing', { skip: !PG && 'PostgreSQL only' }, () => {
  const svc = `svc_${process.pid}`, pruner = `prune_${process.pid}`;
  roles = [svc, pruner];
  // As docs/operations.md sets them up.
  psql(storeUrl, `CREATE ROLE ${svc} LOGIN; GRANT USAGE ON SCHEMA public TO ${svc};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${svc};
    REVOKE UPDATE, DELETE ON audit_log FROM ${svc};
    REVOKE INSERT, UPDATE, DELETE ON audit_anchor FROM ${svc};
    CREATE ROLE ${pruner} LOGIN; GRANT USAGE ON SCHEMA public TO ${pruner};
    GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${pruner};
    GRANT INSERT, DELETE ON audit_log, audit_anchor, audit_pending TO ${pruner}`);
  const asSvc = withRole(storeUrl, svc);
  for (const q of ['DELETE FROM audit_log WHERE seq = 1', "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
    "INSERT INTO audit_anchor VALUES (1, 'm', 0, 1, 1, 0, 0, 'a')", 'DELETE FROM audit_anchor', 'UPDATE audit_anchor SET pruned = 0']) {
    assert.throws(() => psql(asSvc, q), /permission denied/, q);
  }
  // prune with the serving role's URL: refused by PostgreSQL, nothing gone.
  const before = sql('SELECT count(*) FROM audit_log');
  const r = cli(['audit', 'prune'], { PORTCULLIS_STORE_URL: asSvc });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /cannot prune the audit log/);
  assert.equal(sql('SELECT count(*) FROM audit_log'), before);
  assert.equal(sql('SELECT count(*) FROM audit_anchor'), '0');
});

test('AU-05: audit prune deletes the old prefix, records the anchor and an audit.prune row; verify proves the rest', () => {
  // PostgreSQL: store_url is the serving role's, as on a node; prune
  // must connect with audit_prune_store_url, the role allowed to delete.
  const env = PG ? { PORTCULLIS_STORE_URL: withRole(storeUrl, `svc_${process.pid}`),
    PORTCULLIS_AUDIT_PRUNE_STORE_URL: withRole(storeUrl, `prune_${process.pid}`) } : {};
  const r = cli(['audit', 'prune'], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^audit prune: deleted ${OLD} rows \\(seq 1 to ${OLD}, older than \\d{4}-\\d\\d-\\d\\dT00:00:00Z\\) in 1 transaction; anchor seq ${OLD} mac [0-9a-f]{64}$`, 'm'));
  assert.equal(sql(`SELECT count(*) FROM audit_log WHERE seq <= ${OLD}`), '0');
  assert.equal(sql(`SELECT min(seq) FROM audit_log`), String(OLD + 1));
  assert.equal(sql('SELECT seq FROM audit_anchor'), String(OLD));
  const v = cli(['audit', 'verify']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /audit log OK: \d+ rows, head seq \d+/);
  assert.match(v.stdout, new RegExp(`^pruned: rows up to seq ${OLD} \\(audit prune\\)`, 'm'));
  const rows = cli(['audit', 'tail', '-n', '5', '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  const p = rows.find((x) => x.event === 'audit.prune');
  assert.ok(p, 'the prune is in the chain');
  assert.equal(p.outcome, 'success');
  assert.deepEqual([p.details.from_seq, p.details.to_seq, p.details.rows], [1, OLD, OLD]);
  // Again: nothing to prune, nothing written; the server kept serving.
  const again = cli(['audit', 'prune'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /nothing older than .* to prune/);
});

test('AU-03: audit export holds the anchor and the rows, verifies elsewhere with the master key alone, and holds no secret', async () => {
  const t = await tokenRequest(srv, client, { grant_type: 'client_credentials', scope: 'api.read' });
  assert.equal(t.status, 200);
  // A User-Agent that is not UTF-8 (any octet from 0x80 is allowed in a
  // header): the grant succeeds on both stores (PostgreSQL refuses such
  // text) and its row exports and verifies like any other.
  const body = 'grant_type=client_credentials&scope=api.read';
  const auth = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  const raw = parseRaw((await rawRequest(srv.port, `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
    `User-Agent: probe\xff\xfe/1\r\nAuthorization: Basic ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)).data);
  assert.equal(raw.status, 200);
  const e = cli(['audit', 'export']);
  assert.equal(e.code, 0, e.stderr);
  const lines = e.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const head = lines[0], end = lines.at(-1), rows = lines.slice(1, -1);
  assert.equal(head.type, 'portcullis-audit-export');
  assert.match(head.key_id, /^auditlog\/1:[0-9a-f]{16}$/);
  assert.equal(head.anchor.seq, OLD);
  assert.equal(head.anchor.mac, sql('SELECT mac FROM audit_anchor'));
  assert.equal(rows[0].seq, OLD + 1);
  assert.equal(rows[0].prev_mac, head.anchor.mac);
  assert.equal(end.type, 'end');
  assert.equal(end.rows, rows.length);
  assert.ok(rows.some((x) => x.event === 'token.issue'));
  assert.ok(rows.some((x) => x.user_agent === 'probe\\xff\\xfe/1'), 'octets that are not UTF-8 kept as \\xNN');
  // AU-03: no secret of anything the test made.
  const master = readFileSync(join(dir, 'master.key'), 'utf8').trim();
  for (const s of [client.client_secret, token, master, Buffer.from(master, 'base64').toString('hex')]) {
    assert.ok(!e.stdout.includes(s), 'a secret in the export');
  }
  // Elsewhere: no store, the master key only (as an operator's vault has it).
  const away = tempDir('pc-export-');
  const file = join(away, 'audit.jsonl');
  writeFileSync(file, e.stdout);
  const elsewhere = (f, key = master) => run(['audit', 'verify', '--file', f, '--config', '/dev/null', '--data-dir', away],
    { env: { PORTCULLIS_MASTER_KEY: key } });
  let v = elsewhere(file);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`^export OK: ${rows.length} rows \\(seq ${OLD + 1} to ${end.head.seq}\\) from anchor seq ${OLD}`));
  // A window: its own anchor, the mac of the row before it.
  const since = new Date(rows[1].ts_ms).toISOString();
  const w = cli(['audit', 'export', '--since', since]);
  assert.equal(w.code, 0, w.stderr);
  const wl = w.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(wl[0].anchor.seq >= OLD + 1);
  writeFileSync(join(away, 'w.jsonl'), w.stdout);
  v = elsewhere(join(away, 'w.jsonl'));
  assert.equal(v.code, 0, v.stdout + v.stderr);
  // AU-05 on the file: an edited row, rows cut from the end, another key.
  const edited = e.stdout.replace('"event":"token.issue"', '"event":"token.issux"');
  writeFileSync(join(away, 'edited.jsonl'), edited);
  v = elsewhere(join(away, 'edited.jsonl'));
  assert.equal(v.code, 1);
  assert.match(v.stdout, /export BROKEN at seq \d+: row edited/);
  writeFileSync(join(away, 'cut.jsonl'), e.stdout.trim().split('\n').slice(0, -2).join('\n') + '\n');
  v = elsewhere(join(away, 'cut.jsonl'));
  assert.equal(v.code, 1);
  assert.match(v.stdout, /export BROKEN: no end line/);
  v = elsewhere(file, Buffer.alloc(32, 7).toString('base64'));
  assert.equal(v.code, 1);
  assert.match(v.stdout, /made with another audit key/);
});

test('AU-05: an edited anchor and a row deleted by hand after the prune fail audit verify', () => {
  sql('UPDATE audit_anchor SET pruned = pruned + 1');
  let v = cli(['audit', 'verify']);
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`BROKEN at seq ${OLD}: the prune anchor at seq ${OLD} was edited or forged`));
  sql('UPDATE audit_anchor SET pruned = pruned - 1');
  assert.equal(cli(['audit', 'verify']).code, 0);
  sql(`DELETE FROM audit_log WHERE seq = ${OLD + 1}`);
  v = cli(['audit', 'verify']);
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`BROKEN at seq ${OLD + 1}: seq ${OLD + 1} is missing: row deleted \\(no prune anchor explains it\\)`));
});
