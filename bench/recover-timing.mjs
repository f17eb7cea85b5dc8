// Forgot-password timing, known vs unknown address (SECURITY.md RS-01).
//
//   PORTCULLIS_BIN=build-rel/src/portcullis node bench/recover-timing.mjs [PAIRS] [WARMUP] [alternate|random]
//
// Starts the binary PORTCULLIS_BIN names (build it as a release: `meson
// setup build-rel --buildtype=release -Dtests=false && ninja -C build-rel`)
// on a fresh data dir, on SQLite, or on PostgreSQL when PORTCULLIS_TEST_PG
// names a cluster (as in the e2e tests). It adds one verified account,
// raises the mail limits so no request is refused (every known request
// does the full work), then sends PAIRS (default 500) pairs of
// POST /forgot, known and unknown address alternating, on one keep-alive
// connection with one pre-session and its CSRF token, one request at a
// time. The first WARMUP (default 50) pairs are not counted. The time of
// a request is from writing it to the last byte of its answer
// (process.hrtime). In "random" order the same requests come shuffled
// (a fixed seed), and the medians by the previous request's kind show
// whether work left behind by a known address slows the next answer.
// Prints one JSON line:
//   {"ok":..,"order":..,"pairs":..,"known_median_ms":..,"unknown_median_ms":..,
//    "known_p90_ms":..,"unknown_p90_ms":..,"diff_median_ms":..,
//    "after_known_median_ms":..,"after_unknown_median_ms":..,"statuses":{..}}
// No assertion: timing depends on the machine; CI does not run this.
import http from 'node:http';
import { startServer } from '../tests/e2e/lib/server.mjs';
import { addUser, csrfOf } from '../tests/e2e/lib/web.mjs';

const PAIRS = Number(process.argv[2] ?? 500);
const WARMUP = Number(process.argv[3] ?? 50);
const ORDER = process.argv[4] ?? 'alternate';
const KNOWN = 'timing-known@example.com';

const srv = await startServer({
  config: {
    log_requests: 'false',
    mail_per_ip: 100000,
    mail_per_account: 1000,
    // The overall per-account cap (issue 11) must be above the share; a
    // binary from before it refuses the setting: RECOVER_TIMING_OLD=1.
    ...(process.env.RECOVER_TIMING_OLD ? {} : { mail_per_account_total: 100000 }),
  },
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port: srv.port, method, path, agent, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: data,
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
      }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const p90 = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length * 0.9)]; };
const round = (x) => Math.round(x * 1000) / 1000;

let out;
try {
  addUser(srv, KNOWN);
  const page = await request('GET', '/forgot', { host: `127.0.0.1:${srv.port}`, accept: 'text/html' });
  const cookie = page.headers['set-cookie'].map((c) => c.split(';')[0]).join('; ');
  const csrf = csrfOf(page.body, '/forgot');
  const headers = {
    host: `127.0.0.1:${srv.port}`,
    accept: 'text/html',
    cookie,
    'content-type': 'application/x-www-form-urlencoded',
    'sec-fetch-site': 'same-origin',
    origin: srv.issuer,
  };
  const known = [];
  const unknown = [];
  const afterKnown = [];
  const afterUnknown = [];
  const statuses = {};
  // The sequence: true = known address.
  const seq = [];
  for (let i = 0; i < PAIRS + WARMUP; i++) seq.push(true, false);
  if (ORDER === 'random') {
    let x = 0x2545f491;
    const rnd = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 2 ** 32; };
    for (let i = seq.length - 1; i > 2 * WARMUP; i--) {
      const j = 2 * WARMUP + Math.floor(rnd() * (i - 2 * WARMUP + 1));
      [seq[i], seq[j]] = [seq[j], seq[i]];
    }
  }
  for (let i = 0; i < seq.length; i++) {
    const email = seq[i] ? KNOWN : `nobody-${i}@example.com`;
    const body = new URLSearchParams({ csrf, email }).toString();
    const r = await request('POST', '/forgot', { ...headers, 'content-length': Buffer.byteLength(body) }, body);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (i >= 2 * WARMUP) {
      (seq[i] ? known : unknown).push(r.ms);
      (seq[i - 1] ? afterKnown : afterUnknown).push(r.ms);
    }
  }
  out = {
    ok: Object.keys(statuses).every((s) => s === '200'),
    order: ORDER,
    pairs: PAIRS,
    store: srv.storeUrl ? 'postgresql' : 'sqlite',
    known_median_ms: round(median(known)),
    unknown_median_ms: round(median(unknown)),
    known_p90_ms: round(p90(known)),
    unknown_p90_ms: round(p90(unknown)),
    diff_median_ms: round(median(known) - median(unknown)),
    after_known_median_ms: round(median(afterKnown)),
    after_unknown_median_ms: round(median(afterUnknown)),
    statuses,
  };
} finally {
  agent.destroy();
  await srv.stop();
}
console.log(JSON.stringify(out));
