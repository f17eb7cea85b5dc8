// contrib/systemd/portcullis-audit-prune.{service,timer} (issue 17, item 7;
// decision 0077): the prune unit is a oneshot of `portcullis audit prune`
// with the serving unit's sandbox, rated 2.0 or below by
// `systemd-analyze security --offline=yes`, and its timer parses. Skipped
// when systemd-analyze is not installed (scripts/deps.sh installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const have = spawnSync('systemd-analyze', ['--version']).status === 0;
const dir = 'contrib/systemd';

test('the audit prune unit runs audit prune, sandboxed to an exposure of 2.0 or less; its timer is daily and persistent', { skip: !have && 'systemd-analyze is not installed' }, () => {
  const unit = readFileSync(`${dir}/portcullis-audit-prune.service`, 'utf8');
  assert.match(unit, /^Type=oneshot$/m);
  assert.match(unit, /^ExecStart=\S+\/portcullis audit prune --config \S+$/m);
  const s = spawnSync('systemd-analyze', ['security', '--offline=yes', `${dir}/portcullis-audit-prune.service`], { encoding: 'utf8' });
  const m = (s.stdout + s.stderr).match(/Overall exposure level for \S+: (\d+\.\d)/);
  assert.ok(m, s.stdout + s.stderr);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}`);
  const timer = readFileSync(`${dir}/portcullis-audit-prune.timer`, 'utf8');
  assert.match(timer, /^OnCalendar=\*-\*-\* \d\d:\d\d:\d\d$/m);
  assert.match(timer, /^Persistent=true$/m);
  const cal = spawnSync('systemd-analyze', ['calendar', timer.match(/^OnCalendar=(.*)$/m)[1]], { encoding: 'utf8' });
  assert.equal(cal.status, 0, cal.stderr);
});
