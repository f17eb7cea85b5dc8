// The inventory and the audit query (issue 14, item 7; SECURITY.md TX-07):
// `portcullis access report` lists every principal with its credentials
// and flags what needs action; `portcullis audit query --principal ID`
// answers what a credential or principal got, when and from where, in a
// time window, oldest first, bounded; on PostgreSQL it includes rows the
// chainer has not linked yet.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { SHARED as PG, parseUrl, psql } from './lib/pg.mjs';
import { cliAt, addUser } from './lib/web.mjs';
import { addClient, tokenRequest } from './lib/oauth.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const servers = [];
after(async () => {
  for (const s of servers) await stopClean(s);
});

async function server(opts = {}) {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

function query(srv, args) {
  const r = cliAt(srv, ['audit', 'query', ...args]);
  return { ...r, rows: r.code === 0 && args.includes('--json')
    ? r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : null };
}

const grant = (srv, c) => tokenRequest(srv, c, { grant_type: 'client_credentials', scope: 'api.read' });

// A moment strictly between what came before and what comes after.
async function mark() {
  await sleep(5);
  const t = Date.now();
  await sleep(5);
  return t;
}

test('TX-07: audit query returns a client\'s token issues between two times, oldest first, and nothing of another client', async () => {
  const srv = await server();
  const svc = addClient(srv, { name: 'Svc', grants: 'client_credentials', scope: 'api.read' });
  const other = addClient(srv, { name: 'Other', grants: 'client_credentials', scope: 'api.read' });
  for (let i = 0; i < 2; i++) assert.equal((await grant(srv, svc)).status, 200);
  const t1 = await mark();
  const jtis = [];
  for (let i = 0; i < 3; i++) {
    const r = await grant(srv, svc);
    assert.equal(r.status, 200);
    jtis.push(JSON.parse(Buffer.from(r.json.access_token.split('.')[1], 'base64url')).jti);
    assert.equal((await grant(srv, other)).status, 200);
  }
  const t2 = await mark();
  assert.equal((await grant(srv, svc)).status, 200);

  // RFC 3339 with milliseconds on one side, unix milliseconds as RFC 3339
  // on the other: the window is since <= time < until.
  const q = query(srv, ['--principal', svc.client_id, '--since', new Date(t1).toISOString(),
    '--until', new Date(t2).toISOString(), '--json']);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stderr, '');
  assert.equal(q.rows.length, 3);
  assert.deepEqual(q.rows.map((r) => r.details.jti), jtis);
  for (const r of q.rows) {
    assert.equal(r.event, 'token.issue');
    assert.equal(r.outcome, 'success');
    assert.equal(r.actor, svc.client_id);
    assert.equal(r.ip, '127.0.0.1');
    assert.equal(typeof r.user_agent, 'string');
    assert.equal(r.details.grant, 'client_credentials');
    assert.ok(r.ts_ms >= t1 && r.ts_ms < t2);
    assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  for (let i = 1; i < q.rows.length; i++) assert.ok(q.rows[i].ts_ms >= q.rows[i - 1].ts_ms, 'oldest first');

  // No window: all six of its grants (and its client.created-style CLI
  // rows, if any, name it as the target).
  const all = query(srv, ['--principal', svc.client_id, '--json']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.rows.filter((r) => r.event === 'token.issue').length, 6);
  assert.ok(all.rows.every((r) => r.actor === svc.client_id || r.target === svc.client_id));

  // Unix seconds: the whole window of this test.
  const secs = query(srv, ['--principal', svc.client_id, '--since', String(Math.floor(t1 / 1000) - 1),
    '--until', String(Math.floor(t2 / 1000) + 2), '--json']);
  assert.equal(secs.code, 0, secs.stderr);
  assert.ok(secs.rows.length >= 3);

  // Bounded: the oldest N, and a note (on stderr) that more match.
  const cut = query(srv, ['--principal', svc.client_id, '--since', new Date(t1).toISOString(),
    '--limit', '2', '--json']);
  assert.equal(cut.code, 0, cut.stderr);
  assert.deepEqual(cut.rows.map((r) => r.details.jti), jtis.slice(0, 2));
  assert.match(cut.stderr, /more events match; these are the first 2\. Go on with --since \S+Z/);

  // The table.
  const t = cliAt(srv, ['audit', 'query', '--principal', svc.client_id, '--since', new Date(t1).toISOString(),
    '--until', new Date(t2).toISOString()]);
  assert.equal(t.code, 0, t.stderr);
  const lines = t.stdout.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^SEQ\s+TIME\s+EVENT\s+OUTCOME\s+ACTOR\s+TARGET\s+IP\s+USER-AGENT\s+DETAILS$/);
  for (const l of lines.slice(1)) assert.match(l, new RegExp(`^\\d+\\s+\\S+Z\\s+token\\.issue\\s+success\\s+${svc.client_id}\\s+-\\s+127\\.0\\.0\\.1\\s.*"grant":"client_credentials"`));
});

