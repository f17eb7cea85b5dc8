// The server as a real browser sees it: Debian's Chromium, driven by
// playwright-core (tests/e2e/lib/browser.mjs). CF-04: our pages cannot be
// framed by another origin (clickjacking).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean } from './lib/server.mjs';
import {
  chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, shot, pageLog, pageServer, text,
  fillForm, submit, cookie, navigations, problems,
} from './lib/browser.mjs';

let srv;
let browser;
before(async () => {
  // Fail, not skip: a CI without Chromium must not pass silently.
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  srv = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  if (srv) await stopClean(srv);
});

function assertAntiFraming(h, what) {
  assert.match(h['content-security-policy'] ?? '', /frame-ancestors 'none'/, what);
  assert.equal(h['x-frame-options'], 'DENY', what);
}

test('CF-04: Chromium loads discovery and health with anti-framing headers', async () => {
  const page = await newPage(browser);
  try {
    for (const [path, step] of [['/.well-known/openid-configuration', 'discovery'], ['/healthz', 'healthz']]) {
      const res = await page.goto(srv.url + path);
      assert.ok(res, path);
      assert.equal(res.status(), 200, path);
      // allHeaders(): the headers as Chromium received them off the wire.
      const h = await res.allHeaders();
      assertAntiFraming(h, path);
      assert.equal(h['x-content-type-options'], 'nosniff', path);
      assert.match(h['content-type'], /json/, path);
      await shot(page, 'CF-04 browser headers', step);
    }
    // The discovery document as Chromium received it, and as it shows it.
    const res = await page.goto(srv.url + '/.well-known/openid-configuration');
    assert.equal((await res.json()).issuer, srv.issuer);
    assert.ok((await text(page)).includes(`"issuer":"${srv.issuer}"`), await text(page));
    assert.deepEqual(pageLog(page).errors, []);
  } finally {
    await page.context().close();
  }
});

// A page of another origin (another port: same host, different origin) that
// frames whatever ?src= names.
const framer = `<!doctype html><title>framer</title>
<p>another origin framing:</p><iframe id="f" width="600" height="200"></iframe>
<script>document.getElementById('f').src = new URLSearchParams(location.search).get('src');</script>`;

// Resolves with how the request for url ended: { finished: true } or
// { failed: errorText }.
function requestOutcome(page, url) {
  return new Promise((resolve) => {
    const done = (r, v) => {
      if (r.url() !== url) return;
      page.off('requestfinished', onFinished);
      page.off('requestfailed', onFailed);
      resolve(v);
    };
    const onFinished = (r) => done(r, { finished: true });
    const onFailed = (r) => done(r, { failed: r.failure()?.errorText });
    page.on('requestfinished', onFinished);
    page.on('requestfailed', onFailed);
  });
}

// Loads a page that frames src and returns what the frame ended up as.
async function frameFrom(page, hostUrl, src) {
  const frameResponse = page.waitForEvent('response', (r) => r.url() === src);
  const outcome = requestOutcome(page, src);
  await page.goto(`${hostUrl}/framer?src=${encodeURIComponent(src)}`);
  const res = await frameResponse;
  const settled = await outcome;
  // The iframe's document once it settled: ours, or Chromium's error page.
  const handle = await page.locator('#f').elementHandle();
  const frame = await handle.contentFrame();
  await frame.waitForLoadState('load');
  return { res, outcome: settled, frameUrl: frame.url(), frameText: await frame.locator('body').innerText() };
}

