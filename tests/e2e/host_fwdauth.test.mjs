// Forward-auth end to end (issue 17 item 5; decision 0075; SECURITY.md
// FA-01..FA-08): Debian's nginx, run unprivileged with the very file the
// docs show (docs/integrations/nginx-forward-auth/nginx.conf, placeholders
// filled), serves TLS from a throwaway CA for auth.localhost (Portcullis),
// app.localhost and other.localhost (two protected hosts in front of a
// static site). Chromium trusts the leaf by its SPKI hash and signs in;
// Node talks to nginx and to Portcullis directly for the attacks a browser
// will not make. One nginx, one server, one browser for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { accessSync, chownSync, constants, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { freePort, startServer, stopClean, tempDir } from './lib/server.mjs';
import { addUser, auditRows, cliAt, GOOD_PW } from './lib/web.mjs';
import { chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, fillForm, submit, text, cookies, shot } from './lib/browser.mjs';

const NGINX = process.env.PORTCULLIS_NGINX ?? '/usr/sbin/nginx';
const CONF = new URL('../../docs/integrations/nginx-forward-auth/nginx.conf', import.meta.url);

let srv, ngx, browser, dir, ca, np, AUTH, APP, OTHER;
let alice, bob, eng;

function nginxAvailable() {
  try { accessSync(NGINX, constants.X_OK); return true; } catch { return false; }
}

// A CA and a leaf for the three names (EC P-256, one day).
function makePki(d) {
  const o = (args) => execFileSync('openssl', args, { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
  o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=Portcullis test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=auth.localhost',
    '-keyout', 'leaf.key', '-out', 'leaf.csr']);
  writeFileSync(join(d, 'ext.cnf'), 'subjectAltName=DNS:auth.localhost,DNS:app.localhost,DNS:other.localhost\n' +
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  o(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
    '-extfile', 'ext.cnf', '-out', 'leaf.pem']);
  const leaf = new X509Certificate(readFileSync(join(d, 'leaf.pem')));
  const spki = createHash('sha256').update(leaf.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { ca: readFileSync(join(d, 'ca.pem')), spki };
}

function chownTree(p, uid, gid) {
  chownSync(p, uid, gid);
  if (statSync(p).isDirectory()) for (const f of readdirSync(p)) chownTree(join(p, f), uid, gid);
}

async function startNginx(vars) {
  const prefix = join(dir, 'nginx');
  for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, 'tmp', t), { recursive: true });
  let conf = readFileSync(CONF, 'utf8');
  for (const [k, v] of Object.entries({ PREFIX: prefix, ...vars })) conf = conf.replaceAll(`@${k}@`, v);
  assert.doesNotMatch(conf, /@[A-Z_]+@/, 'every placeholder filled');
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  // Unprivileged: as root (CI), the whole nginx runs as nobody.
  const asRoot = process.getuid() === 0;
  if (asRoot) chownTree(dir, 65534, 65534);
  const proc = spawn(NGINX, ['-p', prefix, '-c', file, '-e', join(prefix, 'error.log'), '-g', 'daemon off; master_process off;'], {
    stdio: ['ignore', 'pipe', 'pipe'], ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const port = Number(vars.LISTEN.split(':')[1]);
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${err}`);
    const ok = await new Promise((res) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    });
    if (ok) break;
    if (i > 200) throw new Error(`nginx did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    errorLog: () => { try { return readFileSync(join(prefix, 'error.log'), 'utf8'); } catch { return err; } },
    accessLog: () => readFileSync(join(prefix, 'access.log'), 'utf8'),
    stop: () => new Promise((res) => { if (proc.exitCode !== null) return res(); proc.on('exit', res); proc.kill('SIGTERM'); }),
  };
}

