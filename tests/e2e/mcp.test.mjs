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
import https from 'node:https';
import * as jose from 'jose';
import { startServer, stopClean, freePort } from './lib/server.mjs';
import { Client, addUser, auditRows, cliAt } from './lib/web.mjs';
import { MemoryProvider, followAuthorize, mcpConnect, startMcpServer, testCa } from './lib/mcp.mjs';
import { codeFlow, pkce } from './lib/oauth.mjs';

const EMAIL = 'ada@example.com';
const SCOPES = 'tools:read tools:call';
let srv, mcp, res, meta, metaUrl, mcpUrl, redirectUrl, jwks, user, docServer, docUrl;
const docHits = [];

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

// The MCP client's redirect URI: loopback, as for a desktop app (nothing
// listens there: the page driver reads the code off the redirect).
const clientMetadata = () => ({
  client_name: 'Desk Assistant', redirect_uris: [redirectUrl], grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'], token_endpoint_auth_method: 'none',
});

before(async () => {
  // The client ID metadata document of the MCP client, served over https
  // from loopback under a *.localhost name, trusted through the outbound
  // settings an operator uses for internal clients.
  const certs = testCa(['mcp.localhost']);
  docServer = https.createServer({ key: certs.key, cert: certs.cert }, (req, r) => {
    docHits.push(req.url);
    if (req.url !== '/client.json') {
      r.writeHead(404);
      r.end();
      return;
    }
    r.writeHead(200, { 'content-type': 'application/json' });
    r.end(JSON.stringify({ client_id: docUrl, ...clientMetadata() }));
  });
  await new Promise((resolve) => docServer.listen(0, '127.0.0.1', resolve));
  docUrl = `https://mcp.localhost:${docServer.address().port}/client.json`;
  redirectUrl = `http://127.0.0.1:${await freePort()}/callback`;
  // Self-registration on, as an operator running MCP servers would set it:
  // open registration (public clients with loopback redirect URIs) with
  // the MCP server's scopes allowed, and metadata documents.
  srv = await startServer({ config: {
    client_registration: 'open', client_registration_scopes: `openid offline_access ${SCOPES}`,
    client_metadata_documents: 'true', outbound_ca_file: certs.ca, outbound_allow_networks: '127.0.0.0/8',
    outbound_allow_ports: String(docServer.address().port),
  } });
  jwks = jose.createRemoteJWKSet(new URL(srv.url + '/jwks.json'));
  user = addUser(srv, EMAIL, undefined, ['--verified', '--name', 'Ada']);
  const port = await freePort();
  mcpUrl = `http://127.0.0.1:${port}/mcp`;
  // The operator registers the MCP server as a resource: its identifier
  // is its URL; its own client introspects.
  res = cliJson(['resource', 'add', '--id', mcpUrl, '--scope', SCOPES, '--name', 'Tools', '--json']);
  meta = cliJson(['resource', 'metadata', '--id', mcpUrl]);
  metaUrl = cliJson(['resource', 'show', '--id', mcpUrl, '--json']).metadata_url;
  mcp = await startMcpServer({ srv, port, resource: mcpUrl, creds: res, metadata: meta, metadataUrl: metaUrl });
});
after(async () => {
  await mcp?.close();
  docServer?.close();
  await stopClean(srv);
});

// The SDK, unchanged, from its first call to a token: connect (401),
// discovery, registration as the provider allows, /authorize through our
// pages as EMAIL, the code redeemed. Returns what happened.
async function signIn(provider, log = []) {
  const first = await mcpConnect(mcpUrl, provider, log);
  assert.equal(first.error?.constructor?.name, 'UnauthorizedError', String(first.error));
  const urls = log.map((e) => e.url);
  // What the SDK fetched: the metadata the 401 named, then ours.
  assert.ok(urls.includes(metaUrl), urls.join('\n'));
  assert.ok(urls.includes(srv.issuer + '/.well-known/oauth-authorization-server'), urls.join('\n'));
  const a = provider.authUrl;
  assert.equal(a.origin + a.pathname, srv.issuer + '/authorize');
  assert.equal(a.searchParams.get('resource'), mcpUrl, 'RFC 8707: resource in the authorization request');
  assert.equal(a.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(a.searchParams.get('scope'), SCOPES, 'the metadata\'s scopes_supported');
  const jar = new Client(srv);
  const done = await followAuthorize(jar, a, { email: EMAIL });
  assert.ok(done.params?.code, `${done.status} ${done.location} ${done.text?.slice(0, 400)}`);
  assert.equal(done.params.state, provider.expectedState);
  assert.equal(done.params.iss, srv.issuer);
  await first.transport.finishAuth(done.params.code);
  const tok = log.find((e) => e.method === 'POST' && e.url === srv.issuer + '/token');
  assert.equal(tok.body.grant_type, 'authorization_code');
  assert.equal(tok.body.resource, mcpUrl, 'RFC 8707: resource in the token request');
  assert.ok(provider.tokens()?.access_token);
  return { jar, consentPage: done.consentPage, log };
}

test('MCP server: its 401 names its metadata, which names us and the resource (CR-06, RFC 9728 5.1)', async () => {
  const r = await fetch(mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
  });
  assert.equal(r.status, 401);
  const challenge = r.headers.get('www-authenticate');
  const url = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
  assert.equal(url, metaUrl, challenge);
  assert.equal(metaUrl, mcpUrl.replace('/mcp', '/.well-known/oauth-protected-resource/mcp'));
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


// A new connection with what the provider holds, and the tool's answer.
async function whoami(provider, log) {
  const { client, error } = await mcpConnect(mcpUrl, provider, log);
  assert.equal(error, undefined, String(error));
  const out = await client.callTool({ name: 'whoami', arguments: {} });
  await client.close();
  return JSON.parse(out.content[0].text);
}

// Revokes, on the account page, the delegation of the row naming name.
async function revokeOnAccountPage(jar, name) {
  const page = await jar.get('/account');
  assert.equal(page.status, 200);
  assert.match(page.text, /Agents acting for you/);
  const row = page.text.split('<tr>').find((r) => r.includes(name) && r.includes('action="/account/agents"'));
  assert.ok(row, `no row for ${name}`);
  const delegation = /name="delegation" value="([^"]+)"/.exec(row)[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(row)[1];
  return jar.post('/account/agents', { csrf, delegation });
}