function serviceAccount(srv, name, extra = []) {
  const scope = extra.includes('--scope') ? [] : ['--scope', 'api.read'];
  const r = cliAt(srv, ['service-account', 'add', '--name', name, ...scope, ...extra, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function boundClient(srv, sa, name = 'bound') {
  return addClient(srv, { name, grants: 'client_credentials', scope: 'api.read',
    extra: ['--service-account', sa.id] });
}

test('TX-07: audit query returns a service account\'s token issues between two times, through each of its clients, and its own changes', async () => {
  const srv = await server();
  const sa = serviceAccount(srv, 'billing');
  const c1 = boundClient(srv, sa, 'billing-a');
  const c2 = boundClient(srv, sa, 'billing-b');
  const stranger = addClient(srv, { name: 'Other', grants: 'client_credentials', scope: 'api.read' });
  assert.equal((await grant(srv, c1)).status, 200);
  const t1 = await mark();
  const jtis = [];
  for (const c of [c1, c2, c1]) {
    const r = await grant(srv, c);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const claims = JSON.parse(Buffer.from(r.json.access_token.split('.')[1], 'base64url'));
    assert.equal(claims.sub, sa.id);
    jtis.push(claims.jti);
    assert.equal((await grant(srv, stranger)).status, 200);
  }
  const t2 = await mark();
  assert.equal((await grant(srv, c2)).status, 200);

  const q = query(srv, ['--principal', sa.id, '--since', new Date(t1).toISOString(),
    '--until', new Date(t2).toISOString(), '--json']);
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(q.rows.map((r) => [r.event, r.actor, r.target, r.details.jti]),
    [['token.issue', c1.client_id, sa.id, jtis[0]], ['token.issue', c2.client_id, sa.id, jtis[1]],
      ['token.issue', c1.client_id, sa.id, jtis[2]]]);
  for (const r of q.rows) {
    assert.equal(r.details.scope, 'api.read');
    assert.equal(r.ip, '127.0.0.1');
  }
  // Without a window: its creation by the CLI first, all five grants;
  // nothing of the stranger.
  const all = query(srv, ['--principal', sa.id, '--json']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.rows[0].event, 'service_account.create');
  assert.equal(all.rows.filter((r) => r.event === 'token.issue').length, 5);
  assert.ok(all.rows.every((r) => r.actor !== stranger.client_id && r.target !== stranger.client_id));
  // One client's view: what it obtained for the account.
  const one = query(srv, ['--principal', c2.client_id, '--since', new Date(t1).toISOString(), '--json']);
  assert.deepEqual(one.rows.filter((r) => r.event === 'token.issue').map((r) => r.target), [sa.id, sa.id]);
});

test('TX-07: an API key\'s exchanges are in the audit query of the key and of its service account, with the resource and scope; the report shows its last use and the scopes it used', async () => {
  const srv = await server();
  const api = 'http://127.0.0.1/inventory-api';
  const rs = cliAt(srv, ['resource', 'add', '--id', api, '--scope', 'api.read api.write', '--json']);
  assert.equal(rs.code, 0, rs.stderr);
  const sa = serviceAccount(srv, 'exchanger', ['--scope', 'api.read api.write']);
  const key = apiKey(srv, sa.id, ['--scope', 'api.read api.write', '--resource', api, '--name', 'etl']);
  const t1 = await mark();
  const jtis = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(srv.url + '/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:portcullis:params:oauth:token-type:api_key',
        subject_token: key.key, resource: api, scope: 'api.read',
      }).toString(),
    });
    const j = await res.json();
    assert.equal(res.status, 200, JSON.stringify(j));
    jtis.push(JSON.parse(Buffer.from(j.access_token.split('.')[1], 'base64url')).jti);
  }
  const t2 = await mark();
  for (const who of [key.id, sa.id]) {
    const q = query(srv, ['--principal', who, '--since', new Date(t1).toISOString(),
      '--until', new Date(t2).toISOString(), '--json']);
    assert.equal(q.code, 0, q.stderr);
    const issued = q.rows.filter((r) => r.event === 'token.issue');
    assert.deepEqual(issued.map((r) => [r.actor, r.target, r.details.jti, r.details.resource, r.details.scope]),
      jtis.map((j) => [key.id, sa.id, j, api, 'api.read']));
    assert.equal(issued[0].ip, '127.0.0.1');
  }
  const rep = report(srv);
  const k = principalOf(rep, sa.id).credentials.find((c) => c.id === key.id);
  assert.equal(k.kind, 'api_key');
  assert.equal(k.resource, api);
  assert.ok(k.last_used_at >= Math.floor(t1 / 1000) - 1, 'its last use');
  assert.equal(k.used_scopes, 'api.read');
  assert.equal(k.unused_scopes, 'api.write');
  assert.deepEqual(k.flags, ['scopes_unused']);
});

