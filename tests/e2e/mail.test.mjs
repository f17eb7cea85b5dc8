// Mail over SMTP, end to end: the real server, smtp_url pointing at
// Debian's aiosmtpd (tests/e2e/lib/smtp.mjs), a forgot-password request,
// and the mail as the sink received it. The outbox path is what
// recover.test.mjs reads; libcurl details are in tests/unit/test_mail.c.
// The helper itself is checked first with a plain SMTP dialog, so a flow
// test that uses it can trust what it reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startSmtp, parseMail, findLink } from './lib/smtp.mjs';
import { startServer, stopClean } from './lib/server.mjs';
import { Client, addUser } from './lib/web.mjs';

// A minimal SMTP client: sends each command after the previous reply.
function smtpSend(port, from, to, data) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const steps = [`EHLO test\r\n`, `MAIL FROM:<${from}>\r\n`, `RCPT TO:<${to}>\r\n`,
      'DATA\r\n', `${data}\r\n.\r\n`, 'QUIT\r\n'];
    const codes = [];
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      buf += d;
      // A reply is complete at a line "NNN text" (not "NNN-text").
      for (let m; (m = buf.match(/^(\d{3}) .*\r\n/m));) {
        codes.push(Number(m[1]));
        buf = buf.slice(buf.indexOf(m[0]) + m[0].length);
        const next = steps.shift();
        if (next) s.write(next); else s.end();
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(codes));
  });
}

test('mail: the SMTP sink receives, stores and parses a message', async () => {
  const smtp = await startSmtp();
  try {
    const raw = [
      'From: no-reply@id.example.com',
      'To: bob@example.org',
      'Subject: =?UTF-8?B?R3LDvMOfZQ==?=',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Open https://id.example.com/reset?token=3Dabc_DEF-=',
      '123 within 30 minutes.',
    ].join('\r\n');
    const codes = await smtpSend(smtp.port, 'no-reply@id.example.com', 'bob@example.org', raw);
    assert.deepEqual(codes, [220, 250, 250, 250, 354, 250, 221]);
    const got = await smtp.waitFor((m) => m.includes('X-RcptTo: bob@example.org'), 5000);
    assert.equal(smtp.messages().length, 1);
    const { headers, text } = parseMail(got);
    assert.equal(headers.subject, 'Grüße');
    assert.equal(headers['x-mailfrom'], 'no-reply@id.example.com');
    assert.equal(findLink(text, 'https://id.example.com/reset?token='),
      'https://id.example.com/reset?token=abc_DEF-123');
    await assert.rejects(smtp.waitFor((m) => m.includes('nobody'), 200), /no matching mail/);
  } finally {
    await smtp.stop();
  }
});

test('mail: RS-05 a reset mail goes out over SMTP with the issuer link, and the log keeps no token', async () => {
  const smtp = await startSmtp();
  let srv;
  try {
    srv = await startServer({ config: { smtp_url: `smtp://127.0.0.1:${smtp.port}` } });
    addUser(srv, 'smtp-user@example.com');
    const c = new Client(srv);
    const r = await c.submit('/forgot', '/forgot', { email: 'smtp-user@example.com' },
      { headers: { 'x-forwarded-host': 'evil.example' } });
    assert.ok(r.status === 200 || r.status === 303, `forgot: ${r.status}`);
    const raw = await smtp.waitFor((m) => m.includes('X-RcptTo: smtp-user@example.com'), 20_000);
    const { headers, text } = parseMail(raw);
    const host = new URL(srv.issuer).hostname;
    assert.equal(headers['x-mailfrom'], `no-reply@${host}`);
    assert.equal(headers.to, 'smtp-user@example.com');
    assert.equal(headers['auto-submitted'], 'auto-generated');
    assert.match(headers['content-type'], /^text\/plain; charset=utf-8$/);
    assert.match(headers['message-id'], new RegExp(`^<[0-9a-f]{32}@${host.replace(/\./g, '\\.')}>$`));
    const link = findLink(text, `${srv.issuer}/reset?token=`);
    assert.ok(link, `no reset link from the issuer in:\n${text}`);
    assert.doesNotMatch(text, /evil\.example/);
    const token = new URL(link).searchParams.get('token');
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    // An unknown address gets no mail.
    await c.submit('/forgot', '/forgot', { email: 'nobody-here@example.com' });
    await assert.rejects(smtp.waitFor((m) => m.includes('nobody-here@'), 1500), /no matching mail/);
    const s = srv;
    srv = undefined;
    await stopClean(s);
    // The log names the domain and the outcome, never the token or link.
    const logs = s.rawLogs();
    assert.match(logs, /"mail\.sent"[^\n]*"via":"smtp"/);
    assert.ok(!logs.includes(token), 'token in the server log');
    assert.ok(!logs.includes('smtp-user@'), 'address in the server log');
  } finally {
    if (srv) await srv.stop();
    await smtp.stop();
  }
});
