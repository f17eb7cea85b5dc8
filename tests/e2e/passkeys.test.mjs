// Passkeys end to end (issue 16; SECURITY.md WA-01..08) in real Chromium
// with the DevTools WebAuthn virtual authenticator (ctap2, internal
// transport, resident keys, user verification on or off): enrolment after a
// recent sign-in, passwordless sign-in without an email, and the attacks —
// a relay from another origin, a replayed ceremony, a replayed (cloned)
// counter, UV stripped by the client, the same credential id registered by
// a second user, removal from a stale session. The server's issuer is
// http://localhost:PORT, a secure context for the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, run, startServer, stopClean, tempDir } from './lib/server.mjs';
import { Client, GOOD_PW, addUser, auditRows, csrfOf } from './lib/web.mjs';
import {
  chromiumAvailable, MISSING_CHROMIUM, launchBrowser, newPage, shot, fillForm, submit, problems, text, pageServer,
} from './lib/browser.mjs';

const ALICE = 'alice-pk@example.com';
const BOB = 'bob-pk@example.com';
const CAROL = 'carol-pk@example.com';
const DAVE = 'dave-pk@example.com';
const ERIN = 'erin-pk@example.com';
const DOCS_IMG = fileURLToPath(new URL('../../docs/img/', import.meta.url));

let srv;
let browser;
let port;
let origin;
const users = {};

before(async () => {
  assert.ok(chromiumAvailable(), MISSING_CHROMIUM);
  port = await freePort();
  origin = `http://localhost:${port}`;
  srv = await startServer({
    port,
    issuer: origin,
    config: { reauth_window: '5s', login_delay_free: 50, pwhash_memory: '19m', pwhash_iterations: '2' },
  });
  for (const e of [ALICE, BOB, CAROL, DAVE, ERIN]) users[e] = addUser(srv, e);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  if (srv) await stopClean(srv);
});

// A fetch client on the issuer's own origin (Host: localhost:PORT).
function client() {
  const c = new Client(srv);
  c.base = origin;
  return c;
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const fromB64 = (s) => Buffer.from(s, 'base64');

function mails() {
  const dir = join(srv.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, ''));
}

async function waitFor(fn, what) {
  for (let i = 0; i < 100; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

// A page with its own virtual authenticator (and, optionally, a credential
// exported from another one).
async function authPage({ uv = true, cred } = {}) {
  const page = await newPage(browser);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: uv, automaticPresenceSimulation: true,
    },
  });
  if (cred) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: cred });
  const creds = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  return { page, cdp, authenticatorId, creds };
}

async function passwordSignIn(page, email) {
  await page.goto(origin + '/login');
  await fillForm(page, { Email: email, Password: GOOD_PW });
  const res = await submit(page, 'Sign in');
  assert.equal(new URL(page.url()).pathname, '/account', `signed in: ${res.status()}`);
}

// Signs email in with the password and enrols a passkey named name; returns
// the credential as the authenticator holds it and the add request's body.
async function enrol(email, name, { screenshot = false } = {}) {
  const a = await authPage();
  await passwordSignIn(a.page, email);
  await a.page.goto(origin + '/account/passkeys');
  let body = null;
  a.page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/account/passkeys')) body = r.postData();
  });
  await a.page.getByLabel('Name', { exact: true }).fill(name);
  await submit(a.page, 'Add a passkey');
  assert.equal(new URL(a.page.url()).search, '?done=added', await text(a.page));
  assert.match(await text(a.page), new RegExp(name));
  if (screenshot) {
    // The picture in docs/passkeys.md: refreshed when missing or asked for
    // (PORTCULLIS_DOCS_SHOTS=1), so a test run leaves the tree clean.
    await a.page.getByLabel('Name', { exact: true }).fill('Phone');
    const p = await shot(a.page, 'passkeys enrol', 'added');
    const doc = join(DOCS_IMG, 'passkey-enrol.png');
    if (process.env.PORTCULLIS_DOCS_SHOTS === '1' || !existsSync(doc)) {
      mkdirSync(DOCS_IMG, { recursive: true });
      copyFileSync(p, doc);
    }
  }
  const [cred] = await a.creds();
  assert.ok(cred, 'the authenticator holds a credential');
  return { ...a, cred, body };
}

let alice; // { page, cred, body, ... }

