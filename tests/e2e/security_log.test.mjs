// Issue 17 item 3: every durable audit row is also one "security" JSON line
// in the log stream, for SIEMs (src/audit/audit.c). Sign-in failure and
// success, token issue (code and refresh: the refresh row is appended
// inside the rotation's transaction and logged after its commit), refresh
// reuse (an alert, at warn), revocation, a client authentication failure;
// each line carries its audit row's fields and no secret of any of these
// flows (AU-03: password, client secrets, code, access, refresh and ID
// tokens, session cookie), with control characters escaped (AU-04).
// log_security_events = people (the default) leaves routine
// client_credentials issues out; all keeps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, rawRequest } from './lib/server.mjs';
import { addClient, codeFlow, tokenRequest } from './lib/oauth.mjs';
import { Client, GOOD_PW, addUser, auditRows } from './lib/web.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WRONG = 'CANARYwrong-guess-7c1e9d';

function securityLines(srv) {
  return srv.rawLogs().split('\n').filter((l) => l.includes('"event":"security"')).map((l) => JSON.parse(l));
}

async function waitLines(srv, pred, what) {
  for (let i = 0; i < 100; i++) {
    const got = securityLines(srv).filter(pred);
    if (got.length > 0) return got;
    await sleep(50);
  }
  assert.fail(`no security line for ${what}:\n${securityLines(srv).map((l) => JSON.stringify(l)).join('\n')}`);
}

test('AU-03/AU-04: audit rows reach the log stream as security lines, with no secret', async () => {
  const srv = await startServer();
  const all = await startServer({ config: { log_security_events: 'all' } });
  try {
    const secrets = [GOOD_PW, WRONG];
    addUser(srv, 'siem@example.com');
    const rp = addClient(srv, { name: 'siem-rp' });
    const cc = addClient(srv, { name: 'siem-cc', grants: 'client_credentials', scope: 'api' });
    const cc2 = addClient(all, { name: 'siem-cc', grants: 'client_credentials', scope: 'api' });
    secrets.push(rp.client_secret, cc.client_secret, cc2.client_secret);

    // A failed sign-in with a hostile user agent.
    const ua = 'ua"},"event":"forged","x":"\\\u00e9';
    const b = new Client(srv);
    const bad = await b.login('siem@example.com', WRONG, { headers: { 'user-agent': ua } });
    assert.equal(bad.status, 400);
    // A code flow, a refresh, the old refresh token again (reuse), revoke.
    const f = await codeFlow(srv, rp, { email: 'siem@example.com', scope: 'openid offline_access' });
    secrets.push(f.code, f.tokens.access_token, f.tokens.refresh_token, f.tokens.id_token, f.jar.sid);
    const r1 = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
    assert.equal(r1.status, 200, JSON.stringify(r1.json));
    secrets.push(r1.json.access_token, r1.json.refresh_token);
    const reuse = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
    assert.equal(reuse.status, 400);
    const rv = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token });
    assert.equal(rv.status, 400, 'the family died with the reuse');
    const revoke = await fetch(`${srv.url}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded',
        authorization: 'Basic ' + Buffer.from(`${rp.client_id}:${rp.client_secret}`).toString('base64') },
      body: new URLSearchParams({ token: r1.json.access_token }).toString(),
    });
    assert.equal(revoke.status, 200);
    // client_credentials on both servers, and a wrong client secret.
    for (const [s, c] of [[srv, cc], [all, cc2]]) {
      const t = await tokenRequest(s, c, { grant_type: 'client_credentials' });
      assert.equal(t.status, 200, JSON.stringify(t.json));
      secrets.push(t.json.access_token);
    }
    const wrongCc = await tokenRequest(srv, { ...cc, client_secret: 'CANARYbad-secret-' + cc.client_secret.slice(0, 6) }, { grant_type: 'client_credentials' });
    assert.equal(wrongCc.status, 401);

    const fail = (await waitLines(srv, (l) => l.type === 'login' && l.outcome === 'failure', 'login failure'))[0];
    assert.equal(fail.level, 'info');
    // Node sends \u00e9 as the byte 0xE9, not UTF-8: the row keeps it as
    // \xe9 (PostgreSQL would refuse the row, and the failure would go unseen).
    assert.equal(fail.user_agent, ua.replace('\u00e9', '\\xe9'), 'the user agent round-trips, escaped (AU-04)');
    assert.equal(fail.forged, undefined);
    await waitLines(srv, (l) => l.type === 'login' && l.outcome === 'success', 'login success');
    await waitLines(srv, (l) => l.type === 'token.issue' && l.details?.grant === 'authorization_code', 'code grant');
    const rot = (await waitLines(srv, (l) => l.type === 'token.issue' && l.details?.grant === 'refresh_token', 'refresh'))[0];
    assert.equal(rot.actor, rp.client_id);
    const alert = (await waitLines(srv, (l) => l.type === 'token.refresh_reuse', 'reuse'))[0];
    assert.equal(alert.outcome, 'alert');
    assert.equal(alert.level, 'warn');
    await waitLines(srv, (l) => l.type === 'token.revoke', 'revoke');
    await waitLines(srv, (l) => l.type === 'client.auth' && l.outcome === 'failure', 'client auth failure');
    // people: the routine machine-token issue stays in the store only...
    assert.equal(securityLines(srv).filter((l) => l.details?.grant === 'client_credentials' && l.type === 'token.issue').length, 0);
    assert.ok(auditRows(srv, 500).some((r) => r.event === 'token.issue' && r.actor === cc.client_id), 'the row itself is audited');
    // ...all: it is logged too.
    await waitLines(all, (l) => l.type === 'token.issue' && l.details?.grant === 'client_credentials', 'cc under all');

    // Each line is its audit row: same event, outcome, actor, request id.
    if (srv.storeUrl) await sleep(1200); // PostgreSQL: the chainer links pending rows
    const rows = auditRows(srv, 500);
    for (const l of securityLines(srv)) {
      const row = rows.find((r) => r.event === l.type && r.outcome === l.outcome && (r.request_id ?? null) === (l.request_id ?? null));
      assert.ok(row, `an audit row for ${JSON.stringify(l)}`);
      assert.equal(row.actor ?? null, l.actor ?? null);
      assert.equal(row.target ?? null, l.target ?? null);
    }
    // AU-03: no secret of these flows in either server's log.
    const logs = srv.rawLogs() + all.rawLogs();
    for (const s of secrets.filter(Boolean)) assert.ok(!logs.includes(s), `log leaks ${s.slice(0, 10)}...`);
    // AU-04: every line is one JSON object without a raw control character.
    for (const l of logs.trim().split('\n')) {
      assert.doesNotMatch(l, /[\u0000-\u001f\u007f]/);
      JSON.parse(l);
    }
    // A raw control character in a header is refused (400) before any row.
    const h = `127.0.0.1:${srv.port}`;
    const raw = await rawRequest(srv.port, `POST /token HTTP/1.1\r\nHost: ${h}\r\nUser-Agent: x\u001b[2J\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    assert.match(raw.data, /^HTTP\/1\.1 400/);
  } finally {
    await stopClean(srv);
    await stopClean(all);
  }
});
