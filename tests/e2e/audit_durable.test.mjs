// AU-01 durability (issue 11, item 7): a security event that grants or
// changes something (sign-in, code and token issue, refresh, revoke,
// consent, logout, password change, CLI admin changes) has a durable audit
// row before its answer, or the request fails with 503 and issues nothing:
// no token, code or session cookie. The audit insert is made to fail with
// a trigger in the store (SQLite or PostgreSQL) while everything else
// works; under load, with half of the inserts failing, every answer is a
// 200 with its audit row or a 503 without a token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { Client, GOOD_PW, OTHER_PW, addUser, auditRows, cliAt, csrfOf } from './lib/web.mjs';
import { addClient, authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

let srv, rp, fp, svc;

before(async () => {
  srv = await startServer({ config: { login_delay_free: 50 } });
  addUser(srv, 'alice@example.com');
  addUser(srv, 'bob@example.com');
  rp = addClient(srv, { name: 'RP', redirectUris: ['https://rp.example/cb'] });
  fp = addClient(srv, { name: 'First party', firstParty: true, redirectUris: ['https://fp.example/cb'] });
  svc = addClient(srv, { name: 'Service', grants: 'client_credentials', scope: 'api.read' });
});
after(async () => { failAudit(0); await stopClean(srv); });

// Makes that share (0..1) of audit_log inserts fail; 0 removes the trigger.
const failAudit = (share) => failAuditOn(srv, share);
function failAuditOn(srv, share) {
  if (srv.storeUrl) {
    // PostgreSQL's appends insert into audit_pending (decision 0051).
    storeSql(srv, 'DROP TRIGGER IF EXISTS audit_fail ON audit_pending');
    if (share <= 0) return;
    storeSql(srv, `CREATE OR REPLACE FUNCTION audit_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF random() < ${share} THEN RAISE EXCEPTION 'audit store down'; END IF; RETURN NEW; END $$`);
    storeSql(srv, 'CREATE TRIGGER audit_fail BEFORE INSERT ON audit_pending FOR EACH ROW EXECUTE FUNCTION audit_fail()');
    return;
  }
  storeSql(srv, 'DROP TRIGGER IF EXISTS audit_fail');
  if (share <= 0) return;
  // RAISE in a SQLite trigger is SQLITE_CONSTRAINT, which the append
  // retries (src/store/audit.c, APPEND_TRIES = 5) as a chain-head race:
  // for a request to fail with probability share, each try must fail
  // with share^(1/5). (PostgreSQL's RAISE EXCEPTION is not retried.)
  const perTry = share >= 1 ? 1 : Math.pow(share, 1 / 5);
  storeSql(srv, `CREATE TRIGGER audit_fail BEFORE INSERT ON audit_log
    WHEN (abs(random()) % 1000) < ${Math.round(perTry * 1000)}
    BEGIN SELECT RAISE(ABORT, 'audit store down'); END`);
}

const issued = (r) => r.status === 200 && typeof r.json?.access_token === 'string';
// Chained or still pending (PostgreSQL, decision 0051), in one snapshot.
const count = (event) => Number(storeSql(srv, `SELECT (SELECT count(*) FROM audit_log WHERE event = '${event}')
  + (SELECT count(*) FROM audit_pending WHERE event = '${event}')`));
const sessionSet = (r) => r.headers.getSetCookie().some((c) => /^(__Host-)?sid=[^;]+/.test(c) && !/max-age=0/i.test(c));

test('AU-01: with the audit store failing, grants answer 503 and carry no token; a refused refresh stays usable', async () => {
  const jar = new Client(srv);
  const f = await codeFlow(srv, fp, { email: 'alice@example.com', scope: 'openid offline_access', jar });
  const code = await authorize(srv, fp, { jar, scope: 'openid offline_access' });
  assert.ok(code.code);
  failAudit(1);
  try {
    // client_credentials
    const cc = await tokenRequest(srv, svc, { grant_type: 'client_credentials', scope: 'api.read' });
    assert.equal(cc.status, 503, JSON.stringify(cc.json));
    assert.equal(cc.json.error, 'temporarily_unavailable');
    assert.equal(cc.json.access_token, undefined);
    // authorization_code
    const ex = await tokenRequest(srv, fp, { grant_type: 'authorization_code', code: code.code, redirect_uri: fp.redirectUri, code_verifier: code.verifier });
    assert.equal(ex.status, 503, JSON.stringify(ex.json));
    assert.equal(ex.json.access_token, undefined);
    assert.equal(ex.json.refresh_token, undefined);
    assert.equal(ex.json.id_token, undefined);
    // refresh_token
    const rt = await tokenRequest(srv, fp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
    assert.equal(rt.status, 503, JSON.stringify(rt.json));
    assert.equal(rt.json.refresh_token, undefined);
    assert.equal(rt.json.access_token, undefined);
    // the authorization endpoint issues no code
    const az = await authorize(srv, fp, { jar });
    assert.equal(az.code, undefined, 'no code without its audit row');
    assert.equal(az.error, 'temporarily_unavailable');
  } finally {
    failAudit(0);
  }
  // The rotation was undone: the client's retry with the same token works.
  const again = await tokenRequest(srv, fp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(again.status, 200, JSON.stringify(again.json));
  // Revocation: the answer waits for its row too.
  failAudit(1);
  try {
    const rv = await fetch(srv.url + '/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${fp.client_id}:${fp.client_secret}`).toString('base64') },
      body: new URLSearchParams({ token: again.json.refresh_token }).toString(),
    });
    assert.equal(rv.status, 503);
  } finally {
    failAudit(0);
  }
});

test('AU-01: with the audit store failing, sign-in, consent, password change and logout answer 503 without a session', async () => {
  // Sign-in: 503, no session cookie, not signed in.
  const a = new Client(srv);
  failAudit(1);
  let r;
  try {
    r = await a.login('bob@example.com');
  } finally {
    failAudit(0);
  }
  assert.equal(r.status, 503, r.text);
  assert.equal(sessionSet(r), false, 'no session cookie');
  assert.equal(await a.signedIn(), false);
  // Consent: 503, no code.
  const b = new Client(srv);
  assert.equal((await b.login('bob@example.com')).status, 303);
  failAudit(1);
  let z;
  try {
    z = await authorize(srv, rp, { jar: b, scope: 'openid email' });
  } finally {
    failAudit(0);
  }
  assert.equal(z.code, undefined);
  assert.equal(z.status, 503, z.text);
  // Password change: 503 and no new session cookie.
  failAudit(1);
  try {
    r = await b.submit('/account', '/account/password', { current: GOOD_PW, new: OTHER_PW });
  } finally {
    failAudit(0);
  }
  assert.equal(r.status, 503, r.text);
  assert.equal(sessionSet(r), false);
  // Logout: the session ends, the answer says it was not recorded.
  const c = new Client(srv);
  assert.equal((await c.login('alice@example.com')).status, 303);
  failAudit(1);
  try {
    r = await c.submit('/account', '/logout', {});
  } finally {
    failAudit(0);
  }
  assert.equal(r.status, 503, r.text);
  assert.equal(await c.signedIn(), false);
});

test('AU-01: with the audit store failing, ending sessions and revoking access answer 503; access goes anyway', async () => {
  addUser(srv, 'carol@example.com');
  const a = new Client(srv), other = new Client(srv);
  assert.equal((await other.login('carol@example.com')).status, 303);
  assert.equal((await a.login('carol@example.com')).status, 303);
  const t = await codeFlow(srv, rp, { email: 'carol@example.com', scope: 'openid offline_access', jar: a });
  failAudit(1);
  let end, rev;
  try {
    end = await a.submit('/account', '/account/sessions', { session: 'others' });
    rev = await a.submit('/account', '/account/consents', { client_id: rp.client_id });
  } finally {
    failAudit(0);
  }
  assert.equal(end.status, 503, end.text);
  assert.equal(rev.status, 503, rev.text);
  // Taking access away does not wait for the audit.
  assert.equal(await other.signedIn(), false);
  assert.equal((await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: t.tokens.refresh_token })).json.error, 'invalid_grant');
});

