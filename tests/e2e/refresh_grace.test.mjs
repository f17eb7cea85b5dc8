// The refresh reuse grace (issue 11, SECURITY.md RT-02, Part 2.5): with
// refresh_reuse_interval on, a repeat of the token just rotated (a lost
// answer, a retry after a crash) gets the same successor back, never a
// second one; an older token, another client, a repeat after the interval
// or after the successor itself was used is reuse and revokes the family.
// Off (0) by default, at most 10 s. The refresh-token lifetimes are
// settings with bounds (RT-04).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, storeSql, run, tempDir, configText } from './lib/server.mjs';
import { addUser } from './lib/web.mjs';
import { addClient, codeFlow, tokenRequest } from './lib/oauth.mjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let off, on, short;

before(async () => {
  [off, on, short] = await Promise.all([
    startServer({ config: { login_delay_free: 50 } }),
    startServer({ config: { login_delay_free: 50, refresh_reuse_interval: '5s' } }),
    startServer({ config: { login_delay_free: 50, refresh_reuse_interval: '1s' } }),
  ]);
  for (const s of [off, on, short]) {
    addUser(s, 'alice@example.com');
    s.spa = addClient(s, { name: 'SPA', public: true, redirectUris: ['https://spa.example/cb'] });
    s.rp = addClient(s, { name: 'RP', redirectUris: ['https://rp.example/cb'] });
  }
});
after(async () => { await Promise.all([off, on, short].map((s) => stopClean(s))); });

const refresh = (srv, client, rt) => tokenRequest(srv, client, { grant_type: 'refresh_token', refresh_token: rt });
const start = async (srv, client = srv.spa) =>
  (await codeFlow(srv, client, { email: 'alice@example.com', scope: 'openid offline_access' })).tokens.refresh_token;

// The family of a refresh token's successor chain: live tokens and state.
function familyOf(srv, familyId) {
  const q = (s) => storeSql(srv, s).trim();
  return {
    revoked: q(`SELECT revoke_reason FROM token_families WHERE family_id = '${familyId}'`),
    live: Number(q(`SELECT count(*) FROM refresh_tokens WHERE family_id = '${familyId}' AND used_at IS NULL`)),
    sealed: Number(q(`SELECT count(*) FROM refresh_tokens WHERE family_id = '${familyId}' AND next_sealed IS NOT NULL`)),
  };
}
const gid = (at) => JSON.parse(Buffer.from(at.split('.')[1], 'base64url')).gid;

test('RT-02: grace off (the default): a repeat of the rotated token is reuse and revokes the family', async () => {
  const rt0 = await start(off);
  const a = await refresh(off, off.spa, rt0);
  assert.equal(a.status, 200);
  const again = await refresh(off, off.spa, rt0);
  assert.equal(again.status, 400);
  assert.equal(again.json.error, 'invalid_grant');
  assert.equal((await refresh(off, off.spa, a.json.refresh_token)).json.error, 'invalid_grant');
  assert.equal(familyOf(off, gid(a.json.access_token)).revoked, 'reuse');
});

test('RT-02: within refresh_reuse_interval a repeat gets the same successor; the successor still works; the sealed copy goes once it is used', async () => {
  const rt0 = await start(on);
  const a = await refresh(on, on.spa, rt0);
  assert.equal(a.status, 200, JSON.stringify(a.json));
  const fam = gid(a.json.access_token);
  assert.equal(familyOf(on, fam).sealed, 1);
  // The successor is never stored in plaintext.
  assert.equal(storeSql(on, `SELECT count(*) FROM refresh_tokens WHERE next_sealed LIKE '%${a.json.refresh_token.slice(4)}%'`), '0');
  const b = await refresh(on, on.spa, rt0);
  assert.equal(b.status, 200, JSON.stringify(b.json));
  assert.equal(b.json.refresh_token, a.json.refresh_token, 'the same successor, not a second one');
  assert.notEqual(b.json.access_token, a.json.access_token);
  assert.equal(gid(b.json.access_token), fam);
  assert.equal(familyOf(on, fam).live, 1, 'exactly one live token in the family');
  // The successor (RT1) works and rotates as usual.
  const c = await refresh(on, on.spa, a.json.refresh_token);
  assert.equal(c.status, 200, JSON.stringify(c.json));
  assert.notEqual(c.json.refresh_token, a.json.refresh_token);
  // Only the newest predecessor keeps a sealed successor.
  assert.equal(familyOf(on, fam).sealed, 1);
  assert.equal(familyOf(on, fam).revoked, '');
});

