// A loopback Apache httpd with mod_auth_openidc as a real relying party:
// Debian's apache2 and libapache2-mod-auth-openidc (scripts/deps.sh test),
// started in the foreground in a temp dir (no /etc/apache2, no system
// service). The mod_auth_openidc part is the documented example itself,
// docs/integrations/apache-mod-auth-openidc/portcullis-oidc.conf, included
// unchanged: this file only writes what a Debian install already has
// (modules, a listener, a document root) and fills the example's ${...}
// variables through Apache's environment.
//
//   if (!apacheAvailable()) t.skip(MISSING_APACHE);
//   const ap = await startApache({ provider: srv.issuer, clientId, clientSecret });
//   ap.url                // http://127.0.0.1:PORT
//   ap.redirectUri        // OIDCRedirectURI, registered on the client
//   ap.loggedOutUrl       // the public signed-out page, the post-logout redirect URI
//   await ap.stop()
//
// Every page is protected (the site's index.html holds PROTECTED_TEXT)
// except /signed-out.html. ap.errorLog() returns Apache's error log, with
// mod_auth_openidc at debug level, for assertion messages.
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, tempDir } from './server.mjs';

export const APACHE = process.env.PORTCULLIS_APACHE ?? '/usr/sbin/apache2';
export const APACHE_MODULES = process.env.PORTCULLIS_APACHE_MODULES ?? '/usr/lib/apache2/modules';

export function apacheAvailable() {
  try {
    accessSync(APACHE, constants.X_OK);
    accessSync(join(APACHE_MODULES, 'mod_auth_openidc.so'), constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export const MISSING_APACHE =
  `no ${APACHE} with ${APACHE_MODULES}/mod_auth_openidc.so: install Debian's apache2 and ` +
  'libapache2-mod-auth-openidc (scripts/deps.sh test)';

// The documented configuration, included as it is.
export const EXAMPLE_CONF = fileURLToPath(
  new URL('../../../docs/integrations/apache-mod-auth-openidc/portcullis-oidc.conf', import.meta.url));

export const PROTECTED_TEXT = 'Protected by mod_auth_openidc: hello from Apache';

const MODULES = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['authn_core_module', 'mod_authn_core.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['authz_user_module', 'mod_authz_user.so'],
  ['mime_module', 'mod_mime.so'],
  ['dir_module', 'mod_dir.so'],
  ['auth_openidc_module', 'mod_auth_openidc.so'],
];

// opts: { provider (the issuer), clientId, clientSecret, extra (more
// directives, after the example's) }.
export async function startApache(opts) {
  const port = opts.port ?? await freePort();
  const dir = tempDir('pc-apache-');
  const docs = join(dir, 'htdocs');
  const url = `http://127.0.0.1:${port}`;
  mkdirSync(docs, { recursive: true });
  writeFileSync(join(docs, 'index.html'),
    `<!doctype html><title>Protected</title><p id="content">${PROTECTED_TEXT}</p>\n`);
  writeFileSync(join(docs, 'signed-out.html'),
    '<!doctype html><title>Signed out</title><p id="content">Signed out of the Apache RP</p>\n');
  // Apache's children run as www-data (Apache refuses to serve as root):
  // the tree must be readable by it.
  for (const p of [dir, docs]) chmodSync(p, 0o755);
  // The example's variables, as an operator sets them in Apache's
  // environment (/etc/apache2/envvars).
  const vars = {
    PORTCULLIS_ISSUER: opts.provider,
    SITE_URL: url,
    OIDC_CLIENT_ID: opts.clientId,
    OIDC_CLIENT_SECRET: opts.clientSecret,
    OIDC_CRYPTO_PASSPHRASE: randomBytes(32).toString('base64url'),
  };
  const redirectUri = `${url}/oidc/callback`;
  const loggedOutUrl = `${url}/signed-out.html`;
  const conf = [
    `ServerRoot "${dir}"`,
    `ServerName 127.0.0.1:${port}`,
    `Listen 127.0.0.1:${port}`,
    `PidFile "${join(dir, 'httpd.pid')}"`,
    `ErrorLog "${join(dir, 'error.log')}"`,
    'LogLevel warn auth_openidc:debug',
    `DefaultRuntimeDir "${dir}"`,
    ...MODULES.map(([name, file]) => `LoadModule ${name} "${join(APACHE_MODULES, file)}"`),
    // Running as root (CI): workers as the package's unprivileged user.
    ...(process.getuid?.() === 0 ? ['User www-data', 'Group www-data'] : []),
    'StartServers 1', 'ServerLimit 1', 'ThreadsPerChild 16', 'MaxRequestWorkers 16',
    `DocumentRoot "${docs}"`,
    'DirectoryIndex index.html',
    'TypesConfig /dev/null',
    'AddType text/html .html',
    `<Directory "${docs}">`, '  Require all granted', '</Directory>',
    `Include "${EXAMPLE_CONF}"`,
    ...(opts.extra ?? []),
    '',
  ].join('\n');
  const confFile = join(dir, 'httpd.conf');
  writeFileSync(confFile, conf);
  const proc = spawn(APACHE, ['-f', confFile, '-DFOREGROUND'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...vars, APACHE_RUN_DIR: dir, APACHE_LOCK_DIR: dir, APACHE_LOG_DIR: dir },
  });
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const errorLog = () => {
    let log = '';
    try { log = readFileSync(join(dir, 'error.log'), 'utf8'); } catch { /* not yet */ }
    return out + log;
  };
  const ap = {
    url, port, dir, redirectUri, loggedOutUrl, proc, errorLog,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); }, 10_000);
      await exited;
      clearTimeout(t);
      if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`apache2 exited with ${proc.exitCode}:\n${errorLog()}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return ap;
    if (Date.now() > deadline) {
      await ap.stop();
      throw new Error('apache2 did not start:\n' + errorLog());
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
