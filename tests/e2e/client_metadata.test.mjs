// Client ID metadata documents (issue 15 item 6; SECURITY.md CR-04, CR-05,
// DS-05): an https URL as client_id names a JSON document describing the
// client. A node https server on loopback (certificate from a throwaway
// CA made here, for *.localhost names, which the server resolves to
// loopback without DNS, RFC 6761) serves the documents and counts its
// hits; the server trusts it through the outbound_* settings an operator
// would use for internal clients (outbound_ca_file, outbound_allow_networks
// 127.0.0.0/8, outbound_allow_ports). A second server with the allow list
// empty shows that loopback and private targets are never fetched, by
// name or by address. Every refusal is a page at /authorize (AZ-02: no
// redirect for a client we do not accept) or invalid_client at /token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import * as jose from 'jose';
import { startServer, stopClean, storeSql, tempDir } from './lib/server.mjs';
import { Client, addUser, auditRows } from './lib/web.mjs';
import { authorize, authorizeParams, codeFlow, pkce, tokenRequest } from './lib/oauth.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let srv, closed, limited, fast, docServer, port, caFile, key;
const docs = new Map(); // path -> { status, body, delay, headers }
const hits = new Map(); // path -> count

function openssl(args, cwd) {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

// A CA and a certificate for the *.localhost names and loopback addresses.
function makeCerts() {
  const d = tempDir('pc-cimd-ca-');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=pc-test-ca'], d);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=app.localhost'], d);
  writeFileSync(join(d, 'ext.cnf'),
    'subjectAltName=DNS:app.localhost,DNS:other.localhost,DNS:mcp.localhost,IP:127.0.0.1,IP:::1\n');
  openssl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'srv.pem', '-days', '1', '-extfile', 'ext.cnf'], d);
  return { ca: join(d, 'ca.pem'), key: readFileSync(join(d, 'srv.key')), cert: readFileSync(join(d, 'srv.pem')) };
}

const origin = (host = 'app.localhost') => `https://${host}:${port}`;
const url = (path, host) => `${origin(host)}${path}`;

// A good document at path, with changes.
function serve(path, extra = {}, opts = {}) {
  const body = {
    client_id: url(path, opts.host), client_name: 'Doc App',
    redirect_uris: [url('/cb', opts.host)], token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    scope: 'openid profile offline_access', ...extra,
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  docs.set(path, { status: 200, body: JSON.stringify(body), ...opts });
  return url(path, opts.host);
}

const client = (id, redirectUri) => ({ client_id: id, redirectUri: redirectUri ?? `${origin()}/cb`, authMethod: 'none' });

// The /authorize answer for client id (a fresh browser, not followed).
async function start(s, id, redirectUri) {
  const { challenge } = pkce();
  const q = new URLSearchParams(authorizeParams(client(id, redirectUri), { challenge }));
  return new Client(s).get('/authorize?' + q, { headers: { 'sec-fetch-site': 'cross-site' } });
}

function refusedPage(r, why) {
  assert.notEqual(r.status, 303, `redirected to ${r.location}`);
  assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
  if (why) assert.match(r.text, why);
}

before(async () => {
  const certs = makeCerts();
  caFile = certs.ca;
  key = await jose.generateKeyPair('ES256', { extractable: true });
  docServer = https.createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    const path = req.url;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const d = docs.get(path);
    if (!d) {
      res.writeHead(404);
      res.end();
      return;
    }
    const send = () => {
      res.writeHead(d.status, { 'content-type': 'application/json', ...(d.headers ?? {}) });
      res.end(d.body);
    };
    if (d.delay) setTimeout(send, d.delay); else send();
  });
  await new Promise((r) => docServer.listen(0, '127.0.0.1', r));
  port = docServer.address().port;
  const common = {
    client_metadata_documents: 'true', outbound_ca_file: caFile, outbound_allow_ports: String(port),
  };
  [srv, closed, limited, fast] = await Promise.all([
    startServer({ config: { ...common, outbound_allow_networks: '127.0.0.0/8' } }),
    startServer({ config: { ...common } }),
    startServer({ config: { ...common, outbound_allow_networks: '127.0.0.0/8', client_metadata_per_ip: 2 } }),
    startServer({ config: { ...common, outbound_allow_networks: '127.0.0.0/8', client_metadata_ttl: '1s' } }),
  ]);
  addUser(srv, 'alice@example.com');
});
after(async () => {
  await Promise.all([srv, closed, limited, fast].map((s) => stopClean(s)));
  docServer.close();
});

test('CR-04: off by default: a URL client_id is no client, and discovery says so', async () => {
  const s = await startServer();
  try {
    const id = serve('/off.json');
    refusedPage(await start(s, id), /not enabled/);
    assert.equal(hits.get('/off.json') ?? 0, 0);
    const d = await (await fetch(s.url + '/.well-known/openid-configuration')).json();
    assert.equal(d.client_id_metadata_document_supported, false);
  } finally {
    await stopClean(s);
  }
  const d = await (await fetch(srv.url + '/.well-known/openid-configuration')).json();
  assert.equal(d.client_id_metadata_document_supported, true);
});

