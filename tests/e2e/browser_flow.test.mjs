// Issue 3 acceptance: the whole account flow in a real browser (Debian's
// Chromium via playwright-core, tests/e2e/lib/browser.mjs): register,
// confirm the address from the mailed link, sign in (SS-01: new session
// id; the cookie HttpOnly and SameSite=Lax), change the password, sign out
// (SS-06), sign in with the new password and not with the old one. Then a
// keyboard / accessibility sanity check of the public forms. Screenshots
// of every step land in tests/e2e/out/<test>/.
//
// Every server response carries Referrer-Policy: no-referrer, so Chromium
// sends `Origin: null` with a same-origin form POST (Fetch: "serializing a
// request origin"); the server has to accept that together with
// Sec-Fetch-Site: same-origin, or no form works in a real browser. These
// tests are what shows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, stopClean } from './lib/server.mjs';
import {
  chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, shot, fillForm, submit,
  cookie, navigations, problems, text, expectNavigation,
} from './lib/browser.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const EMAIL = 'Ada.Browser@example.com';
const NAME = 'Ada Browser';
const FIRST_PW = 'lantern-orbit-saffron-glacier-7';
const SECOND_PW = 'violet-anchor-quartz-meadow-91';
// Plain http issuer: the cookie is "sid" (it is "__Host-sid" under https).
const SID = 'sid';

