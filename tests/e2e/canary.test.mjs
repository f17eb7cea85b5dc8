// AU-03 across every account flow: registration, verification, sign-in
// (right, wrong, throttled), re-authentication, password change, forgot
// and reset, sign-out. Each secret is a canary; afterwards none of them is
// in the server's log or in the audit trail, and the trail still verifies,
// then fails once a login row is edited (AU-05).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startServer, stopClean, storeSql, run, tempDir, freePort } from './lib/server.mjs';
import { SHARED as PG, createDatabase, dropDatabase } from './lib/pg.mjs';
import { Client, auditRows, cliAt, csrfOf } from './lib/web.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PW1 = 'CANARYpw1-lantern-orbit-saffron';
const PW2 = 'CANARYpw2-glacier-meadow-quartz';
const PW3 = 'CANARYpw3-violet-anchor-harbor';
const WRONG = 'CANARYwrong-password-guess';

function mailLink(srv, path, to) {
  const dir = join(srv.dataDir, 'outbox');
  if (!existsSync(dir)) return null;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort().reverse()) {
    const t = readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    if (!t.includes(`To: ${to}`)) continue;
    const m = t.match(new RegExp(`${path}\\?token=([A-Za-z0-9_-]{43})`));
    if (m) return m[1];
  }
  return null;
}

async function waitLink(srv, path, to, not) {
  for (let i = 0; i < 100; i++) {
    const t = mailLink(srv, path, to);
    if (t && t !== not) return t;
    await sleep(50);
  }
  throw new Error(`no ${path} mail for ${to}`);
}

