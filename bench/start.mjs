// Time from process start to the first 200 on /readyz, and idle RSS.
//
//   node bench/start.mjs PORT LOGFILE PIDFILE KEEP_S BIN [ARGS...]
//
// Spawns BIN ARGS (stdout and stderr appended to LOGFILE, so request logging
// costs what it costs when stderr is a file), writes the child's pid to
// PIDFILE, then polls GET /readyz on 127.0.0.1:PORT over a raw socket,
// retrying 1 ms after every failed attempt, until a 200 (or 60 s). The clock
// starts just before spawn() and stops when the 200's status line arrives
// (process.hrtime.bigint()). Then it reads VmRSS / VmHWM from
// /proc/PID/status at once and again after 1 s idle and prints one JSON line:
//   {"ok":true,"pid":..,"ready_ms":..,"attempts":..,
//    "rss_ready_kb":..,"rss_idle_kb":..,"hwm_idle_kb":..}
// With KEEP_S=0 the child is then stopped with SIGTERM; otherwise this
// script stays its parent until it gets SIGTERM/SIGINT or KEEP_S seconds
// pass (a bound in case the caller dies), then stops the child (SIGTERM,
// SIGKILL after 15 s) and exits with 0 if the child exited with 0.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

const [port, logFile, pidFile, keep, bin, ...args] = process.argv.slice(2);
if (!bin) {
  console.error('usage: start.mjs PORT LOGFILE PIDFILE KEEP_S BIN [ARGS...]');
  process.exit(2);
}
const PORT = Number(port);
const DEADLINE_MS = 60_000;

function status(pid) {
  const out = {};
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    for (const k of ['VmRSS', 'VmHWM']) {
      const m = t.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'));
      if (m) out[k] = Number(m[1]);
    }
  } catch { /* gone */ }
  return out;
}

// One attempt: resolves to the status code, or 0 when the connection fails.
function probe() {
  return new Promise((resolve) => {
    const s = net.connect(PORT, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (code) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(code);
    };
    s.setNoDelay(true);
    s.setEncoding('latin1');
    s.on('connect', () => s.write(
      `GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => {
      data += d;
      const eol = data.indexOf('\r\n');
      if (eol >= 0) finish(Number(data.slice(0, eol).split(' ')[1]) || -1);
    });
    s.on('error', () => finish(0));
    s.on('close', () => finish(data ? -1 : 0));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const fd = openSync(logFile, 'a');
const t0 = process.hrtime.bigint();
const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
let exited = null;
const exitP = new Promise((resolve) => child.on('exit', (code, signal) => {
  exited = { code, signal };
  resolve(exited);
}));
writeFileSync(pidFile, `${child.pid}\n`);

async function stopChild() {
  if (exited === null) child.kill('SIGTERM');
  const t = setTimeout(() => { if (exited === null) child.kill('SIGKILL'); }, 15_000);
  const r = await exitP;
  clearTimeout(t);
  return r;
}

let attempts = 0;
let readyMs = null;
let last = 0;
while (exited === null) {
  attempts++;
  last = await probe();
  if (last === 200) {
    readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    break;
  }
  if (Number(process.hrtime.bigint() - t0) / 1e6 > DEADLINE_MS) break;
  await sleep(1);
}
if (readyMs === null) {
  console.log(JSON.stringify({ ok: false, pid: child.pid, attempts, last_status: last, exited }));
  await stopChild();
  process.exit(1);
}
const atReady = status(child.pid);
await sleep(1000);
const idle = status(child.pid);
console.log(JSON.stringify({
  ok: true,
  pid: child.pid,
  ready_ms: Math.round(readyMs * 10) / 10,
  attempts,
  rss_ready_kb: atReady.VmRSS ?? null,
  rss_idle_kb: idle.VmRSS ?? null,
  hwm_idle_kb: idle.VmHWM ?? null,
}));

const keepS = Number(keep) || 0;
if (keepS <= 0) {
  const r = await stopChild();
  process.exit(r.code === 0 ? 0 : 1);
}
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  const r = await stopChild();
  process.exit(r.code === 0 ? 0 : 1);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, keepS * 1000);
exitP.then((r) => { if (!stopping) process.exit(r.code === 0 ? 0 : 1); });