let srv;
let browser;
before(async () => {
  // Fail, not skip: a CI without Chromium must not pass silently.
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  srv = await startServer({ config: { registration: 'true' } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  if (srv) await stopClean(srv);
});

// Decoded (quoted-printable) mails in the outbox, oldest first.
function outbox() {
  const dir = join(srv.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => {
    const raw = readFileSync(join(dir, f), 'utf8');
    const [head, ...body] = raw.split('\r\n\r\n');
    const txt = body.join('\r\n\r\n').replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return { file: f, to: head.match(/^To: (.*)$/m)?.[1], subject: head.match(/^Subject: (.*)$/m)?.[1], text: txt };
  });
}

async function waitMail(pred, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const m = outbox().find(pred);
    if (m) return m;
    if (Date.now() > end) return undefined;
    await sleep(50);
  }
}

// problems(page), less Chromium's console line for a document the server
// answered with an error status on purpose (a wrong password is a 400):
// each such expected answer is named as [status, path] and must be there.
function problemsExcept(page, expected) {
  const left = [...problems(page)];
  for (const [status, path] of expected) {
    const i = left.findIndex((p) => p.startsWith(`console: Failed to load resource: the server responded with a status of ${status} `) &&
      p.endsWith(`(${srv.url}${path})`));
    assert.ok(i >= 0, `expected a ${status} for ${path} in ${JSON.stringify(left)}`);
    left.splice(i, 1);
  }
  return left;
}

// submit(), and on an unexpected status an assertion that says what the
// server refused: the page's text and the Origin / Sec-Fetch-Site headers
// Chromium sent with the form.
async function submitExpect(page, button, status) {
  const sent = page.waitForRequest((r) => r.method() === 'POST' && r.isNavigationRequest());
  const res = await submit(page, button);
  if (res.status() !== status) {
    const h = await (await sent).allHeaders();
    assert.fail(`"${button}": ${res.status()} (expected ${status}) for POST ${new URL(res.request().url()).pathname} ` +
      `sent with Origin: ${h.origin}, Sec-Fetch-Site: ${h['sec-fetch-site']}; page: ${await text(page)}`);
  }
  return res;
}

// The [method, path+query, status] of navigations since index `from`.
const navSince = (page, from) => navigations(page).slice(from)
  .map((n) => { const u = new URL(n.url); return [n.method, u.pathname + u.search, n.status]; });

test('issue 3: register, confirm, sign in, change password, sign out, sign in again (Chromium)', async () => {
  const T = 'browser flow';
  const page = await newPage(browser);
  try {
    // 2. Register.
    let res = await page.goto(srv.url + '/register');
    assert.equal(res.status(), 200);
    assert.equal(await text(page, 'h1'), 'Create an account');
    await shot(page, T, 'register-empty');
    await fillForm(page, { Email: EMAIL, 'Name (optional)': NAME, Password: FIRST_PW });
    await shot(page, T, 'register-filled');
    let n = navigations(page).length;
    res = await submitExpect(page, 'Create account', 200);
    assert.equal(new URL(page.url()).pathname, '/register');
    assert.equal(await text(page, 'h1'), 'Check your email');
    assert.deepEqual(navSince(page, n), [['POST', '/register', 200]]);
    await shot(page, T, 'check-your-email');

    // 3. The verification link from the mail, in the same browser.
    const mail = await waitMail((m) => m.to === EMAIL && /\/verify\?token=/.test(m.text));
    assert.ok(mail, `no verification mail in the outbox: ${JSON.stringify(outbox().map((m) => m.to))}`);
    const link = mail.text.match(/(https?:\/\/\S+\/verify\?token=[A-Za-z0-9_-]{43})/)?.[1];
    assert.ok(link?.startsWith(srv.issuer + '/verify?token='), `link: ${link}`);
    res = await page.goto(link);
    assert.equal(res.status(), 200);
    assert.equal(await text(page, 'h1'), 'Confirm your email');
    assert.match(await text(page), new RegExp(`Confirm that ${EMAIL.replace(/\./g, '\\.')} is your address`));
    await shot(page, T, 'confirm-your-email');
    res = await submitExpect(page, 'Confirm', 200);
    assert.equal(await text(page, 'h1'), 'Email confirmed');
    assert.match(await text(page), /You can sign in now/);
    await shot(page, T, 'email-confirmed');

    // 4. Sign in: a new session id (SS-01), HttpOnly, SameSite=Lax.
    res = await page.goto(srv.url + '/login');
    assert.equal(res.status(), 200);
    assert.equal(await text(page, 'h1'), 'Sign in');
    const pre = await cookie(page, SID);
    assert.ok(pre, 'GET /login sets a pre-session cookie');
    await fillForm(page, { Email: EMAIL, Password: FIRST_PW });
    await shot(page, T, 'login-filled');
    n = navigations(page).length;
    res = await submitExpect(page, 'Sign in', 200);
    assert.equal(page.url(), srv.url + '/account');
    assert.deepEqual(navSince(page, n), [['POST', '/login', 303], ['GET', '/account', 200]]);
    assert.equal(await text(page, 'h1'), 'Your account');
    assert.equal(await text(page, 'main p strong'), EMAIL);
    assert.match(await text(page), new RegExp(`Signed in as ${EMAIL.replace(/\./g, '\\.')} \\(${NAME}\\)\\. Your email address is verified\\.`));
    const rows = page.locator('table tbody tr');
    assert.equal(await rows.count(), 1, 'one session row');
    assert.match(await rows.first().innerText(), /This session/);
    const sid1 = await cookie(page, SID);
    assert.ok(sid1, 'session cookie after sign-in');
    assert.equal(sid1.httpOnly, true, 'HttpOnly');
    assert.equal(sid1.sameSite, 'Lax', 'SameSite=Lax');
    assert.equal(sid1.path, '/');
    assert.notEqual(sid1.value, pre.value, 'SS-01: the session id changes at sign-in');
    // Scripts cannot read it.
    assert.ok(!(await page.evaluate(() => document.cookie)).includes(sid1.value));
    await shot(page, T, 'account-signed-in');

    // 5. Change the password.
    await fillForm(page, { 'Current password': FIRST_PW, 'New password': SECOND_PW });
    await shot(page, T, 'change-password-filled');
    n = navigations(page).length;
    res = await submitExpect(page, 'Change password', 200);
    assert.deepEqual(navSince(page, n), [['POST', '/account/password', 303], ['GET', '/account?done=password', 200]]);
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.match(await text(page, '.notice'), /^Your password was changed/);
    const sid2 = await cookie(page, SID);
    assert.ok(sid2);
    assert.notEqual(sid2.value, sid1.value, 'SS-01: a new session id after the password change');
    assert.equal(await page.locator('table tbody tr').count(), 1);
    await shot(page, T, 'password-changed');

    // 6. Sign out: the session cookie is cleared; /account needs a sign-in.
    n = navigations(page).length;
    const logoutResp = page.waitForResponse((r) => new URL(r.url()).pathname === '/logout');
    res = await submitExpect(page, 'Sign out', 200);
    const lr = await logoutResp;
    assert.equal(lr.status(), 303);
    const lh = await lr.allHeaders();
    assert.equal(lh['clear-site-data'], '"cookies", "storage"');
    assert.match(lh['set-cookie'] ?? '', new RegExp(`^${SID}=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)`, 'i'));
    assert.equal(res.status(), 200);
    assert.equal(page.url(), srv.url + '/login');
    assert.deepEqual(navSince(page, n), [['POST', '/logout', 303], ['GET', '/login', 200]]);
    assert.equal(await text(page, 'h1'), 'Sign in');
    // The signed-in cookie is gone; what the browser holds now (if any) is
    // the fresh pre-session GET /login just gave it.
    const after = await cookie(page, SID);
    assert.ok(after === undefined || (after.value !== sid1.value && after.value !== sid2.value),
      `sid after sign-out: ${after?.value}`);
    await shot(page, T, 'signed-out');
    n = navigations(page).length;
    res = await page.goto(srv.url + '/account');
    assert.equal(page.url(), srv.url + '/login');
    assert.deepEqual(navSince(page, n), [['GET', '/account', 303], ['GET', '/login', 200]]);
    await shot(page, T, 'account-redirects-to-login');
    // The old cookie is dead server-side too (a copy replayed by hand).
    {
      const r = await fetch(srv.url + '/account', { headers: { cookie: `${SID}=${sid2.value}` }, redirect: 'manual' });
      assert.equal(r.status, 303);
      assert.equal(r.headers.get('location'), '/login');
    }

    // 7. The old password no longer works; the new one does.
    await fillForm(page, { Email: EMAIL, Password: FIRST_PW });
    res = await submitExpect(page, 'Sign in', 400);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.match(await text(page, '.notice'), /^Invalid email or password\.?$/);
    assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), EMAIL, 'the email is kept');
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the password is not echoed');
    await shot(page, T, 'old-password-refused');
    await fillForm(page, { Password: SECOND_PW });
    n = navigations(page).length;
    res = await submitExpect(page, 'Sign in', 200);
    assert.equal(page.url(), srv.url + '/account');
    assert.deepEqual(navSince(page, n), [['POST', '/login', 303], ['GET', '/account', 200]]);
    assert.equal(await text(page, 'main p strong'), EMAIL);
    assert.equal(await page.locator('table tbody tr').count(), 1);
    const sid3 = await cookie(page, SID);
    assert.ok(sid3 && ![sid1.value, sid2.value].includes(sid3.value));
    await shot(page, T, 'signed-in-with-new-password');

    // 8. No CSP violations, console errors or failed requests anywhere
    // (Chromium logs the old password's 400 answer; nothing else).
    assert.deepEqual(problemsExcept(page, [[400, '/login']]), []);
  } finally {
    await page.context().close();
  }
});

