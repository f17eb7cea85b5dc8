// An SMTP sink for black-box tests: Debian's aiosmtpd (python3-aiosmtpd)
// on 127.0.0.1, storing every message in a Maildir that we read back.
//
//   const smtp = await startSmtp();
//   const srv = await startServer({ config: { smtp_url: `smtp://127.0.0.1:${smtp.port}` } });
//   ...
//   const raw = await smtp.waitFor((m) => m.includes('To: bob@example.org'));
//   const { headers, text } = parseMail(raw);
//   await smtp.stop();
//
// The server sends plain SMTP to a loopback host (STARTTLS is required
// for any other host), so no certificate is needed here.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { freePort, tempDir } from './server.mjs';

// Debian's python3, where python3-aiosmtpd lives (a python3 earlier on
// PATH, e.g. from pyenv, would not have it).
export const PYTHON = process.env.PORTCULLIS_PYTHON ?? '/usr/bin/python3';

const live = new Set();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the sink. Resolves to { port, dir, messages(), waitFor(pred, ms), stop() }.
// messages() gives every message received so far, oldest first, as raw
// RFC 5322 text (aiosmtpd stores "\n" line ends and appends X-Peer,
// X-MailFrom and X-RcptTo headers). Rejects with a clear message when
// aiosmtpd is missing.
export async function startSmtp() {
  const port = await freePort();
  const dir = tempDir('pc-smtp-');
  const maildir = join(dir, 'maildir');
  const proc = spawn(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`,
    '-c', 'aiosmtpd.handlers.Mailbox', maildir], { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let stderr = '';
  let exited = null;
  proc.stderr.on('data', (d) => { stderr += d; });
  const exit = new Promise((resolve) => proc.once('exit', (code, signal) => {
    live.delete(proc);
    exited = { code, signal };
    resolve(exited);
  }));
  proc.once('error', (e) => { stderr += String(e); });

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`aiosmtpd exited (${JSON.stringify(exited)}); is python3-aiosmtpd ` +
        `installed (scripts/deps.sh test)? ${stderr.trim()}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`aiosmtpd did not listen on ${port}: ${stderr.trim()}`);
    }
    await sleep(50);
  }

  function messages() {
    const out = [];
    for (const sub of ['new', 'cur']) {
      const d = join(maildir, sub);
      if (!existsSync(d)) continue;
      // Maildir names start with the delivery time in seconds, then a
      // per-process counter (…M<usec>P<pid>Q<n>…), so sorting by the
      // numbers in the name gives delivery order.
      const names = readdirSync(d).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      for (const n of names) out.push(readFileSync(join(d, n), 'utf8'));
    }
    return out;
  }

  async function waitFor(pred = () => true, ms = 10_000) {
    const end = Date.now() + ms;
    for (;;) {
      const hit = messages().find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() > end) {
        throw new Error(`no matching mail within ${ms} ms (${messages().length} received)`);
      }
      await sleep(50);
    }
  }

  async function stop() {
    if (!exited) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  return { port, dir, messages, waitFor, stop };
}

// Decodes quoted-printable text (RFC 2045 6.7) to a UTF-8 string.
export function decodeQuotedPrintable(s) {
  const bytes = [];
  const src = s.replace(/\r\n/g, '\n').replace(/=\n/g, '');
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
      bytes.push(parseInt(src.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// Decodes RFC 2047 "B" and "Q" encoded words in a header value.
export function decodeHeader(v) {
  return v.replace(/\r?\n[ \t]+/g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_, enc, data) => (enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64').toString('utf8')
      : decodeQuotedPrintable(data.replace(/_/g, ' '))));
}

// Splits a raw message into { headers: { lower-case name: decoded value },
// text: the decoded body }. Repeated headers keep the first value.
export function parseMail(raw) {
  const norm = raw.replace(/\r\n/g, '\n');
  const cut = norm.indexOf('\n\n');
  const head = cut < 0 ? norm : norm.slice(0, cut);
  const body = cut < 0 ? '' : norm.slice(cut + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).toLowerCase();
    if (!(name in headers)) headers[name] = decodeHeader(line.slice(i + 1).trim());
  }
  const qp = /quoted-printable/i.test(headers['content-transfer-encoding'] ?? '');
  return { headers, text: qp ? decodeQuotedPrintable(body) : body };
}

// The first link in a mail's text that starts with prefix (e.g.
// `${issuer}/reset?token=`), or undefined.
export function findLink(text, prefix) {
  const i = text.indexOf(prefix);
  if (i < 0) return undefined;
  return text.slice(i).split(/\s/)[0];
}
