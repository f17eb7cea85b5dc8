// The integration examples of docs/integrations, run from the very files
// the docs show, against one real server: the test fills only what the
// docs leave to the reader (the issuer URL, ports, where the store is).
//
// - service-account/: setup.sh (the CLI: resource, service account, its
//   key as a private_key_jwt client) and call-api.mjs (openid-client:
//   client_credentials for the resource, DPoP-bound) calling
// - resource-server-jose/server.mjs (npm jose against /jwks.json), which
//   is attacked here too: no token, a token in the query, another
//   audience, two audiences, expired, not an access token, another
//   algorithm, too little scope, a DPoP-bound token without its key, a
//   replayed or misdirected proof (TX-04, RT-06, JW-06);
// - node-openid-client/app.mjs in Chromium: sign-in (code + PKCE, the ID
//   token checked), refresh, a forged callback and a cross-site POST
//   refused, RP-initiated logout (OI-11); no token in its logs or in a URL
//   but the logout's id_token_hint; a user disabled while signed in ends
//   the app's session.
// The Apache example is run by interop_apache.test.mjs, the nginx one by
// its own test. The examples change nothing in the store's behaviour that
// the other suites do not cover on both stores: SQLite pass only (host_).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { BIN, TOOLS, freePort, startServer, stopClean, tempDir, toolEnv } from './lib/server.mjs';
import { addUser, auditRows, cliAt, GOOD_PW } from './lib/web.mjs';
import { addClient } from './lib/oauth.mjs';
import {
  chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, shot, fillForm, submit, text, cookie, navigations,
} from './lib/browser.mjs';

const DOCS = fileURLToPath(new URL('../../docs/integrations/', import.meta.url));
const doc = (p) => join(DOCS, p);
const RESOURCE = 'https://orders.example.com';
const EMAIL = 'example.user@example.com';

let srv;
let user;
let rs; // the resource server example, started by the first test that needs it
const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

before(async () => {
  srv = await startServer({ config: { login_delay_free: 99, login_ip_failures: 100000 } });
  user = addUser(srv, EMAIL, GOOD_PW, ['--verified', '--name', 'Example User']);
});
after(async () => {
  await rs?.stop();
  await stopClean(srv);
});

// The CLI's environment: where the store is, as an operator sets it.
const cliEnv = () => ({ ...toolEnv(srv), PORTCULLIS_CONFIG: srv.configFile, PORTCULLIS_DATA_DIR: srv.dataDir });