test('MCP SDK: registers itself at our registration endpoint (RFC 7591) and signs the user in', async () => {
  const provider = new MemoryProvider({ redirectUrl, clientMetadata: clientMetadata() });
  const { log, consentPage } = await signIn(provider);
  const reg = log.find((e) => e.method === 'POST' && e.url === srv.issuer + '/oauth/register');
  assert.ok(reg, 'the SDK registered');
  const c = provider.clientInformation();
  assert.match(c.client_id, /^pcc_/);
  assert.deepEqual(JSON.parse(reg.body).redirect_uris, [redirectUrl]);
  assert.ok(auditRows(srv).some((e) => e.event === 'client.register' && e.target === c.client_id), 'audited');
  assert.ok(consentPage.includes('Desk Assistant'), 'the user was asked');
  // CR-01: nobody vouched for it, and the page says so, with its host.
  assert.match(consentPage, /Unverified application/);
  assert.ok(consentPage.includes('127.0.0.1'));
  assert.ok(consentPage.includes(mcpUrl), 'the resource it will act at');
  // OI-09, decision 0062: it gets a refresh token, and the page said so.
  assert.match(consentPage, /It may keep acting there for up to \d+ days, until you revoke it on your account page/);
  assert.ok(provider.tokens().refresh_token);
  const tokens = provider.tokens();
  assert.equal(jose.decodeJwt(tokens.access_token).aud, mcpUrl, 'TX-04: the token is for the MCP server');
  const who = await whoami(provider);
  assert.equal(who.client_id, c.client_id);
  assert.equal(who.sub, user.id);
});

test('MCP SDK: a client ID metadata document as its client_id', async () => {
  const provider = new MemoryProvider({ redirectUrl, clientMetadata: clientMetadata(), clientMetadataUrl: docUrl });
  const n = docHits.length;
  const { log, consentPage } = await signIn(provider);
  assert.equal(provider.clientInformation().client_id, docUrl);
  assert.ok(!log.some((e) => e.url.endsWith('/oauth/register')), 'no registration');
  assert.ok(docHits.slice(n).includes('/client.json'), 'we fetched its document');
  assert.ok(consentPage.includes('Desk Assistant'), 'the user was asked');
  // CR-05: unverified, and the host the user can judge it by.
  assert.match(consentPage, /Unverified application/);
  assert.ok(consentPage.includes('mcp.localhost'));
  assert.equal(jose.decodeJwt(provider.tokens().access_token).aud, mcpUrl);
  const who = await whoami(provider);
  assert.equal(who.client_id, docUrl);
  assert.equal(who.sub, user.id);
});

// An agent the operator registered: public, without DPoP (the SDK
// cannot do it yet), acting at the MCP server only.
let agent, provider, jar;
const log = [];

test('MCP SDK, an agent: the consent page says an agent will act, where and how long; a tool call speaks for the user (TX-04)', async () => {
  agent = cliJson(['agent', 'add', '--json', '--name', 'Desk Agent', '--owner', user.id, '--public', '--no-dpop-required',
    '--resource', mcpUrl, '--redirect-uri', redirectUrl]);
  provider = new MemoryProvider({ redirectUrl, clientMetadata: clientMetadata(), clientInformation: { client_id: agent.client_id } });
  const done = await signIn(provider, log);
  jar = done.jar;
  assert.match(done.consentPage, /Let an agent act for you\?/);
  assert.ok(done.consentPage.includes('Tools') && done.consentPage.includes(mcpUrl));
  assert.match(done.consentPage, /name="lifetime"/);
  const tokens = provider.tokens();
  const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: srv.issuer, audience: mcpUrl });
  assert.equal(payload.client_id, agent.client_id);
  assert.equal(payload.sub, user.id);
  const who = await whoami(provider, log);
  assert.deepEqual(who, { sub: user.id, client_id: agent.client_id, scopes: ['tools:read', 'tools:call'] });
  const grant = auditRows(srv).find((e) => e.event === 'delegation.grant' && e.target === agent.client_id);
  assert.equal(grant?.details.resource, mcpUrl);
});

