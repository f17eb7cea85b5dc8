// Issue 15 item 2 in a real browser (Debian's Chromium through
// playwright-core): a person signs in, reads the consent page of an agent
// (an agent will act on their behalf, at which resource, with which
// scopes, for how long), picks a shorter lifetime from the select and
// allows; then, on the account page, finds the agent under "Agents acting
// for you" (the table fits its card at 900 px) and revokes it with its
// button: the agent's tokens are dead at once (TX-08).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startServer, stopClean } from './lib/server.mjs';
import { addUser, cliAt, GOOD_PW } from './lib/web.mjs';
import {
  chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, shot, fillForm, submit, problems, text, pageServer,
} from './lib/browser.mjs';

const EMAIL = 'carol@example.com';
const API = 'https://api.example.com';
const DAY = 86400;
let srv, browser, rp, agent, api;

function cliJson(args) {
  const r = cliAt(srv, [...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function post(path, form, headers = {}) {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}
const introspect = async (t) => (await post('/introspect', { token: t },
  { authorization: 'Basic ' + Buffer.from(`${api.client_id}:${api.client_secret}`).toString('base64') })).body;

before(async () => {
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  srv = await startServer({ config: { delegation_ttl: '7d' } });
  addUser(srv, EMAIL);
  rp = await pageServer({ '/cb': '<!doctype html><title>back</title><p>back at the agent</p>' });
  api = cliJson(['resource', 'add', '--id', API, '--scope', 'calendar:read calendar:write', '--name', 'Calendar API']);
  const owner = cliJson(['group', 'add', '--name', 'agents']);
  agent = cliJson(['agent', 'add', '--name', 'Meeting Scheduler', '--owner', owner.id, '--resource', API, '--public',
    '--no-dpop-required', '--redirect-uri', rp.url + '/cb']);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await rp?.close();
  if (srv) await stopClean(srv);
});

test('TX-08 in Chromium: consent to an agent for one day, then revoke it from the account page', async () => {
  const T = 'agent consent and revoke';
  const page = await newPage(browser, { viewport: { width: 900, height: 900 } });
  try {
    const verifier = randomBytes(32).toString('base64url');
    const q = new URLSearchParams({
      response_type: 'code', client_id: agent.client_id, redirect_uri: rp.url + '/cb',
      scope: 'calendar:read offline_access', state: 'st-1', resource: API,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    });
    await page.goto(srv.url + '/authorize?' + q);
    assert.equal(new URL(page.url()).pathname, '/login');
    await fillForm(page, { Email: EMAIL, Password: GOOD_PW });
    await submit(page, 'Sign in');
    // The consent page, in words.
    const consent = await text(page, 'main');
    await shot(page, T, 'consent');
    assert.match(consent, /Let an agent act for you\?/);
    assert.match(consent, /Meeting Scheduler is an agent: a program that will act on your behalf/);
    assert.match(consent, /It will act at Calendar API \(https:\/\/api\.example\.com\), where it may:/);
    assert.match(consent, /Use the permission calendar:read/);
    assert.match(consent, /Stay connected while you are away/);
    const select = page.getByLabel('For how long', { exact: true });
    assert.equal(await select.inputValue(), String(7 * DAY), 'the policy\'s maximum is the default');
    await select.selectOption({ label: '1 day' });
    const back = await submit(page, 'Allow');
    assert.equal(back.status(), 200);
    const cb = new URL(page.url());
    assert.equal(cb.origin + cb.pathname, rp.url + '/cb');
    assert.equal(cb.searchParams.get('state'), 'st-1');
    const t = await post('/token', {
      grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: rp.url + '/cb',
      code_verifier: verifier, client_id: agent.client_id, resource: API,
    });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    const at = t.body.access_token;
    const info = await introspect(at);
    assert.equal(info.active, true);
    assert.equal(info.aud, API);
    // The account page shows the delegation, and its table fits the card.
    await page.goto(srv.url + '/account');
    await shot(page, T, 'account');
    const m = await page.evaluate(() => {
      const table = document.querySelector('#agents');
      const main = document.querySelector('main');
      const row = table.querySelector('tbody tr');
      return {
        cells: [...row.cells].map((c) => c.innerText.trim()),
        tableRight: table.getBoundingClientRect().right,
        mainRight: main.getBoundingClientRect().right,
        docScroll: document.documentElement.scrollWidth,
      };
    });
    assert.equal(m.cells[0], 'Meeting Scheduler (agent)');
    assert.equal(m.cells[1], API);
    assert.equal(m.cells[2], 'calendar:read offline_access');
    const until = Date.parse(m.cells[4].replace(' UTC', 'Z').replace(' ', 'T'));
    assert.ok(Math.abs(until - (Date.now() + DAY * 1000)) < 3 * 60 * 1000, `until ${m.cells[4]}: one day, as chosen`);
    assert.equal(m.cells[5], 'never');
    assert.ok(m.docScroll <= 900 && m.tableRight <= m.mainRight + 0.5, `the table fits: ${JSON.stringify(m)}`);
    // Revoke: the page says so, the agent's token is dead at once.
    await submit(page, 'Revoke');
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.match(await text(page, 'main'), /The delegation was revoked/);
    assert.match(await text(page, 'main'), /No agent or application is acting for you/);
    await shot(page, T, 'revoked');
    assert.equal((await introspect(at)).active, false);
    const r = await post('/token', { grant_type: 'refresh_token', refresh_token: t.body.refresh_token, client_id: agent.client_id });
    assert.equal(r.status, 400);
    assert.deepEqual(problems(page), []);
  } finally {
    await page.context().close();
  }
});
