// Second-factor policy and step-up (issue 16 item 5; decision 0069,
// docs/mfa.md): amr/acr/auth_time in ID tokens (OI-07), acr_values and a
// client's require_mfa sending a session without "mfa" to the factor step
// (/login/mfa?req=), unmet_authentication_requirements for a user with no
// factor, mfa = required with its enrolment grace, and the operator's
// `portcullis user mfa list | reset` (audit row, mail, grace reopened).
//
// A user "has a factor" here through an activated TOTP row written
// straight into the store (storeSql): the policy only asks whether one
// exists; the factor itself is h-totp's and h-mfa-signin's to check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import * as OTPAuth from 'otpauth';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stopClean, storeSql } from './lib/server.mjs';
import { Client, addUser, cliAt, auditRows, csrfOf } from './lib/web.mjs';
import { addClient, authorize, codeFlow, tokenRequest } from './lib/oauth.mjs';

const ACR_PWD = 'urn:portcullis:acr:pwd';
const ACR_MFA = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
const STEP = /^\/login\/mfa\?req=[A-Za-z0-9_-]{43}$/;

let srv, req;
before(async () => {
  // Light password hashing: these tests are about the policy, not PW-*.
  const fast = { pwhash_memory: '19m', pwhash_iterations: '2' };
  [srv, req] = await Promise.all([
    startServer({ config: fast }),
    startServer({ config: { ...fast, mfa: 'required', mfa_enrol_grace: '1d' } }),
  ]);
});
after(async () => { await Promise.all([stopClean(srv), stopClean(req)]); });