test('WA-05, WA-07: a passkey is enrolled after a recent sign-in, with an opaque user handle; audited and mailed', async () => {
  alice = await enrol(ALICE, 'Alice laptop', { screenshot: true });
  const { cred } = alice;
  assert.equal(cred.rpId, 'localhost');
  assert.equal(cred.isResidentCredential, true, 'a discoverable credential');
  // WA-05: user.id is 32 random bytes, never the email or the user id.
  const handle = fromB64(cred.userHandle);
  assert.equal(handle.length, 32);
  assert.ok(!handle.toString('latin1').includes('alice'));
  assert.ok(!handle.toString('latin1').includes(users[ALICE].id));
  const enrolRow = auditRows(srv).find((r) => r.event === 'mfa.passkey.enrol' && r.outcome === 'success');
  assert.ok(enrolRow, 'mfa.passkey.enrol audited');
  assert.equal(enrolRow.actor, users[ALICE].id);
  await waitFor(() => mails().some((m) => m.includes(`To: ${ALICE}`) && m.includes('A passkey was added')), 'the mail');
  assert.deepEqual(problems(alice.page), []);
});

test('WA-02: a captured enrolment answer cannot be replayed', async () => {
  assert.ok(alice?.body, 'the enrolment request was captured');
  const r = await alice.page.evaluate(async (body) => {
    const res = await fetch('/account/passkeys', {
      method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    return { status: res.status, text: await res.text() };
  }, alice.body);
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /expired or was already used/);
});

test('WA-08, WA-04: sign in with a passkey alone, no email typed; amr hwk mfa', async () => {
  const a = await authPage({ cred: alice.cred });
  try {
    await a.page.goto(origin + '/login');
    // WA-08: nothing about any account is on the page.
    const html = await a.page.content();
    assert.match(html, /data-passkey="get"/);
    assert.match(html, /data-creds=""/);
    await submit(a.page, 'Sign in with a passkey');
    assert.equal(new URL(a.page.url()).pathname, '/account', await text(a.page));
    const row = auditRows(srv).filter((x) => x.event === 'login' && x.outcome === 'success').at(-1);
    assert.equal(row.actor, users[ALICE].id);
    assert.equal(row.details.amr, 'hwk mfa');
    assert.equal(row.details.method, 'passkey');
    assert.deepEqual(problems(a.page), []);
    // The counter moved on: later tests start from here (an older copy
    // would be a clone, WA-03).
    [alice.cred] = await a.creds();
  } finally {
    await a.page.context().close();
  }
});

test('password + passkey: the second step takes the passkey; amr pwd hwk mfa', async () => {
  const a = await authPage({ uv: false, cred: alice.cred });
  try {
    await a.page.goto(origin + '/login');
    await fillForm(a.page, { Email: ALICE, Password: GOOD_PW });
    await submit(a.page, 'Sign in');
    // MF-04: the password alone gives no session, only the second step.
    assert.equal(new URL(a.page.url()).pathname, '/login/mfa', await text(a.page));
    // After a password, presence is the second factor (UV not needed).
    await submit(a.page, 'Use a passkey');
    assert.equal(new URL(a.page.url()).pathname, '/account', await text(a.page));
    const row = auditRows(srv).filter((x) => x.event === 'login' && x.outcome === 'success').at(-1);
    assert.equal(row.actor, users[ALICE].id);
    assert.equal(row.details.amr, 'pwd hwk mfa');
    assert.deepEqual(problems(a.page), []);
    [alice.cred] = await a.creds();
  } finally {
    await a.page.context().close();
  }
});

test('WA-04: a step-up of a password session takes a verifying passkey; amr pwd hwk mfa', async () => {
  // Erin's session is a password one from before her passkey existed.
  const e = await enrol(ERIN, 'Erin key');
  try {
    // Without user verification (the client asking for none) it is refused.
    await e.cdp.send('WebAuthn.setUserVerified', { authenticatorId: e.authenticatorId, isUserVerified: false });
    await e.page.goto(origin + '/login/mfa');
    await e.page.evaluate(() => { document.querySelector('form[data-passkey]').dataset.uv = 'discouraged'; });
    const bad = await submit(e.page, 'Use a passkey');
    assert.equal(bad.status(), 400);
    assert.match(await text(e.page), /could not be verified/);
    await e.cdp.send('WebAuthn.setUserVerified', { authenticatorId: e.authenticatorId, isUserVerified: true });
    await e.page.goto(origin + '/login/mfa');
    assert.equal(await e.page.getAttribute('form[data-passkey]', 'data-uv'), 'required');
    await submit(e.page, 'Use a passkey');
    assert.equal(new URL(e.page.url()).pathname, '/account', await text(e.page));
    const row = auditRows(srv).filter((x) => x.event === 'login' && x.outcome === 'success').at(-1);
    assert.equal(row.actor, users[ERIN].id);
    assert.equal(row.details.amr, 'pwd hwk mfa');
  } finally {
    await e.page.context().close();
  }
});

test('WA-04: a sign-in whose authenticator did not verify the user is refused, whatever the client asked', async () => {
  const a = await authPage({ uv: false, cred: alice.cred });
  try {
    await a.page.goto(origin + '/login');
    // The client is the attacker's: it asks for no verification.
    await a.page.evaluate(() => { document.querySelector('form[data-passkey]').dataset.uv = 'discouraged'; });
    const res = await submit(a.page, 'Sign in with a passkey');
    assert.equal(res.status(), 400);
    assert.match(await text(a.page), /could not be verified/);
    assert.equal(new URL(a.page.url()).pathname, '/login/passkey');
    const r = await a.page.goto(origin + '/account');
    assert.equal(new URL(a.page.url()).pathname, '/login', `not signed in (${r.status()})`);
  } finally {
    await a.page.context().close();
  }
});

test('WA-01: an answer relayed from another origin is refused', async () => {
  const evil = await pageServer({ '/': '<!doctype html><title>evil</title><p>hello</p>' });
  const evilOrigin = evil.url.replace('127.0.0.1', 'localhost');
  const a = await authPage({ cred: alice.cred });
  try {
    // The phisher fetches a real challenge for their own session ...
    await a.page.goto(origin + '/login');
    const challenge = await a.page.getAttribute('form[data-passkey]', 'data-challenge');
    // ... and has the victim's browser answer it on the phisher's origin
    // (same RP ID "localhost", another port: the browser allows it).
    await a.page.goto(evilOrigin + '/');
    const answer = await a.page.evaluate(async (ch) => {
      const enc = (b) => btoa(String.fromCharCode(...new Uint8Array(b)))
        .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      const c = await navigator.credentials.get({ publicKey: { challenge: dec(ch), rpId: 'localhost', userVerification: 'required' } });
      return {
        credential_id: enc(c.rawId), client_data: enc(c.response.clientDataJSON),
        authenticator_data: enc(c.response.authenticatorData), signature: enc(c.response.signature),
        user_handle: enc(c.response.userHandle),
      };
    }, challenge);
    assert.equal(JSON.parse(Buffer.from(answer.client_data, 'base64url')).origin, evilOrigin);
    // Then posts it to us from the session the challenge belongs to.
    await a.page.goto(origin + '/login');
    const nav = a.page.waitForNavigation();
    await a.page.evaluate(({ ch, ans }) => {
      const f = document.querySelector('form[data-passkey]');
      f.elements.challenge.value = ch;
      for (const [k, v] of Object.entries(ans)) f.elements[k].value = v;
      HTMLFormElement.prototype.submit.call(f);
    }, { ch: challenge, ans: answer });
    const res = await nav;
    assert.equal(res.status(), 400);
    assert.match(await text(a.page), /could not be verified/);
    const row = auditRows(srv).filter((x) => x.event === 'login' && x.outcome === 'failure').at(-1);
    assert.equal(row.details.method, 'passkey');
  } finally {
    await a.page.context().close();
    await evil.close();
  }
});

test('WA-03: a replayed signature counter flags the passkey, audits it and refuses', async () => {
  const bob = await enrol(BOB, 'Bob key');
  const old = bob.cred; // the counter as enrolled
  await bob.page.context().close();
  // A real sign-in moves the counter on.
  const a = await authPage({ cred: old });
  await a.page.goto(origin + '/login');
  await submit(a.page, 'Sign in with a passkey');
  assert.equal(new URL(a.page.url()).pathname, '/account', await text(a.page));
  await a.page.context().close();
  // A copy of the key with the old counter signs again.
  const c = await authPage({ cred: old });
  try {
    await c.page.goto(origin + '/login');
    const res = await submit(c.page, 'Sign in with a passkey');
    assert.equal(res.status(), 400);
    assert.match(await text(c.page), /blocked/);
    const rows = auditRows(srv);
    const cl = rows.find((x) => x.event === 'mfa.passkey.cloned');
    assert.ok(cl, 'mfa.passkey.cloned audited');
    assert.equal(cl.actor, users[BOB].id);
    // Flagged for good: the real authenticator is refused now too.
    await c.page.goto(origin + '/login');
    const again = await submit(c.page, 'Sign in with a passkey');
    assert.equal(again.status(), 400);
  } finally {
    await c.page.context().close();
  }
});

// ---- A hand-made "none" attestation, for a credential id of our choice.
function cbor(v) {
  const head = (major, n) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 256) return Buffer.from([(major << 5) | 24, n]);
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  };
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
  const entries = v instanceof Map ? [...v] : Object.entries(v);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)])]);
}

