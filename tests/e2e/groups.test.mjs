// Groups (issue 14 item 6) through the real binary: the CLI round trips
// with --json and its refusals; the "groups" scope puts the names of the
// user's groups into the ID token, the access token and userinfo (only
// when granted, and only when the client may ask for it, like any scope);
// userinfo answers as of the request, so a removal shows at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean } from './lib/server.mjs';
import { addUser, auditRows, cliAt } from './lib/web.mjs';
import { addClient, authorize, codeFlow } from './lib/oauth.mjs';

let srv, alice, bob;

before(async () => {
  srv = await startServer({ config: { login_delay_free: 99, login_ip_failures: 100000 } });
  alice = addUser(srv, 'alice@example.com');
  bob = addUser(srv, 'bob@example.com');
});
after(async () => { await stopClean(srv); });

function ok(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return args.includes('--json') ? JSON.parse(r.stdout) : null;
}

const userinfo = async (at) => {
  const res = await fetch(srv.url + '/userinfo', { headers: { authorization: 'Bearer ' + at } });
  return { status: res.status, body: await res.json().catch(() => null) };
};

test('group: CLI round trip with --json, members, refusals, audit', () => {
  const g = ok(['group', 'add', '--json', '--name', 'platform', '--description', 'Platform team', '--scope', 'deploy:write']);
  assert.match(g.id, /^grp_[A-Za-z0-9_-]{22}$/);
  assert.equal(g.name, 'platform');
  assert.equal(g.scope, 'deploy:write');
  const sa = ok(['service-account', 'add', '--json', '--name', 'platform-bot', '--owner', g.id]);
  assert.equal(ok(['group', 'member', 'add', '--group', g.id, '--member', alice.id, '--json']).member_now, true);
  ok(['group', 'member', 'add', '--group', g.id, '--member', sa.id, '--json']);
  const shown = ok(['group', 'show', '--id', g.id, '--json']);
  assert.deepEqual(shown.members.sort(), [alice.id, sa.id].sort());
  assert.ok(ok(['group', 'list', '--json']).some((x) => x.id === g.id));

  for (const [args, code] of [
    [['group', 'add', '--name', 'platform'], 1],
    [['group', 'add', '--name', 'two words'], 1],
    [['group', 'add', '--name', 'u', '--scope', 'openid'], 1],
    [['group', 'member', 'add', '--group', g.id, '--member', 'usr_AAAAAAAAAAAAAAAAAAAAAA'], 1],
    [['group', 'member', 'add', '--group', g.id, '--member', 'pcc_AAAAAAAAAAAAAAAAAAAAAA'], 1],
    [['group', 'member', 'add', '--group', 'grp_AAAAAAAAAAAAAAAAAAAAAA', '--member', alice.id], 1],
    [['group', 'member', 'remove', '--group', g.id, '--member', bob.id], 1],
    [['group', 'member', 'add', '--group', g.id], 2],
    // It owns a service account: refused until that changes.
    [['group', 'delete', '--id', g.id], 1],
  ]) {
    const r = cliAt(srv, args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
  }
  ok(['service-account', 'update', '--id', sa.id, '--no-owner']);
  ok(['group', 'member', 'remove', '--group', g.id, '--member', sa.id]);
  assert.deepEqual(ok(['group', 'delete', '--id', g.id, '--json']), { id: g.id, deleted: true });
  assert.equal(cliAt(srv, ['group', 'show', '--id', g.id]).code, 1);

  const events = auditRows(srv).filter((e) => e.target === g.id).map((e) => e.event);
  for (const ev of ['group.create', 'group.member_add', 'group.member_remove', 'group.delete'])
    assert.ok(events.includes(ev), ev);
});

test('groups scope: the names in the ID token, the access token and userinfo; none without the scope', async () => {
  const eng = ok(['group', 'add', '--json', '--name', 'engineering']);
  const oncall = ok(['group', 'add', '--json', '--name', 'on-call']);
  ok(['group', 'add', '--json', '--name', 'not-alices']);
  ok(['group', 'member', 'add', '--group', eng.id, '--member', alice.id]);
  ok(['group', 'member', 'add', '--group', oncall.id, '--member', alice.id]);
  const rp = addClient(srv, { name: 'Groups RP', scope: 'openid email groups' });
  const jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));

  const f = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid groups', nonce: 'n1' });
  assert.equal(f.tokens.scope, 'openid groups');
  const { payload: idt } = await jose.jwtVerify(f.tokens.id_token, jwks, { issuer: srv.issuer, audience: rp.client_id });
  assert.deepEqual(idt.groups, ['engineering', 'on-call']);
  const { payload: at } = await jose.jwtVerify(f.tokens.access_token, jwks, { issuer: srv.issuer, typ: 'at+jwt' });
  assert.deepEqual(at.groups, ['engineering', 'on-call']);
  let ui = await userinfo(f.tokens.access_token);
  assert.equal(ui.status, 200);
  assert.deepEqual(ui.body.groups, ['engineering', 'on-call']);
  // userinfo is as of the request: a removal shows at once.
  ok(['group', 'member', 'remove', '--group', oncall.id, '--member', alice.id]);
  ui = await userinfo(f.tokens.access_token);
  assert.deepEqual(ui.body.groups, ['engineering']);

  // Without the scope: no claim anywhere.
  const g = await codeFlow(srv, rp, { email: 'alice@example.com', scope: 'openid email' });
  assert.equal(jose.decodeJwt(g.tokens.id_token).groups, undefined);
  assert.equal(jose.decodeJwt(g.tokens.access_token).groups, undefined);
  assert.equal((await userinfo(g.tokens.access_token)).body.groups, undefined);

  // A user in no group: an empty array, not a missing claim.
  const b = await codeFlow(srv, rp, { email: 'bob@example.com', scope: 'openid groups' });
  assert.deepEqual(jose.decodeJwt(b.tokens.id_token).groups, []);
  assert.deepEqual((await userinfo(b.tokens.access_token)).body.groups, []);
});

test('groups scope: a client that may not ask for it gets invalid_scope, like any scope; discovery lists it', async () => {
  const rp = addClient(srv, { name: 'No groups RP', scope: 'openid email' });
  const a = await authorize(srv, rp, { email: 'alice@example.com', scope: 'openid groups' });
  assert.equal(a.error, 'invalid_scope', `${a.status} ${a.location}`);
  assert.equal(a.code, undefined);
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.ok(d.scopes_supported.includes('groups'));
  assert.ok(d.claims_supported.includes('groups'));
});