test('AU-03/AU-05: no password, cookie, CSRF or mail token of any account flow reaches the logs or the audit trail', async () => {
  const srv = await startServer({ config: { registration: 'true', login_delay_free: 2, login_delay_base: '5s' } });
  const secrets = [PW1, PW2, PW3, WRONG];
  try {
    const email = 'bird@example.com';
    const c = new Client(srv);
    assert.equal((await c.submit('/register', '/register', { email, name: 'Bird', password: PW1 })).status, 200);
    secrets.push(c.sid);
    const vt = await waitLink(srv, '/verify', email);
    secrets.push(vt);
    assert.equal((await c.get('/verify?token=' + vt)).status, 200);
    assert.equal((await c.post('/verify', { token: vt })).status, 200);
    // Wrong passwords until throttled, then the right one.
    for (let i = 0; i < 4; i++) {
      const p = await c.get('/login');
      secrets.push(csrfOf(p.text, '/login'));
      await c.post('/login', { csrf: csrfOf(p.text, '/login'), email, password: WRONG });
    }
    await sleep(5200);
    assert.equal((await c.login(email, PW1)).status, 303);
    secrets.push(c.sid);
    const acct = await c.get('/account');
    secrets.push(csrfOf(acct.text, '/account/password'), csrfOf(acct.text, '/logout'));
    assert.equal((await c.post('/account/password', { csrf: csrfOf(acct.text, '/account/password'), current: PW1, new: PW2 })).status, 303);
    secrets.push(c.sid);
    // Forgot + reset.
    const f = new Client(srv);
    assert.equal((await f.submit('/forgot', '/forgot', { email })).status, 200);
    const rt = await waitLink(srv, '/reset', email);
    secrets.push(rt);
    assert.equal((await f.get('/reset?token=' + rt)).status, 303);
    const form = await f.get('/reset');
    assert.equal((await f.post('/reset', { csrf: csrfOf(form.text, '/reset'), password: PW3 })).status, 200);
    // Sign in and out.
    const g = new Client(srv);
    assert.equal((await g.login(email, PW3)).status, 303);
    secrets.push(g.sid);
    const a2 = await g.get('/account');
    assert.equal((await g.post('/logout', { csrf: csrfOf(a2.text, '/logout') })).status, 303);

    await sleep(300);
    const logs = srv.rawLogs();
    const audit = JSON.stringify(auditRows(srv, 1000));
    assert.ok(logs.includes('"path":"/reset"'), 'the flows were logged');
    // Issue 17 item 3: the audit rows of these flows are in the log stream
    // too (security lines), and the grep below covers them.
    for (const t of ['user.register', 'login', 'password.change', 'password.reset', 'logout']) {
      assert.ok(logs.includes(`"event":"security","type":"${t}"`), `security line ${t}`);
    }
    for (const s of secrets.filter(Boolean)) {
      assert.ok(!logs.includes(s), `log leaks ${s.slice(0, 12)}...`);
      assert.ok(!audit.includes(s), `audit leaks ${s.slice(0, 12)}...`);
    }
    // Every flow left its event.
    const ev = new Set(auditRows(srv, 1000).map((e) => `${e.event}:${e.outcome}`));
    for (const want of ['user.register:success', 'user.email_verified:success', 'login:failure', 'ratelimit:alert',
      'login:success', 'password.change:success', 'password.reset_request:success', 'password.reset:success', 'logout:success']) {
      assert.ok(ev.has(want), `audit has ${want}: ${[...ev].join(" ")}`);
    }
    // AU-05: the chain verifies; editing a login row breaks it, named.
    const ok = cliAt(srv, ['audit', 'verify']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    const seq = auditRows(srv, 1000).find((e) => e.event === 'login' && e.outcome === 'failure').seq;
    storeSql(srv, `UPDATE audit_log SET outcome = 'success' WHERE seq = ${seq}`);
    const bad = cliAt(srv, ['audit', 'verify']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout + bad.stderr, new RegExp(`\\b${seq}\\b`));
  } finally { await stopClean(srv); }
});

// AU-03 for the settings that hold credentials (issue 11, item 4): the
// PostgreSQL password in store_url, with '?' and '#' in it, raw or
// percent-encoded, in the userinfo or as a URL option, and the SMTP
// password in smtp_url. Every command, a server that cannot reach its
// store and (on PostgreSQL) one that can: the canary is in no output.
test('AU-03: store_url and smtp_url passwords never reach output, errors or logs', async () => {
  const core = 'CANARYpw' + randomBytes(8).toString('hex');
  const pw = `${core}?q#f`;
  const enc = encodeURIComponent(pw);
  const smtp = `smtp://mailer:${encodeURIComponent('CANARYsmtp' + core)}@127.0.0.1:1`;
  const bad = [
    `postgresql://alice:${pw}@127.0.0.1:1/db`,
    `postgresql://alice:${enc}@127.0.0.1:1/db?sslmode=disable`,
    `postgresql://127.0.0.1:1/db?user=alice&password=${enc}&sslpassword=${enc}`,
    `postgres://alice:${pw}@127.0.0.1:1/db?connect_timeout=1#frag`,
  ];
  const env = { PORTCULLIS_MASTER_KEY: randomBytes(32).toString('hex'), PORTCULLIS_SMTP_URL: smtp, PORTCULLIS_MAIL_FROM: 'idp@example.com' };
  const outputs = [];
  const commands = [['check-config'], ['migrate'], ['user', 'list'], ['user', 'add', '--email', 'a@example.com', '--password-stdin'],
    ['client', 'list'], ['key', 'list'], ['audit', 'verify'], ['audit', 'tail'],
    ['serve', '--listen', `127.0.0.1:${await freePort()}`]];
  for (const url of bad) {
    for (const cmd of commands) {
      const dir = tempDir();
      const r = run([...cmd, '--data-dir', dir, '--store-url', url, '--mode', 'development'], { env, input: 'x\n' });
      if (cmd[0] !== 'check-config') assert.notEqual(r.code, 0, `${cmd.join(' ')} with an unreachable store exited 0`);
      outputs.push([`${cmd.join(' ')} ${url}`, r.stdout + r.stderr]);
    }
  }
  // The same URL in a config file and PORTCULLIS_STORE_URL.
  const dir = tempDir();
  writeFileSync(join(dir, 'c.conf'), `store_url = ${bad[1]}\n`);
  for (const [args, e] of [[['check-config', '--config', join(dir, 'c.conf')], {}], [['user', 'list'], { PORTCULLIS_STORE_URL: bad[2] }]]) {
    const r = run([...args, '--data-dir', dir], { env: { ...env, ...e } });
    outputs.push([args.join(' '), r.stdout + r.stderr]);
  }
  const noLeak = () => {
    for (const [what, text] of outputs) {
      assert.ok(!text.includes(core), `the canary password leaked in: ${what}\n${text.slice(0, 2000)}`);
    }
  };
  noLeak();
  // check-config shows where the password is, masked.
  const cc = run(['check-config', '--data-dir', dir, '--store-url', bad[1]], { env });
  assert.match(cc.stdout, /store_url\s+= postgresql:\/\/alice:\*{8}@127\.0\.0\.1:1\/db\?sslmode=disable/);
  assert.match(cc.stdout, /smtp_url\s+= \*{8}/);
  if (PG) {
    // A working store whose URL carries the canary (trust auth ignores it).
    const db = createDatabase(PG);
    const good = `${db}&password=${enc}`;
    for (const cmd of [['migrate'], ['check-config'], ['user', 'list'], ['key', 'list']]) {
      const r = run([...cmd, '--data-dir', dir, '--store-url', good, '--mode', 'development'], { env });
      assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
      outputs.push([cmd.join(' '), r.stdout + r.stderr]);
    }
    const srv = await startServer({ config: { store_url: good, log_level: 'debug' }, env });
    await fetch(`${srv.url}/readyz`);
    await stopClean(srv);
    outputs.push(['serve', srv.rawLogs()]);
    dropDatabase(db);
  }
  noLeak();
});
