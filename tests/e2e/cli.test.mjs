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
    [['serve', 'extra'], /unexpected argument \(arguments are not shown/],
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

// The one parser (src/cli/args.c) has one set of rules for every command.
// Each case is built so that the old getopt_long parsers would have run
// the command (or failed for another reason) instead of exiting 2.
const COMMANDS = [
  ['serve', '--listen', 'nowhere'],
  ['migrate'],
  ['check-config'],
  ['key', 'list'],
  ['key', 'rotate'],
  ['master-key', 'init'],
  ['audit', 'tail'],
  ['audit', 'verify'],
  ['user', 'list'],
  ['user', 'add', '--email', 'a@example.com', '--no-password'],
  ['client', 'list'],
  ['client', 'add', '--name', 'X', '--redirect-uri', 'https://app.example/cb'],
];

test('an abbreviated option is refused by every command', () => {
  const dir = tempDir();
  const dev = ['--mode', 'development'];
  for (const cmd of COMMANDS) {
    // --data-d for --data-dir: getopt_long took any unique prefix.
    const r = run([...cmd, ...dev, '--data-d', dir]);
    assert.equal(r.code, 2, `${cmd.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /unknown option '--data-d'/, cmd.join(' '));
  }
  for (const [args, name] of [
    [['check-config', '--iss', 'https://idp.example'], '--iss'],
    [['key', 'rotate', '--al', 'ES256'], '--al'],
    [['audit', 'tail', '--js'], '--js'],
    [['user', 'add', '--emai', 'a@example.com'], '--emai'],
    [['client', 'add', '--nam', 'X'], '--nam'],
  ]) {
    const r = run([...args, ...dev, '--data-dir', dir]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`unknown option '${name}'`), `${args.join(' ')}: ${r.stderr}`);
  }
});

test('AU-03: a refused option or argument never echoes its value', () => {
  const dir = tempDir();
  const secret = 'pcs_Zm9vYmFyc2VjcmV0Y2FuYXJ5MTIzNDU2Nzg';
  const cases = [
    ['serve', `--nope=${secret}`],
    ['serve', `--iss=${secret}`],
    ['serve', secret],
    ['migrate', `--help=${secret}`],
    ['check-config', `--json=${secret}`],
    ['key', 'list', `--alg=${secret}`],
    ['master-key', 'init', `--secret=${secret}`],
    ['audit', 'tail', `--bogus=${secret}`],
    ['audit', 'tail', `-x${secret}`],
    ['user', 'list', `--email=${secret}`],
    ['user', 'set-password', '--id', 'x', secret],
    ['client', 'list', `--name=${secret}`],
    ['client', 'add', '--name', 'X', `--secret=${secret}`],
    ['client', 'add', '--name', 'X', `--public=${secret}`],
    ['client', 'show', '--id', 'pcc_x', `--${secret}`],
  ];
  for (const args of cases) {
    const r = run([...args, '--mode', 'development', '--data-dir', dir]);
    assert.equal(r.code, 2, `${args[0]} ${args[1]}: ${r.stderr}`);
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), `${args.join(' ')} echoed the value: ${r.stderr}`);
    assert.match(r.stderr, /^portcullis: /, args[0]);
  }
});

test('a missing value, a value on a switch and a repeated option are usage errors', () => {
  const dir = tempDir();
  const cases = [
    [['serve', '--listen'], /option --listen needs a value/],
    [['check-config', '--issuer'], /option --issuer needs a value/],
    [['migrate', '--store-url'], /option --store-url needs a value/],
    [['key', 'rotate', '--alg'], /option --alg needs a value/],
    [['master-key', 'init', '--config'], /option --config needs a value/],
    [['audit', 'tail', '-n'], /option -n needs a value/],
    [['audit', 'verify', '--head'], /option --head needs a value/],
    [['user', 'show', '--id'], /option --id needs a value/],
    [['client', 'show', '--id'], /option --id needs a value/],
    [['key', 'list', '--json=yes'], /option --json takes no value/],
    [['user', 'show', '--id', 'a', '--id', 'b'], /--id given twice/],
    [['key', 'rotate', '--alg', 'ES256', '--alg', 'RS256'], /--alg given twice/],
  ];
  for (const [args, re] of cases) {
    // The option missing its value comes last, so nothing is taken for it.
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('sub-command help lists that sub-command\'s options from its table', () => {
  const r = run(['client', 'show', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /options of 'client show':\n {2}--id CLIENT_ID +the client\n/);
  const k = run(['key', 'rotate', '--help']);
  assert.match(k.stdout, /options of 'key rotate':\n {2}--alg ALG/);
  assert.ok(!/options of 'key rotate':[^]*--json/.test(k.stdout), 'rotate takes no --json');
});