test('AU-01: with the audit store failing, re-authentication renews nothing', async () => {
  const s2 = await startServer({ config: { login_delay_free: 50, reauth_window: '1s' } });
  try {
    addUser(s2, 'dan@example.com');
    const a = new Client(s2), other = new Client(s2);
    assert.equal((await other.login('dan@example.com')).status, 303);
    assert.equal((await a.login('dan@example.com')).status, 303);
    await new Promise((r) => setTimeout(r, 1500));
    const ask = await a.submit('/account', '/account/sessions', { session: 'others' });
    assert.equal(ask.status, 403, 'past the window a password is asked');
    const sid = a.sid;
    failAuditOn(s2, 1);
    let re;
    try {
      re = await a.post('/account/reauth', { csrf: csrfOf(ask.text, '/account/reauth'), password: GOOD_PW, then: 'sessions' });
    } finally {
      failAuditOn(s2, 0);
    }
    assert.equal(re.status, 503, re.text);
    assert.equal(sessionSet(re), false, 'no renewed session cookie');
    assert.equal(a.sid, sid);
    assert.equal(await other.signedIn(), true);
  } finally {
    await stopClean(s2);
  }
});

// The mails in the development outbox, as text (quoted-printable undone).
function mails() {
  const dir = join(srv.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
}

test('AU-01: a password reset whose audit row fails answers 503', async () => {
  addUser(srv, 'reset@example.com');
  const n = mails().length;
  await new Client(srv).submit('/forgot', '/forgot', { email: 'reset@example.com' });
  let link;
  for (let end = Date.now() + 10_000; !link; await new Promise((r) => setTimeout(r, 50))) {
    link = mails().slice(n).map((m) => m.match(/https?:\/\/[^\s]+(\/reset\?token=[A-Za-z0-9_-]{43})/)?.[1]).find(Boolean);
    assert.ok(link || Date.now() < end, 'reset mail');
  }
  const c = new Client(srv);
  assert.equal((await c.get(link)).status, 303);
  const form = await c.get('/reset');
  assert.equal(form.status, 200);
  failAudit(1);
  let r;
  try {
    r = await c.post('/reset', { csrf: csrfOf(form.text, '/reset'), password: 'lantern-orbit-saffron-glacier-7' });
  } finally {
    failAudit(0);
  }
  assert.equal(r.status, 503, r.text);
  assert.doesNotMatch(r.text, /Password changed/);
});

test('AU-01: a CLI write whose audit row fails exits non-zero', () => {
  failAudit(1);
  let r;
  try {
    r = cliAt(srv, ['client', 'add', '--json', '--name', 'Unaudited', '--redirect-uri', 'https://u.example/cb']);
  } finally {
    failAudit(0);
  }
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /audit/);
});