// One request through nginx (TLS, SNI and Host for the name), no redirects.
function viaNginx(host, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: np, servername: host, path, ca, headers: { Host: `${host}:${np}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// A verify request straight to Portcullis, from localAddress.
function verify({ host, uri = '/', cookie, from = '127.0.0.1', proto = 'https' }) {
  return new Promise((resolve, reject) => {
    const headers = { Host: AUTH.host, 'X-Forwarded-Uri': uri, 'X-Forwarded-Proto': proto };
    if (host) headers['X-Forwarded-Host'] = host;
    if (cookie) headers.Cookie = `__Host-pcfa=${cookie}`;
    const req = http.request({ host: '127.0.0.1', port: srv.port, localAddress: from, path: '/forward-auth/verify', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

before(async () => {
  assert.ok(nginxAvailable(), `${NGINX} missing: scripts/deps.sh test installs nginx`);
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  dir = tempDir('pc-fwd-');
  const pki = makePki(dir);
  ca = pki.ca;
  np = await freePort();
  const backend = await freePort();
  const port = await freePort();
  AUTH = new URL(`https://auth.localhost:${np}`);
  APP = new URL(`https://app.localhost:${np}`);
  OTHER = new URL(`https://other.localhost:${np}`);
  srv = await startServer({
    port,
    issuer: AUTH.origin,
    config: { trusted_proxies: '127.0.0.1', login_delay_free: 99, login_ip_failures: 100000 },
  });
  const site = join(dir, 'site');
  for (const p of ['', 'public', 'eng', 'secure']) mkdirSync(join(site, p), { recursive: true });
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>app</title><p id="c">APP HOME</p>\n');
  writeFileSync(join(site, 'public', 'page.html'), '<!doctype html><title>public</title><p id="c">PUBLIC PAGE</p>\n');
  writeFileSync(join(site, 'eng', 'page.html'), '<!doctype html><title>eng</title><p id="c">ENG PAGE</p>\n');
  writeFileSync(join(site, 'secure', 'page.html'), '<!doctype html><title>secure</title><p id="c">SECURE PAGE</p>\n');
  ngx = await startNginx({
    LISTEN: `127.0.0.1:${np}`, CERT: join(dir, 'leaf.pem'), KEY: join(dir, 'leaf.key'),
    PORTCULLIS: `127.0.0.1:${port}`, AUTH_NAME: 'auth.localhost', AUTH_HOST: AUTH.host,
    APP_NAMES: 'app.localhost other.localhost', APP_BACKEND: `127.0.0.1:${backend}`, APP_ROOT: site,
  });
  alice = addUser(srv, 'alice@example.com');
  bob = addUser(srv, 'bob@example.com');
  eng = JSON.parse(cli(['group', 'add', '--name', 'eng', '--json']));
  cli(['group', 'member', 'add', '--group', eng.id, '--member', alice.id]);
  cli(['forward-auth', 'set', '--host', APP.host, '--path', '/']);
  cli(['forward-auth', 'set', '--host', APP.host, '--path', '/public', '--public']);
  cli(['forward-auth', 'set', '--host', APP.host, '--path', '/eng', '--groups', 'eng']);
  cli(['forward-auth', 'set', '--host', APP.host, '--path', '/secure', '--mfa']);
  cli(['forward-auth', 'set', '--host', OTHER.host, '--path', '/']);
  browser = await launchBrowser({
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
      `--ignore-certificate-errors-spki-list=${pki.spki}`, '--host-resolver-rules=MAP *.localhost 127.0.0.1'],
  });
});
after(async () => {
  await browser?.close();
  await ngx?.stop();
  if (srv) await stopClean(srv);
});

// Signs in on our page when the browser is sent there; returns the page.
async function signIn(page, email) {
  assert.equal(new URL(page.url()).origin, AUTH.origin, `expected our sign-in page, at ${page.url()}\n${ngx.errorLog().slice(-2000)}`);
  assert.equal(new URL(page.url()).pathname, '/login');
  await fillForm(page, { Email: email, Password: GOOD_PW });
  return submit(page, 'Sign in');
}

const sessions = {}; // email -> { page, appCookie }