function noneAttestation(challenge, credId) {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = cbor(new Map([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x, 'base64url')],
    [-3, Buffer.from(jwk.y, 'base64url')]]));
  const len = Buffer.alloc(2);
  len.writeUInt16BE(credId.length);
  const authData = Buffer.concat([
    createHash('sha256').update('localhost').digest(), Buffer.from([0x45]), Buffer.alloc(4),
    Buffer.alloc(16), len, credId, cose,
  ]);
  const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge, origin, crossOrigin: false }));
  return {
    client_data: b64u(clientData),
    attestation_object: b64u(cbor(new Map([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]))),
  };
}

// Adds a passkey with a hand-made answer on c's recent session.
async function addMade(c, credId) {
  const page = await c.get('/account/passkeys');
  const challenge = page.text.match(/data-challenge="([^"]+)"/)[1];
  return c.post('/account/passkeys', {
    csrf: csrfOf(page.text, '/account/passkeys'), action: 'add', challenge, name: 'Made',
    ...noneAttestation(challenge, credId),
  });
}

test('WA-05: a second user cannot register a credential id that is already registered', async () => {
  const c = client();
  assert.equal((await c.login(CAROL)).status, 303);
  const addWith = (credId) => addMade(c, credId);
  // The hand-made answer is good: with a fresh id it is accepted ...
  const ok = await addWith(randomBytes(32));
  assert.equal(ok.status, 303, ok.text);
  // ... and with Alice's credential id it is refused.
  const dup = await addWith(fromB64(alice.cred.credentialId));
  assert.equal(dup.status, 409, dup.text);
  assert.match(dup.text, /already registered/);
  // Alice's passkey is still hers and still signs her in.
  const a = await authPage({ cred: alice.cred });
  try {
    await a.page.goto(origin + '/login');
    await submit(a.page, 'Sign in with a passkey');
    assert.equal(new URL(a.page.url()).pathname, '/account');
    const row = auditRows(srv).filter((x) => x.event === 'login' && x.outcome === 'success').at(-1);
    assert.equal(row.actor, users[ALICE].id);
    [alice.cred] = await a.creds();
  } finally {
    await a.page.context().close();
  }
});

