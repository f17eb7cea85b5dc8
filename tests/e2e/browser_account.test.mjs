// Issue 11 item 14, the account page in a real browser (Debian's Chromium
// through playwright-core): at a 900 px wide window the sessions table
// fits inside its card, and each session shows its browser and system in
// words ("Firefox on Windows", "curl"), never the raw User-Agent header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean } from './lib/server.mjs';
import { Client, addUser } from './lib/web.mjs';
import { chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, shot, fillForm, submit, problems } from './lib/browser.mjs';

const EMAIL = 'wide@example.com';
const UAS = {
  'Firefox on Windows': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Safari on iOS': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
    + 'Version/17.1 Mobile/15E148 Safari/604.1',
  curl: 'curl/8.5.0',
  // One long token, no space to break at: it must not reach the page.
  'Unknown browser': 'X-Custom-Agent_' + 'A'.repeat(180),
};

let srv;
let browser;
before(async () => {
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  srv = await startServer({ config: { login_delay_free: 50 } });
  addUser(srv, EMAIL);
  // Other sessions of the same user, from other devices.
  for (const ua of Object.values(UAS)) {
    const c = new Client(srv);
    const r = await c.login(EMAIL, undefined, { headers: { 'user-agent': ua } });
    assert.equal(r.status, 303, r.text);
  }
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  if (srv) await stopClean(srv);
});

test('the sessions table fits its card at 900 px and names browsers in words', async () => {
  const T = 'account sessions 900px';
  const page = await newPage(browser, { viewport: { width: 900, height: 800 } });
  try {
    await page.goto(srv.url + '/login');
    await fillForm(page, { Email: EMAIL, Password: 'Tq7!vR2#mZp9$Lw4xK-canary' });
    const res = await submit(page, 'Sign in');
    assert.equal(res.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/account');
    await shot(page, T, 'account');
    const m = await page.evaluate(() => {
      const main = document.querySelector('main');
      const table = main.querySelector('table');
      const mr = main.getBoundingClientRect();
      const tr = table.getBoundingClientRect();
      const cs = getComputedStyle(main);
      const inner = mr.right - parseFloat(cs.paddingRight) - parseFloat(cs.borderRightWidth);
      let widest = 0;
      for (const el of table.querySelectorAll('th, td, button')) widest = Math.max(widest, el.getBoundingClientRect().right);
      return {
        mainRight: mr.right, innerRight: inner, tableRight: tr.right, tableScroll: table.scrollWidth,
        tableClient: table.clientWidth, widest, docScroll: document.documentElement.scrollWidth,
        rows: [...table.querySelectorAll('tbody tr')].map((r) => r.cells[3].innerText.trim()),
      };
    });
    // The card stays inside the window, the table inside the card, and no
    // cell or button sticks out of the table.
    assert.ok(m.docScroll <= 900, `page scrolls sideways: ${JSON.stringify(m)}`);
    assert.ok(m.mainRight <= 900, JSON.stringify(m));
    assert.ok(m.tableRight <= m.innerRight + 0.5, `table past its card: ${JSON.stringify(m)}`);
    assert.ok(m.widest <= m.tableRight + 0.5, `a cell past the table: ${JSON.stringify(m)}`);
    assert.ok(m.tableScroll <= m.tableClient, JSON.stringify(m));
    // Browsers in words; Chromium itself is the signed-in session.
    assert.deepEqual([...m.rows].sort(), [...Object.keys(UAS), 'Chrome on Linux'].sort());
    const html = await page.content();
    assert.ok(!html.includes('Mozilla/5.0') && !html.includes('AAAAAAAAAA'), 'a raw User-Agent reached the page');
    assert.deepEqual(problems(page), []);
  } finally {
    await page.context().close();
  }
});