// Starts an example (node FILE) and waits for the line it prints when it
// listens; returns { port, output(), stop() }.
async function startExample(file, env, ready) {
  const proc = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => proc.on('exit', () => { children.delete(proc); r(); }));
  const deadline = Date.now() + 20_000;
  let m;
  while (!(m = ready.exec(out))) {
    if (proc.exitCode !== null) throw new Error(`${file} exited:\n${out}`);
    if (Date.now() > deadline) throw new Error(`${file} did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: Number(m[1]),
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

// The JSON lines an example logged.
const logLines = (ex) => ex.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

// Polls fn until it returns something (an example's output arrives when
// the event loop turns).
async function until(fn, what) {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('gave up waiting for ' + what);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function resourceServer() {
  rs ??= await startExample(doc('resource-server-jose/server.mjs'),
    { PORTCULLIS_ISSUER: srv.issuer, RESOURCE, PORT: '0' }, /listening on http:\/\/127\.0\.0\.1:(\d+)/);
  return rs;
}

// Runs setup.sh once (it registers the resource the resource server
// serves); returns the directory it wrote to and its output.
let setup;
function setupServiceAccount() {
  if (setup) return setup;
  const dir = tempDir('pc-sa-');
  const r = spawnSync('bash', [doc('service-account/setup.sh')], {
    cwd: dir, encoding: 'utf8', env: { ...cliEnv(), PORTCULLIS: BIN, RESOURCE },
  });
  assert.equal(r.status, 0, `setup.sh: ${r.stdout}\n${r.stderr}`);
  setup = { dir, stdout: r.stdout };
  return setup;
}

// The Node app's registration, as its README shows it for APP_URL
// http://127.0.0.1:3000.
const registerApp = (appUrl) => ['client', 'add', '--name', 'Example app', '--grant', 'authorization_code,refresh_token',
  '--redirect-uri', `${appUrl}/callback`, '--post-logout-redirect-uri', `${appUrl}/`,
  '--scope', 'openid profile email offline_access'];

test('docs: each README shows the exact file the test runs', () => {
  const readme = (p) => readFileSync(doc(p), 'utf8');
  // Shown in full: the Apache configuration and the CLI steps.
  assert.ok(readme('apache-mod-auth-openidc/README.md').includes(readme('apache-mod-auth-openidc/portcullis-oidc.conf')),
    'the Apache README includes portcullis-oidc.conf verbatim');
  assert.ok(readme('service-account/README.md').includes(readme('service-account/setup.sh')),
    'the service account README includes setup.sh verbatim');
  // Pointed at: the programs, and the commands that run them.
  for (const [dir, files] of [
    ['node-openid-client', ['app.mjs', 'node app.mjs']],
    ['resource-server-jose', ['server.mjs', 'node server.mjs']],
    ['service-account', ['call-api.mjs', 'keygen.mjs', 'node --env-file=orders-bot.env call-api.mjs']],
  ]) {
    for (const f of files) assert.ok(readme(`${dir}/README.md`).includes(f), `${dir}/README.md names ${f}`);
  }
  // The CLI command the Node app's README shows is the one the test runs.
  const shell = ['portcullis', ...registerApp('http://127.0.0.1:3000')].map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ');
  assert.ok(readme('node-openid-client/README.md').replace(/\\\n\s*/g, '').replace(/ +/g, ' ').includes(shell), shell);
  const index = readme('README.md');
  for (const d of ['apache-mod-auth-openidc/', 'node-openid-client/', 'resource-server-jose/', 'service-account/', 'nginx-forward-auth/']) {
    assert.ok(index.includes(`(${d})`), `the index links ${d}`);
  }
});

test('service account: setup.sh registers it with its key; call-api.mjs gets a DPoP-bound token by private_key_jwt and calls the resource server (AK-08, TX-04, RT-06)', async () => {
  const { dir, stdout } = setupServiceAccount();
  const svc = /service account (svc_[A-Za-z0-9_-]{22})/.exec(stdout)?.[1];
  const client = /client (pcc_[A-Za-z0-9_-]{22})/.exec(stdout)?.[1];
  assert.ok(svc && client, stdout);
  // The private key is the owner's alone; Portcullis got the public half.
  assert.equal(statSync(join(dir, 'orders-bot.key.pem')).mode & 0o777, 0o600);
  const jwks = JSON.parse(readFileSync(join(dir, 'orders-bot.jwks.json'), 'utf8'));
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0].d, undefined, 'no private part registered');
  assert.ok(!stdout.includes('pcs_'), 'setup prints no secret');

  const api = await resourceServer();
  // Exactly the README's command.
  const r = spawnSync(process.execPath, ['--env-file=orders-bot.env', doc('service-account/call-api.mjs')], {
    cwd: dir, encoding: 'utf8',
    env: { ...process.env, PORTCULLIS_ISSUER: srv.issuer, API_URL: `http://127.0.0.1:${api.port}/orders` },
  });
  assert.equal(r.status, 0, `call-api.mjs: ${r.stdout}\n${r.stderr}\n${api.output()}`);
  assert.match(r.stdout, /: 200\n/);
  assert.equal(JSON.parse(r.stdout.split('\n')[1]).caller, svc);
  // The API saw a DPoP-bound token of the service account, by its client.
  const line = await until(() => logLines(api).find((e) => e.sub === svc), 'the API\'s log line');
  assert.equal(line?.scheme, 'DPoP');
  assert.equal(line.client_id, client);
  assert.equal(line.status, 200);
  // Issued for the resource, audited: actor the client, target the account.
  const row = auditRows(srv).find((e) => e.event === 'token.issue' && e.details.jti === line.jti);
  assert.equal(row?.actor, client);
  assert.equal(row.target, svc);
  assert.equal(row.details.resource, RESOURCE);
  // Nothing printed a token.
  assert.ok(!/eyJ/.test(r.stdout + r.stderr + api.output()), 'no token in any output');
});

// --- the resource server, attacked ---------------------------------------

const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

// Signs claims with the server's own key ring (tests/tools/pc-sign): what
// Portcullis could have signed, with the claims the test chooses.
function sign(claims, alg = 'ES256', typ = 'at+jwt') {
  const r = spawnSync(join(TOOLS, 'pc-sign'), [srv.dataDir, alg, typ],
    { input: JSON.stringify(claims), encoding: 'utf8', env: toolEnv(srv) });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

async function dpopKey() {
  const kp = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(kp.publicKey);
  return { ...kp, jwk };
}

async function proof(k, htm, htu, token, o = {}) {
  const claims = { jti: b64u(randomBytes(16)), htm, htu, iat: o.iat ?? now(), ...(o.claims ?? {}) };
  if (token) claims.ath = b64u(createHash('sha256').update(token).digest());
  return new jose.SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: k.jwk }).sign(k.privateKey);
}