test('CF-04: Chromium refuses to render our pages inside another origin\'s frame', async () => {
  const host = await pageServer({
    '/framer': framer,
    '/plain': (req, res) => { res.setHeader('content-type', 'text/plain'); res.end('FRAMEABLE-CONTROL'); },
  });
  const page = await newPage(browser);
  try {
    // Control: a page without anti-framing headers does render in the
    // frame, so a blocked frame below is the headers' doing, not the harness.
    const control = await frameFrom(page, host.url, `${host.url}/plain`);
    assert.deepEqual(control.outcome, { finished: true });
    assert.equal(control.frameUrl, `${host.url}/plain`);
    assert.match(control.frameText, /FRAMEABLE-CONTROL/);
    await shot(page, 'CF-04 framing', 'control-framed');

    const healthBody = await (await fetch(srv.url + '/healthz')).text();
    assert.ok(healthBody.length > 0);
    const before = pageLog(page).console.length;
    const ours = await frameFrom(page, host.url, `${srv.url}/healthz`);
    await shot(page, 'CF-04 framing', 'healthz-blocked');
    // The server did answer; Chromium blocked the response on its headers.
    assert.equal(ours.res.status(), 200);
    assertAntiFraming(await ours.res.allHeaders(), 'framed /healthz');
    assert.deepEqual(ours.outcome, { failed: 'net::ERR_BLOCKED_BY_RESPONSE' });
    // The frame holds Chromium's error page, none of our content.
    assert.match(ours.frameUrl, /^chrome-error:/);
    assert.ok(!ours.frameText.includes(healthBody.trim()), `framed content leaked: ${ours.frameText}`);
    // And Chromium says why: the CSP frame-ancestors directive.
    const said = pageLog(page).console.slice(before).map((m) => m.text).join('\n');
    assert.match(said, /frame-ancestors 'none'/);
  } finally {
    await page.context().close();
    await host.close();
  }
});

// A data: URL page is no use here: Chromium's Local Network Access checks
// stop it reaching 127.0.0.1 at all (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS),
// before our headers are seen. about:blank has an opaque origin too and
// does reach the server.
test('CF-04: an about:blank page (opaque origin) cannot frame us either', async () => {
  const page = await newPage(browser);
  try {
    const src = `${srv.url}/.well-known/openid-configuration`;
    const response = page.waitForEvent('response', (r) => r.url() === src);
    const outcome = requestOutcome(page, src);
    await page.setContent(`<!doctype html><iframe id="f" src="${src}"></iframe>`);
    assert.equal(page.url(), 'about:blank');
    assert.equal((await response).status(), 200, 'the server answered');
    assert.deepEqual(await outcome, { failed: 'net::ERR_BLOCKED_BY_RESPONSE' });
    const frame = await (await page.locator('#f').elementHandle()).contentFrame();
    await frame.waitForLoadState('load');
    assert.match(frame.url(), /^chrome-error:/);
    assert.ok(!(await frame.locator('body').innerText()).includes(srv.issuer));
    await shot(page, 'CF-04 framing', 'about-blank-blocked');
  } finally {
    await page.context().close();
  }
});

// The helpers the sign-in flow tests build on, against a local fixture: a
// form by label, a POST answered 303 with a cookie, the redirect followed.
test('browser lib: fillForm, submit through a 303, cookies, navigations', async () => {
  const rp = await pageServer({
    '/form': `<!doctype html><title>form</title><form method="post" action="/post">
      <label for="e">Email</label><input id="e" name="email">
      <label>Password <input type="password" name="password"></label>
      <label><input type="checkbox" name="keep"> Keep me signed in</label>
      <button type="submit">Sign in</button></form>`,
    '/post': (req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        res.statusCode = 303;
        res.setHeader('location', '/done');
        res.setHeader('set-cookie', `got=${encodeURIComponent(body)}; Path=/; HttpOnly; SameSite=Lax`);
        res.end();
      });
    },
    '/done': '<!doctype html><title>done</title><h1>Signed in</h1>',
  });
  const page = await newPage(browser);
  try {
    await page.goto(rp.url + '/form');
    await fillForm(page, { Email: 'a@b.example', Password: 'pw 1', 'Keep me signed in': true });
    await shot(page, 'browser lib', 'form-filled');
    const res = await submit(page, 'Sign in');
    assert.equal(res.status(), 200);
    assert.equal(page.url(), rp.url + '/done');
    assert.equal(await text(page, 'h1'), 'Signed in');
    const c = await cookie(page, 'got');
    assert.equal(decodeURIComponent(c.value), 'email=a%40b.example&password=pw+1&keep=on');
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Lax');
    assert.deepEqual(navigations(page).map((n) => [n.method, new URL(n.url).pathname, n.status]),
      [['GET', '/form', 200], ['POST', '/post', 303], ['GET', '/done', 200]]);
    assert.deepEqual(problems(page), []);
  } finally {
    await page.context().close();
    await rp.close();
  }
});