test('CR-04, CR-05: a metadata-document client signs a user in and refreshes, as itself', async () => {
  const id = serve('/client.json');
  const f = await codeFlow(srv, client(id), { email: 'alice@example.com', scope: 'openid offline_access' });
  assert.ok(f.tokens.access_token);
  const claims = jose.decodeJwt(f.tokens.access_token);
  assert.equal(claims.client_id, id);
  assert.equal(storeSql(srv, `SELECT registration FROM clients WHERE client_id = '${id}'`), 'metadata');
  const r = await tokenRequest(srv, client(id), { grant_type: 'refresh_token', refresh_token: f.tokens.refresh_token });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(hits.get('/client.json'), 1, 'fetched once while fresh');
  const rows = auditRows(srv).filter((a) => a.event === 'client.register' && a.target === id);
  assert.equal(rows.length, 1, 'audited once, when first seen');
  assert.equal(rows[0].details.registration, 'metadata');
});

test('CR-04: loopback and private targets are never fetched with the allow list empty', async () => {
  const before = [...hits.values()].reduce((a, b) => a + b, 0);
  for (const id of [serve('/lo.json'), serve('/lo2.json', {}, { host: 'mcp.localhost' }),
    `https://127.0.0.1:${port}/lo.json`, `https://[::1]:${port}/lo.json`,
    `https://localhost:${port}/lo.json`, `https://10.0.0.1:${port}/x.json`,
    `https://169.254.169.254:${port}/latest/meta-data`]) {
    refusedPage(await start(closed, id), /could not be fetched/);
    const t = await tokenRequest(closed, client(id), { grant_type: 'refresh_token', refresh_token: 'x' });
    assert.equal(t.status, 401, id);
    assert.equal(t.json.error, 'invalid_client');
  }
  assert.equal([...hits.values()].reduce((a, b) => a + b, 0), before, 'no request reached the loopback server');
  assert.equal(storeSql(closed, "SELECT count(*) FROM clients WHERE registration = 'metadata'"), '0');
  assert.match(closed.rawLogs(), /no address the policy allows/);
});

test('CR-04: URL ids that are not plain https URLs are refused without a fetch', async () => {
  const n = hits.get('/client.json');
  for (const id of [`http://app.localhost:${port}/client.json`, `${origin()}/client.json?x=1`,
    `${origin()}/client.json#f`, `${origin()}`, `${origin()}/`.slice(0, -1), `https://u@app.localhost:${port}/client.json`,
    `${origin()}/a/../client.json`, `${origin()}/` + 'a'.repeat(300)]) {
    refusedPage(await start(srv, id));
  }
  assert.equal(hits.get('/client.json'), n);
});

test('CR-04: redirects are not followed', async () => {
  const target = serve('/target.json');
  docs.set('/moved.json', { status: 302, body: '', headers: { location: target } });
  refusedPage(await start(srv, url('/moved.json')), /could not be fetched/);
  assert.equal(hits.get('/target.json') ?? 0, 0);
});

test('CR-04: a document over 5 KiB is refused, whatever outbound_max_size says', async () => {
  const id = serve('/big.json', { padding: 'x'.repeat(6000) });
  refusedPage(await start(srv, id), /could not be fetched/);
  const ok = serve('/almost.json', { padding: 'x'.repeat(4000) });
  const r = await start(srv, ok);
  assert.equal(r.status, 303, r.text);
});

test('CR-04: a document slower than 3 s is refused', async () => {
  const id = serve('/slow.json', {}, { delay: 4500 });
  refusedPage(await start(srv, id), /could not be fetched/);
});

test('CR-04: the document\'s client_id must be its URL exactly', async () => {
  for (const [path, cid] of [['/m1.json', url('/other.json')], ['/m2.json', url('/m2.json') + '/'],
    ['/m3.json', url('/m3.json', 'other.localhost')], ['/m4.json', undefined], ['/m5.json', url('/M5.json')]]) {
    serve(path, { client_id: cid });
    refusedPage(await start(srv, url(path)), /client_id is not its URL/);
  }
  for (const body of ['not json', '[]', '{"client_id": 1}', '']) {
    docs.set('/junk.json', { status: 200, body });
    refusedPage(await start(srv, url('/junk.json')));
  }
  docs.set('/err.json', { status: 500, body: '{}' });
  refusedPage(await start(srv, url('/err.json')), /could not be fetched/);
});

