// OAuth clients from the command line (issue 4): the round trip exactly as
// scripts use it, redirect URIs refused at registration (AZ-04), secrets
// shown once and found nowhere afterwards (TK-08), audited changes (AU-01)
// and usage errors that exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir, storeDir } from './lib/server.mjs';

function client(dir, args, opts) {
  return run(['client', ...args, '--mode', 'development', '--data-dir', dir], opts);
}

function sql(dir, query) {
  const r = spawnSync('sqlite3', [join(dir, 'portcullis.db'), query], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function addJson(dir, extra = []) {
  const r = client(dir, ['add', '--name', 'X', '--redirect-uri', 'https://app.example/cb', '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// Every byte the data dir holds, for secret greps.
function dirBytes(dir) {
  let all = '';
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isFile()) all += readFileSync(p, 'latin1');
  }
  return all;
}

function auditRows(dir) {
  const tail = run(['audit', 'tail', '--json', '-n', '100', '--mode', 'development', '--data-dir', dir]);
  assert.equal(tail.code, 0, tail.stderr);
  return { text: tail.stdout, rows: tail.stdout.trim().split('\n').map((l) => JSON.parse(l)) };
}

test('client add --json: client_id and client_secret; --public: no secret', () => {
  const dir = storeDir();
  const c = addJson(dir);
  assert.match(c.client_id, /^pcc_[A-Za-z0-9_-]{22}$/);
  assert.match(c.client_secret, /^pcs_[A-Za-z0-9_-]{43}$/);
  assert.equal(c.public, false);
  assert.equal(c.token_endpoint_auth_method, 'client_secret_basic');
  assert.deepEqual(c.redirect_uris, ['https://app.example/cb']);

  const p = addJson(dir, ['--public']);
  assert.match(p.client_id, /^pcc_/);
  assert.equal(p.client_secret, undefined);
  assert.equal(p.public, true);
  assert.equal(p.token_endpoint_auth_method, 'none');
  assert.notEqual(p.client_id, c.client_id);

  // The full form scripts rely on.
  const r = client(dir, ['add', '--name', 'Full', '--redirect-uri', 'https://a.example/cb',
    '--redirect-uri', 'https://b.example/cb', '--grant', 'authorization_code,refresh_token,client_credentials',
    '--scope', 'openid profile email offline_access', '--first-party', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const f = JSON.parse(r.stdout);
  assert.match(f.client_secret, /^pcs_/);
  assert.deepEqual(f.grant_types, ['authorization_code', 'refresh_token', 'client_credentials']);
  assert.equal(f.scope, 'openid profile email offline_access');
  assert.equal(f.first_party, true);
  assert.deepEqual(f.redirect_uris.sort(), ['https://a.example/cb', 'https://b.example/cb']);
});

test('list / show / update / rotate-secret / delete round trip', () => {
  const dir = storeDir();
  const a = addJson(dir);
  const b = addJson(dir, ['--public']);

  let r = client(dir, ['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).map((c) => c.client_id).sort(), [a.client_id, b.client_id].sort());
  r = client(dir, ['list']);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.includes(a.client_id) && r.stdout.includes('public'));

  r = client(dir, ['show', '--id', a.client_id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  let s = JSON.parse(r.stdout);
  assert.equal(s.name, 'X');
  assert.equal(s.active_secrets, 1);
  assert.equal(s.client_secret, undefined);
  r = client(dir, ['show', '--id', a.client_id]);
  assert.equal(r.code, 0);
  assert.ok(!r.stdout.includes(a.client_secret));

  r = client(dir, ['update', '--id', a.client_id, '--name', 'Renamed', '--redirect-uri', 'https://new.example/cb',
    '--post-logout-redirect-uri', 'https://new.example/bye', '--scope', 'openid email', '--first-party',
    '--id-token-alg', 'ES256', '--json']);
  assert.equal(r.code, 0, r.stderr);
  s = JSON.parse(r.stdout);
  assert.equal(s.name, 'Renamed');
  assert.deepEqual(s.redirect_uris, ['https://new.example/cb']);
  assert.deepEqual(s.post_logout_redirect_uris, ['https://new.example/bye']);
  assert.equal(s.first_party, true);
  assert.equal(s.id_token_signed_response_alg, 'ES256');
  r = client(dir, ['update', '--id', a.client_id, '--no-first-party', '--json']);
  assert.equal(JSON.parse(r.stdout).first_party, false);

  r = client(dir, ['rotate-secret', '--id', a.client_id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rot = JSON.parse(r.stdout);
  assert.match(rot.client_secret, /^pcs_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(rot.client_secret, a.client_secret);
  assert.equal(typeof rot.previous_secret_expires_at, 'number');
  // Default overlap 24h: old and new both count.
  assert.equal(JSON.parse(client(dir, ['show', '--id', a.client_id, '--json']).stdout).active_secrets, 2);
  // A public client has no secret to rotate.
  r = client(dir, ['rotate-secret', '--id', b.client_id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not use a secret/);

  r = client(dir, ['delete', '--id', a.client_id]);
  assert.equal(r.code, 0, r.stderr);
  r = client(dir, ['show', '--id', a.client_id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no such client/);
  assert.equal(client(dir, ['delete', '--id', a.client_id]).code, 1);
  assert.equal(sql(dir, `SELECT count(*) FROM deleted_clients WHERE client_id = '${a.client_id}'`), '1');
  assert.equal(sql(dir, `SELECT count(*) FROM client_secrets WHERE client_id = '${a.client_id}'`), '0');
});

test('TK-08 rotate-secret with client_secret_overlap 0: the old secret goes at once', () => {
  const dir = storeDir();
  const a = addJson(dir);
  const r = client(dir, ['rotate-secret', '--id', a.client_id, '--json'],
    { env: { PORTCULLIS_CLIENT_SECRET_OVERLAP: '0' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sql(dir, `SELECT count(*) FROM client_secrets WHERE client_id = '${a.client_id}'`), '1');
});

test('AZ-04 a dangerous redirect URI exits 1 with a reason and creates nothing', () => {
  const dir = storeDir();
  const bad = [
    ['javascript:alert(1)', /javascript/],
    ['data:text/html,x', /data:/],
    ['vbscript:x', /vbscript/],
    ['file:///etc/passwd', /file:/],
    ['https://app.example/cb#frag', /fragment/],
    ['https://*.app.example/cb', /wildcard/],
    ['https://user@app.example/cb', /userinfo/],
    ['http://app.example/cb', /http is only allowed/],
    ['http://localhost:8080/cb', /localhost/],
    ['https://app.example/cb?code=1', /code, state/],
    ['https://app.example/cb?state=1', /code, state/],
    ['com.example.app:/cb', /public/],
    ['https://app.example/a b', /spaces/],
    [`https://app.example/${'a'.repeat(2100)}`, /2048/],
  ];
  for (const [uri, why] of bad) {
    const r = client(dir, ['add', '--name', 'Evil', '--redirect-uri', 'https://ok.example/cb', '--redirect-uri', uri]);
    assert.equal(r.code, 1, uri);
    assert.match(r.stderr, /client refused/, uri);
    assert.match(r.stderr, why, uri);
    assert.equal(r.stdout, '', uri);
  }
  // Also as a post-logout URI, and on update.
  let r = client(dir, ['add', '--name', 'Evil', '--redirect-uri', 'https://ok.example/cb',
    '--post-logout-redirect-uri', 'javascript:alert(1)']);
  assert.equal(r.code, 1);
  assert.equal(sql(dir, 'SELECT count(*) FROM clients'), '0');
  assert.equal(sql(dir, 'SELECT count(*) FROM client_secrets'), '0');
  assert.equal(sql(dir, 'SELECT count(*) FROM client_redirect_uris'), '0');
  const a = addJson(dir);
  r = client(dir, ['update', '--id', a.client_id, '--redirect-uri', 'https://app.example/cb#x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /fragment/);
  assert.equal(sql(dir, 'SELECT uri FROM client_redirect_uris'), 'https://app.example/cb');
  // Native public clients: loopback IP and private-use schemes are fine.
  r = client(dir, ['add', '--name', 'Native', '--public', '--redirect-uri', 'http://127.0.0.1/cb',
    '--redirect-uri', 'http://[::1]:8080/cb', '--redirect-uri', 'com.example.app:/oauth2redirect', '--json']);
  assert.equal(r.code, 0, r.stderr);
});

test('registration rules: grants, auth methods, scopes, algs exit 1 with a reason', () => {
  const dir = storeDir();
  const cases = [
    [['--grant', 'implicit'], /grant types/],
    [['--grant', 'password'], /grant types/],
    [['--public', '--grant', 'client_credentials'], /public client cannot use client_credentials/],
    [['--public', '--auth-method', 'client_secret_basic'], /public client uses auth method none/],
    [['--auth-method', 'none'], /confidential/],
    [['--auth-method', 'private_key_jwt'], /JWKS/],
    [['--scope', 'openid "x'], /scopes/],
    [['--id-token-alg', 'HS256'], /ID token alg/],
    [['--id-token-alg', 'none'], /ID token alg/],
  ];
  for (const [extra, why] of cases) {
    const r = client(dir, ['add', '--name', 'X', '--redirect-uri', 'https://app.example/cb', ...extra]);
    assert.equal(r.code, 1, extra.join(' '));
    assert.match(r.stderr, why, extra.join(' '));
  }
  let r = client(dir, ['add', '--name', 'NoUri']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /redirect URI/);
  // client_credentials alone needs no redirect URI.
  r = client(dir, ['add', '--name', 'M2M', '--grant', 'client_credentials', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(JSON.parse(r.stdout).client_secret, /^pcs_/);
  assert.equal(sql(dir, 'SELECT count(*) FROM clients'), '1');
});

test('private_key_jwt: --jwks-file must hold public keys only; no secret is issued', () => {
  const dir = storeDir();
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const good = join(dir, 'jwks.json');
  writeFileSync(good, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] }));
  const priv = join(dir, 'priv.json');
  writeFileSync(priv, JSON.stringify({ keys: [privateKey.export({ format: 'jwk' })] }));
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, '{"keys": "nope"}');

  let r = client(dir, ['add', '--name', 'Jwt', '--redirect-uri', 'https://app.example/cb',
    '--auth-method', 'private_key_jwt', '--jwks-file', good, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.equal(c.client_secret, undefined);
  assert.equal(c.has_jwks, true);
  assert.equal(sql(dir, 'SELECT count(*) FROM client_secrets'), '0');
  for (const f of [priv, junk, join(dir, 'missing.json')]) {
    r = client(dir, ['add', '--name', 'Jwt', '--redirect-uri', 'https://app.example/cb',
      '--auth-method', 'private_key_jwt', '--jwks-file', f]);
    assert.equal(r.code, 1, f);
  }
  assert.equal(sql(dir, 'SELECT count(*) FROM clients'), '1');
  // A JWKS without private_key_jwt is refused.
  r = client(dir, ['add', '--name', 'X', '--redirect-uri', 'https://app.example/cb', '--jwks-file', good]);
  assert.equal(r.code, 1);
});

test('TK-08 the secret never appears in the store file or the audit trail', () => {
  const dir = storeDir();
  const a = addJson(dir);
  const rot = JSON.parse(client(dir, ['rotate-secret', '--id', a.client_id, '--json']).stdout);
  client(dir, ['update', '--id', a.client_id, '--name', 'Y']);
  const secrets = [a.client_secret, rot.client_secret];
  const all = dirBytes(dir);
  const { text } = auditRows(dir);
  for (const s of secrets) {
    const body = s.slice(4);
    assert.ok(!all.includes(body), 'secret in the data dir');
    assert.ok(!text.includes(body), 'secret in the audit trail');
    // What is stored: the hex SHA-256 of the 32 random bytes.
    const hash = createHash('sha256').update(Buffer.from(body, 'base64url')).digest('hex');
    assert.ok(all.includes(hash), 'hash stored');
  }
  // Nor is it shown again.
  const show = client(dir, ['show', '--id', a.client_id, '--json']);
  const list = client(dir, ['list', '--json']);
  for (const s of secrets) {
    assert.ok(!show.stdout.includes(s) && !list.stdout.includes(s));
  }
});

test('AU-01: client changes are audited with the client id and the chain verifies', () => {
  const dir = storeDir();
  const a = addJson(dir);
  assert.equal(client(dir, ['update', '--id', a.client_id, '--name', 'Z']).code, 0);
  assert.equal(client(dir, ['rotate-secret', '--id', a.client_id]).code, 0);
  assert.equal(client(dir, ['delete', '--id', a.client_id]).code, 0);
  const { rows } = auditRows(dir);
  const mine = rows.filter((r) => r.event.startsWith('client.'));
  assert.deepEqual(mine.map((r) => r.event),
    ['client.created', 'client.updated', 'client.secret_rotated', 'client.deleted']);
  for (const r of mine) {
    assert.equal(r.target, a.client_id);
    assert.equal(r.actor, 'cli');
    assert.equal(r.outcome, 'success');
  }
  const v = run(['audit', 'verify', '--mode', 'development', '--data-dir', dir]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

test('a deleted client id is never given out again', () => {
  const dir = storeDir();
  const a = addJson(dir);
  assert.equal(client(dir, ['delete', '--id', a.client_id]).code, 0);
  const b = addJson(dir);
  assert.notEqual(a.client_id, b.client_id);
  assert.equal(client(dir, ['show', '--id', a.client_id]).code, 1);
});

test('usage errors exit 2', () => {
  const dir = storeDir();
  const cases = [
    ['client'],
    ['client', 'frob'],
    ['client', 'add'],
    ['client', 'add', '--redirect-uri', 'https://app.example/cb'],
    ['client', 'add', '--name', 'X', '--name', 'Y'],
    ['client', 'add', '--name', 'X', 'extra'],
    ['client', 'add', '--name', 'X', '--secret', 'pcs_x'],
    ['client', 'add', '--name', 'X', '--no-first-party'],
    ['client', 'add', '--name', 'X', '--id', 'pcc_x'],
    ['client', 'add', '--name'],
    ['client', 'show'],
    ['client', 'update'],
    ['client', 'update', '--id', 'pcc_x', '--public'],
    ['client', 'update', '--id', 'pcc_x', '--first-party', '--no-first-party'],
    ['client', 'rotate-secret'],
    ['client', 'delete'],
    ['client', 'delete', '--id', 'pcc_x', '--json'],
    ['client', 'list', '--name', 'X'],
    ['client', 'add', '--nam', 'X'],
  ];
  for (const args of cases) {
    const r = run([...args, '--mode', 'development', '--data-dir', dir]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /usage: portcullis client/, args.join(' '));
  }
});

test('every client sub-command has --help', () => {
  for (const sub of ['add', 'list', 'show', 'update', 'rotate-secret', 'delete']) {
    const r = run(['client', sub, '--help']);
    assert.equal(r.code, 0, sub);
    for (const w of ['--config', '--data-dir', '--redirect-uri', '--public', '--grant', '--scope', '--first-party', '--json'])
      assert.ok(r.stdout.includes(w), `${sub}: ${w}`);
  }
  assert.equal(run(['client', '--help']).code, 0);
  assert.match(run(['--help']).stdout, /client add/);
});
