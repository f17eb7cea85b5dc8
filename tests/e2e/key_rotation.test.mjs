// Keys that rotate themselves (issue 17, item 6; decision 0076), on two
// nodes sharing one store: the SQLite pass runs two servers on one SQLite
// file (one data dir), the PostgreSQL pass two servers on one database.
// Durations are seconds, all configured (nothing in the server is
// test-only): a key signs for signing_key_rotate_every = 10 s, its
// successor is added 3 s ahead (signing_key_activation_delay), tokens
// live 5 s and a retired key stays published 1 s past the last of them
// (signing_key_unpublish_margin): 10 > 3 + 5 + 1, as config_check.c asks.
//
// One run watches the first generation change from the start of node A:
// the JWKS of both nodes every ~150 ms, and a refresh (an ES256 access
// token and an RS256 ID token) through alternating nodes every ~300 ms;
// every live token is verified with jose against the JWKS of the moment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { freePort, startServer, stopClean, storeSql } from './lib/server.mjs';
import { addUser, cliAt } from './lib/web.mjs';
import { addClient, codeFlow, tokenRequest } from './lib/oauth.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const EVERY = 10, DELAY = 3, TTL = 5, MARGIN = 1;
const config = {
  signing_key_rotate_every: String(EVERY),
  signing_key_activation_delay: String(DELAY),
  signing_key_refresh: '1',
  signing_key_unpublish_margin: String(MARGIN),
  access_token_ttl: String(TTL),
  id_token_ttl: String(TTL),
  exchange_token_ttl: String(TTL),
  rsa_key_bits: '2048',
};

let A, B, issuer, client, metricsPort;

before(async () => {
  issuer = `http://127.0.0.1:${await freePort()}`;
  const [pa, pb] = [await freePort(), await freePort()];
  metricsPort = await freePort();
  // A fresh store: A creates the first keys at its start, so the
  // timeline starts then. B shares A's data dir: the same master key, and
  // the same SQLite file or the same PostgreSQL database (pg-url).
  A = await startServer({ port: pa, issuer, fresh: true,
    config: { ...config, allowed_hosts: `127.0.0.1:${pa}`, metrics_listen: `127.0.0.1:${metricsPort}` } });
  B = await startServer({ port: pb, issuer, dataDir: A.dataDir, keepDataDir: true,
    config: { ...config, allowed_hosts: `127.0.0.1:${pb}` } });
  addUser(A, 'rot@example.com');
  client = addClient(A, { name: 'Rotating RP', firstParty: true });
});

after(async () => {
  if (B) await stopClean(B);
  if (A) await stopClean(A);
});

const jwksOf = async (n) => (await (await fetch(n.url + '/jwks.json')).json()).keys;
const kidOf = (jwt) => jose.decodeProtectedHeader(jwt).kid;
const auditKeyRows = () => storeSql(A,
  "SELECT event, target, details FROM audit_log WHERE event LIKE 'key.%'" +
  " UNION ALL SELECT event, target, details FROM audit_pending WHERE event LIKE 'key.%'")
  .split('\n').filter(Boolean).map((l) => { const [event, target, details] = l.split('|'); return { event, target, details }; });