test('accessibility: /login, /register and /forgot have labelled inputs, lang="en", one <h1>, a sane tab order', async () => {
  const T = 'browser a11y';
  const page = await newPage(browser);
  try {
    for (const [path, h1, fields, button] of [
      ['/login', 'Sign in', ['email', 'password'], 'Sign in'],
      ['/register', 'Create an account', ['email', 'name', 'password'], 'Create account'],
      ['/forgot', 'Reset your password', ['email'], 'Send the link'],
    ]) {
      const res = await page.goto(srv.url + path);
      assert.equal(res.status(), 200, path);
      const info = await page.evaluate(() => ({
        lang: document.documentElement.getAttribute('lang'),
        h1: [...document.querySelectorAll('h1')].map((h) => h.textContent.trim()),
        title: document.title,
        unlabelled: [...document.querySelectorAll('input, select, textarea')]
          .filter((e) => e.type !== 'hidden' && e.labels.length === 0)
          .map((e) => e.outerHTML),
        visibleInputs: [...document.querySelectorAll('input, select, textarea')]
          .filter((e) => e.type !== 'hidden').map((e) => e.id),
        labelsFor: [...document.querySelectorAll('label[for]')]
          .filter((l) => !document.getElementById(l.htmlFor)).map((l) => l.outerHTML),
      }));
      assert.equal(info.lang, 'en', path);
      assert.deepEqual(info.h1, [h1], path);
      assert.ok(info.title.startsWith(h1), `${path} title: ${info.title}`);
      assert.deepEqual(info.unlabelled, [], `${path}: inputs without a <label>`);
      assert.deepEqual(info.labelsFor, [], `${path}: labels pointing nowhere`);
      assert.deepEqual(info.visibleInputs, fields, path);
      await shot(page, T, path.slice(1));

      // Keyboard only: Tab from the top reaches the fields in order, then
      // the submit button, with nothing focusable in between.
      await page.locator('body').focus();
      const order = [];
      for (let i = 0; i < fields.length + 1; i++) {
        await page.keyboard.press('Tab');
        order.push(await page.evaluate(() => {
          const e = document.activeElement;
          return e.tagName === 'BUTTON' ? `button:${e.textContent.trim()}` : e.id;
        }));
      }
      assert.deepEqual(order, [...fields, `button:${button}`], `${path} tab order`);
    }

    // And a keyboard-only sign-in attempt: type, Enter submits the form.
    await page.goto(srv.url + '/login');
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.type('nobody@example.com');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not-the-password-at-all-42');
    const sent = page.waitForRequest((r) => r.method() === 'POST');
    const res = await expectNavigation(page, () => page.keyboard.press('Enter'));
    assert.equal(res.status(), 400, `Enter on /login: ${res.status()}, Origin: ${(await (await sent).allHeaders()).origin}; ${await text(page)}`);
    assert.match(await text(page, '.notice'), /^Invalid email or password/);
    assert.equal(await page.locator('[role=alert]').count(), 1, 'the error is announced (role=alert)');
    await shot(page, T, 'keyboard-login-refused');
    assert.deepEqual(problemsExcept(page, [[400, '/login']]), []);
  } finally {
    await page.context().close();
  }
});