test('FA-01 FA-02 FA-04 FA-09: verify without a cookie is 401, an undeclared host 403, a public path 200; paths are normalised first', async () => {
  assert.equal((await verify({ host: APP.host, uri: '/' })).status, 401);
  assert.equal((await verify({ host: `evil.localhost:${np}`, uri: '/' })).status, 403);
  assert.equal((await verify({ host: APP.host.replace(/:\d+$/, ''), uri: '/' })).status, 403, 'another port is another host');
  const pub = await verify({ host: APP.host, uri: '/public/page.html?x=1' });
  assert.equal(pub.status, 200);
  assert.equal(pub.headers['remote-user'], undefined);
  // The public prefix must not open what dot segments or escapes reach.
  for (const uri of ['/public/../eng/page.html', '/public/%2e%2e/eng/page.html', '/public/./../', '//public/../eng']) {
    assert.equal((await verify({ host: APP.host, uri })).status, 401, uri);
  }
  for (const uri of ['/public%2f..%2feng/page.html', '/public/..%5ceng', '/../public/page.html', 'public/page.html']) {
    assert.equal((await verify({ host: APP.host, uri })).status, 403, uri);
  }
  assert.equal((await verify({ host: APP.host, uri: '/publicity' })).status, 401, 'prefixes end on a segment');
  assert.equal((await verify({ host: APP.host, uri: '/public/page.html', proto: 'http' })).status, 403, 'https only');
  // Through nginx: a public page without a session, and a header the
  // client forged never reaches the application.
  const r = await viaNginx('app.localhost', '/public/page.html', { 'Remote-User': usrAdmin(), 'Remote-Groups': 'eng' });
  assert.equal(r.status, 200, ngx.errorLog().slice(-2000));
  assert.match(r.body, /PUBLIC PAGE/);
  assert.equal(r.headers['x-app-remote-user'] ?? '', '');
  assert.equal(r.headers['x-app-remote-groups'] ?? '', '');
  // A protected page without a session: the dance starts on that host.
  const s = await viaNginx('app.localhost', '/eng/page.html?q=1');
  assert.equal(s.status, 303, ngx.errorLog().slice(-2000));
  const loc = new URL(s.headers.location);
  assert.equal(loc.origin + loc.pathname, AUTH.origin + '/forward-auth/start');
  assert.equal(loc.searchParams.get('rd'), `${APP.origin}/eng/page.html?q=1`);
  assert.match(loc.searchParams.get('sh'), /^[0-9a-f]{64}$/);
  const setc = [].concat(s.headers['set-cookie'] ?? []).join('\n');
  assert.match(setc, /^__Host-pcfa-state=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=600; Secure; HttpOnly; SameSite=Lax$/m);
  // HT-04 holds: our pages are not served under a protected host's name,
  // and the dance's paths are not served under an undeclared one.
  const dot = await viaNginx('app.localhost', '/.portcullis/../login');
  assert.equal(dot.status, 303);
  assert.ok(dot.headers.location.startsWith(`${AUTH.origin}/forward-auth/start?`), dot.headers.location);
  assert.equal((await rawPortcullis('/login', `app.localhost:${np}`)).status, 400);
  assert.equal((await rawPortcullis('/.portcullis/start', `evil.localhost:${np}`)).status, 400);
});

function usrAdmin() {
  return 'usr_0000000000000000000000';
}

