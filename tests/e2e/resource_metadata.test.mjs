// Protected resource metadata (issue 15 item 7; RFC 9728, RFC 8707):
// `portcullis resource metadata --id URI` prints the document a resource
// server serves so that a client that gets its 401 learns which
// authorization server to ask (us) and for which resource. Row: CR-06
// (resource metadata spoofing: a client told to get tokens for a resource
// we do not serve).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean } from './lib/server.mjs';
import { auditRows, cliAt } from './lib/web.mjs';

const MCP = 'https://mcp.example.com/mcp';
const BARE = 'https://api.example.com';
let srv, svc;

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}
const cliJson = (args) => JSON.parse(cli(args));
const metadata = (id) => cliJson(['resource', 'metadata', '--id', id]);

async function cc(form) {
  const res = await fetch(srv.url + '/token', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${svc.client_id}:${svc.client_secret}`).toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...form }).toString(),
  });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  srv = await startServer();
  cli(['resource', 'add', '--id', MCP, '--scope', 'tools:read tools:call', '--name', 'Tools']);
  cli(['resource', 'add', '--id', BARE, '--scope', 'orders:read']);
  svc = cliJson(['client', 'add', '--json', '--name', 'Service', '--redirect-uri', 'https://svc.example/cb',
    '--grant', 'client_credentials', '--scope', 'tools:read orders:read']);
});
after(async () => { await stopClean(srv); });

test('resource metadata: the RFC 9728 document for a registered resource', () => {
  const d = metadata(MCP);
  assert.deepEqual(d, {
    resource: MCP,
    authorization_servers: [srv.issuer],
    scopes_supported: ['tools:read', 'tools:call'],
    bearer_methods_supported: ['header'],
    resource_name: 'Tools',
  });
  // Not DPoP-bound unless the resource says so (RFC 9728 2: default false).
  assert.equal(d.dpop_bound_access_tokens_required, undefined);
  assert.equal(metadata(BARE).resource_name, BARE, 'the name defaults to the URI');
});

test('resource show: where the document is served (RFC 9728 3.1)', () => {
  assert.equal(cliJson(['resource', 'show', '--id', MCP, '--json']).metadata_url,
    'https://mcp.example.com/.well-known/oauth-protected-resource/mcp');
  assert.equal(cliJson(['resource', 'show', '--id', BARE, '--json']).metadata_url,
    'https://api.example.com/.well-known/oauth-protected-resource');
  assert.match(cli(['resource', 'show', '--id', MCP]),
    /^metadata_url: +https:\/\/mcp\.example\.com\/\.well-known\/oauth-protected-resource\/mcp$/m);
  for (const r of cliJson(['resource', 'list', '--json'])) assert.ok(r.metadata_url.includes('/.well-known/oauth-protected-resource'));
});

test('CR-06: no document for a resource we do not serve', () => {
  for (const id of ['https://evil.example/mcp', 'https://mcp.example.com/mcp/', 'https://mcp.example.com/MCP',
    'https://MCP.example.com/mcp', 'http://mcp.example.com/mcp', 'not a uri']) {
    const r = cliAt(srv, ['resource', 'metadata', '--id', id]);
    assert.equal(r.code, 1, id);
    assert.equal(r.stdout, '', id);
    assert.match(r.stderr, /no such resource/, id);
  }
  const r = cliAt(srv, ['resource', 'metadata']);
  assert.equal(r.code, 2, 'usage: --id is required');
  assert.equal(r.stdout, '');
});

test('CR-06: the document names us, and our metadata at that issuer agrees (RFC 8414 3.3)', async () => {
  const d = metadata(MCP);
  assert.equal(d.authorization_servers.length, 1);
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const as = await (await fetch(d.authorization_servers[0].replace(srv.issuer, srv.url) + path)).json();
    assert.equal(as.issuer, d.authorization_servers[0], path);
  }
});

test('CR-06: tokens are minted for the registered resource only, with aud = the document\'s resource', async () => {
  const jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  const ok = await cc({ resource: metadata(MCP).resource, scope: 'tools:read' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const { payload } = await jose.jwtVerify(ok.body.access_token, jwks, { issuer: srv.issuer });
  assert.equal(payload.aud, MCP);
  // A resource the client was told about by someone else: refused, no token.
  for (const resource of ['https://evil.example/mcp', MCP + '/', 'https://mcp.example.com']) {
    const r = await cc({ resource, scope: 'tools:read' });
    assert.equal(r.status, 400, resource);
    assert.equal(r.body.error, 'invalid_target', resource);
    assert.equal(r.body.access_token, undefined);
  }
});

test('CR-06: a deleted resource has no document any more', () => {
  cli(['resource', 'add', '--id', 'https://gone.example/mcp', '--scope', 'x']);
  assert.equal(metadata('https://gone.example/mcp').resource, 'https://gone.example/mcp');
  cli(['resource', 'delete', '--id', 'https://gone.example/mcp']);
  assert.equal(cliAt(srv, ['resource', 'metadata', '--id', 'https://gone.example/mcp']).code, 1);
});

test('resource add|update --dpop-required: the document says tokens must be DPoP-bound (RFC 9728 2)', () => {
  const id = 'https://dpop.example.com/mcp';
  const added = cliJson(['resource', 'add', '--id', id, '--scope', 'x:read', '--dpop-required', '--json']);
  assert.equal(added.dpop_required, true);
  assert.equal(metadata(id).dpop_bound_access_tokens_required, true);
  assert.match(cli(['resource', 'show', '--id', id]), /^dpop: +required$/m);
  let u = cliJson(['resource', 'update', '--id', id, '--no-dpop-required', '--json']);
  assert.equal(u.dpop_required, false);
  assert.equal(metadata(id).dpop_bound_access_tokens_required, undefined);
  u = cliJson(['resource', 'update', '--id', MCP, '--dpop-required', '--json']);
  assert.equal(u.dpop_required, true);
  assert.equal(metadata(MCP).dpop_bound_access_tokens_required, true);
  assert.equal(cliJson(['resource', 'show', '--id', BARE, '--json']).dpop_required, false);
  cli(['resource', 'update', '--id', MCP, '--no-dpop-required']);
  assert.equal(metadata(MCP).dpop_bound_access_tokens_required, undefined);
  const rows = auditRows(srv).filter((e) => e.event === 'resource.update');
  assert.deepEqual(rows.map((e) => [e.target, e.details.dpop_required]),
    [[id, false], [MCP, true], [MCP, false]]);
});

test('resource update: name and scopes change, the document follows; refusals change nothing', () => {
  const id = 'https://upd.example.com/mcp';
  cli(['resource', 'add', '--id', id, '--scope', 'a b', '--name', 'Old']);
  const u = cliJson(['resource', 'update', '--id', id, '--name', 'New', '--scope', 'a c', '--json']);
  assert.equal(u.name, 'New');
  assert.deepEqual(u.scopes, ['a', 'c']);
  const d = metadata(id);
  assert.equal(d.resource_name, 'New');
  assert.deepEqual(d.scopes_supported, ['a', 'c']);
  for (const [args, code, why] of [
    [['--scope', 'openid'], 1, /openid/],
    [['--scope', ''], 1, /scope/],
    [['--name', ''], 1, /name/],
    [[], 2, /nothing to update/],
    [['--dpop-required', '--no-dpop-required'], 2, /conflict/],
  ]) {
    const r = cliAt(srv, ['resource', 'update', '--id', id, ...args]);
    assert.equal(r.code, code, args.join(' '));
    assert.match(r.stderr, why, args.join(' '));
  }
  assert.deepEqual(metadata(id).scopes_supported, ['a', 'c']);
  const r = cliAt(srv, ['resource', 'update', '--id', 'https://nobody.example', '--name', 'x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no such resource/);
});
