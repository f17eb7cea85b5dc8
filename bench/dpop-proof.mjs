// DPoP proofs (RFC 9449) for the bench, with node:crypto alone: an ES256
// key pair kept in a JWK file, and one proof per request (fresh jti, iat
// now). Used by refresh-seed.mjs (BENCH_DPOP_KEY) and dpop-refresh.mjs.
import crypto from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const b64u = (b) => Buffer.from(b).toString('base64url');

// The key pair in file (a private JWK), made there if it does not exist.
export function dpopKey(file) {
  if (!existsSync(file)) {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(file, JSON.stringify(privateKey.export({ format: 'jwk' })), { mode: 0o600 });
  }
  const jwk = JSON.parse(readFileSync(file, 'utf8'));
  const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  const pub = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub }));
  return { key, header };
}

// A proof for (htm, htu) signed by k.
export function dpopProof(k, htm, htu) {
  const claims = b64u(JSON.stringify({ jti: b64u(crypto.randomBytes(16)), htm, htu,
    iat: Math.floor(Date.now() / 1000) }));
  const input = `${k.header}.${claims}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: k.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)}`;
}
