// The Model Context Protocol's authorization profile end to end (issue 15,
// "real clients, unchanged"): an MCP server built with the npm
// @modelcontextprotocol/sdk on loopback, protected by our access tokens
// (it asks our /introspect as its resource's client and serves the
// protected resource metadata `portcullis resource metadata` prints), and
// the SDK's own OAuth client, which learns everything from the server's
// 401: the metadata, us, our metadata; then PKCE with `resource` through
// our sign-in and consent pages, a tool call, a refresh, and refusal
// after the user revokes the agent on the account page. Rows: CR-06,
// TX-04 (aud = the MCP server), TX-08 (revocation a person can do).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startServer, stopClean, freePort } from './lib/server.mjs';
import { Client, addUser, cliAt } from './lib/web.mjs';
import { MemoryProvider, followAuthorize, mcpConnect, startMcpServer } from './lib/mcp.mjs';

const EMAIL = 'ada@example.com';
let srv, mcp, res, meta, mcpUrl, redirectUrl, jwks;

function cli(args) {
  const r = cliAt(srv, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}
const cliJson = (args) => JSON.parse(cli(args));

async function form(path, body, headers = {}) {
  const r = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

before(async () => {
  srv = await startServer();
  jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  addUser(srv, EMAIL, undefined, ['--verified', '--name', 'Ada']);
  const port = await freePort();
  mcpUrl = `http://127.0.0.1:${port}/mcp`;
  redirectUrl = `http://127.0.0.1:${await freePort()}/callback`;
  // The operator registers the MCP server as a resource: its identifier
  // is its URL; its own client introspects.
  res = cliJson(['resource', 'add', '--id', mcpUrl, '--scope', 'tools:read tools:call', '--name', 'Tools', '--json']);
  meta = cliJson(['resource', 'metadata', '--id', mcpUrl]);
  const metadataUrl = cliJson(['resource', 'show', '--id', mcpUrl, '--json']).metadata_url;
  mcp = await startMcpServer({ srv, port, resource: mcpUrl, creds: res, metadata: meta, metadataUrl });
});
after(async () => {
  await mcp?.close();
  await stopClean(srv);
});

test('MCP server: its 401 names its metadata, which names us and the resource (CR-06, RFC 9728 5.1)', async () => {
  const r = await fetch(mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
  });
  assert.equal(r.status, 401);
  const challenge = r.headers.get('www-authenticate');
  const url = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
  assert.equal(url, mcpUrl.replace('/mcp', '/.well-known/oauth-protected-resource/mcp'), challenge);
  const doc = await (await fetch(url)).json();
  assert.equal(doc.resource, mcpUrl);
  assert.deepEqual(doc.authorization_servers, [srv.issuer]);
  assert.deepEqual(doc.scopes_supported, ['tools:read', 'tools:call']);
  // A token for us (aud = the issuer) or for another resource is not a
  // token for the MCP server: its introspection says inactive (IR-02).
  const other = 'https://other.example.com/api';
  cli(['resource', 'add', '--id', other, '--scope', 'tools:read']);
  const svc = cliJson(['client', 'add', '--json', '--name', 'Service', '--redirect-uri', 'https://svc.example/cb',
    '--grant', 'client_credentials', '--scope', 'tools:read']);
  const auth = { authorization: 'Basic ' + Buffer.from(`${svc.client_id}:${svc.client_secret}`).toString('base64') };
  const n = mcp.introspected.length;
  for (const extra of [{}, { resource: other }]) {
    const t = await form('/token', { grant_type: 'client_credentials', scope: 'tools:read', ...extra }, auth);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    const bad = await fetch(mcpUrl, {
      method: 'POST',
      headers: { authorization: 'Bearer ' + t.body.access_token, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    });
    assert.equal(bad.status, 401, JSON.stringify(extra));
    assert.match(bad.headers.get('www-authenticate'), /error="invalid_token"/);
  }
  assert.deepEqual(mcp.introspected.slice(n).map((j) => j.active), [false, false]);
});