const q = (s) => s.replace(/'/g, "''");
function giveTotp(s, userId) {
  storeSql(s, `INSERT INTO totp_credentials (user_id, seed_sealed, created_at, activated_at)
    VALUES ('${q(userId)}', 'not-a-seed', 1, 2)`);
}
function age(s, userId, seconds) {
  storeSql(s, `UPDATE users SET created_at = created_at - ${seconds} WHERE id = '${q(userId)}'`);
}
const cliJson = (s, args) => {
  const r = cliAt(s, args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};
function mails(s) {
  const dir = join(s.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
}
// A browser signed in with the password (a full session, amr "pwd").
async function signedIn(s, email, client) {
  const jar = new Client(s);
  const f = await codeFlow(s, client, { email, jar, scope: 'openid offline_access' });
  return { jar, flow: f };
}

test('OI-07: a password sign-in gives amr ["pwd"], acr pwd and the sign-in time; a refresh keeps them', async () => {
  addUser(srv, 'oi07@example.com');
  const rp = addClient(srv, { name: 'OI07 RP', firstParty: true });
  const before_ = Math.floor(Date.now() / 1000) - 1;
  const { flow } = await signedIn(srv, 'oi07@example.com', rp);
  const idt = jose.decodeJwt(flow.tokens.id_token);
  assert.deepEqual(idt.amr, ['pwd']);
  assert.equal(idt.acr, ACR_PWD);
  assert.ok(idt.auth_time >= before_ && idt.auth_time <= idt.iat, 'auth_time is the sign-in');
  const at = jose.decodeJwt(flow.tokens.access_token);
  assert.equal(at.acr, ACR_PWD);
  const r = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: flow.tokens.refresh_token });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const again = jose.decodeJwt(r.json.id_token);
  assert.deepEqual(again.amr, ['pwd']);
  assert.equal(again.acr, ACR_PWD);
  assert.equal(again.auth_time, idt.auth_time, 'the original sign-in, not the refresh');
});

test('MF-04 step-up: acr_values asking for more than a password sends a session without "mfa" to the factor step', async () => {
  const u = addUser(srv, 'stepup@example.com');
  const rp = addClient(srv, { name: 'Step RP', firstParty: true });
  const { jar } = await signedIn(srv, 'stepup@example.com', rp);
  giveTotp(srv, u.id);
  for (const acr of [ACR_MFA, 'phr', `unknown:acr ${ACR_MFA}`]) {
    const a = await authorize(srv, rp, { email: u.email, jar, params: { acr_values: acr } });
    assert.equal(a.status, 303, `${acr}: ${a.text}`);
    assert.match(a.location, STEP, `${acr}: the factor step for this request`);
    assert.equal(a.code, undefined);
  }
  // The weakest value named is enough; a value we do not issue asks nothing.
  for (const acr of [`${ACR_PWD} ${ACR_MFA}`, 'urn:unknown:acr']) {
    const a = await authorize(srv, rp, { email: u.email, jar, params: { acr_values: acr } });
    assert.ok(a.code, `${acr}: ${a.status} ${a.location}`);
  }
  // Voluntary: prompt=none answers as the session is.
  const none = await authorize(srv, rp, { email: u.email, jar, prompt: 'none', params: { acr_values: ACR_MFA } });
  assert.ok(none.code, `${none.error} ${none.error_description}`);
});

test('MF-04/AZ-03: a request sent to the factor step is resumed only by the session that completes the step', async () => {
  const victim = addUser(srv, 'victim-step@example.com');
  addUser(srv, 'other-step@example.com');
  const rp = addClient(srv, { name: 'Resume RP', firstParty: true });
  const { jar } = await signedIn(srv, victim.email, rp);
  giveTotp(srv, victim.id);
  const a = await authorize(srv, rp, { email: victim.email, jar, params: { acr_values: ACR_MFA } });
  assert.match(a.location, STEP);
  const req = a.location.split('req=')[1];
  // Another signed-in browser (a user without a factor, for whom the
  // voluntary acr_values would ask nothing) takes the request id.
  const { jar: other } = await signedIn(srv, 'other-step@example.com', rp);
  const r = await other.get(`/authorize/resume?req=${req}`);
  assert.equal(r.status, 303);
  assert.match(r.location, /^\/login\?req=/, 'sign in for this request first; no code for another session');
});

test('acr_values: malformed or repeated is invalid_request at the redirect URI, never a 500', async () => {
  addUser(srv, 'badacr@example.com');
  const rp = addClient(srv, { name: 'Bad acr RP', firstParty: true });
  for (const v of ['é', 'x'.repeat(600)]) {
    const a = await authorize(srv, rp, { email: 'badacr@example.com', state: 'st-bad', params: { acr_values: v } });
    assert.equal(a.error, 'invalid_request', JSON.stringify(v));
    assert.equal(a.state, 'st-bad');
  }
  // A control character is refused with the request's parameters (400).
  const ctl = await authorize(srv, rp, { email: 'badacr@example.com', params: { acr_values: '\u0001' } });
  assert.equal(ctl.status, 400);
  assert.equal(ctl.code, undefined);
  const jar = new Client(srv);
  const q = new URLSearchParams({ response_type: 'code', client_id: rp.client_id, redirect_uri: rp.redirectUri,
    scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
  const r = await jar.get(`/authorize?${q}&acr_values=phr&acr_values=phr`);
  assert.equal(r.status, 303);
  assert.equal(new URL(r.location).searchParams.get('error'), 'invalid_request');
});

test('OI-07: acr_values is voluntary: a user without a factor gets a code, and the ID token never claims more than a password', async () => {
  addUser(srv, 'nofactor@example.com');
  const rp = addClient(srv, { name: 'Voluntary RP', firstParty: true });
  const f = await codeFlow(srv, rp, { email: 'nofactor@example.com', params: { acr_values: ACR_MFA } });
  const idt = jose.decodeJwt(f.tokens.id_token);
  assert.equal(idt.acr, ACR_PWD);
  assert.deepEqual(idt.amr, ['pwd']);
});

test('require_mfa client: the factor step for a user with a factor; prompt=none is login_required', async () => {
  const u = addUser(srv, 'reqclient@example.com');
  const plain = addClient(srv, { name: 'Plain RP', firstParty: true });
  const strict = addClient(srv, { name: 'Strict RP', firstParty: true, extra: ['--require-mfa'] });
  const { jar } = await signedIn(srv, u.email, plain);
  giveTotp(srv, u.id);
  const a = await authorize(srv, strict, { email: u.email, jar });
  assert.equal(a.status, 303);
  assert.match(a.location, STEP);
  const none = await authorize(srv, strict, { email: u.email, jar, prompt: 'none', state: 'st-none' });
  assert.equal(none.error, 'login_required');
  assert.equal(none.state, 'st-none');
  // The other client still answers a password session.
  assert.ok((await authorize(srv, plain, { email: u.email, jar })).code);
});

test('require_mfa client: a user without any factor gets unmet_authentication_requirements with state and iss', async () => {
  addUser(srv, 'unmet@example.com');
  const strict = addClient(srv, { name: 'Strict RP 2', firstParty: true, extra: ['--require-mfa'] });
  const a = await authorize(srv, strict, { email: 'unmet@example.com', state: 'st-unmet' });
  assert.equal(a.error, 'unmet_authentication_requirements', `${a.status} ${a.location}`);
  assert.equal(a.state, 'st-unmet');
  assert.equal(a.iss, srv.issuer);
  assert.equal(a.code, undefined);
  assert.ok(auditRows(srv).some((e) => e.event === 'authorize' && e.outcome === 'failure' &&
    e.details?.error === 'unmet_authentication_requirements'));
});

test('client add | update --require-mfa: stored, shown, and switched off again', async () => {
  const c = cliJson(srv, ['client', 'add', '--json', '--name', 'CLI MFA', '--redirect-uri', 'https://m.example/cb', '--require-mfa']);
  assert.equal(c.require_mfa, true);
  assert.equal(cliJson(srv, ['client', 'show', '--id', c.client_id, '--json']).require_mfa, true);
  const list = cliJson(srv, ['client', 'list', '--json']);
  assert.equal(list.find((x) => x.client_id === c.client_id).require_mfa, true);
  const text = cliAt(srv, ['client', 'show', '--id', c.client_id]);
  assert.match(text.stdout, /require_mfa:\s+yes/);
  assert.equal(cliJson(srv, ['client', 'update', '--id', c.client_id, '--no-require-mfa', '--json']).require_mfa, false);
  assert.equal(cliJson(srv, ['client', 'update', '--id', c.client_id, '--require-mfa', '--json']).require_mfa, true);
  const both = cliAt(srv, ['client', 'update', '--id', c.client_id, '--require-mfa', '--no-require-mfa']);
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /conflict/);
  const plain = cliJson(srv, ['client', 'add', '--json', '--name', 'CLI plain', '--redirect-uri', 'https://p.example/cb']);
  assert.equal(plain.require_mfa, false);
  // A running server sees the change at once (the client cache is
  // checked by version, decision 0049).
  addUser(srv, 'cache@example.com');
  const rp = addClient(srv, { name: 'Cached RP', firstParty: true });
  const jar = new Client(srv);
  assert.ok((await authorize(srv, rp, { email: 'cache@example.com', jar })).code);
  cliJson(srv, ['client', 'update', '--id', rp.client_id, '--require-mfa', '--json']);
  assert.equal((await authorize(srv, rp, { email: 'cache@example.com', jar })).error, 'unmet_authentication_requirements');
  cliJson(srv, ['client', 'update', '--id', rp.client_id, '--no-require-mfa', '--json']);
  assert.ok((await authorize(srv, rp, { email: 'cache@example.com', jar })).code);
});

test('mfa = required: a new user without a factor signs in during the grace, with acr pwd', async () => {
  addUser(req, 'fresh@example.com');
  const rp = addClient(req, { name: 'Req RP', firstParty: true });
  const f = await codeFlow(req, rp, { email: 'fresh@example.com' });
  assert.equal(jose.decodeJwt(f.tokens.id_token).acr, ACR_PWD);
});

test('mfa = required: after the grace, a user without a factor is refused at sign-in, with an audit row and no session', async () => {
  const u = addUser(req, 'late@example.com');
  age(req, u.id, 2 * 86400);
  const jar = new Client(req);
  const r = await jar.login(u.email);
  assert.equal(r.status, 403, r.text);
  assert.match(r.text, /second factor/);
  assert.equal(await jar.signedIn(), false, 'no session');
  assert.ok(auditRows(req).some((e) => e.event === 'login' && e.outcome === 'failure' &&
    e.actor === u.id && e.details?.reason === 'mfa_enrolment_required'));
  // Through an application: the same refusal, no code.
  const rp = addClient(req, { name: 'Req RP 2', firstParty: true });
  const a = await authorize(req, rp, { email: u.email });
  assert.equal(a.status, 403);
  assert.equal(a.code, undefined);
});

test('mfa = required: a session from the grace that outlives it gets unmet_authentication_requirements', async () => {
  const u = addUser(req, 'outlived@example.com');
  const rp = addClient(req, { name: 'Req RP 3', firstParty: true });
  const { jar } = await signedIn(req, u.email, rp);
  age(req, u.id, 2 * 86400);
  const a = await authorize(req, rp, { email: u.email, jar, state: 'st-late' });
  assert.equal(a.error, 'unmet_authentication_requirements');
  assert.equal(a.state, 'st-late');
});

test('mfa = required: a password session of a user with a factor is sent to the factor step', async () => {
  const u = addUser(req, 'hasfactor@example.com');
  const rp = addClient(req, { name: 'Req RP 4', firstParty: true });
  const { jar } = await signedIn(req, u.email, rp);
  giveTotp(req, u.id);
  const a = await authorize(req, rp, { email: u.email, jar });
  assert.equal(a.status, 303);
  assert.match(a.location, STEP);
});

test('user mfa list: TOTP, passkeys and recovery codes, as JSON and text, no secret', async () => {
  const u = addUser(srv, 'list@example.com');
  storeSql(srv, `INSERT INTO totp_credentials (user_id, seed_sealed, created_at, activated_at, last_used_at)
    VALUES ('${u.id}', 'SEALED-SEED-MARKER', 1700000000, 1700000001, 1700000002)`);
  storeSql(srv, `INSERT INTO webauthn_credentials (id, user_id, credential_id, public_key, alg, name, backup_eligible, created_at, last_used_at, cloned_at)
    VALUES ('pk_a', '${u.id}', 'cred-a', 'PUBLIC-KEY-MARKER', -7, 'YubiKey', 0, 1700000010, 1700000011, NULL),
           ('pk_b', '${u.id}', 'cred-b', 'PUBLIC-KEY-MARKER', -7, 'Phone', 1, 1700000020, NULL, 1700000021)`);
  storeSql(srv, `INSERT INTO recovery_codes (user_id, idx, phc, created_at, used_at)
    VALUES ('${u.id}', 1, 'PHC-MARKER', 1, NULL), ('${u.id}', 2, 'PHC-MARKER', 1, NULL), ('${u.id}', 3, 'PHC-MARKER', 1, 5)`);
  const l = cliJson(srv, ['user', 'mfa', 'list', '--email', u.email, '--json']);
  assert.equal(l.user_id, u.id);
  assert.deepEqual(l.totp, { enabled: true, pending: false, created_at: 1700000000, activated_at: 1700000001, last_used_at: 1700000002 });
  assert.deepEqual(l.passkeys, [
    { id: 'pk_a', name: 'YubiKey', synced: false, created_at: 1700000010, last_used_at: 1700000011, cloned: false, cloned_at: null },
    { id: 'pk_b', name: 'Phone', synced: true, created_at: 1700000020, last_used_at: null, cloned: true, cloned_at: 1700000021 },
  ]);
  assert.deepEqual(l.recovery_codes, { left: 2, total: 3 });
  const text = cliAt(srv, ['user', 'mfa', 'list', '--id', u.id]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /totp:\s+on/);
  assert.match(text.stdout, /YubiKey/);
  assert.match(text.stdout, /CLONED/);
  assert.match(text.stdout, /2 of 3 left/);
  for (const out of [JSON.stringify(l), text.stdout]) assert.ok(!/MARKER/.test(out), 'no secret or key material');
  const none = cliJson(srv, ['user', 'mfa', 'list', '--email', 'nofactor@example.com', '--json']);
  assert.deepEqual(none.totp, { enabled: false, pending: false, created_at: null, activated_at: null, last_used_at: null });
  assert.deepEqual(none.passkeys, []);
  // Usage errors.
  assert.notEqual(cliAt(srv, ['user', 'mfa', 'list']).code, 0);
  assert.notEqual(cliAt(srv, ['user', 'mfa', 'list', '--id', u.id, '--email', u.email]).code, 0);
  assert.notEqual(cliAt(srv, ['user', 'mfa', 'list', '--email', 'nobody@example.com']).code, 0);
});

test('MF-05 / AU-01 / AU-06: user mfa reset removes the factors, writes mfa.reset and mails the user', async () => {
  const u = addUser(srv, 'reset@example.com');
  giveTotp(srv, u.id);
  storeSql(srv, `INSERT INTO webauthn_credentials (id, user_id, credential_id, public_key, alg, name, created_at)
    VALUES ('pk_r', '${u.id}', 'cred-r', 'k', -7, 'Key', 1)`);
  const bad = cliAt(srv, ['user', 'mfa', 'reset', '--id', u.id, '--factor', 'sms']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /totp, passkey or recovery/);
  let r = cliAt(srv, ['user', 'mfa', 'reset', '--id', u.id, '--factor', 'totp']);
  assert.equal(r.code, 0, r.stderr);
  let l = cliJson(srv, ['user', 'mfa', 'list', '--id', u.id, '--json']);
  assert.equal(l.totp.enabled, false);
  assert.equal(l.passkeys.length, 1, 'only the kind named');
  r = cliAt(srv, ['user', 'mfa', 'reset', '--email', u.email]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /removed 1 credential of user/);
  l = cliJson(srv, ['user', 'mfa', 'list', '--id', u.id, '--json']);
  assert.equal(l.passkeys.length, 0);
  const rows = auditRows(srv).filter((e) => e.event === 'mfa.reset' && e.target === u.id);
  assert.equal(rows.length, 2);
  assert.ok(rows.every((e) => e.actor === 'cli' && e.outcome === 'success'));
  assert.deepEqual(rows.map((e) => e.details.factor).sort(), ['all', 'totp']);
  let m = [];
  for (let end = Date.now() + 10_000; m.length < 2 && Date.now() < end; await new Promise((res) => setTimeout(res, 50))) {
    m = mails(srv).filter((x) => x.includes(`To: ${u.email}`) && /second factors of your account were reset/.test(x));
  }
  assert.equal(m.length, 2, 'one mail per reset');
  assert.ok(m.some((x) => x.includes('the authenticator app (TOTP)')));
  assert.ok(m.some((x) => x.includes('all second factors')));
  assert.ok(m.every((x) => x.includes(`${srv.issuer}/account/mfa`)));
});

test('mfa = required: the operator\'s reset opens a new grace for a user past it', async () => {
  const u = addUser(req, 'regrace@example.com');
  giveTotp(req, u.id);
  age(req, u.id, 2 * 86400);
  const r = cliAt(req, ['user', 'mfa', 'reset', '--id', u.id]);
  assert.equal(r.code, 0, r.stderr);
  const jar = new Client(req);
  const s = await jar.login(u.email);
  assert.equal(s.status, 303, s.text);
  assert.equal(s.location, '/account', 'signed in with the password alone, to enrol again');
  assert.equal(await jar.signedIn(), true);
});

test('MF-05: a reset user signs in without the factor step', async (t) => {
  const live = (await fetch(srv.url + '/login/mfa')).status !== 404;
  if (!live) return t.skip('the factor step (/login/mfa, h-mfa-signin) is not on this branch yet');
  const u = addUser(srv, 'afterreset@example.com');
  giveTotp(srv, u.id);
  const before_ = await new Client(srv).login(u.email);
  assert.equal(before_.status, 303);
  assert.match(before_.location, /^\/login\/mfa/, 'a factor: the step');
  assert.equal(cliAt(srv, ['user', 'mfa', 'reset', '--id', u.id]).code, 0);
  const jar = new Client(srv);
  const after_ = await jar.login(u.email);
  assert.equal(after_.status, 303);
  assert.equal(after_.location, '/account');
  assert.equal(await jar.signedIn(), true);
});

// The pages of h-totp (/account/mfa/totp) and h-mfa-signin (/login/mfa):
// present once both are merged; until then the full step-up is skipped.
async function routesLive(s) {
  const step = await new Client(s).post('/login/mfa', {});
  const totp = await new Client(s).get('/account/mfa/totp');
  return ![404, 405].includes(step.status) && totp.status !== 404;
}

test('OI-07 / MF-04: a step-up through the factor step gives amr ["pwd","otp","mfa"] and acr multi-factor; a refresh keeps them', async (t) => {
  if (!(await routesLive(srv))) return t.skip('needs /account/mfa/totp (h-totp) and POST /login/mfa (h-mfa-signin)');
  const u = addUser(srv, 'realstep@example.com');
  const rp = addClient(srv, { name: 'Real step RP', firstParty: true });
  const { jar, flow: first } = await signedIn(srv, u.email, rp);
  assert.deepEqual(jose.decodeJwt(first.tokens.id_token).amr, ['pwd']);
  // Enrol TOTP on the account page; activate with the previous step's
  // code so that the current step is left for the factor step (MF-01).
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < 6) await sleep(left * 1000 + 300);
  const page = await jar.get('/account/mfa/totp');
  const secret = page.text.match(/<code id="secret">([A-Z2-7]+)<\/code>/)?.[1];
  assert.ok(secret, page.text.slice(0, 600));
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  const on = await jar.post('/account/mfa/totp', { action: 'activate', code: totp.generate({ timestamp: Date.now() - 30_000 }), csrf: csrfOf(page.text, '/account/mfa/totp') });
  assert.equal(on.status, 303, on.text.slice(0, 600));
  // The client asks for more than a password: the factor step, then the code.
  const a = await authorize(srv, rp, { email: u.email, jar, scope: 'openid offline_access', params: { acr_values: ACR_MFA } });
  assert.equal(a.status, 303);
  assert.match(a.location, STEP);
  const stepPage = await jar.get(a.location);
  assert.equal(stepPage.status, 200, stepPage.text.slice(0, 600));
  const req = a.location.split('req=')[1];
  let r = await jar.post('/login/mfa', { csrf: csrfOf(stepPage.text, '/login/mfa'), req, code: totp.generate() });
  assert.equal(r.status, 303, r.text.slice(0, 600));
  assert.match(r.location, /^\/authorize\/resume\?req=/);
  r = await jar.get(r.location);
  assert.equal(r.status, 303);
  const cb = new URL(r.location);
  const code = cb.searchParams.get('code');
  assert.ok(code, r.location);
  const tok = await tokenRequest(srv, rp, { grant_type: 'authorization_code', code, redirect_uri: rp.redirectUri, code_verifier: a.verifier });
  assert.equal(tok.status, 200, JSON.stringify(tok.json));
  const idt = jose.decodeJwt(tok.json.id_token);
  assert.deepEqual([...idt.amr].sort(), ['mfa', 'otp', 'pwd']);
  assert.equal(idt.acr, ACR_MFA);
  assert.ok(idt.auth_time >= jose.decodeJwt(first.tokens.id_token).auth_time, 'the step is a sign-in');
  const ref = await tokenRequest(srv, rp, { grant_type: 'refresh_token', refresh_token: tok.json.refresh_token });
  assert.equal(ref.status, 200);
  const again = jose.decodeJwt(ref.json.id_token);
  assert.deepEqual(again.amr, idt.amr);
  assert.equal(again.acr, ACR_MFA);
  assert.equal(again.auth_time, idt.auth_time);
  // The stepped-up session satisfies the next request at once.
  const next = await authorize(srv, rp, { email: u.email, jar, params: { acr_values: ACR_MFA } });
  assert.ok(next.code, `${next.status} ${next.location}`);
});
