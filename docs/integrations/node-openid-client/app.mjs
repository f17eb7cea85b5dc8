// A web app that signs its users in with Portcullis through npm
// openid-client: the authorization code flow with PKCE, the ID token
// checked by openid-client, the user's profile from /userinfo, tokens
// refreshed when they run out, and RP-initiated logout. Node's own http
// server, no framework; sessions in memory. See README.md next to it.
//
//   PORTCULLIS_ISSUER=https://id.example.com APP_URL=http://localhost:3000 \
//     CLIENT_ID=pcc_... CLIENT_SECRET_FILE=./client-secret node app.mjs
//
// Environment:
//   PORTCULLIS_ISSUER   the issuer
//   APP_URL             this app's origin as browsers see it; the client
//                       is registered with APP_URL/callback as redirect URI
//                       and APP_URL/ as post-logout redirect URI
//   CLIENT_ID           pcc_... from `portcullis client add`
//   CLIENT_SECRET_FILE  a file holding the client's secret (pcs_...), or
//                       CLIENT_SECRET the secret itself
//   PORT, HOST          where to listen (default: APP_URL's port, 127.0.0.1)
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as oidc from 'openid-client';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`set ${name}`);
  return v;
};
const issuer = new URL(env('PORTCULLIS_ISSUER'));
const appUrl = new URL(env('APP_URL'));
const redirectUri = new URL('/callback', appUrl).href;
const signedOutUri = new URL('/', appUrl).href;
const secret = process.env.CLIENT_SECRET_FILE
  ? readFileSync(process.env.CLIENT_SECRET_FILE, 'utf8').trim() : env('CLIENT_SECRET');
const SCOPE = 'openid profile email offline_access';

// openid-client refuses plain http; allow it for a loopback issuer only
// (a development server on this machine), never for a real one.
const loopback = (u) => ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
const config = await oidc.discovery(issuer, env('CLIENT_ID'), undefined,
  oidc.ClientSecretBasic(secret),
  issuer.protocol === 'http:' && loopback(issuer) ? { execute: [oidc.allowInsecureRequests] } : undefined);
// Check the ID token's signature against the issuer's JWKS too (the spec
// lets a client trust the TLS channel to /token; this costs one fetch).
oidc.enableNonRepudiationChecks(config);

// Sessions: a random id in an HttpOnly cookie, the data here. Tokens never
// reach the browser. Secure (and the __Host- prefix) whenever the app is
// served over https.
const secure = appUrl.protocol === 'https:';
const COOKIE = secure ? '__Host-app' : 'app';
const SESSION_TTL = 8 * 3600 * 1000;
const SIGN_IN_TTL = 10 * 60 * 1000; // a started sign-in, until the callback
const sessions = new Map();

function cookieOf(req) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE) return v;
  }
  return undefined;
}

function sessionOf(req) {
  const s = sessions.get(cookieOf(req));
  if (s && s.expires > Date.now()) return s;
  return undefined;
}

// A new session under a new id (never reuse an id across a sign-in: no
// session fixation); the old one, if any, is gone.
function newSession(req, res, data, ttl = SESSION_TTL) {
  sessions.delete(cookieOf(req));
  const now = Date.now();
  for (const [k, v] of sessions) if (v.expires <= now) sessions.delete(k);
  const id = randomBytes(32).toString('base64url');
  const s = { id, expires: now + ttl, ...data };
  sessions.set(id, s);
  res.setHeader('set-cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`);
  return s;
}

function endSession(req, res) {
  sessions.delete(cookieOf(req));
  res.setHeader('set-cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`);
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, body) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; form-action 'self' " + issuer.origin + "; frame-ancestors 'none'",
    // No Referer to other sites; Origin stays on our own POSTs (with
    // no-referrer, browsers send Origin: null).
    'referrer-policy': 'same-origin',
  });
  res.end(`<!doctype html><meta charset="utf-8"><title>Example app</title>\n${body}\n`);
}

function redirect(res, location) {
  res.writeHead(303, { location, 'cache-control': 'no-store' });
  res.end();
}

// Logs what happened, never a token, a code or a secret.
const log = (fields) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');

// Keeps the tokens of a session fresh: refreshes them when the access
// token has less than 30 s left, or when asked. One refresh at a time per
// session: Portcullis rotates the refresh token on every use, and a second
// use of the old one would look like theft and end the grant.
function freshTokens(s, force = false) {
  if (!force && s.tokens.expiresAt - 30_000 > Date.now()) return undefined;
  s.refreshing ??= (async () => {
    const t = await oidc.refreshTokenGrant(config, s.tokens.refresh);
    s.tokens = {
      access: t.access_token,
      refresh: t.refresh_token ?? s.tokens.refresh,
      idToken: t.id_token ?? s.tokens.idToken,
      expiresAt: Date.now() + (t.expires_in ?? 60) * 1000,
    };
    s.refreshed += 1;
    log({ event: 'refreshed', sub: s.user.sub });
  })().finally(() => { s.refreshing = undefined; });
  return s.refreshing;
}