test('CR-05: redirect URIs on another origin, and auth a metadata client cannot do, are refused', async () => {
  for (const [path, extra, why] of [
    ['/x1.json', { redirect_uris: ['https://evil.example/cb'] }, /another origin/],
    ['/x2.json', { redirect_uris: [url('/cb', 'other.localhost')] }, /another origin/],
    ['/x3.json', { redirect_uris: [`https://app.localhost:${port + 1}/cb`] }, /another origin/],
    ['/x4.json', { redirect_uris: ['javascript:alert(1)'] }, /javascript/],
    ['/x5.json', { redirect_uris: [url('/cb#frag')] }, /fragment/],
    ['/x6.json', { token_endpoint_auth_method: 'client_secret_basic' }, /public/],
    ['/x7.json', { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://evil.example/jwks' }, /jwks_uri/],
    ['/x8.json', { token_endpoint_auth_method: 'private_key_jwt' }, /jwks_uri/],
    ['/x9.json', { client_secret: 'pcs_x' }, /client_secret/],
    ['/x10.json', { grant_types: ['client_credentials'] }, /grant_types/],
    ['/x11.json', { jwks: { keys: [] } }, /jwks_uri/],
  ]) {
    const id = serve(path, extra);
    refusedPage(await start(srv, id, (extra.redirect_uris ?? [])[0]), why);
  }
  // A loopback redirect URI is fine (RFC 8252 native apps).
  const id = serve('/native.json', { redirect_uris: ['http://127.0.0.1/cb'] });
  const r = await start(srv, id, 'http://127.0.0.1:61234/cb');
  assert.equal(r.status, 303, r.text);
});

test('CR-05: private_key_jwt with a jwks_uri on the client\'s origin authenticates at /token', async () => {
  const jwk = { ...(await jose.exportJWK(key.publicKey)), alg: 'ES256', kid: 'k1', use: 'sig' };
  docs.set('/jwks.json', { status: 200, body: JSON.stringify({ keys: [jwk] }) });
  const id = serve('/pkj.json', { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: url('/jwks.json') });
  const a = await authorize(srv, client(id), { email: 'alice@example.com' });
  assert.ok(a.code, `${a.status} ${a.text?.slice(0, 300)}`);
  const assertion = (k) => new jose.SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(id).setSubject(id)
    .setAudience(srv.issuer).setIssuedAt().setExpirationTime('2m').sign(k);
  const post = async (k) => fetch(srv.url + '/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: a.code, redirect_uri: `${origin()}/cb`,
      code_verifier: a.verifier, client_id: id,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion(k) }) });
  const other = await jose.generateKeyPair('ES256');
  assert.equal((await post(other.privateKey)).status, 401);
  const ok = await post(key.privateKey);
  assert.equal(ok.status, 200, await ok.text());
});

test('CR-04: the document is fetched again after client_metadata_ttl; a document gone stops the client', async () => {
  const id = serve('/ttl.json');
  // Within the TTL (an hour on srv): one fetch for many uses.
  assert.equal((await start(srv, id)).status, 303);
  assert.equal((await start(srv, id)).status, 303);
  assert.equal(hits.get('/ttl.json'), 1, 'cached within the TTL');
  // fast: a TTL of 1 s.
  assert.equal((await start(fast, id)).status, 303);
  assert.equal(hits.get('/ttl.json'), 2);
  serve('/ttl.json', { redirect_uris: [url('/new-cb')] });
  await sleep(1500);
  // The changed document takes effect: the old redirect URI is gone.
  refusedPage(await start(fast, id), /not registered/);
  assert.equal(hits.get('/ttl.json'), 3);
  assert.equal((await start(fast, id, url('/new-cb'))).status, 303);
  docs.delete('/ttl.json');
  await sleep(1500);
  refusedPage(await start(fast, id, url('/new-cb')), /could not be fetched/);
  // The row (and any grant) stays; only its use stops.
  assert.equal(storeSql(fast, `SELECT count(*) FROM clients WHERE client_id = '${id}'`), '1');
});

test('CR-04: document fetches count per IP before they start', async () => {
  const ids = [serve('/l1.json'), serve('/l2.json'), serve('/l3.json')];
  assert.equal((await start(limited, ids[0])).status, 303);
  assert.equal((await start(limited, ids[1])).status, 303);
  refusedPage(await start(limited, ids[2]), /too many/);
  assert.equal(hits.get('/l3.json') ?? 0, 0);
  // A fresh row needs no fetch, so it still works.
  assert.equal((await start(limited, ids[0])).status, 303);
});

test('CR-04: a metadata-document client pushes its request (PAR) and completes it', async () => {
  const id = serve('/par.json');
  const { challenge } = pkce();
  const p = await fetch(srv.url + '/par', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...authorizeParams(client(id), { challenge }) }).toString() });
  assert.equal(p.status, 201, await p.clone().text());
  const { request_uri: requestUri } = await p.json();
  assert.match(requestUri, /^urn:ietf:params:oauth:request_uri:/);
  const r = await new Client(srv).get('/authorize?' + new URLSearchParams({ client_id: id, request_uri: requestUri }),
    { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(r.status, 303, r.text);
  // A URL whose document is refused cannot push either.
  const bad = serve('/par-bad.json', { redirect_uris: ['https://evil.example/cb'] });
  const q = await fetch(srv.url + '/par', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...authorizeParams(client(bad, 'https://evil.example/cb'), { challenge }) }).toString() });
  assert.equal(q.status, 401);
});
