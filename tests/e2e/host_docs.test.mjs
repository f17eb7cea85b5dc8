// The man pages and the example configuration against the program itself
// (issue 17, item 4): every command, sub-command and flag the binary's
// --help lists (the CLI tables in src/cli/) has its heading and its entry
// in portcullis(8); every setting check-config prints (the settings table
// in src/util/config.c) has its entry in portcullis.conf(5) and a
// commented line in contrib/portcullis.conf.example whose value is the
// true default; both scdoc pages compile; the generated parts are what
// scripts/gen_conf_docs.py makes from docs/configuration.md. A new flag,
// sub-command or setting without documentation fails here.
// Store independent: SQLite pass only (host_*).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, tempDir } from './lib/server.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAN8 = readFileSync(join(ROOT, 'docs/man/portcullis.8.scd'), 'utf8');
const MAN5 = readFileSync(join(ROOT, 'docs/man/portcullis.conf.5.scd'), 'utf8');
const EXAMPLE = join(ROOT, 'contrib/portcullis.conf.example');
// The options of every command, documented once under COMMON OPTIONS.
const COMMON = ['--config', '--data-dir', '--store-url', '--mode', '--help'];

// The CLI never sees the caller's configuration.
function cli(args) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { PATH: process.env.PATH }, input: '', timeout: 60_000 });
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

// { 'user add': ['--email', ...], 'serve': [...] }: walks the commands of
// `portcullis --help`, the sub-commands each names when given none
// ("expected 'key list' or 'key rotate'") or in its usage ("user mfa"),
// and the options of each `... --help`.
function commandTree() {
  const top = cli(['--help']).out;
  const names = [...new Set(top.split('commands:\n')[1].split('\n\n')[0].split('\n')
    .map((l) => /^ {2}([a-z][a-z-]*)/.exec(l)?.[1]).filter(Boolean))];
  const tree = {};
  const walk = (path) => {
    const help = cli([...path, '--help']);
    assert.equal(help.code, 0, `${path.join(' ')} --help: ${help.out}`);
    if (!help.out.includes('SUB-COMMAND --help')) {
      const opts = (help.out.split(/\noptions[^\n]*:\n/)[1] ?? '').split('\n')
        .map((l) => /^ {2}(--?[a-z0-9][a-z0-9-]*|\[[^\]]+\])/.exec(l)?.[1]).filter(Boolean)
        .filter((o) => !o.startsWith('['));
      tree[path.join(' ')] = opts;
      return;
    }
    // Never run a command that has no sub-commands without --help.
    const none = cli(path);
    assert.equal(none.code, 2);
    const subs = [...none.out.split('\n')[0].matchAll(/'([a-z -]+)'/g)].map((m) => m[1].split(' ').at(-1));
    const usage = new RegExp(`portcullis ${path.join(' ')} ([a-z][a-z-]*)`, 'g');
    for (const m of help.out.matchAll(usage)) {
      if (!subs.includes(m[1]) && cli([...path, m[1], '--help']).code === 0) subs.push(m[1]);
    }
    tree[path.join(' ')] = null;
    for (const s of subs) walk([...path, s]);
  };
  for (const n of names) walk([n]);
  return tree;
}

// The scdoc text of one "## heading" up to the next heading.
function section(text, heading) {
  const lines = text.split('\n');
  const i = lines.indexOf(`## ${heading}`);
  if (i < 0) return null;
  const j = lines.findIndex((l, k) => k > i && /^#{1,2} /.test(l));
  return lines.slice(i + 1, j < 0 ? undefined : j).join('\n');
}

test('man: portcullis(8) documents every command, sub-command and flag the binary has', () => {
  const tree = commandTree();
  assert.ok(Object.keys(tree).length > 40, `only ${Object.keys(tree).length} commands found`);
  const missing = [];
  for (const [cmd, opts] of Object.entries(tree)) {
    const sec = section(MAN8, cmd);
    if (sec === null) { missing.push(`no "## ${cmd}" heading`); continue; }
    for (const o of opts ?? []) {
      if (COMMON.includes(o)) continue;
      if (!sec.split('\n').some((l) => l.startsWith(`*${o}*`))) missing.push(`${cmd}: ${o}`);
    }
  }
  const common = section(MAN8.replace('# COMMON OPTIONS', '## COMMON OPTIONS'), 'COMMON OPTIONS') ?? '';
  for (const o of COMMON) if (!common.includes(`*${o}*`)) missing.push(`COMMON OPTIONS: ${o}`);
  assert.deepEqual(missing, [], 'add these to docs/man/portcullis.8.scd');
});

// Every setting, by name and default, from check-config run with nothing
// but defaults (the development mode and a data dir from flags).
let dataDir;
function settings(extra = []) {
  dataDir ??= tempDir('pc-docs-');
  const data = dataDir;
  const r = cli(['check-config', '--mode', 'development', '--data-dir', data, ...extra]);
  const out = {};
  for (const l of r.out.split('\n')) {
    const m = /^([a-z][a-z0-9_]*) += (.*?) +\((default|file|env|flag)\)$/.exec(l) ??
      /^([a-z][a-z0-9_]*) += +\((default|file|env|flag)\)$/.exec(l);
    if (m && m[1] !== 'master_key') out[m[1]] = m.length === 4 ? m[2] : '';
  }
  return { code: r.code, out, text: r.out };
}

test('man: portcullis.conf(5) documents every setting the binary has', () => {
  const { out } = settings();
  assert.ok(Object.keys(out).length > 90, `only ${Object.keys(out).length} settings`);
  const body = MAN5.split('; settings: begin')[1] ?? '';
  const missing = Object.keys(out).filter((n) => !body.split('\n').some((l) => l.startsWith(`*${n.replaceAll('_', '\\_')}* = `)));
  assert.deepEqual(missing, [], 'add these to docs/configuration.md and run scripts/gen_conf_docs.py');
});

test('example: every setting is in portcullis.conf.example with its true default', () => {
  const defaults = settings();
  const text = readFileSync(EXAMPLE, 'utf8');
  const lines = text.split('\n').filter((l) => /^# [a-z][a-z0-9_]* = ?/.test(l));
  const named = lines.map((l) => l.slice(2).split(' ')[0]);
  assert.deepEqual(Object.keys(defaults.out).filter((n) => !named.includes(n)), [], 'settings missing from the example');
  // Uncommented, the example sets every setting to its value: check-config
  // must then print exactly the defaults (mode and data_dir come from flags).
  const dir = tempDir('pc-example-');
  const conf = join(dir, 'all.conf');
  writeFileSync(conf, lines.map((l) => l.slice(2)).join('\n') + '\n');
  const set = settings(['--config', conf]);
  assert.equal(set.code, 0, set.text);
  for (const [name, value] of Object.entries(defaults.out)) {
    // A secret is shown masked once set, whatever its value.
    if (set.out[name] === '********') continue;
    assert.equal(set.out[name], value, `${name}: the example says ${set.out[name]}, the default is ${value}`);
  }
});

test('man: both pages compile with scdoc, and the generated parts are current', () => {
  for (const page of ['portcullis.8.scd', 'portcullis.conf.5.scd']) {
    const r = spawnSync('scdoc', { input: readFileSync(join(ROOT, 'docs/man', page)), encoding: 'utf8' });
    assert.equal(r.status, 0, `${page}: ${r.stderr}`);
    assert.match(r.stdout, /^\.TH /m);
  }
  const g = spawnSync('python3', [join(ROOT, 'scripts/gen_conf_docs.py'), '--check'], { encoding: 'utf8' });
  assert.equal(g.status, 0, g.stderr);
});