test('MCP SDK, an agent: when its access token dies it refreshes, naming the resource, and carries on', async () => {
  const before = provider.tokens();
  assert.ok(before.refresh_token, 'a delegation to a client that may refresh comes with a refresh token');
  // The access token dies as it would at its exp: the agent revokes it
  // (RFC 7009), and the MCP server's introspection says inactive.
  const rv = await form('/revoke', { token: before.access_token, client_id: agent.client_id });
  assert.equal(rv.status, 200);
  const n = log.length;
  const who = await whoami(provider, log);
  assert.equal(who.sub, user.id);
  const refresh = log.slice(n).find((e) => e.method === 'POST' && e.url === srv.issuer + '/token');
  assert.equal(refresh?.body.grant_type, 'refresh_token', 'the SDK refreshed');
  assert.equal(refresh.body.resource, mcpUrl);
  const after = provider.tokens();
  assert.notEqual(after.access_token, before.access_token);
  assert.notEqual(after.refresh_token, before.refresh_token, 'RT-01: rotated');
  assert.equal(jose.decodeJwt(after.access_token).aud, mcpUrl);
});

test('OI-09: a grant for a resource brings a refresh token only to a client that may refresh, and never silently', async () => {
  const once = cliJson(['client', 'add', '--json', '--name', 'One-shot', '--public', '--redirect-uri', redirectUrl,
    '--grant', 'authorization_code', '--scope', SCOPES]);
  const c = { client_id: once.client_id, redirectUri: redirectUrl, authMethod: 'none', public: true };
  const f = await codeFlow(srv, c, { email: EMAIL, scope: 'tools:read', params: { resource: mcpUrl } });
  assert.equal(jose.decodeJwt(f.tokens.access_token).aud, mcpUrl);
  assert.equal(f.tokens.refresh_token, undefined, 'no refresh_token grant, no refresh token');
  // Its consent page promised nothing lasting.
  const q = new URLSearchParams({ response_type: 'code', client_id: once.client_id, redirect_uri: redirectUrl, scope: 'tools:call',
    resource: mcpUrl, state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256' });
  const done = await followAuthorize(new Client(srv), srv.issuer + '/authorize?' + q, { email: EMAIL });
  assert.ok(done.consentPage && done.params?.code);
  assert.doesNotMatch(done.consentPage, /keep acting there/);
});

test('TX-08: the user revokes the agent on the account page; the MCP server and our endpoints refuse it at the next request', async () => {
  const tokens = provider.tokens();
  const before = await whoami(provider, log);
  assert.equal(before.sub, user.id);
  const r = await revokeOnAccountPage(jar, 'Desk Agent');
  assert.equal(r.status, 303, r.text);
  // The introspecting MCP server refuses the token at once; the SDK's
  // refresh is refused too (invalid_grant), so it sends the user to
  // sign in again.
  const n = provider.authUrls.length;
  const { error } = await mcpConnect(mcpUrl, provider, log);
  assert.equal(error?.constructor?.name, 'UnauthorizedError', String(error));
  assert.equal(provider.authUrls.length, n + 1, 'back to /authorize');
  assert.ok(provider.invalidated.includes('tokens'));
  assert.equal(mcp.introspected.at(-1).active, false);
  // Our endpoints.
  const intro = await form('/introspect', { token: tokens.access_token },
    { authorization: 'Basic ' + Buffer.from(`${res.client_id}:${res.client_secret}`).toString('base64') });
  assert.equal(intro.body.active, false);
  const rt = await form('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: agent.client_id });
  assert.equal(rt.status, 400);
  assert.equal(rt.body.error, 'invalid_grant');
  // A resource server that verifies the JWT offline still accepts it until
  // its exp: at most access_token_ttl after it was issued.
  const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: srv.issuer, audience: mcpUrl });
  assert.ok(payload.exp - payload.iat <= 300, 'within the access-token lifetime');
  // What the agent got, for whom, and its end: the audit query.
  const q = cliAt(srv, ['audit', 'query', '--principal', agent.client_id, '--json']);
  assert.equal(q.code, 0, q.stderr);
  const events = q.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((e) => e.event);
  for (const e of ['agent.create', 'delegation.grant', 'delegation.revoke']) assert.ok(events.includes(e), `${e} in ${events}`);
});