test('MF-04: at the second step the passkey must be the pending user\'s own', async () => {
  // Carol (password right, a passkey of her own) is at her second step;
  // the browser holds Alice's passkey and the page is made to ask for any.
  const a = await authPage({ cred: alice.cred });
  try {
    await a.page.goto(origin + '/login');
    await fillForm(a.page, { Email: CAROL, Password: GOOD_PW });
    await submit(a.page, 'Sign in');
    assert.equal(new URL(a.page.url()).pathname, '/login/mfa', await text(a.page));
    await a.page.evaluate(() => { document.querySelector('form[data-passkey]').dataset.creds = ''; });
    const res = await submit(a.page, 'Use a passkey');
    assert.equal(res.status(), 400);
    assert.match(await text(a.page), /could not be verified/);
    const row = auditRows(srv).filter((x) => x.event === 'mfa.failure').at(-1);
    assert.equal(row.actor, users[CAROL].id);
    await a.page.goto(origin + '/account');
    assert.equal(new URL(a.page.url()).pathname, '/login', 'not signed in');
  } finally {
    await a.page.context().close();
  }
});

test('MF-03: wrong passkeys at the second step count towards the account\'s failure limit', async () => {
  const c = client();
  const r = await c.login(CAROL);
  assert.equal(r.location?.startsWith('/login/mfa'), true, r.location);
  let last;
  for (let i = 0; i < 8; i++) {
    const page = await c.get('/login/mfa');
    assert.equal(page.status, 200, page.text);
    const challenge = page.text.match(/data-challenge="([^"]+)"/)[1];
    last = await c.post('/login/passkey', {
      csrf: csrfOf(page.text, '/login/passkey'), purpose: 'factor', challenge,
      credential_id: 'AAAA', client_data: 'AAAA', authenticator_data: 'AAAA', signature: 'AAAA',
    });
    if (last.status === 429) break;
    assert.equal(last.status, 400, last.text);
  }
  assert.equal(last.status, 429, 'the backoff stops the guessing');
  assert.ok(Number(last.headers.get('retry-after')) > 0);
  assert.ok(auditRows(srv).some((x) => x.event === 'mfa.failure_burst' && x.actor === users[CAROL].id));
});