test('resource server: jose checks issuer, audience (this resource alone), typ, algorithm, expiry and scope; a DPoP-bound token needs its key (TX-04, RT-06, JW-06)', async () => {
  setupServiceAccount(); // registers RESOURCE
  const api = await resourceServer();
  const url = `http://127.0.0.1:${api.port}/orders`;
  const call = async (token, { method = 'GET', scheme = 'Bearer', dpop, query = '' } = {}) => {
    const headers = {};
    if (token !== undefined) headers.authorization = `${scheme} ${token}`;
    if (dpop !== undefined) headers.dpop = dpop;
    const res = await fetch(url + query, { method, headers });
    return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', body: await res.json() };
  };
  const refused = async (what, r, error = 'invalid_token') => {
    r = await r;
    assert.equal(r.status, 401, `${what}: ${JSON.stringify(r)}`);
    assert.match(r.challenge, new RegExp(`error="${error}"`), what);
  };

  const svc = addClient(srv, { name: 'Orders tester', grants: 'client_credentials', scope: 'orders:read orders:write' });
  assert.equal(cliAt(srv, ['resource', 'add', '--id', 'https://billing.example.com', '--scope', 'orders:read']).code, 0);
  const basic = 'Basic ' + Buffer.from(`${svc.client_id}:${svc.client_secret}`).toString('base64');
  const get = async (form, headers = {}) => {
    const res = await fetch(srv.url + '/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic, ...headers },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...form }).toString(),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.access_token;
  };
  const read = await get({ resource: RESOURCE, scope: 'orders:read' });

  // The good case, then too little scope: 403 naming the scope needed.
  const ok = await call(read);
  assert.equal(ok.status, 200, JSON.stringify(ok));
  assert.equal(ok.body.caller, svc.client_id);
  const w = await call(read, { method: 'POST' });
  assert.equal(w.status, 403);
  assert.match(w.challenge, /error="insufficient_scope", scope="orders:write"/);
  assert.equal((await call(await get({ resource: RESOURCE, scope: 'orders:write' }), { method: 'POST' })).status, 201);

  // No token: a bare challenge. A token in the query string is not read.
  const none = await call(undefined);
  assert.equal(none.status, 401);
  assert.equal(none.challenge, 'Bearer');
  assert.equal((await call(undefined, { query: '?access_token=' + read })).status, 401);
  await refused('a malformed header', call('not a token!'), 'invalid_request');

  // Another audience: another resource's token, a token for the issuer.
  await refused('another resource', call(await get({ resource: 'https://billing.example.com', scope: 'orders:read' })));
  await refused('the issuer\'s audience', call(await get({ scope: 'orders:read' })));
  // Signed by Portcullis, but: two audiences (jose alone accepts it),
  // expired, an ID token's typ, RS256, unsigned.
  const claims = jose.decodeJwt(read);
  await refused('two audiences', call(sign({ ...claims, aud: [RESOURCE, 'https://billing.example.com'] })));
  await refused('expired', call(sign({ ...claims, iat: now() - 600, exp: now() - 300 })));
  await refused('typ JWT', call(sign(claims, 'ES256', 'JWT')));
  await refused('RS256', call(sign(claims, 'RS256')));
  const unsigned = `${b64u(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${b64u(JSON.stringify(claims))}.`;
  await refused('alg none', call(unsigned));
  assert.equal((await call(sign(claims))).status, 200, 'the same claims, well signed, pass');

  // DPoP: a token bound to a key is good only with a fresh proof by it,
  // for this method and URL, once.
  const k = await dpopKey();
  const tokenProof = await proof(k, 'POST', srv.issuer + '/token');
  const bound = await get({ resource: RESOURCE, scope: 'orders:read' }, { dpop: tokenProof });
  assert.ok(jose.decodeJwt(bound).cnf?.jkt, 'a DPoP-bound token');
  const good = await proof(k, 'GET', url, bound);
  assert.equal((await call(bound, { scheme: 'DPoP', dpop: good })).status, 200);
  await refused('the same proof again', call(bound, { scheme: 'DPoP', dpop: good }), 'invalid_dpop_proof');
  await refused('bound token as Bearer', call(bound));
  await refused('bound token, no proof', call(bound, { scheme: 'DPoP' }), 'invalid_dpop_proof');
  await refused('another key', call(bound, { scheme: 'DPoP', dpop: await proof(await dpopKey(), 'GET', url, bound) }), 'invalid_dpop_proof');
  await refused('another method', call(bound, { scheme: 'DPoP', dpop: await proof(k, 'POST', url, bound) }), 'invalid_dpop_proof');
  await refused('another URL', call(bound, { scheme: 'DPoP', dpop: await proof(k, 'GET', url + 'x', bound) }), 'invalid_dpop_proof');
  await refused('another token', call(bound, { scheme: 'DPoP', dpop: await proof(k, 'GET', url, read) }), 'invalid_dpop_proof');
  await refused('an old proof', call(bound, { scheme: 'DPoP', dpop: await proof(k, 'GET', url, bound, { iat: now() - 300 }) }), 'invalid_dpop_proof');
  await refused('an unbound token as DPoP', call(read, { scheme: 'DPoP', dpop: await proof(k, 'GET', url, read) }));
  assert.ok(!/eyJ/.test(api.output()), 'the resource server logs no token');
});

// --- the Node web app, in Chromium ---------------------------------------

test('node app: openid-client signs a browser in (code + PKCE, ID token checked), refreshes, refuses a forged callback and a cross-site POST, signs out (OI-11)', async () => {
  // Fail, not skip: a CI without Chromium must not pass silently.
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  const port = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  // Registered with the README's command, for this app's address.
  const reg = cliAt(srv, [...registerApp(appUrl), '--json']);
  assert.equal(reg.code, 0, reg.stderr);
  const client = JSON.parse(reg.stdout);
  const secretFile = join(tempDir('pc-app-'), 'client-secret');
  writeFileSync(secretFile, client.client_secret + '\n', { mode: 0o600 });
  const app = await startExample(doc('node-openid-client/app.mjs'),
    { PORTCULLIS_ISSUER: srv.issuer, APP_URL: appUrl, CLIENT_ID: client.client_id, CLIENT_SECRET_FILE: secretFile },
    /listening on port (\d+)/);
  assert.equal(app.port, port);
  const browser = await launchBrowser();
  const name = 'integrations node app';
  try {
    const page = await newPage(browser);
    await page.goto(appUrl + '/');
    assert.match(await text(page, '#status'), /Not signed in/);
    await shot(page, name, 'home');
    // Sign in: the app sends the browser to our /authorize.
    await Promise.all([page.waitForURL((u) => u.origin === srv.url), page.click('#signin')]);
    let u = new URL(page.url());
    assert.equal(u.pathname, '/login', page.url());
    await fillForm(page, { Email: EMAIL, Password: GOOD_PW });
    await submit(page, 'Sign in');
    u = new URL(page.url());
    if (u.origin === srv.url && u.pathname.startsWith('/authorize')) {
      assert.match(await text(page), /Example app/);
      await shot(page, name, 'consent');
      await submit(page, 'Allow');
    }
    // Back at the app, which exchanged the code and checked the ID token.
    assert.equal(page.url(), appUrl + '/', `landed at ${page.url()}\n${app.output()}`);
    assert.equal(await text(page, '#email'), EMAIL);
    assert.equal(await text(page, '#name'), 'Example User');
    assert.equal(await text(page, '#refreshed'), '0');
    await shot(page, name, 'signed-in');
    const c = await cookie(page, 'app');
    assert.ok(c?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(c.sameSite, 'Lax');
    // The authorization request carried PKCE (S256), state and nonce.
    const authz = navigations(page).map((n) => new URL(n.url)).find((x) => x.origin === srv.url && x.pathname === '/authorize');
    for (const p of ['code_challenge', 'state', 'nonce']) assert.ok(authz.searchParams.get(p), p);
    assert.equal(authz.searchParams.get('code_challenge_method'), 'S256');

    // Refresh: a new access token, through the refresh token.
    await submit(page, 'Refresh tokens');
    assert.equal(await text(page, '#refreshed'), '1');
    assert.equal(await text(page, '#email'), EMAIL, 'userinfo with the new access token');
    const grants = () => auditRows(srv, 300).filter((e) => e.event === 'token.issue' && e.actor === client.client_id)
      .map((e) => e.details.grant);
    assert.deepEqual(grants(), ['authorization_code', 'refresh_token']);

    // Two refreshes at once (two tabs): one at a time, so the rotated
    // refresh token is never used twice, which would end the grant.
    const sid = c.value;
    const both = await Promise.all([0, 1].map(() => fetch(appUrl + '/refresh', { method: 'POST', redirect: 'manual',
      headers: { cookie: `app=${sid}`, origin: appUrl } })));
    assert.deepEqual(both.map((r) => r.status), [303, 303]);
    await page.reload();
    assert.equal(await text(page, '#email'), EMAIL, 'still signed in after concurrent refreshes');
    assert.equal(await text(page, '#refreshed'), '2', 'the two requests shared one refresh');

    // A cross-site POST (a page elsewhere submitting a form with the
    // browser's cookie) is refused, and the session lives on.
    const cross = await fetch(appUrl + '/logout', { method: 'POST', redirect: 'manual',
      headers: { cookie: `app=${sid}`, origin: 'https://evil.example' } });
    assert.equal(cross.status, 403);
    // A forged callback: no sign-in started, or one with another state.
    const bare = await fetch(appUrl + '/callback?code=x&state=y', { redirect: 'manual' });
    assert.equal(bare.status, 400);
    const start = await fetch(appUrl + '/login', { redirect: 'manual' });
    assert.equal(start.status, 303);
    const pre = /app=([^;]+)/.exec(start.headers.get('set-cookie'))[1];
    const forged = await fetch(`${appUrl}/callback?code=x&state=forged&iss=${encodeURIComponent(srv.issuer)}`,
      { redirect: 'manual', headers: { cookie: `app=${pre}` } });
    assert.equal(forged.status, 400);
    // Refused by openid-client's state check, before any code exchange.
    const failed = await until(() => logLines(app).find((e) => e.event === 'signin_failed'), 'the failure logged');
    assert.equal(failed.error, 'OAUTH_INVALID_RESPONSE', JSON.stringify(failed));
    await page.reload();
    assert.equal(await text(page, '#email'), EMAIL, 'still signed in');

    // Sign out: the app ends its session and sends the browser to our
    // end_session_endpoint; the user confirms; back at the app, signed out.
    await submit(page, 'Sign out');
    u = new URL(page.url());
    assert.equal(u.origin + u.pathname, srv.url + '/logout', page.url());
    assert.equal(u.searchParams.get('post_logout_redirect_uri'), appUrl + '/');
    await shot(page, name, 'confirm-logout');
    await submit(page, 'Sign out');
    assert.equal(page.url(), appUrl + '/');
    assert.match(await text(page, '#status'), /Not signed in/);
    await page.goto(srv.url + '/account');
    assert.equal(new URL(page.url()).pathname, '/login', 'the Portcullis session is over too');
    const rows = auditRows(srv, 300);
    assert.equal(rows.filter((e) => e.event === 'logout' && e.outcome === 'success').at(-1)?.target, client.client_id);
    // The app revoked its refresh token first: the grant is over.
    assert.ok(rows.some((e) => e.event === 'token.revoke' && e.actor === client.client_id), 'token.revoke');

    // No token in the app's logs, and none in a URL but the logout's
    // id_token_hint (which RP-initiated logout defines).
    const urls = navigations(page).map((n) => n.url + ' ' + (n.location ?? ''));
    assert.ok(!urls.some((x) => /access_token|refresh_token/.test(x)), urls.join('\n'));
    assert.ok(!urls.some((x) => /eyJ/.test(x.replace(/id_token_hint=[^&\s]+/g, ''))), urls.join('\n'));
    assert.ok(!/eyJ|pcs_/.test(app.output()), app.output());

    // Signed in again, then the user is disabled: the app's next call to
    // /userinfo is refused, and it ends its session instead of failing.
    await page.goto(appUrl + '/');
    await Promise.all([page.waitForURL((x) => x.origin === srv.url), page.click('#signin')]);
    await fillForm(page, { Email: EMAIL, Password: GOOD_PW });
    await submit(page, 'Sign in');
    if (new URL(page.url()).origin === srv.url) await submit(page, 'Allow');
    assert.equal(await text(page, '#email'), EMAIL);
    assert.equal(cliAt(srv, ['user', 'disable', '--id', user.id]).code, 0);
    try {
      await page.reload();
      assert.match(await text(page, '#status'), /Your session has ended/);
      assert.equal(await cookie(page, 'app'), undefined, 'the session cookie is cleared');
      const ended = await until(() => logLines(app).find((e) => e.event === 'session_ended'), 'session_ended');
      assert.equal(ended.sub, user.id);
    } finally {
      assert.equal(cliAt(srv, ['user', 'enable', '--id', user.id]).code, 0);
    }
    await page.context().close();
  } finally {
    await browser.close();
    await app.stop();
  }
});
