// Configuration: precedence (file < env < flags), check-config output with
// secrets masked, and refusal of unsafe combinations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir, startServer, stopClean, freePort } from './lib/server.mjs';

function effective(stdout) {
  const m = {};
  for (const l of stdout.split('\n')) {
    const x = l.match(/^(\S+)\s+= (.*?)\s+\((\S.*)\)$/);
    if (x) m[x[1]] = { value: x[2].trim(), source: x[3] };
  }
  return m;
}

test('precedence: config file < PORTCULLIS_* < flags', () => {
  const dir = tempDir();
  const conf = join(dir, 'p.conf');
  writeFileSync(conf, '# comment\nissuer = https://file.example\nlisten = 127.0.0.1:7001\nlog_level = warn\n');
  const base = ['check-config', '--mode', 'development', '--data-dir', dir];
  let m = effective(run([...base, '--config', conf]).stdout);
  assert.equal(m.issuer.value, 'https://file.example');
  assert.equal(m.issuer.source, 'file');
  m = effective(run([...base, '--config', conf], { env: { PORTCULLIS_ISSUER: 'https://env.example' } }).stdout);
  assert.equal(m.issuer.value, 'https://env.example');
  assert.equal(m.issuer.source, 'env');
  m = effective(run([...base, '--config', conf, '--issuer', 'https://flag.example'],
    { env: { PORTCULLIS_ISSUER: 'https://env.example' } }).stdout);
  assert.equal(m.issuer.value, 'https://flag.example');
  assert.equal(m.issuer.source, 'flag');
  assert.equal(m.listen.value, '127.0.0.1:7001');
  // PORTCULLIS_CONFIG names the file; --config wins over it.
  m = effective(run(base, { env: { PORTCULLIS_CONFIG: conf } }).stdout);
  assert.equal(m.log_level.value, 'warn');
  m = effective(run(base, { env: { PORTCULLIS_DATA_DIR: '/nonexistent-x' } }).stdout);
  assert.equal(m.data_dir.value, dir, '--data-dir beats PORTCULLIS_DATA_DIR');
});

test('check-config: masks the master key and shows where it comes from', () => {
  const dir = tempDir();
  const key = 'A'.repeat(43);
  const r = run(['check-config', '--data-dir', dir], { env: { PORTCULLIS_MASTER_KEY: key } });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key));
  assert.match(r.stdout, /master_key\s+= \*+/);
  assert.match(r.stdout, /configuration OK/);
});

test('check-config refuses unsafe or invalid combinations', () => {
  const dir = tempDir();
  const dev = ['check-config', '--mode', 'development', '--data-dir', dir];
  // Production keeps http:// to loopback; development allows it anywhere
  // else with a warning (issue 11, dev_http_issuer.test.mjs).
  for (const iss of ['http://idp.example.com', 'http://10.0.0.1:8080']) {
    const r = run(['check-config', '--mode', 'production', '--data-dir', dir, '--issuer', iss]);
    assert.notEqual(r.code, 0, iss);
    assert.match(r.stderr, /not loopback/, iss);
    const d = run([...dev, '--issuer', iss]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /# warning: the issuer is http:\/\/ on a host that is not\s+loopback/, iss);
  }
  const bad = [
    [['--issuer', 'http://0.0.0.0:8080'], /address to listen on/],
    [['--issuer', 'https://idp.example.com/'], /must not end with/],
    [['--issuer', 'https://idp.example.com?x=1'], /no query/],
    [['--issuer', 'https://user@idp.example.com'], /userinfo/],
    [['--issuer', 'ftp://idp.example.com'], /https/],
    [['--listen', 'nope'], /HOST:PORT/],
    [['--listen', '127.0.0.1:70000'], /HOST:PORT/],
    [['--mode', 'yolo'], /production or development/],
    [['--issuer', 'https://idp.example.com/tenant'], /path is not supported/],
    [['--store-url', 'mysql://db/x'], /sqlite:PATH or postgres/],
  ];
  for (const [args, re] of bad) {
    const r = run([...dev, ...args]);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
  const conf = join(dir, 'bad.conf');
  for (const text of ['no_such_setting = 1\n', 'http_max_body = lots\n', 'tls_cert = /x.pem\n', 'just words\n', 'rsa_key_bits = 1024\n',
    'issuer = https://a.example\ntls_cert = /nonexistent.pem\ntls_key = /nonexistent.key\n']) {
    writeFileSync(conf, text);
    const r = run([...dev, '--config', conf]);
    assert.notEqual(r.code, 0, text);
    assert.match(r.stderr, /bad\.conf|tls_cert|rsa_key_bits/, text);
  }
  // An activation delay shorter than refresh + JWKS caching is flagged.
  writeFileSync(conf, 'signing_key_activation_delay = 10\n');
  assert.match(run([...dev, '--config', conf]).stdout, /warning: signing_key_activation_delay/);
  // Loopback http issuers are fine.
  for (const iss of ['http://127.0.0.1:8080', 'http://localhost:9', 'http://[::1]:8080', 'https://idp.example.com', 'https://idp.example.com:8443']) {
    assert.equal(run([...dev, '--issuer', iss]).code, 0, iss);
  }
});

test('PW-02: Argon2id parameters below the OWASP floor stop every command', () => {
  const dir = tempDir();
  const conf = join(dir, 'pw.conf');
  for (const [m, t] of [['16m', '2'], ['32m', '1'], ['8m', '4']]) {
    writeFileSync(conf, `pwhash_memory = ${m}\npwhash_iterations = ${t}\n`);
    for (const cmd of [['check-config'], ['serve', '--listen', '127.0.0.1:1'], ['migrate']]) {
      const r = run([...cmd, '--mode', 'development', '--data-dir', dir, '--config', conf]);
      assert.equal(r.code, 1, `${cmd[0]} m=${m} t=${t}`);
      assert.match(r.stderr, /below the OWASP minimum/);
    }
  }
  writeFileSync(conf, 'pwhash_memory = 19m\npwhash_iterations = 2\n');
  assert.equal(run(['check-config', '--mode', 'development', '--data-dir', dir, '--config', conf]).code, 0);
});

test('serve: --issuer and --listen flags and PORTCULLIS_ISSUER/LISTEN are honoured', async () => {
  const port = await freePort();
  const srv = await startServer({ port, config: { issuer: 'https://wrong.example', listen: '127.0.0.1:1' },
    env: { PORTCULLIS_LISTEN: `127.0.0.1:${port}` }, args: ['--issuer', `http://127.0.0.1:${port}`] });
  const d = await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json();
  assert.equal(d.issuer, `http://127.0.0.1:${port}`);
  await stopClean(srv);
});