function rawPortcullis(path, host) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path, headers: { Host: host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('FA-06 FA-07: Chromium signs in through the dance; the app gets the user; the cookie is __Host- and host-only', async () => {
  const page = await newPage(browser);
  await page.goto(`${APP.origin}/eng/page.html?q=1`);
  await shot(page, 'FA-06 forward-auth sign-in', 'login');
  await signIn(page, 'alice@example.com');
  assert.equal(page.url(), `${APP.origin}/eng/page.html?q=1`, `landed at ${page.url()}\n${ngx.errorLog().slice(-2000)}`);
  assert.equal(await text(page, '#c'), 'ENG PAGE');
  await shot(page, 'FA-06 forward-auth sign-in', 'app');
  const r = await page.goto(`${APP.origin}/`);
  const h = await r.allHeaders();
  assert.equal(h['x-app-remote-user'], alice.id);
  assert.equal(h['x-app-remote-email'], 'alice@example.com');
  assert.equal(h['x-app-remote-groups'], 'eng');
  // FA-07: the per-host cookie.
  const appJar = await cookies(page, APP.origin);
  const c = appJar.find((x) => x.name === '__Host-pcfa');
  assert.ok(c, JSON.stringify(appJar));
  assert.equal(c.domain, 'app.localhost', 'host-only (no Domain attribute)');
  assert.equal(c.path, '/');
  assert.equal(c.secure, true);
  assert.equal(c.httpOnly, true);
  assert.equal(c.sameSite, 'Lax');
  assert.equal(appJar.find((x) => x.name === '__Host-pcfa-state'), undefined, 'state cookie spent');
  const all = await page.context().cookies();
  assert.deepEqual(all.filter((x) => x.domain.startsWith('.')), [], 'no cookie on a parent domain');
  assert.equal((await cookies(page, OTHER.origin)).length, 0, 'nothing of app is sent to other.localhost');
  // FA-01: that cookie works only from a trusted proxy: a forged
  // X-Forwarded-Host from another address is ignored.
  assert.equal((await verify({ host: APP.host, cookie: c.value })).status, 200);
  assert.equal((await verify({ host: APP.host, cookie: c.value, from: '127.0.0.2' })).status, 403);
  // Bound to its host: presented for other.localhost it is nobody.
  assert.equal((await verify({ host: OTHER.host, cookie: c.value })).status, 401);
  // The other protected host has its own session: the dance runs again
  // without a password (single sign-on), and sets its own cookie.
  await page.goto(`${OTHER.origin}/`);
  assert.equal(page.url(), `${OTHER.origin}/`);
  assert.equal(await text(page, '#c'), 'APP HOME');
  const o = (await cookies(page, OTHER.origin)).find((x) => x.name === '__Host-pcfa');
  assert.ok(o && o.domain === 'other.localhost' && o.value !== c.value);
  const rows = auditRows(srv, 50).filter((e) => e.event === 'forward_auth.login' && e.outcome === 'success');
  assert.deepEqual(rows.map((e) => [e.actor, e.target]), [[alice.id, APP.host], [alice.id, OTHER.host]]);
  assert.ok(!JSON.stringify(auditRows(srv, 50)).includes(c.value), 'no cookie in the audit log');
  assert.ok(!srv.rawLogs().includes(c.value), 'no cookie in the log');
  sessions.alice = { page, appCookie: c.value, otherCookie: o.value };
});

test('FA-05: a user outside the group gets 403; an MFA rule refuses a password-only session', async () => {
  const page = await newPage(browser);
  try {
    await page.goto(`${APP.origin}/`);
    await signIn(page, 'bob@example.com');
    assert.equal(page.url(), `${APP.origin}/`);
    assert.equal((await page.goto(`${APP.origin}/eng/page.html`)).status(), 403);
    assert.doesNotMatch(await text(page), /ENG PAGE/);
    await shot(page, 'FA-05 forward-auth refused', 'group');
  } finally {
    await page.context().close();
  }
  // alice is in eng but signed in with a password only.
  const r = await sessions.alice.page.goto(`${APP.origin}/secure/page.html`);
  assert.equal(r.status(), 403);
  const refused = auditRows(srv, 50).filter((e) => e.event === 'forward_auth.access' && e.outcome === 'failure');
  assert.deepEqual(refused.map((e) => [e.actor, e.details?.reason]), [[bob.id, 'group'], [alice.id, 'mfa']]);
});

test('FA-06 FA-07: a callback code is single use and useless in another browser (login CSRF)', async () => {
  // The attacker runs the dance with their own account (Node, bob's
  // Portcullis session) and keeps the callback URL.
  const page = await newPage(browser);
  const victim = await newPage(browser);
  try {
    await page.goto(`${APP.origin}/`);
    await signIn(page, 'bob@example.com');
    const sid = (await cookies(page, AUTH.origin)).find((x) => x.name === '__Host-sid').value;
    const dance = async () => {
      const s = await viaNginx('app.localhost', '/');
      assert.equal(s.status, 303);
      const state = [].concat(s.headers['set-cookie']).join(';').match(/__Host-pcfa-state=([^;]+)/)[1];
      const u = new URL(s.headers.location);
      const r = await viaNginx('auth.localhost', u.pathname + u.search, { Cookie: `__Host-sid=${sid}` });
      assert.equal(r.status, 303);
      const cb = new URL(r.headers.location);
      assert.equal(cb.origin + cb.pathname, `${APP.origin}/.portcullis/callback`);
      assert.match(cb.searchParams.get('code'), /^[A-Za-z0-9_-]{43}$/);
      return { state, path: cb.pathname + cb.search, url: cb.href };
    };
    const loot = await dance();
    // The victim's browser began its own dance (its own state cookie on
    // app), then is sent the attacker's code: refused, no session.
    await victim.goto(`${APP.origin}/`);
    assert.equal(new URL(victim.url()).origin, AUTH.origin);
    const r = await victim.goto(loot.url);
    assert.equal(r.status(), 400);
    assert.match(await text(victim), /not valid/);
    assert.equal((await cookies(victim, APP.origin)).find((x) => x.name === '__Host-pcfa'), undefined);
    // The code is spent: its own browser cannot use it now either.
    assert.equal((await viaNginx('app.localhost', loot.path, { Cookie: `__Host-pcfa-state=${loot.state}` })).status, 400);
    // Without any state cookie: refused (and spent).
    const bare = await dance();
    assert.equal((await viaNginx('app.localhost', bare.path)).status, 400);
    // With its own state cookie it works, once.
    const good = await dance();
    const ok = await viaNginx('app.localhost', good.path, { Cookie: `__Host-pcfa-state=${good.state}` });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, `${APP.origin}/`);
    assert.match([].concat(ok.headers['set-cookie']).join('\n'), /^__Host-pcfa=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax$/m);
    assert.equal((await viaNginx('app.localhost', good.path, { Cookie: `__Host-pcfa-state=${good.state}` })).status, 400);
    // A code issued for app is no good on other.localhost.
    const cross = await dance();
    assert.equal((await viaNginx('other.localhost', cross.path, { Cookie: `__Host-pcfa-state=${cross.state}` })).status, 400);
    const fails = auditRows(srv, 80).filter((e) => e.event === 'forward_auth.login' && e.outcome === 'failure');
    assert.equal(fails.length, 5, JSON.stringify(fails));
    // Neither nginx's log (the example's format) nor ours holds a code.
    assert.match(ngx.accessLog(), /GET \/\.portcullis\/callback HTTP/);
    assert.doesNotMatch(ngx.accessLog(), /code=/);
    assert.ok(!srv.rawLogs().includes(new URL(loot.url).searchParams.get('code')), 'no code in our log');
  } finally {
    await page.context().close();
    await victim.context().close();
  }
});