test('JW-09/AU-01: two nodes rotate the keys themselves: one successor per generation, published before it signs; the old key verifies until its tokens expire, then leaves the JWKS', async () => {
  const t0 = Date.now();
  // The keys that signed our first tokens, and the ones that follow them
  // (the sign-in may take a while on a loaded machine: whichever
  // generation that is, the test follows it to its end).
  const first = {};
  const snaps = []; // { t, node, kids: Set }
  const tokens = []; // { jwt, kind, kid, iat, exp, node }
  let stop = false;
  const sets = new Map(); // JWKS of a snapshot, for jose

  const watch = (async () => {
    while (!stop) {
      for (const [name, n] of [['A', A], ['B', B]]) {
        const keys = await jwksOf(n);
        const s = { t: Date.now(), node: name, keys, kids: new Set(keys.map((k) => k.kid)) };
        snaps.push(s);
        // At most two keys of an algorithm at once (the old one and its
        // successor): two nodes adding a successor each would make three.
        for (const alg of ['ES256', 'RS256']) {
          assert.ok(keys.filter((k) => k.alg === alg).length <= 2, `${name} publishes ${keys.length} keys: ${JSON.stringify(keys.map((k) => k.alg))}`);
        }
      }
      await sleep(150);
    }
  })();

  // One sign-in; then refresh through alternating nodes.
  let rt = (await codeFlow(A, client, { email: 'rot@example.com', scope: 'openid offline_access' })).tokens.refresh_token;
  let i = 0;
  const deadline = t0 + 60_000;
  for (;;) {
    const node = i++ % 2 ? B : A;
    const r = await tokenRequest(node, client, { grant_type: 'refresh_token', refresh_token: rt });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    rt = r.json.refresh_token;
    for (const [kind, jwt] of [['access', r.json.access_token], ['id', r.json.id_token]]) {
      const c = jose.decodeJwt(jwt);
      tokens.push({ jwt, kind, kid: kidOf(jwt), iat: c.iat, exp: c.exp, node: node === A ? 'A' : 'B' });
      first[kind === 'access' ? 'ES256' : 'RS256'] ??= kidOf(jwt);
    }
    // Every live token verifies with jose against the JWKS served now,
    // by either node (a second of room before exp for the request).
    const now = Date.now();
    for (const n of [A, B]) {
      const set = jose.createLocalJWKSet({ keys: await jwksOf(n) });
      for (const tok of tokens) {
        if (now >= tok.exp * 1000 - 1000) continue;
        await assert.doesNotReject(jose.jwtVerify(tok.jwt, set, { issuer }),
          `${tok.kind} token of ${tok.kid} (exp ${tok.exp}) no longer verifies against ${n === A ? 'A' : 'B'}'s JWKS at ${now / 1000}`);
      }
    }
    const last = snaps.slice(-2);
    const gone = last.length === 2 && last.every((s) => !s.kids.has(first.ES256) && !s.kids.has(first.RS256));
    const newSigned = ['access', 'id'].every((k) => tokens.some((t) => t.kind === k && t.kid !== first[k === 'access' ? 'ES256' : 'RS256']));
    if (gone && newSigned) break;
    assert.ok(Date.now() < deadline, 'the first keys never left the JWKS');
    await sleep(300);
  }
  stop = true;
  await watch;

  // The drop follows the unpublish time at the next pass (every
  // signing_key_refresh, 1 s): wait for the old rows to go.
  const oldRows = () => Number(storeSql(A, `SELECT count(*) FROM signing_keys WHERE kid IN ('${first.ES256}', '${first.RS256}')`));
  for (let w = 0; w < 50 && oldRows() > 0; w++) await sleep(100);
  // The successors and their activation times, from the store.
  const rows = storeSql(A, 'SELECT kid, alg, activate_at FROM signing_keys').split('\n').filter(Boolean)
    .map((l) => { const [kid, alg, at] = l.split('|'); return { kid, alg, at: Number(at) }; });
  for (const alg of ['ES256', 'RS256']) {
    const kind = alg === 'ES256' ? 'access' : 'id';
    assert.ok(!rows.some((r) => r.kid === first[alg]), `${alg}: the old key's row is gone (dropped)`);
    const next = tokens.find((t) => t.kind === kind && t.kid !== first[alg]).kid;
    const succ = rows.find((r) => r.kid === next);
    assert.ok(succ, `${alg}: the key that signs now is in the store`);
    // Published before it signs: some node served it before activation.
    const seen = snaps.find((s) => s.kids.has(succ.kid));
    assert.ok(seen && seen.t < succ.at * 1000, `${alg}: ${succ.kid} first seen at ${seen?.t}, activation ${succ.at * 1000}`);
    // Tokens before the activation: the old key; from it on: the new one.
    for (const tok of tokens.filter((t) => t.kind === kind)) {
      if (tok.iat < succ.at) assert.equal(tok.kid, first[alg], `${kind} token at ${tok.iat} (activation ${succ.at})`);
      else if (tok.iat < succ.at + EVERY) assert.equal(tok.kid, succ.kid, `${kind} token at ${tok.iat} (activation ${succ.at}) by ${tok.node}`);
      else assert.notEqual(tok.kid, first[alg]); // a later generation's
    }
    // The old key stayed published on both nodes until every token it
    // signed had expired, and left afterwards.
    const oldTokens = tokens.filter((t) => t.kid === first[alg]);
    assert.ok(oldTokens.some((t) => t.exp > succ.at), `${alg}: a token of the old key outlived its retirement`);
    const lastExp = Math.max(...oldTokens.map((t) => t.exp));
    const firstIat = Math.min(...oldTokens.map((t) => t.iat));
    for (const s of snaps) {
      if (s.t >= (firstIat + 1) * 1000 && s.t < lastExp * 1000) assert.ok(s.kids.has(first[alg]), `${alg}: ${s.node} dropped the old key at ${s.t}, before ${lastExp * 1000}`);
    }
    const left = snaps.find((s) => s.t >= (succ.at + TTL + MARGIN) * 1000 + 1000 && s.kids.has(first[alg]));
    assert.equal(left, undefined, `${alg}: the old key left the JWKS by its unpublish time`);
  }

  // Exactly once across the nodes: one step row and one audit row each.
  const audit = auditKeyRows();
  const rotated = audit.filter((r) => r.event === 'key.auto_rotated');
  const supersedes = rotated.map((r) => JSON.parse(r.details).supersedes);
  assert.equal(new Set(supersedes).size, supersedes.length, 'one successor per key');
  for (const alg of ['ES256', 'RS256']) {
    assert.equal(supersedes.filter((k) => k === first[alg]).length, 1, `one successor of the first ${alg} key`);
    assert.equal(audit.filter((r) => r.event === 'key.retired' && r.target === first[alg]).length, 1);
    assert.equal(audit.filter((r) => r.event === 'key.dropped' && r.target === first[alg]).length, 1);
  }
  const steps = Object.fromEntries(storeSql(A, 'SELECT step, count(*) FROM signing_key_steps GROUP BY step')
    .split('\n').map((l) => l.split('|')).map(([k, v]) => [k, Number(v)]));
  assert.deepEqual(steps, { succeeded: rotated.length,
    retired: audit.filter((r) => r.event === 'key.retired').length,
    dropped: audit.filter((r) => r.event === 'key.dropped').length }, 'one step row per audit row');
  for (const ev of ['key.retired', 'key.dropped']) {
    const kids = audit.filter((r) => r.event === ev).map((r) => r.target);
    assert.equal(new Set(kids).size, kids.length, `${ev} once per key`);
  }
  // A node logs its step once the step's transaction committed: wait for
  // the line of a step made just now.
  const loggedBy = () => [A, B].map((n) => n.logs.filter((l) => l.includes('"event":"signer.key_rotated_auto"')).length);
  let logged = loggedBy();
  for (let w = 0; w < 20 && logged[0] + logged[1] < rotated.length; w++) {
    await sleep(100);
    logged = loggedBy();
  }
  assert.equal(logged[0] + logged[1], rotated.length, `the nodes logged ${logged} additions, the audit has ${rotated.length}`);
  // Visible in metrics: the steps node A did, and its ring's keys.
  const m = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const sample = (re) => Number(m.match(re)?.[1]);
  const added = sample(/^portcullis_signing_key_rotation_steps_total\{step="added"\} (\S+)$/m);
  assert.ok(added >= logged[0] && added <= logged[0] + 2, `A added ${added}, logged ${logged[0]}`); // + a generation since
  assert.equal(sample(/^portcullis_signing_key_rotation_failures_total (\S+)$/m), 0);
  assert.equal(sample(/^portcullis_signing_keys\{state="active",alg="ES256"\} (\S+)$/m), 1);
  assert.ok(sample(/^portcullis_signing_key_age_seconds\{state="active",alg="ES256"\} (\S+)$/m) < EVERY + DELAY + 2);
  // AU-01: the rows the steps wrote are links of the audit chain.
  const v = cliAt(A, ['audit', 'verify']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  console.log(`# key rotation: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${tokens.length} tokens, ${snaps.length} JWKS snapshots, additions by A/B: ${logged}`);
});
