// The command line: help per sub-command, version, clear usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, tempDir } from './lib/server.mjs';

test('--version and --help', () => {
  const v = run(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^portcullis \d+\.\d+\.\d+/);
  const h = run(['--help']);
  assert.equal(h.code, 0);
  for (const c of ['serve', 'migrate', 'check-config', 'key list', 'key rotate']) assert.ok(h.stdout.includes(c), c);
});

test('every sub-command has --help naming its options', () => {
  const cases = [
    [['serve', '--help'], ['--issuer', '--listen', '--config', '--data-dir']],
    [['migrate', '--help'], ['--config', '--data-dir']],
    [['check-config', '--help'], ['--config', '--data-dir']],
    [['key', 'list', '--help'], ['--config', '--data-dir']],
    [['key', 'rotate', '--help'], ['--alg']],
    [['master-key', 'init', '--help'], ['--data-dir']],
  ];
  for (const [args, words] of cases) {
    const r = run(args);
    assert.equal(r.code, 0, args.join(' '));
    for (const w of words) assert.ok(r.stdout.includes(w), `${args.join(' ')}: ${w}`);
  }
});

test('bad arguments: exit 2 with a clear message and usage', () => {
  const cases = [
    [['frobnicate'], /unknown command/],
    [['serve', '--nope'], /unknown option '--nope'/],
    [['serve', 'extra'], /unexpected argument 'extra'/],
    [['serve', '--issuer'], /needs a value/],
    [['key'], /expected 'key list' or 'key rotate'/],
    [['key', 'list', '--alg', 'ES256'], /--alg is for/],
    [['master-key'], /expected 'master-key init'/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
  assert.equal(run([]).code, 2);
});

test('migrate: applies once, then reports up to date', () => {
  const dir = tempDir();
  const a = run(['migrate', '--mode', 'development', '--data-dir', dir]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /migrated from schema version 0 to \d+/);
  const b = run(['migrate', '--data-dir', dir]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /up to date at schema version \d+/);
});
