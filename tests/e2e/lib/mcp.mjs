// The Model Context Protocol side of the e2e tests (issue 15): an MCP
// server built with the npm @modelcontextprotocol/sdk (streamable HTTP,
// express, the SDK's own bearer middleware) that accepts our access tokens
// after asking our /introspect as its resource's client, and serves the
// protected resource metadata `portcullis resource metadata` printed; and
// the SDK's own OAuth client, with an in-memory provider whose
// "browser" is web.mjs's cookie jar driving our sign-in and consent pages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { tempDir } from './server.mjs';
import { GOOD_PW, csrfOf } from './web.mjs';

const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

// The MCP server on 127.0.0.1:port. resource: the registered resource
// (its URL is the MCP endpoint), creds: the resource's own client
// { client_id, client_secret }, metadata: the document to serve at
// metadataUrl. Every introspection answer is kept in .introspected.
export async function startMcpServer({ srv, port, resource, creds, metadata, metadataUrl }) {
  const introspected = [];
  const verifier = {
    async verifyAccessToken(token) {
      const res = await fetch(srv.url + '/introspect', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(creds.client_id, creds.client_secret) },
        body: new URLSearchParams({ token }).toString(),
      });
      assert.equal(res.status, 200, 'introspection answered');
      const j = await res.json();
      introspected.push(j);
      if (!j.active) throw new InvalidTokenError('The token is not active');
      const aud = Array.isArray(j.aud) ? j.aud[0] : j.aud;
      return {
        token, clientId: j.client_id, scopes: (j.scope ?? '').split(' ').filter(Boolean),
        expiresAt: j.exp, resource: aud ? new URL(aud) : undefined, extra: { sub: j.sub, act: j.act },
      };
    },
  };
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  app.get(new URL(metadataUrl).pathname, (req, res) => res.json(metadata));
  const auth = requireBearerAuth({ verifier, resourceMetadataUrl: metadataUrl, expectedResource: new URL(resource) });
  const path = new URL(resource).pathname;
  const calls = [];
  app.post(path, auth, async (req, res) => {
    // Stateless: a server and a transport per request, as the SDK's
    // examples do.
    const server = new McpServer({ name: 'portcullis-e2e', version: '1.0.0' });
    server.registerTool('whoami', { description: 'Who the access token speaks for' }, async (extra) => {
      const who = { sub: extra.authInfo.extra.sub, client_id: extra.authInfo.clientId, scopes: extra.authInfo.scopes };
      calls.push(who);
      return { content: [{ type: 'text', text: JSON.stringify(who) }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // No server-initiated stream in stateless mode.
  app.get(path, auth, (req, res) => res.status(405).set('allow', 'POST').end());
  const http = await new Promise((resolve, reject) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
  return {
    url: resource, introspected, calls,
    close: () => new Promise((resolve) => { http.closeAllConnections?.(); http.close(() => resolve()); }),
  };
}

// An OAuthClientProvider (the SDK's interface) kept in memory. The SDK
// calls redirectToAuthorization with the URL a browser would open: it is
// kept in .authUrl for followAuthorize.
export class MemoryProvider {
  constructor({ redirectUrl, clientMetadata, clientInformation, clientMetadataUrl }) {
    this._redirectUrl = redirectUrl;
    this._clientMetadata = clientMetadata;
    this._client = clientInformation;
    if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl;
    this._tokens = undefined;
    this.savedTokens = [];
    this.authUrls = [];
    this._state = undefined;
  }
  get redirectUrl() { return this._redirectUrl; }
  get clientMetadata() { return this._clientMetadata; }
  clientInformation() { return this._client; }
  saveClientInformation(c) { this._client = c; }
  tokens() { return this._tokens; }
  saveTokens(t) { this._tokens = t; this.savedTokens.push(t); }
  state() { this._state = randomBytes(12).toString('base64url'); return this._state; }
  redirectToAuthorization(url) { this.authUrl = new URL(url); this.authUrls.push(this.authUrl); }
  // What the SDK calls when we refused what it held (invalid_grant: the
  // tokens; invalid_client: everything).
  invalidateCredentials(scope) {
    this.invalidated = [...(this.invalidated ?? []), scope];
    if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
    if (scope === 'all' || scope === 'client') this._client = undefined;
    if (scope === 'all' || scope === 'verifier') this._verifier = undefined;
  }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }
  get expectedState() { return this._state; }
}

// A fetch that records what the SDK asked for (method, URL, form body).
export function recordingFetch(log) {
  return async (url, init = {}) => {
    const body = init.body instanceof URLSearchParams ? Object.fromEntries(init.body) : init.body;
    log.push({ method: init.method ?? 'GET', url: String(url), body });
    return fetch(url, init);
  };
}

// The hidden inputs and selected options of the form posting to action.
function formFields(html, action) {
  const form = html.split('<form').find((f) => f.includes(`action="${action}"`));
  assert.ok(form, `no form for ${action}`);
  const fields = {};
  for (const m of form.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1];
    if (name) fields[name] = value ?? '';
  }
  for (const m of form.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const opt = /<option[^>]*selected[^>]*value="([^"]*)"/.exec(m[2]) ?? /<option[^>]*value="([^"]*)"[^>]*selected/.exec(m[2])
      ?? /<option[^>]*value="([^"]*)"/.exec(m[2]);
    if (opt) fields[m[1]] = opt[1];
  }
  return fields;
}

// Opens an authorization URL in jar (web.mjs Client) as a browser would,
// signs in as email and answers the consent page. Returns { status,
// location, text, consentPage, params (of the redirect to the client) }.
export async function followAuthorize(jar, url, { email, password = GOOD_PW, decision = 'allow' } = {}) {
  const u = new URL(url);
  let r = await jar.get(u.pathname + u.search, { headers: { 'sec-fetch-site': 'cross-site' } });
  let consentPage;
  for (let i = 0; i < 6; i++) {
    if (r.status === 303 && r.location?.startsWith('/login?req=')) {
      const page = await jar.get(r.location);
      assert.equal(page.status, 200, page.text);
      const req = /name="req" value="([^"]+)"/.exec(page.text)?.[1];
      r = await jar.post('/login', { csrf: csrfOf(page.text, '/login'), req, email, password });
      continue;
    }
    if (r.status === 303 && r.location?.startsWith('/authorize/resume')) {
      r = await jar.get(r.location);
      continue;
    }
    if (r.status === 200 && r.text.includes('action="/authorize/consent"')) {
      consentPage = r.text;
      r = await jar.post('/authorize/consent', { ...formFields(r.text, '/authorize/consent'), decision });
      continue;
    }
    break;
  }
  const out = { status: r.status, location: r.location, text: r.text, consentPage };
  if (r.status === 303 && r.location && /^[a-z][a-z0-9+.-]*:/i.test(r.location)) {
    out.params = Object.fromEntries(new URL(r.location).searchParams);
  }
  return out;
}