// POSTs must come from our own pages (the SameSite=Lax cookie, and the
// Origin header every browser sends with a form POST).
const sameOrigin = (req) => req.headers.origin === appUrl.origin;

async function handle(req, res) {
  const url = new URL(req.url, appUrl);
  const s = sessionOf(req);
  const route = `${req.method} ${url.pathname}`;

  if (route === 'GET /') {
    if (!s?.user) {
      page(res, 200, '<p id="status">Not signed in.</p><p><a id="signin" href="/login">Sign in</a></p>');
      return;
    }
    let info;
    try {
      await freshTokens(s);
      // The profile, with the current access token (openid-client checks
      // that its sub is the ID token's).
      info = await oidc.fetchUserInfo(config, s.tokens.access, s.user.sub);
    } catch (e) {
      // The grant is over (revoked, expired, the user disabled): sign in again.
      if (!(e instanceof oidc.ResponseBodyError || e instanceof oidc.WWWAuthenticateChallengeError)) throw e;
      endSession(req, res);
      log({ event: 'session_ended', sub: s.user.sub, error: e.error ?? e.code });
      page(res, 200, '<p id="status">Your session has ended.</p><p><a id="signin" href="/login">Sign in</a></p>');
      return;
    }
    page(res, 200, `<p id="status">Signed in as <b id="email">${esc(info.email ?? info.sub)}</b></p>
<p>Name: <span id="name">${esc(info.name ?? '')}</span></p>
<p>Tokens refreshed: <span id="refreshed">${s.refreshed}</span></p>
<form method="post" action="/refresh"><button>Refresh tokens</button></form>
<form method="post" action="/logout"><button>Sign out</button></form>`);
    return;
  }

  if (route === 'GET /login') {
    // PKCE verifier, state and nonce: random, kept in a fresh pre-session,
    // checked by openid-client at the callback.
    const pending = {
      verifier: oidc.randomPKCECodeVerifier(),
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
    };
    newSession(req, res, { pending }, SIGN_IN_TTL);
    const to = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    redirect(res, to.href);
    return;
  }

  if (route === 'GET /callback') {
    if (!s?.pending) {
      page(res, 400, '<p id="status">Sign-in failed: no sign-in was started here.</p><p><a href="/">Home</a></p>');
      return;
    }
    const { pending } = s;
    delete s.pending; // one try per sign-in
    let t;
    try {
      // Checks state, iss (RFC 9207), exchanges the code with the PKCE
      // verifier, and validates the ID token: signature, iss, aud, exp,
      // iat, nonce.
      t = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (e) {
      log({ event: 'signin_failed', error: e.error ?? e.code ?? 'error' });
      page(res, 400, '<p id="status">Sign-in failed.</p><p><a href="/">Try again</a></p>');
      return;
    }
    const claims = t.claims();
    newSession(req, res, {
      user: { sub: claims.sub },
      refreshed: 0,
      tokens: { access: t.access_token, refresh: t.refresh_token, idToken: t.id_token,
        expiresAt: Date.now() + (t.expires_in ?? 60) * 1000 },
    });
    log({ event: 'signed_in', sub: claims.sub });
    redirect(res, '/');
    return;
  }

  if (route === 'POST /refresh' || route === 'POST /logout') {
    if (!sameOrigin(req)) {
      page(res, 403, '<p id="status">Forbidden.</p>');
      return;
    }
    if (!s?.user) {
      redirect(res, '/');
      return;
    }
    if (route === 'POST /refresh') {
      await freshTokens(s, true);
      redirect(res, '/');
      return;
    }
    // Sign out: end our session, revoke the refresh token (the grant ends
    // with it), then let Portcullis end its own session and send the
    // browser back to our post-logout URI.
    endSession(req, res);
    await oidc.tokenRevocation(config, s.tokens.refresh).catch(() => {});
    log({ event: 'signed_out', sub: s.user.sub });
    redirect(res, oidc.buildEndSessionUrl(config, {
      id_token_hint: s.tokens.idToken,
      post_logout_redirect_uri: signedOutUri,
    }).href);
    return;
  }

  page(res, 404, '<p>Not found.</p>');
}

const server = createServer((req, res) => {
  handle(req, res).catch((e) => {
    log({ event: 'error', error: e.error ?? e.code ?? e.name });
    if (!res.headersSent) page(res, 500, '<p id="status">Something went wrong.</p>');
  });
});
const port = Number(process.env.PORT ?? (appUrl.port || (secure ? 443 : 80)));
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`example app on ${appUrl.origin}, listening on port ${server.address().port}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