test('RT-02: with the grace on, the token two back is reuse and revokes the family', async () => {
  const rt0 = await start(on);
  const a = await refresh(on, on.spa, rt0);
  const b = await refresh(on, on.spa, a.json.refresh_token);
  assert.equal(b.status, 200);
  const old = await refresh(on, on.spa, rt0);
  assert.equal(old.status, 400);
  assert.equal(old.json.error, 'invalid_grant');
  const fam = gid(b.json.access_token);
  assert.equal(familyOf(on, fam).revoked, 'reuse');
  assert.equal((await refresh(on, on.spa, b.json.refresh_token)).json.error, 'invalid_grant');
  assert.equal(familyOf(on, fam).sealed, 0, 'the sealed successor is erased');
});

test('RT-02: after the successor was itself rotated, the previous token again is reuse', async () => {
  const rt0 = await start(on);
  const a = await refresh(on, on.spa, rt0);
  const b = await refresh(on, on.spa, a.json.refresh_token);
  assert.equal(b.status, 200);
  // a.refresh_token (RT1) was just rotated: its repeat gets RT2 again ...
  const again = await refresh(on, on.spa, a.json.refresh_token);
  assert.equal(again.json.refresh_token, b.json.refresh_token);
  // ... but once RT2 was itself used, RT1 is reuse.
  const c = await refresh(on, on.spa, b.json.refresh_token);
  assert.equal(c.status, 200);
  const late = await refresh(on, on.spa, a.json.refresh_token);
  assert.equal(late.json.error, 'invalid_grant');
  assert.equal(familyOf(on, gid(c.json.access_token)).revoked, 'reuse');
});

test('RT-02/RT-03: with the grace on, a repeat by another client is invalid_grant and reuse handling as without it', async () => {
  const rt0 = await start(on, on.rp);
  const a = await refresh(on, on.rp, rt0);
  assert.equal(a.status, 200);
  const stolen = await tokenRequest(on, on.spa, { grant_type: 'refresh_token', refresh_token: rt0 });
  assert.equal(stolen.status, 400);
  assert.equal(stolen.json.error, 'invalid_grant');
  assert.equal(stolen.json.refresh_token, undefined);
  const fam = gid(a.json.access_token);
  assert.equal(familyOf(on, fam).revoked, 'reuse');
  assert.equal((await refresh(on, on.rp, a.json.refresh_token)).json.error, 'invalid_grant');
});

test('RT-02: a repeat after the interval is reuse', async () => {
  const rt0 = await start(short);
  const a = await refresh(short, short.spa, rt0);
  assert.equal(a.status, 200);
  await sleep(2100);
  const late = await refresh(short, short.spa, rt0);
  assert.equal(late.json.error, 'invalid_grant');
  const fam = gid(a.json.access_token);
  assert.equal(familyOf(short, fam).revoked, 'reuse');
  assert.equal(familyOf(short, fam).sealed, 0);
});

test('RT-02: 20 parallel presentations of one token with the grace on: every 200 carries the same successor, and only one exists', async () => {
  const rt0 = await start(on);
  const rs = await Promise.all(Array.from({ length: 20 }, () => refresh(on, on.spa, rt0)));
  const ok = rs.filter((r) => r.status === 200);
  assert.equal(ok.length, 20, JSON.stringify(rs.filter((r) => r.status !== 200).map((r) => r.json)));
  const rts = new Set(ok.map((r) => r.json.refresh_token));
  assert.equal(rts.size, 1, 'one successor');
  const fam = gid(ok[0].json.access_token);
  const st = familyOf(on, fam);
  assert.equal(st.live, 1, 'exactly one live token in the family');
  assert.equal(st.revoked, '');
  assert.equal(Number(storeSql(on, `SELECT count(*) FROM refresh_tokens WHERE family_id = '${fam}'`)), 2);
  assert.equal((await refresh(on, on.spa, [...rts][0])).status, 200);
});

