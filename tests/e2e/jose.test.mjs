// Our JWS against npm jose: jose verifies what our signer signs using our
// JWKS, and our verifier rejects tampered, alg:none and HS256-confused
// tokens (SECURITY.md JW-01, JW-02, JW-03, JW-07, JW-08).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { startServer, stopClean, TOOLS, tempDir, toolEnv } from './lib/server.mjs';

let srv, jwksFile, jwks;
before(async () => {
  srv = await startServer();
  jwks = await (await fetch(srv.url + '/jwks.json')).json();
  jwksFile = join(tempDir(), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks));
});
after(async () => { await stopClean(srv); });

function sign(alg, claims, typ) {
  const args = [srv.dataDir, alg];
  if (typ) args.push(typ);
  const r = spawnSync(join(TOOLS, 'pc-sign'), args, { input: JSON.stringify(claims), encoding: 'utf8', env: toolEnv(srv) });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function verify(token, algs = 'ES256,RS256,PS256,EdDSA', typ) {
  const args = [jwksFile, algs];
  if (typ) args.push(typ);
  const r = spawnSync(join(TOOLS, 'pc-verify'), args, { input: token, encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout.trim() };
}

test('npm jose verifies our ES256 and RS256 tokens against our JWKS', async () => {
  const JWKS = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  const now = Math.floor(Date.now() / 1000);
  for (const alg of ['ES256', 'RS256']) {
    const tok = sign(alg, { iss: srv.issuer, sub: 'u1', aud: 'c1', iat: now, exp: now + 60 }, 'at+jwt');
    const { payload, protectedHeader } = await jose.jwtVerify(tok, JWKS, { issuer: srv.issuer, audience: 'c1', algorithms: [alg] });
    assert.equal(payload.sub, 'u1');
    assert.equal(protectedHeader.alg, alg);
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.ok(jwks.keys.some((k) => k.kid === protectedHeader.kid));
    assert.ok(verify(tok).ok, 'our verifier agrees');
  }
});

test('JW-07: a tampered payload or header is rejected by our verifier', () => {
  const tok = sign('ES256', { sub: 'alice' });
  const [h, p, s] = tok.split('.');
  const evil = Buffer.from(JSON.stringify({ sub: 'mallory' })).toString('base64url');
  assert.ok(!verify(`${h}.${evil}.${s}`).ok);
  const hdr = JSON.parse(Buffer.from(h, 'base64url'));
  const h2 = Buffer.from(JSON.stringify({ ...hdr, typ: 'JWT' })).toString('base64url');
  assert.ok(!verify(`${h2}.${p}.${s}`).ok);
  const sig = Buffer.from(s, 'base64url'); sig[5] ^= 1;
  assert.ok(!verify(`${h}.${p}.${sig.toString('base64url')}`).ok);
});

test('JW-01: alg none in every spelling is rejected', () => {
  const tok = sign('ES256', { sub: 'alice' });
  const [h, p] = tok.split('.');
  const kid = JSON.parse(Buffer.from(h, 'base64url')).kid;
  for (const alg of ['none', 'None', 'NONE', 'noNE']) {
    const nh = Buffer.from(JSON.stringify({ alg, kid })).toString('base64url');
    assert.ok(!verify(`${nh}.${p}.`).ok, alg);
    assert.ok(!verify(`${nh}.${p}.${'A'.repeat(86)}`).ok, alg);
  }
  const unsecured = new jose.UnsecuredJWT({ sub: 'alice' }).encode();
  assert.ok(!verify(unsecured).ok);
});

test('JW-02: HS256 keyed with our public key is rejected (algorithm confusion)', async () => {
  const rsa = jwks.keys.find((k) => k.alg === 'RS256');
  const ec = jwks.keys.find((k) => k.alg === 'ES256');
  for (const k of [rsa, ec]) {
    const pub = await jose.importJWK(k, k.alg);
    const pem = await jose.exportSPKI(pub);
    for (const secret of [Buffer.from(pem), Buffer.from(JSON.stringify(k))]) {
      const tok = await new jose.SignJWT({ sub: 'mallory' })
        .setProtectedHeader({ alg: 'HS256', kid: k.kid }).sign(secret);
      assert.ok(!verify(tok).ok, `HS256 with ${k.alg} public key`);
    }
  }
  // An RS256 key presented as PS256: the key's algorithm wins.
  const tok = sign('RS256', { sub: 'alice' });
  const [h, p, s] = tok.split('.');
  const hdr = JSON.parse(Buffer.from(h, 'base64url'));
  const ps = Buffer.from(JSON.stringify({ ...hdr, alg: 'PS256' })).toString('base64url');
  assert.ok(!verify(`${ps}.${p}.${s}`).ok);
  // Allowed-list per context: an ES256 token where only RS256 is allowed.
  assert.ok(!verify(sign('ES256', { sub: 'a' }), 'RS256').ok);
});

test('JW-03: kid is only a map key; embedded keys and URLs are refused', async () => {
  const tok = sign('ES256', { sub: 'alice' });
  const [h, p, s] = tok.split('.');
  const hdr = JSON.parse(Buffer.from(h, 'base64url'));
  const variants = [
    { ...hdr, kid: '../../../../dev/null' },
    { ...hdr, kid: "' OR '1'='1" },
    { ...hdr, kid: 'k'.repeat(10000) },
    { ...hdr, jku: 'https://evil.example/jwks' },
    { ...hdr, x5u: 'https://evil.example/cert' },
    { ...hdr, jwk: jwks.keys[0] },
    { ...hdr, crit: ['exp'] },
  ];
  for (const v of variants) {
    const vh = Buffer.from(JSON.stringify(v)).toString('base64url');
    assert.ok(!verify(`${vh}.${p}.${s}`).ok, JSON.stringify(v).slice(0, 80));
  }
  // A token signed with an attacker key that it carries itself.
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const ajwk = await jose.exportJWK(publicKey);
  const forged = await new jose.SignJWT({ sub: 'mallory' })
    .setProtectedHeader({ alg: 'ES256', kid: hdr.kid, jwk: ajwk }).sign(privateKey);
  assert.ok(!verify(forged).ok);
});

test('JW-08: duplicate members, JSON serialization and oversize tokens are rejected', () => {
  const tok = sign('ES256', { sub: 'alice' });
  const [h, p, s] = tok.split('.');
  const hdr = Buffer.from(h, 'base64url').toString();
  const dupHdr = Buffer.from(hdr.replace('{', '{"alg":"none",')).toString('base64url');
  assert.ok(!verify(`${dupHdr}.${p}.${s}`).ok);
  assert.ok(!verify(JSON.stringify({ protected: h, payload: p, signature: s })).ok);
  assert.ok(!verify(`${h}.${p}.${s}.x.y`).ok);
  assert.ok(!verify(`${h}.${p}`).ok);
  assert.ok(!verify(`${h}=.${p}.${s}`).ok);
  const bigPayload = Buffer.from(JSON.stringify({ sub: 'alice', pad: 'x'.repeat(9000) })).toString('base64url');
  const big = `${h}.${bigPayload}.${s}`;
  assert.ok(!verify(big).ok);
  assert.match(verify(big).out, /too large/);
});

test('typ is enforced when the context asks for one (JW-06)', () => {
  const at = sign('ES256', { sub: 'a' }, 'at+jwt');
  assert.ok(verify(at, 'ES256', 'at+jwt').ok);
  assert.ok(!verify(sign('ES256', { sub: 'a' }), 'ES256', 'at+jwt').ok, 'no typ');
  assert.ok(!verify(sign('ES256', { sub: 'a' }, 'JWT'), 'ES256', 'at+jwt').ok, 'wrong typ');
});

test('EdDSA and PS256 keys: rotated in, published as OKP/RSA JWKs, verified by npm jose', async () => {
  const s2 = await startServer({ config: { signing_key_activation_delay: '0', signing_key_refresh: '1' } });
  try {
    for (const alg of ['EdDSA', 'PS256']) {
      const r = spawnSync(process.env.PORTCULLIS_BIN ?? 'build-test/src/portcullis',
        ['key', 'rotate', '--alg', alg, '--config', s2.configFile, '--data-dir', s2.dataDir], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    await new Promise((res) => setTimeout(res, 1500));
    const keys = (await (await fetch(s2.url + '/jwks.json')).json()).keys;
    const okp = keys.find((k) => k.alg === 'EdDSA');
    assert.equal(okp.kty, 'OKP');
    assert.equal(okp.crv, 'Ed25519');
    assert.equal(okp.d, undefined);
    assert.ok(keys.find((k) => k.alg === 'PS256' && k.kty === 'RSA'));
    const JWKS = jose.createRemoteJWKSet(new URL(s2.url + '/jwks.json'));
    for (const alg of ['EdDSA', 'PS256']) {
      const r = spawnSync(join(TOOLS, 'pc-sign'), [s2.dataDir, alg], { input: '{"sub":"e"}', encoding: 'utf8', env: toolEnv(s2) });
      assert.equal(r.status, 0, r.stderr);
      const { payload, protectedHeader } = await jose.jwtVerify(r.stdout.trim(), JWKS, { algorithms: [alg] });
      assert.equal(payload.sub, 'e');
      assert.equal(protectedHeader.alg, alg);
    }
  } finally {
    await stopClean(s2);
  }
});