test('AU-01: under load with half the audit inserts failing, every 200 has its audit row and every 503 has no token', async () => {
  const jar = new Client(srv);
  const rts = [];
  for (let i = 0; i < 8; i++) {
    const f = await codeFlow(srv, fp, { email: 'alice@example.com', scope: 'openid offline_access', jar });
    rts.push(f.tokens.refresh_token);
  }
  const before = count('token.issue');
  failAudit(0.5);
  let cc, rf;
  try {
    [cc, rf] = await Promise.all([
      Promise.all(Array.from({ length: 48 }, () => tokenRequest(srv, svc, { grant_type: 'client_credentials', scope: 'api.read' }))),
      Promise.all(rts.map((t) => tokenRequest(srv, fp, { grant_type: 'refresh_token', refresh_token: t }))),
    ]);
  } finally {
    failAudit(0);
  }
  const all = [...cc, ...rf];
  for (const r of all) {
    if (r.status === 200) assert.ok(issued(r));
    else {
      assert.equal(r.status, 503, JSON.stringify(r.json));
      assert.equal(r.json.access_token, undefined);
      assert.equal(r.json.refresh_token, undefined);
    }
  }
  const ok = all.filter(issued);
  assert.ok(ok.length > 0 && ok.length < all.length, `both outcomes seen (${ok.length}/${all.length})`);
  assert.equal(count('token.issue') - before, ok.length, 'one audit row per 200, none for a 503');
  const jtis = new Set(auditRows(srv, 500).filter((e) => e.event === 'token.issue').map((e) => e.details?.jti));
  for (const r of ok) {
    const jti = JSON.parse(Buffer.from(r.json.access_token.split('.')[1], 'base64url')).jti;
    assert.ok(jtis.has(jti), 'the 200\'s token is in the audit log');
  }
  // Every refused refresh was undone: its token works now.
  for (const [i, r] of rf.entries()) {
    if (r.status !== 503) continue;
    const again = await tokenRequest(srv, fp, { grant_type: 'refresh_token', refresh_token: rts[i] });
    assert.equal(again.status, 200, JSON.stringify(again.json));
  }
  // The chain is intact.
  assert.equal(cliAt(srv, ['audit', 'verify']).code, 0);
});
