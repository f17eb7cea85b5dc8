// The load of the DPoP refresh runs (bench/dpop.sh): CHAINS refresh-token
// rotation chains at once for SECONDS, each request the next of its chain
// (one in flight per chain, like oauth.lua's refresh mode), from a public
// client that names itself. wrk cannot sign, and every DPoP request needs
// a proof of its own (a fresh jti: a repeat is a replay), so the client is
// node; the figures that matter are the server's CPU per request, which
// the client's own cost does not change.
//
//   node bench/dpop-refresh.mjs ISSUER CLIENT_ID TOKENS OFFSET CHAINS SECONDS [KEYFILE]
//
// Chain i (0-based) starts from line OFFSET + i + 1 of TOKENS. With KEYFILE
// every request carries a DPoP proof by that key (the tokens must be bound
// to it: refresh-seed.mjs with BENCH_DPOP_KEY); without, none (Bearer).
// Prints "ok N", "bad N", "dead N", "sent N", "secs S", "p99 MS" lines,
// and "status CODE COUNT" lines.
import { readFileSync } from 'node:fs';
import { dpopKey, dpopProof } from './dpop-proof.mjs';

const [issuer, clientId, tokensFile, offArg, chainsArg, secsArg, keyFile] = process.argv.slice(2);
const OFFSET = Number(offArg);
const CHAINS = Number(chainsArg);
const SECS = Number(secsArg);
if (!issuer || !clientId || !tokensFile || !(CHAINS >= 1) || !(SECS > 0) || !(OFFSET >= 0)) {
  console.error('usage: see the head of dpop-refresh.mjs');
  process.exit(2);
}
const tokens = readFileSync(tokensFile, 'utf8').split('\n').filter(Boolean);
if (tokens.length < OFFSET + CHAINS) {
  console.error(`${tokensFile}: ${tokens.length} tokens, need ${OFFSET + CHAINS}`);
  process.exit(2);
}
const key = keyFile ? dpopKey(keyFile) : null;
const url = `${issuer}/token`;
let ok = 0, bad = 0, dead = 0, sent = 0;
const lat = [];
const status = new Map();
const t0 = performance.now();
const end = t0 + SECS * 1000;

async function chain(i) {
  let current = tokens[OFFSET + i];
  let alive = true;
  while (performance.now() < end) {
    const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (key) headers.dpop = dpopProof(key, 'POST', url);
    const body = `grant_type=refresh_token&client_id=${encodeURIComponent(clientId)}` +
      `&refresh_token=${encodeURIComponent(current)}`;
    const s = performance.now();
    sent++;
    let res, j = null;
    try {
      res = await fetch(url, { method: 'POST', headers, body });
      j = await res.json().catch(() => null);
    } catch {
      bad++;
      continue;
    }
    lat.push(performance.now() - s);
    status.set(res.status, (status.get(res.status) ?? 0) + 1);
    if (res.status === 200 && j?.refresh_token) {
      current = j.refresh_token;
      ok++;
    } else {
      bad++;
      if (alive) { dead++; alive = false; }
    }
  }
}

await Promise.all(Array.from({ length: CHAINS }, (_, i) => chain(i)));
const secs = (performance.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const p99 = lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] : 0;
process.stdout.write(`ok ${ok}\nbad ${bad}\ndead ${dead}\nsent ${sent}\nsecs ${secs.toFixed(2)}\np99 ${p99.toFixed(2)}\n`);
for (const [c, n] of status) process.stdout.write(`status ${c} ${n}\n`);
