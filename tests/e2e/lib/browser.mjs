// A real browser for the black-box tests: Debian's chromium driven over CDP
// by npm playwright-core (which never downloads a browser of its own).
//
//   const browser = await launchBrowser();        // one per test file
//   const page = await newPage(browser);          // fresh context: no cookies
//   const res = await page.goto(srv.url + '/login');
//   await shot(page, 'SS-01 sign in', 'form');    // tests/e2e/out/SS-01-sign-in/01-form.png
//   await fillForm(page, { Email: 'a@b.example', Password: 'pw' });
//   const r = await submit(page, 'Sign in');      // final main-frame response
//   const sid = await cookie(page, '__Host-sid');
//   assert.deepEqual(problems(page), []);         // no console errors, no CSP reports
//   after(() => browser.close());
//
// playwright-core is pinned to the release whose bundled Chromium has the
// major version Debian ships (bookworm-security); when Debian moves chromium
// to a new major, move the pin in package.json with it.
import { chromium } from 'playwright-core';
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';
export const OUT_DIR = fileURLToPath(new URL('../out/', import.meta.url));

// Timeouts are generous: the server under test may run under ASan.
const ACTION_TIMEOUT = 15_000;
const NAV_TIMEOUT = 30_000;

export function chromiumAvailable() {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const MISSING_CHROMIUM =
  `no Chromium at ${CHROMIUM}: install Debian's chromium (scripts/deps.sh test), ` +
  'or point PORTCULLIS_CHROMIUM at one';

export async function launchBrowser(opts = {}) {
  if (!chromiumAvailable()) throw new Error(MISSING_CHROMIUM);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium refuses to start as root with its sandbox on ("Running as
    // root without --no-sandbox is not supported", crbug.com/638180), and
    // CI runs as root in a container, where neither the setuid sandbox nor
    // unprivileged user namespaces can be relied on. playwright already
    // defaults to chromiumSandbox: false; say it here so a changed default
    // does not break CI. The pages loaded are our own server's and local
    // fixtures only.
    chromiumSandbox: false,
    args: [
      '--no-sandbox',
      // A container's /dev/shm is often 64 MiB; Chromium then crashes in
      // shared-memory allocation. Use /tmp instead.
      '--disable-dev-shm-usage',
      // No GPU in CI; software compositing is enough for screenshots.
      '--disable-gpu',
    ],
    timeout: NAV_TIMEOUT,
    ...opts,
  });
}

// Per-page console errors, page errors and failed requests, for problems().
const seen = new WeakMap();

// A page in a fresh context (its own cookie jar and storage). Context
// options (e.g. { ignoreHTTPSErrors: true } for a self-signed tls server,
// or { javaScriptEnabled: false }) pass through to browser.newContext().
export async function newPage(browser, contextOpts = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, ...contextOpts });
  context.setDefaultTimeout(ACTION_TIMEOUT);
  context.setDefaultNavigationTimeout(NAV_TIMEOUT);
  const page = await context.newPage();
  const log = { console: [], errors: [], failed: [], navigations: [] };
  seen.set(page, log);
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text(), url: m.location()?.url }));
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('requestfailed', (r) => log.failed.push({ url: r.url(), error: r.failure()?.errorText }));
  page.on('response', (r) => {
    const req = r.request();
    if (req.isNavigationRequest() && r.frame() === page.mainFrame()) {
      log.navigations.push({ method: req.method(), url: r.url(), status: r.status(), location: r.headers().location });
    }
  });
  return page;
}

// What the page logged, for assertions: console messages (CSP violations
// show up here as errors), uncaught page errors and failed requests.
export function pageLog(page) {
  return seen.get(page) ?? { console: [], errors: [], failed: [], navigations: [] };
}

// Everything that should not happen on a well-behaved page: console errors
// (including CSP violations), uncaught exceptions and failed requests. The
// 404 for the /favicon.ico that Chromium asks for by itself is not one.
const isFavicon = (m) => /^[^?#]*\/favicon\.ico([?#]|$)/.test(m.url ?? '');
export function problems(page) {
  const log = pageLog(page);
  return [
    ...log.console.filter((m) => m.type === 'error' && !isFavicon(m))
      .map((m) => `console: ${m.text}${m.url ? ` (${m.url})` : ''}`),
    ...log.errors.map((e) => `pageerror: ${e}`),
    ...log.failed.map((f) => `failed: ${f.url} ${f.error}`),
  ];
}

// The main-frame navigation responses so far, redirects included, in order:
// [{ method, url, status, location }].
export function navigations(page) {
  return pageLog(page).navigations;
}

function slug(s) {
  return String(s).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

// Saves a full-page PNG to tests/e2e/out/<testName>/<NN-step>.png, NN
// counting up per testName in this process (the folder is emptied at its
// first shot, so it holds one run's pictures). Returns the path.
const shotCount = new Map();
export async function shot(page, testName, step) {
  const dir = join(OUT_DIR, slug(testName));
  if (!shotCount.has(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const n = (shotCount.get(dir) ?? 0) + 1;
  shotCount.set(dir, n);
  const path = join(dir, `${String(n).padStart(2, '0')}-${slug(step)}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

// The cookies the browser would send to the current page's URL (or to url),
// with their attributes: [{ name, value, domain, path, expires, httpOnly,
// secure, sameSite }].
export async function cookies(page, url = page.url()) {
  return page.context().cookies(url);
}

export async function cookie(page, name, url = page.url()) {
  return (await cookies(page, url)).find((c) => c.name === name);
}

// Fills inputs found by their <label> text (exact match), in order:
// fillForm(page, { Email: 'a@b.example', Password: 'x' }). A boolean value
// checks or unchecks a checkbox.
export async function fillForm(page, fields) {
  for (const [label, value] of Object.entries(fields)) {
    const input = page.getByLabel(label, { exact: true });
    if (typeof value === 'boolean') await input.setChecked(value);
    else await input.fill(String(value));
  }
}

// Clicks the submit button named `button` (its visible text or value) and
// waits for the resulting navigation to load, following redirects; returns
// the final main-frame response (null for same-document navigation).
export async function submit(page, button) {
  const nav = page.waitForNavigation({ waitUntil: 'load' });
  await page.getByRole('button', { name: button, exact: true }).click({ noWaitAfter: true });
  return nav;
}

// Runs fn (which should make the main frame navigate: a click, a form
// submit, a script) and returns the final response once the page loaded.
export async function expectNavigation(page, fn) {
  const nav = page.waitForNavigation({ waitUntil: 'load' });
  await fn();
  return nav;
}

// The visible text of the page (or of a selector), whitespace collapsed.
export async function text(page, selector = 'body') {
  return (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();
}

// A tiny HTTP server on 127.0.0.1 for what the browser needs besides the
// server under test: another origin that frames our pages, or a relying
// party's redirect_uri that records what it was sent.
//   const rp = await pageServer({ '/cb': (req, res) => res.end('ok') });
//   rp.url, rp.requests ([{ method, url, headers }]), await rp.close()
// A route is a handler (req, res) or a string served as text/html.
export async function pageServer(routes = {}) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    const path = new URL(req.url, 'http://x').pathname;
    const route = routes[path];
    if (route === undefined) {
      res.statusCode = 404;
      res.end('not found');
    } else if (typeof route === 'function') {
      route(req, res);
    } else {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(route);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  server.unref();
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