test('TX-07: audit query refuses what it cannot answer with a usage error', async () => {
  const srv = await server();
  for (const [args, msg] of [
    [[], /'audit query' needs --principal/],
    [['--principal', ''], /--principal wants an id/],
    [['--principal', 'a\nb'], /--principal wants an id/],
    [['--principal', 'x', '--since', 'yesterday'], /--since wants an RFC 3339 time/],
    [['--principal', 'x', '--until', '2026-02-30T00:00:00Z'], /--until wants an RFC 3339 time/],
    [['--principal', 'x', '--since', '2000', '--until', '1000'], /--since must be before --until/],
    [['--principal', 'x', '--limit', '0'], /--limit wants a number from 1 to 100000/],
    [['--principal', 'x', '--limit', '100001'], /--limit wants a number from 1 to 100000/],
  ]) {
    const r = cliAt(srv, ['audit', 'query', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
});

// Holds PostgreSQL's chainer lock (src/store/pg.c SINGLETON_LOCK_KEY) from
// a session of its own, so that rows stay pending; resolves once granted.
const CHAIN_LOCK = "x'7063636861696e72'::bigint";
async function holdChainer(url) {
  const name = `pc-inv-${Math.random().toString(36).slice(2)}`;
  const p = parseUrl(url);
  const proc = spawn('psql', ['-X', '-q', '-h', p.host, '-p', p.port, '-U', p.user, '-d', p.db,
    '-c', `SELECT pg_advisory_lock(${CHAIN_LOCK}); SELECT pg_sleep(120)`],
  { env: { ...process.env, PGAPPNAME: name }, stdio: 'ignore' });
  const exited = new Promise((r) => proc.on('exit', r));
  for (let i = 0; ; i++) {
    const n = Number(psql(url, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE a.application_name = '${name}' AND l.locktype = 'advisory' AND l.granted`));
    if (n > 0) break;
    assert.ok(i < 200, 'the lock was not granted');
    await sleep(25);
  }
  return async () => {
    psql(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${name}'`);
    await exited;
  };
}

test('TX-07: on PostgreSQL audit query shows the rows the chainer has not linked yet', { skip: !PG && 'needs PORTCULLIS_TEST_PG' }, async () => {
  const srv = await server();
  const svc = addClient(srv, { name: 'Svc', grants: 'client_credentials', scope: 'api.read' });
  assert.equal((await grant(srv, svc)).status, 200);
  const release = await holdChainer(srv.storeUrl);
  try {
    assert.equal((await grant(srv, svc)).status, 200);
    assert.equal(Number(psql(srv.storeUrl, 'SELECT count(*) FROM audit_pending')), 1);
    const q = query(srv, ['--principal', svc.client_id, '--json']);
    assert.equal(q.code, 0, q.stderr);
    const issued = q.rows.filter((r) => r.event === 'token.issue');
    assert.equal(issued.length, 2, 'the pending row is in the answer');
    assert.equal(typeof issued[0].seq, 'number');
    assert.equal(issued[1].seq, null);
    assert.match(issued[1].pending_id, /^[0-9a-f]{32}$/);
  } finally {
    await release();
  }
});

function report(srv) {
  const r = cliAt(srv, ['access', 'report', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const principalOf = (rep, id) => {
  const p = rep.principals.find((x) => x.id === id);
  assert.ok(p, `${id} in the report`);
  return p;
};

test('access report: a service account lists its bound clients as credentials; disabling it flags them, a disabled owner flags the account, an expiry within 14 days is flagged', async () => {
  const srv = await server();
  const owner = addUser(srv, 'owner@example.com');
  const sa = serviceAccount(srv, 'deployer', ['--owner', owner.id]);
  const soon = serviceAccount(srv, 'shortlived', ['--expires', '5d']);
  const c = boundClient(srv, sa, 'deployer-ci');
  assert.equal((await grant(srv, c)).status, 200);
  assert.equal(cliAt(srv, ['user', 'disable', '--id', owner.id]).code, 0);

  let rep = report(srv);
  let p = principalOf(rep, sa.id);
  assert.equal(p.kind, 'service_account');
  assert.equal(p.name, 'deployer');
  assert.equal(p.owner, owner.id);
  assert.deepEqual(p.flags, ['owner_disabled']);
  assert.equal(p.credentials.length, 1);
  assert.equal(p.credentials[0].id, c.client_id);
  assert.equal(p.credentials[0].label, 'deployer-ci');
  assert.equal(p.credentials[0].owner, sa.id);
  assert.equal(p.credentials[0].used_scopes, 'api.read');
  assert.deepEqual(p.credentials[0].flags, ['no_expiry']);
  assert.ok(!rep.principals.some((x) => x.id === c.client_id), 'a bound client is not a principal of its own');
  assert.deepEqual(principalOf(rep, soon.id).flags, ['expiring']);

  assert.equal(cliAt(srv, ['service-account', 'disable', '--id', sa.id]).code, 0);
  rep = report(srv);
  p = principalOf(rep, sa.id);
  assert.deepEqual(p.flags, ['disabled', 'owner_disabled']);
  assert.deepEqual(p.credentials[0].flags, ['owner_disabled', 'no_expiry']);
});

function apiKey(srv, owner, extra = []) {
  const scope = extra.includes('--scope') ? [] : ['--scope', 'api.read'];
  const r = cliAt(srv, ['api-key', 'add', '--owner', owner, ...scope, ...extra, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('access report: flags an expiring key, an unused key and a service account whose owner is disabled; revoked keys (and a disabled user\'s, revoked with the disable) are gone from it', async () => {
  const srv = await server();
  const dora = addUser(srv, 'dora@example.com');
  const sa = serviceAccount(srv, 'keyholder', ['--owner', dora.id]);
  // A personal key holds only scopes a registered resource offers (AK-04).
  assert.equal(cliAt(srv, ['resource', 'add', '--id', 'https://api.example.com', '--scope', 'api.read']).code, 0);
  const expiring = apiKey(srv, sa.id, ['--expires', '5d', '--name', 'short']);
  const unused = apiKey(srv, sa.id, ['--name', 'forgotten']);
  const fresh = apiKey(srv, sa.id, ['--name', 'fresh']);
  const revoked = apiKey(srv, sa.id, ['--name', 'revoked']);
  const personal = apiKey(srv, dora.id, ['--name', 'laptop']);
  assert.equal(cliAt(srv, ['api-key', 'revoke', '--id', revoked.id]).code, 0);
  assert.equal(cliAt(srv, ['user', 'disable', '--id', dora.id]).code, 0);
  // Forty days old and never used: arranged in the store, as time cannot
  // pass in a test.
  const keyId = unused.id.slice(4);
  storeSql(srv, `UPDATE api_keys SET created_at = created_at - ${40 * 86400} WHERE key_id = '${keyId}'`);

  const rep = report(srv);
  // The account's owner is disabled: the account is flagged, its keys
  // (which still work) are listed with their own flags.
  assert.deepEqual(principalOf(rep, sa.id).flags, ['owner_disabled']);
  const keys = Object.fromEntries(principalOf(rep, sa.id).credentials.map((c) => [c.id, c]));
  assert.deepEqual(Object.keys(keys).sort(), [expiring.id, unused.id, fresh.id].sort());
  assert.equal(keys[expiring.id].kind, 'api_key');
  assert.equal(keys[expiring.id].label, 'short');
  assert.equal(keys[expiring.id].scopes, 'api.read');
  assert.equal(keys[expiring.id].expires_at, expiring.expires_at);
  assert.deepEqual(keys[expiring.id].flags, ['expiring']);
  assert.deepEqual(keys[unused.id].flags, ['unused']);
  assert.deepEqual(keys[fresh.id].flags, []);
  // Disabling a user revokes her personal keys for good (SS-08): gone.
  const d = principalOf(rep, dora.id);
  assert.deepEqual(d.flags, ['disabled']);
  assert.ok(!d.credentials.some((c) => c.id === personal.id));
  assert.deepEqual(d.credentials.map((c) => [c.kind, c.flags]), [['password', ['owner_disabled']]]);
  assert.equal(rep.summary.expiring, 1);
  assert.equal(rep.summary.unused, 1);
  assert.equal(rep.summary.owner_disabled, 2);

  const t = cliAt(srv, ['access', 'report']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, new RegExp(`^  api_key +${expiring.id} "short" .*\\[expiring\\]$`, 'm'));
  assert.match(t.stdout, new RegExp(`^  api_key +${unused.id} "forgotten" .*\\[unused\\]$`, 'm'));
  assert.match(t.stdout, new RegExp(`^service_account ${sa.id} "keyholder" owner ${dora.id}  \\[owner_disabled\\]$`, 'm'));
  assert.doesNotMatch(t.stdout, new RegExp(revoked.id));
  assert.doesNotMatch(t.stdout, new RegExp(personal.id));
});

test('access report: a disabled user and its password are flagged; a used client has its last use; a rotated secret\'s end is flagged as expiring', async () => {
  const srv = await server();
  const alice = addUser(srv, 'alice@example.com');
  const bob = addUser(srv, 'bob@example.com');
  assert.equal(cliAt(srv, ['user', 'disable', '--id', bob.id]).code, 0);
  const svc = addClient(srv, { name: 'Svc', grants: 'client_credentials', scope: 'api.read' });
  const before = Math.floor(Date.now() / 1000);
  assert.equal((await grant(srv, svc)).status, 200);
  const rot = addClient(srv, { name: 'Rotated', grants: 'client_credentials', scope: 'api.read' });
  const rs = cliAt(srv, ['client', 'rotate-secret', '--id', rot.client_id, '--json']);
  assert.equal(rs.code, 0, rs.stderr);

  const rep = report(srv);
  assert.deepEqual(Object.keys(rep), ['generated_at', 'thresholds', 'principals', 'summary']);
  assert.deepEqual(rep.thresholds, { unused_days: 30, expiring_days: 14, scope_window_days: 30 });

  const a = principalOf(rep, alice.id);
  assert.equal(a.kind, 'user');
  assert.equal(a.name, 'alice@example.com');
  assert.deepEqual(a.flags, []);
  assert.deepEqual(a.credentials.map((c) => [c.kind, c.id, c.flags]), [['password', alice.id, []]]);

  const b = principalOf(rep, bob.id);
  assert.deepEqual(b.flags, ['disabled']);
  assert.equal(typeof b.disabled_at, 'number');
  assert.deepEqual(b.credentials[0].flags, ['owner_disabled']);

  const s = principalOf(rep, svc.client_id);
  assert.equal(s.kind, 'client');
  assert.equal(s.credentials.length, 1);
  const sc = s.credentials[0];
  assert.equal(sc.kind, 'client_secret');
  assert.equal(sc.scopes, 'api.read');
  assert.ok(sc.last_used_at >= before, 'last use from its token.issue');
  assert.deepEqual(sc.flags, ['no_expiry']);

  const r = principalOf(rep, rot.client_id);
  const prev = r.credentials.find((c) => c.expires_at !== null);
  const cur = r.credentials.find((c) => c.expires_at === null);
  assert.ok(prev && cur, 'both secrets of the overlap are listed');
  assert.deepEqual(prev.flags, ['expiring']);
  assert.deepEqual(cur.flags, ['no_expiry']);

  assert.equal(rep.summary.disabled, 1);
  assert.equal(rep.summary.owner_disabled, 1);
  assert.ok(rep.summary.expiring >= 1);

  // The table says the same for a person.
  const t = cliAt(srv, ['access', 'report']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^access report at \S+Z: \d+ principals, \d+ credentials$/m);
  assert.match(t.stdout, new RegExp(`^user ${bob.id} "bob@example.com"  \\[disabled\\]$`, 'm'));
  assert.match(t.stdout, new RegExp(`^  password +${bob.id} .*\\[owner_disabled\\]$`, 'm'));
  assert.match(t.stdout, /^needs action: .*1 disabled, 1 owner_disabled/m);
});
