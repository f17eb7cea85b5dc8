// The SMTP sink the mail flows are tested with (tests/e2e/lib/smtp.mjs).
// No HTTP route sends mail yet: delivery by the real code (mail_send_now
// and the sender thread, over libcurl to this same aiosmtpd) is proven in
// tests/unit/test_mail.c. Here the helper itself is checked with a plain
// SMTP dialog, so a flow test that uses it can trust what it reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startSmtp, parseMail, findLink } from './lib/smtp.mjs';

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