test('FA-03: a forged rd never leaves the declared hosts', async () => {
  const sid = (await cookies(sessions.alice.page, AUTH.origin)).find((x) => x.name === '__Host-sid');
  assert.ok(sid);
  const sh = 'a'.repeat(64);
  const evil = [
    `https://evil.localhost:${np}/`, `https://app.localhost.evil/`, `https://app.localhost:${np}.evil/`,
    `//evil.localhost:${np}/`, `https:/\\evil.localhost:${np}/`, `https://evil.localhost:${np}\\@${APP.host}/`,
    `https://${APP.host}@evil.localhost:${np}/`, `https://user:pw@${APP.host}/`, `http://${APP.host}/`,
    `HTTPS://EVIL.localhost:${np}/`, `javascript:alert(1)`, `https://${APP.host}%2f@evil.localhost/`,
    `https://${APP.host}\t.evil/`, `/\\evil.localhost`, `https://[::1]:${np}/`, '',
  ];
  for (const rd of evil) {
    const r = await viaNginx('auth.localhost', `/forward-auth/start?rd=${encodeURIComponent(rd)}&sh=${sh}`, { Cookie: `__Host-sid=${sid.value}` });
    assert.equal(r.status, 303, rd);
    assert.equal(r.headers.location, '/account', `rd ${JSON.stringify(rd)} went to ${r.headers.location}`);
  }
  // A declared host, even in another case or with a doubled slash, goes to
  // that host's callback only.
  for (const rd of [`${APP.origin}//x`, `HTTPS://APP.LOCALHOST:${np}/y#frag`]) {
    const r = await viaNginx('auth.localhost', `/forward-auth/start?rd=${encodeURIComponent(rd)}&sh=${sh}`, { Cookie: `__Host-sid=${sid.value}` });
    assert.equal(r.status, 303, rd);
    const u = new URL(r.headers.location);
    assert.equal(u.origin + u.pathname, `${APP.origin}/.portcullis/callback`, rd);
  }
});

test('FA-08: signing out ends access on the protected hosts', async () => {
  const page = sessions.alice.page;
  // /.portcullis/logout on the app ends that host's session, then our
  // page asks whether to sign out of Portcullis too.
  await page.goto(`${APP.origin}/.portcullis/logout`);
  assert.equal(new URL(page.url()).origin + new URL(page.url()).pathname, `${AUTH.origin}/logout`);
  assert.equal((await verify({ host: APP.host, cookie: sessions.alice.appCookie })).status, 401);
  assert.equal((await verify({ host: OTHER.host, cookie: sessions.alice.otherCookie })).status, 200);
  await submit(page, 'Sign out');
  // The Portcullis session is gone, and with it other.localhost's.
  assert.equal((await verify({ host: OTHER.host, cookie: sessions.alice.otherCookie })).status, 401);
  await page.goto(`${OTHER.origin}/`);
  assert.equal(new URL(page.url()).origin + new URL(page.url()).pathname, `${AUTH.origin}/login`);
  const rows = auditRows(srv, 80).filter((e) => e.event === 'forward_auth.logout');
  assert.deepEqual(rows.map((e) => [e.actor, e.target]), [[alice.id, APP.host]]);
  await page.context().close();
});
