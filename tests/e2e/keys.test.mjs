// Master key and signing keys: file permissions, sealing at rest, rotation
// that keeps old keys published (SECURITY.md JW-09), production refusals,
// and rows planted or altered by someone who can write the store but
// lacks the master key (never published, never accepted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync, statSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { startServer, stopClean, run, tempDir, storeSql, storeDir, freePort } from './lib/server.mjs';
import { addUser } from './lib/web.mjs';
import { addClient, codeFlow } from './lib/oauth.mjs';

// serve binds its address before anything else: runs that must fail later
// get a free port (port 1 needs root and may be taken by a parallel run).
const SPARE_PORT = await freePort();

test('master key: created 0600 on first start in development mode', async () => {
  const dir = tempDir();
  const srv = await startServer({ dataDir: dir, fresh: true, store: 'sqlite' });
  const st = statSync(join(dir, 'master.key'));
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'portcullis.db')).mode & 0o077, 0, 'store not group/world readable');
  await stopClean(srv);
});

test('master key: a group- or world-readable key file stops the server', async () => {
  for (const mode of [0o640, 0o604, 0o660]) {
    const dir = storeDir();
    const r0 = run(['key', 'list', '--mode', 'development', '--data-dir', dir]);
    assert.equal(r0.code, 0, r0.stderr);
    chmodSync(join(dir, 'master.key'), mode);
    const r = run(['serve', '--mode', 'development', '--data-dir', dir, '--listen', `127.0.0.1:${SPARE_PORT}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /readable or writable by group or others/);
    assert.match(r.stderr, /chmod 600/);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('master key: production mode never creates one and refuses to start without it', () => {
  const dir = tempDir();
  const r = run(['serve', '--data-dir', dir, '--listen', `127.0.0.1:${SPARE_PORT}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no master key/);
  assert.ok(!existsSync(join(dir, 'master.key')));
  const c = run(['check-config', '--data-dir', dir]);
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /no master key/);
  // master-key init creates it, and refuses to overwrite it.
  const i = run(['master-key', 'init', '--data-dir', dir]);
  assert.equal(i.code, 0, i.stderr);
  assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
  assert.ok(!i.stdout.includes(readFileSync(join(dir, 'master.key'), 'utf8').trim()), 'key never printed');
  assert.notEqual(run(['master-key', 'init', '--data-dir', dir]).code, 0);
  assert.equal(run(['check-config', '--data-dir', dir]).code, 0);
});

test('master key: PORTCULLIS_MASTER_KEY works in production and a wrong key cannot unseal', () => {
  const dir = storeDir();
  const key = randomBytes(32).toString('base64url');
  const env = { PORTCULLIS_MASTER_KEY: key };
  const r = run(['key', 'list', '--data-dir', dir], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync(join(dir, 'master.key')));
  const wrong = run(['key', 'list', '--data-dir', dir], { env: { PORTCULLIS_MASTER_KEY: randomBytes(32).toString('hex') } });
  assert.notEqual(wrong.code, 0);
  const bad = run(['key', 'list', '--data-dir', dir], { env: { PORTCULLIS_MASTER_KEY: 'short' } });
  assert.notEqual(bad.code, 0);
  assert.ok(!bad.stderr.includes('short'), 'the bad value is not echoed');
});

test('signing keys are sealed at rest: no private key material in the store', () => {
  const dir = storeDir();
  assert.equal(run(['key', 'list', '--mode', 'development', '--data-dir', dir]).code, 0);
  const db = join(dir, 'portcullis.db');
  const q = spawnSync('sqlite3', [db, 'SELECT kid, alg, public_jwk, private_sealed FROM signing_keys'], { encoding: 'utf8' });
  assert.equal(q.status, 0, q.stderr);
  const rows = q.stdout.trim().split('\n').map((l) => l.split('|'));
  assert.ok(rows.length >= 2);
  for (const [kid, alg, pub, sealed] of rows) {
    assert.match(sealed, /^v1\.[A-Za-z0-9_-]+$/);
    const jwk = JSON.parse(pub);
    assert.equal(jwk.kid, kid);
    assert.equal(jwk.alg, alg);
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(jwk[m], undefined);
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    // Neither PEM nor a DER PKCS#8 header, and no long run of the public key.
    assert.ok(!raw.includes(Buffer.from('PRIVATE KEY')));
    assert.ok(!(raw[24] === 0x30 && raw[25] === 0x82 && raw[28] === 0x02), 'looks like clear DER');
  }
  const file = readFileSync(db);
  assert.ok(!file.includes(Buffer.from('BEGIN')), 'no PEM in the file');
});

test('JW-09: rotation publishes the new key at once and keeps the old one', async () => {
  const srv = await startServer({ config: { signing_key_refresh: '1', signing_key_activation_delay: '2' } });
  const before = (await (await fetch(srv.url + '/jwks.json')).json()).keys.map((k) => k.kid);
  const r = run(['key', 'rotate', '--alg', 'ES256', '--config', srv.configFile, '--data-dir', srv.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  const kid = r.stdout.match(/key ([A-Za-z0-9_-]{43})/)[1];
  await new Promise((res) => setTimeout(res, 1500));
  const mid = (await (await fetch(srv.url + '/jwks.json')).json()).keys.map((k) => k.kid);
  assert.ok(mid.includes(kid), 'new key published within the refresh interval:\n' + srv.rawLogs().slice(-3000));
  for (const k of before) assert.ok(mid.includes(k), `old key ${k} still published`);
  const list = JSON.parse(run(['key', 'list', '--json', '--config', srv.configFile, '--data-dir', srv.dataDir]).stdout);
  const states = Object.fromEntries(list.map((k) => [k.kid, k.state]));
  assert.ok(['pending', 'active'].includes(states[kid]));
  await new Promise((res) => setTimeout(res, 2500));
  const after = JSON.parse(run(['key', 'list', '--json', '--config', srv.configFile, '--data-dir', srv.dataDir]).stdout);
  const st = Object.fromEntries(after.map((k) => [k.kid, k]));
  assert.equal(st[kid].state, 'active');
  const oldEs = after.find((k) => k.alg === 'ES256' && k.kid !== kid);
  assert.equal(oldEs.state, 'retired');
  assert.ok(oldEs.unpublish_at >= oldEs.retired_at + 300, 'kept at least one token lifetime');
  const jwks = (await (await fetch(srv.url + '/jwks.json')).json()).keys.map((k) => k.kid);
  assert.ok(jwks.includes(oldEs.kid), 'retired key still in the JWKS');
  await stopClean(srv);
});

test('key rotate: bad --alg is a usage error', () => {
  const dir = storeDir();
  const r = run(['key', 'rotate', '--alg', 'HS256', '--mode', 'development', '--data-dir', dir]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown --alg/);
});

// A store writer without the master key: they can INSERT and UPDATE rows
// in signing_keys, not seal a private key under our master key. Planted
// rows (their own public key; a sealed part that is garbage) in each
// state, and a genuine pending key whose public_jwk they replaced with
// theirs: none is in /jwks.json, and a copy of a real access token
// re-signed with their key under any of those kids is refused at
// /userinfo, while the real one still works.
test('store writer without the master key: planted or altered key rows are not published and sign nothing we accept', async () => {
  const srv = await startServer({ config: { signing_key_refresh: '1' }, keepDataDir: true });
  let restarted = false;
  try {
    const rp = addClient(srv, { name: 'RP', redirectUris: ['https://rp.example/cb'] });
    addUser(srv, 'alice@example.com');
    const real = (await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid' })).tokens.access_token;
    const userinfo = (t) => fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + t } });
    assert.equal((await userinfo(real)).status, 200);
    const claims = JSON.parse(Buffer.from(real.split('.')[1], 'base64url').toString());

    const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const pubJwk = await jose.exportJWK(publicKey);
    const evilKid = await jose.calculateJwkThumbprint(pubJwk);
    const jwkFor = (kid) => JSON.stringify({ alg: 'ES256', crv: pubJwk.crv, kid, kty: 'EC', use: 'sig', x: pubJwk.x, y: pubJwk.y });
    const now = Math.floor(Date.now() / 1000);
    const garbage = 'v1.' + randomBytes(120).toString('base64url');
    // Pending (activates in an hour), and retired (activated before ours).
    const planted = [
      [evilKid, now + 3600],
      [evilKid.slice(0, -4) + 'AAAA', 1],
    ];
    for (const [kid, at] of planted) {
      storeSql(srv, `INSERT INTO signing_keys (kid, alg, public_jwk, private_sealed, created_at, activate_at) VALUES ('${kid}', 'ES256', '${jwkFor(kid)}', '${garbage}', ${now}, ${at})`);
    }
    // A genuine pending key, its public_jwk swapped for the writer's.
    const r = run(['key', 'rotate', '--alg', 'ES256', '--config', srv.configFile, '--data-dir', srv.dataDir], );
    assert.equal(r.code, 0, r.stderr);
    const genuine = r.stdout.match(/key ([A-Za-z0-9_-]{43})/)[1];
    storeSql(srv, `UPDATE signing_keys SET public_jwk = '${jwkFor(genuine)}' WHERE kid = '${genuine}'`);
    await new Promise((res) => setTimeout(res, 1200));

    const jwks = (await (await fetch(srv.url + '/jwks.json')).json()).keys;
    const kids = jwks.map((k) => k.kid);
    assert.equal(jwks.length, 2, JSON.stringify(kids));
    const attacked = [...planted.map(([k]) => k), genuine];
    for (const k of attacked) assert.ok(!kids.includes(k), `${k} published`);
    for (const k of jwks) assert.notEqual(k.x, pubJwk.x, 'the writer\'s key is not published under any kid');

    for (const kid of attacked) {
      const forged = await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .sign(privateKey);
      const res = await userinfo(forged);
      assert.equal(res.status, 401, kid);
      assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
    }
    assert.equal((await userinfo(real)).status, 200, 'our own token still works');
    // The operator sees them: key list marks each attacked row rejected.
    const listed = JSON.parse(run(['key', 'list', '--json', '--config', srv.configFile, '--data-dir', srv.dataDir]).stdout);
    for (const k of listed) assert.equal(k.rejected, attacked.includes(k.kid), k.kid);
    const text = run(['key', 'list', '--config', srv.configFile, '--data-dir', srv.dataDir]).stdout;
    for (const k of attacked) assert.match(text, new RegExp(`^${k} .* REJECTED$`, 'm'));
    const logs = srv.rawLogs();
    for (const k of attacked) assert.match(logs, new RegExp(`"event":"signer.key_rejected"[^\\n]*"kid":"${k}"`));
    assert.equal(logs.split('\n').filter((l) => l.includes('signer.key_rejected')).length, attacked.length, 'logged once each, not per reload');
    // A restart on the altered store comes up, publishes the same keys,
    // and issues tokens (its active ES256 key is ours).
    await stopClean(srv);
    restarted = true;
    const again = await startServer({ dataDir: srv.dataDir, config: { signing_key_refresh: '1' } });
    try {
      const k2 = (await (await fetch(again.url + '/jwks.json')).json()).keys.map((k) => k.kid);
      assert.deepEqual(k2.sort(), kids.sort());
      const rp2 = addClient(again, { name: 'RP 2', redirectUris: ['https://rp2.example/cb'] });
      const t = (await codeFlow(again, rp2, { email: 'alice@example.com', scope: 'openid' })).tokens.access_token;
      assert.equal((await fetch(again.url + '/userinfo', { headers: { authorization: 'Bearer ' + t } })).status, 200);
    } finally {
      await stopClean(again);
    }
  } finally {
    if (!restarted) {
      await srv.stop();
      rmSync(srv.dataDir, { recursive: true, force: true });
    }
  }
});