test('RT-02/RT-04: refresh_reuse_interval above 10 s and refresh lifetimes out of bounds are refused at load', () => {
  const bad = [
    { refresh_reuse_interval: '11' }, { refresh_reuse_interval: '1m' }, { refresh_reuse_interval: '-1' },
    { refresh_token_idle: '91d' }, { refresh_token_absolute: '91d' }, { refresh_token_absolute: '0' },
    { refresh_token_idle: '59s' },
  ];
  for (const b of bad) {
    const dir = tempDir();
    const file = join(dir, 'c.conf');
    writeFileSync(file, configText({ mode: 'development', ...b }));
    const r = run(['check-config', '--config', file, '--data-dir', dir]);
    assert.notEqual(r.code, 0, JSON.stringify(b));
    assert.match(r.stderr + r.stdout, new RegExp(Object.keys(b)[0]), JSON.stringify(b));
  }
  for (const ok of [{ refresh_reuse_interval: '10' }, { refresh_token_absolute: '90d', refresh_token_idle: '1h' }]) {
    const dir = tempDir();
    const file = join(dir, 'c.conf');
    writeFileSync(file, configText({ mode: 'development', ...ok }));
    const r = run(['check-config', '--config', file, '--data-dir', dir]);
    assert.doesNotMatch(r.stderr, /refresh_/, JSON.stringify(ok));
  }
});

test('RT-04: refresh_token_idle and refresh_token_absolute set the tokens\' lifetimes', async () => {
  const s = await startServer({ config: { login_delay_free: 50, refresh_token_idle: '1h', refresh_token_absolute: '2h' } });
  try {
    addUser(s, 'alice@example.com');
    s.spa = addClient(s, { name: 'SPA', public: true, redirectUris: ['https://spa.example/cb'] });
    const rt0 = await start(s);
    const a = await refresh(s, s.spa, rt0);
    const fam = gid(a.json.access_token);
    const [created, famExp] = storeSql(s, `SELECT created_at, expires_at FROM token_families WHERE family_id = '${fam}'`).split('|').map(Number);
    assert.equal(famExp - created, 7200);
    const [tc, te] = storeSql(s, `SELECT created_at, expires_at FROM refresh_tokens WHERE family_id = '${fam}' AND used_at IS NULL`).split('|').map(Number);
    assert.equal(te - tc, 3600);
  } finally {
    await stopClean(s);
  }
});

test('RT-02/AU-01: with the grace on, a refresh refused because its audit row failed is answered on retry with one successor', async () => {
  const rt0 = await start(on);
  const trig = on.storeUrl
    ? ['CREATE OR REPLACE FUNCTION audit_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION \'audit down\'; END $$',
      'CREATE TRIGGER audit_fail BEFORE INSERT ON audit_pending FOR EACH ROW EXECUTE FUNCTION audit_fail()']
    : ['CREATE TRIGGER audit_fail BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, \'audit down\'); END'];
  for (const q of trig) storeSql(on, q);
  let refused;
  try {
    refused = await refresh(on, on.spa, rt0);
  } finally {
    storeSql(on, on.storeUrl ? 'DROP TRIGGER audit_fail ON audit_pending' : 'DROP TRIGGER audit_fail');
  }
  assert.equal(refused.status, 503);
  assert.equal(refused.json.refresh_token, undefined);
  const retry = await refresh(on, on.spa, rt0);
  assert.equal(retry.status, 200, JSON.stringify(retry.json));
  const fam = gid(retry.json.access_token);
  assert.equal(familyOf(on, fam).live, 1);
  assert.equal(familyOf(on, fam).revoked, '');
  assert.equal((await refresh(on, on.spa, retry.json.refresh_token)).status, 200);
});
