// Interop with a real relying party in a real browser: Apache httpd with
// mod_auth_openidc (Debian's packages, unchanged), configured by the
// documented example (docs/integrations/apache-mod-auth-openidc), protects
// a static site;
// Chromium opens it, is sent to our /authorize, signs in on our page,
// consents, and lands on the protected page with its content. Then
// mod_auth_openidc's logout sends the browser to our end_session_endpoint
// with an id_token_hint; our confirmation page (OI-11, CF-02) signs out
// and returns to the registered post-logout page; both sessions are over.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startServer, stopClean } from './lib/server.mjs';
import { addUser, auditRows } from './lib/web.mjs';
import { addClient } from './lib/oauth.mjs';
import {
  chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, shot, fillForm, submit, text,
} from './lib/browser.mjs';
import { apacheAvailable, MISSING_APACHE, PROTECTED_TEXT, startApache } from './lib/apache.mjs';

const EMAIL = 'apache.user@example.com';
const haveApache = apacheAvailable();

let srv;
let ap;
let browser;
let user;
let client;

before(async () => {
  if (!haveApache) return;
  // Fail, not skip: a CI without Chromium must not pass silently.
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  srv = await startServer({ config: { login_delay_free: 99, login_ip_failures: 100000 } });
  user = addUser(srv, EMAIL);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  client = addClient(srv, {
    name: 'Apache mod_auth_openidc',
    redirectUris: [`${base}/oidc/callback`],
    postLogoutUris: [`${base}/signed-out.html`],
    scope: 'openid email profile',
  });
  ap = await startApache({ port, provider: srv.issuer, clientId: client.client_id, clientSecret: client.client_secret });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await ap?.stop();
  if (srv) await stopClean(srv);
});

test('interop: mod_auth_openidc signs a browser in through Portcullis and out again (OI-11)', async (t) => {
  if (!haveApache) {
    t.skip(MISSING_APACHE);
    return;
  }
  const page = await newPage(browser);
  const name = 'interop apache';
  try {
    // The protected page sends the browser to our authorization endpoint.
    await page.goto(ap.url + '/');
    let u = new URL(page.url());
    assert.equal(u.origin, srv.url, `expected our sign-in page, at ${page.url()}\n${ap.errorLog().slice(-3000)}`);
    assert.equal(u.pathname, '/login');
    await shot(page, name, 'login');
    await fillForm(page, { Email: EMAIL, Password: 'Tq7!vR2#mZp9$Lw4xK-canary' });
    await submit(page, 'Sign in');
    u = new URL(page.url());
    if (u.origin === srv.url && u.pathname.startsWith('/authorize')) {
      await shot(page, name, 'consent');
      assert.match(await text(page), /Apache mod_auth_openidc/);
      await submit(page, 'Allow');
    }
    // Back at Apache, which exchanged the code and validated the ID token.
    u = new URL(page.url());
    assert.equal(u.origin + u.pathname, ap.url + '/', `landed at ${page.url()}\n${ap.errorLog().slice(-3000)}`);
    assert.equal(await text(page, '#content'), PROTECTED_TEXT);
    await shot(page, name, 'protected');
    // The Portcullis session is live in this browser.
    const acct = await page.goto(srv.url + '/account');
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.equal(acct.status(), 200);

    // Logout through mod_auth_openidc: it ends its session and sends the
    // browser to our end_session_endpoint with id_token_hint and the
    // post-logout URI; we ask, the user confirms.
    await page.goto(`${ap.redirectUri}?logout=${encodeURIComponent(ap.loggedOutUrl)}`);
    u = new URL(page.url());
    assert.equal(u.origin + u.pathname, srv.url + '/logout', `expected our logout page, at ${page.url()}`);
    assert.ok(u.searchParams.get('id_token_hint'), 'mod_auth_openidc sent an id_token_hint');
    assert.equal(u.searchParams.get('post_logout_redirect_uri'), ap.loggedOutUrl);
    assert.match(await text(page), /Sign out\?/);
    assert.match(await text(page), /Apache mod_auth_openidc/);
    await shot(page, name, 'confirm-logout');
    await submit(page, 'Sign out');
    u = new URL(page.url());
    assert.equal(u.origin + u.pathname, ap.loggedOutUrl);
    assert.match(await text(page), /Signed out of the Apache RP/);
    await shot(page, name, 'signed-out');

    // Both sessions are over: our account page wants a sign-in, and the
    // protected page sends the browser back to our sign-in page.
    await page.goto(srv.url + '/account');
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.goto(ap.url + '/');
    u = new URL(page.url());
    assert.equal(u.origin + u.pathname, srv.url + '/login', `expected a new sign-in, at ${page.url()}`);

    const rows = auditRows(srv, 300);
    const out = rows.filter((e) => e.event === 'logout' && e.outcome === 'success').at(-1);
    assert.equal(out?.target, client.client_id);
    assert.equal(out?.actor, user.id);
  } finally {
    await page.context().close();
  }
});