test('SS-09, WA-07: adding or removing a passkey from a stale session needs the password; removal is audited and mailed', async () => {
  const c = client();
  assert.equal((await c.login(DAVE)).status, 303);
  const daveCred = randomBytes(32);
  assert.equal((await addMade(c, daveCred)).status, 303);
  // Renaming needs only the form's token.
  let list = await c.get('/account/passkeys');
  const pk = list.text.match(/name="id" value="(pk_[^"]+)"/)[1];
  const rn = await c.post('/account/passkeys', { csrf: csrfOf(list.text, '/account/passkeys'), action: 'rename', id: pk, name: 'Dave desk' });
  assert.equal(rn.location, '/account/passkeys?done=renamed');
  list = await c.get('/account/passkeys');
  assert.match(list.text, /Dave desk/);
  // WA-05: the ceremony excludes the passkeys the account has.
  assert.match(list.text, new RegExp(`data-creds="${b64u(daveCred)}"`));
  await new Promise((r) => setTimeout(r, 5500)); // past reauth_window
  let page = await c.get('/account/passkeys');
  assert.doesNotMatch(page.text, /data-passkey="create"/, 'no ceremony without a recent sign-in');
  const id = page.text.match(/name="id" value="(pk_[^"]+)"/)[1];
  const csrf = csrfOf(page.text, '/account/passkeys');
  const add = await c.post('/account/passkeys', { csrf, action: 'add' });
  assert.equal(add.status, 403);
  assert.match(add.text, /Confirm it is you/);
  const rm = await c.post('/account/passkeys', { csrf, action: 'remove', id });
  assert.equal(rm.status, 403);
  assert.match(rm.text, /name="then" value="passkeys"/);
  assert.match((await c.get('/account/passkeys')).text, new RegExp(id), 'still there');
  const re = await c.post('/account/reauth', { csrf: csrfOf(rm.text, '/account/reauth'), password: GOOD_PW, then: 'passkeys' });
  assert.equal(re.location, '/account/passkeys?done=reauth');
  page = await c.get('/account/passkeys');
  assert.match(page.text, /data-passkey="create"/);
  const done = await c.post('/account/passkeys', { csrf: csrfOf(page.text, '/account/passkeys'), action: 'remove', id });
  assert.equal(done.location, '/account/passkeys?done=removed', done.text);
  assert.doesNotMatch((await c.get('/account/passkeys')).text, new RegExp(id));
  const row = auditRows(srv).find((x) => x.event === 'mfa.passkey.remove');
  assert.equal(row?.target, id);
  await waitFor(() => mails().some((m) => m.includes(`To: ${DAVE}`) && m.includes('A passkey was removed')), 'the mail');
});

test('an IP-literal issuer cannot offer passkeys: the account page says so, /login has no passkey form', async () => {
  const ip = await startServer({ config: { login_delay_free: 50, pwhash_memory: '19m', pwhash_iterations: '2' } });
  try {
    addUser(ip, 'ip-user@example.com');
    const c = new Client(ip);
    assert.doesNotMatch((await c.get('/login')).text, /data-passkey|passkey\.js/);
    assert.equal((await c.login('ip-user@example.com')).status, 303);
    const page = await c.get('/account/passkeys');
    assert.equal(page.status, 200);
    assert.match(page.text, /Passkeys cannot be offered here: the issuer&#39;s host is an IP address/);
    assert.doesNotMatch(page.text, /data-passkey/);
  } finally {
    await stopClean(ip);
  }
});

test('an IP-literal issuer cannot offer passkeys: check-config says so', () => {
  const dir = tempDir();
  const base = ['check-config', '--mode', 'development', '--data-dir', dir];
  const ip = run([...base, '--issuer', 'http://127.0.0.1:9']);
  assert.match(ip.stdout, /passkeys cannot be offered: the issuer's host is an IP address/);
  const name = run([...base, '--issuer', 'http://localhost:9']);
  assert.doesNotMatch(name.stdout, /passkeys cannot be offered/);
});
