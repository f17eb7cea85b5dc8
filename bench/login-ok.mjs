// Successful password sign-ins per second: the real flow, a small sample.
//
//   node bench/login-ok.mjs PORT EMAIL PASSWORD CONCURRENCY SECONDS
//
// CONCURRENCY workers (run.sh passes the hashing pool's slots), each on its
// own keep-alive connection, loop until SECONDS have passed: GET /login
// (a new pre-session: its cookie from Set-Cookie, the csrf token from the
// form), then POST /login with the right password and
// Sec-Fetch-Site: same-origin, which must answer 303 (the pre-session is
// replaced by a signed-in session, so every attempt needs a fresh GET).
// A worker starts no new attempt after SECONDS; the rate is the number of
// 303s divided by the time until the last worker finished. Prints one
// JSON line: {"ok":..,"logins":..,"seconds":..,"per_s":..,"statuses":{..}}.
import http from 'node:http';

const [port, email, password, conc, secs] = process.argv.slice(2);
if (!secs) {
  console.error('usage: login-ok.mjs PORT EMAIL PASSWORD CONCURRENCY SECONDS');
  process.exit(2);
}

function request(agent, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: Number(port), method, path, agent, headers,
    }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

const statuses = {};
const count = (s) => { statuses[s] = (statuses[s] || 0) + 1; };
let logins = 0;
let failed = null;

const t0 = process.hrtime.bigint();
const deadline = Number(secs) * 1e9;
const elapsed = () => Number(process.hrtime.bigint() - t0);

async function worker() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    while (elapsed() < deadline && failed === null) {
      const g = await request(agent, 'GET', '/login', {});
      const sc = [].concat(g.headers['set-cookie'] || [])
        .map((c) => c.split(';')[0]).find((c) => /^(__Host-)?sid=/.test(c));
      const m = g.body.match(/name="csrf" value="([^"]+)"/);
      if (g.status !== 200 || !sc || !m) {
        failed = `GET /login: ${g.status}, cookie ${sc ? 'yes' : 'no'}, csrf ${m ? 'yes' : 'no'}`;
        break;
      }
      const body = new URLSearchParams({ csrf: m[1], email, password }).toString();
      const p = await request(agent, 'POST', '/login', {
        Cookie: sc,
        'Sec-Fetch-Site': 'same-origin',
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': Buffer.byteLength(body),
      }, body);
      count(p.status);
      if (p.status === 303) logins++;
    }
  } catch (e) {
    failed = String(e);
  } finally {
    agent.destroy();
  }
}

await Promise.all(Array.from({ length: Number(conc) }, worker));
const seconds = elapsed() / 1e9;
console.log(JSON.stringify({
  ok: failed === null && logins > 0,
  error: failed,
  logins,
  seconds: Math.round(seconds * 1000) / 1000,
  per_s: Math.round((logins / seconds) * 100) / 100,
  statuses,
}));