// An MCP client (the SDK's Client) connected on a new streamable HTTP
// transport: { client, transport, error } (error: what connect threw, the
// SDK's UnauthorizedError when it sent the user to authorize).
export async function mcpConnect(url, provider, log = []) {
  const client = new McpClient({ name: 'portcullis-e2e-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: recordingFetch(log) });
  try {
    await client.connect(transport);
    return { client, transport };
  } catch (error) {
    return { client, transport, error };
  }
}

// A throwaway CA and a certificate it signs for names (DNS) and loopback
// addresses, made with openssl (EC keys: fast): { ca (the CA file's
// path), key, cert }. For https servers on loopback under *.localhost
// names, which the server resolves to loopback without DNS (RFC 6761).
export function testCa(names) {
  const d = tempDir('pc-mcp-ca-');
  const openssl = (args) => {
    const r = spawnSync('openssl', args, { cwd: d, encoding: 'utf8' });
    assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  };
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=pc-mcp-test-ca']);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', `/CN=${names[0]}`]);
  writeFileSync(join(d, 'ext.cnf'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')},IP:127.0.0.1\n`);
  openssl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'srv.pem', '-days', '1', '-extfile', 'ext.cnf']);
  return { ca: join(d, 'ca.pem'), key: readFileSync(join(d, 'srv.key')), cert: readFileSync(join(d, 'srv.pem')) };
}
