#!/usr/bin/env bash
# Installs the Debian packages Portcullis needs, and only the missing ones.
#   scripts/deps.sh run     build and run
#   scripts/deps.sh test    also test, lint, fuzz and bench tools, npm packages
set -euo pipefail

what=${1:-run}
run_pkgs=(build-essential meson ninja-build pkg-config python3
  libmicrohttpd-dev libjansson-dev libsodium-dev libssl-dev libsqlite3-dev
  libunistring-dev libzxcvbn-dev libcurl4-openssl-dev libpq-dev zlib1g-dev
  libfido2-dev libcbor-dev liboath-dev libqrencode-dev
  # sd_notify and socket activation (src/server/systemd.c); the man pages
  # (docs/man/*.scd) for make install.
  libsystemd-dev scdoc
  curl ca-certificates)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev clang-tidy clang-format
  cppcheck wrk openssl sqlite3 procps
  # A throwaway PostgreSQL cluster for the store tests on PostgreSQL
  # (tests/tools/pg-cluster.sh, scripts/pg-unit.sh).
  postgresql
  # An SMTP sink for the mail tests (python3 -m aiosmtpd).
  python3-aiosmtpd
  # A real browser for tests/e2e, driven by npm playwright-core: its pin in
  # package.json follows the major version of Debian's chromium.
  chromium
  # A real relying party for tests/e2e/interop_apache.test.mjs: the test
  # starts its own apache2 in the foreground with a generated config.
  apache2 libapache2-mod-auth-openidc
  # systemd-analyze (the unit's security score), systemd-socket-activate
  # and systemd-sysusers for tests/e2e/host_*.test.mjs; man-db renders
  # the installed man pages; strace lists the system calls the unit's
  # filter must allow.
  systemd man-db strace
  # docs/integrations/service-account/setup.sh reads the CLI's --json.
  jq
  # A real Prometheus server for tests/e2e/host_prometheus.test.mjs (the
  # test starts its own on a temp dir; the packaged daemon is not used).
  prometheus
  # The reverse proxy of tests/e2e/host_fwdauth.test.mjs (forward-auth,
  # auth_request): the test runs its own unprivileged nginx.
  nginx)
# Node may come from elsewhere than Debian (e.g. a newer release with its
# own npm); install Debian's only when there is none.
if ! command -v node >/dev/null 2>&1; then test_pkgs+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then test_pkgs+=(npm); fi

pkgs=("${run_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing missing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: not root; run as root or install them yourself" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "deps: all ${#pkgs[@]} Debian packages present"
fi

if [ "$what" = test ]; then
  # The test packages come from the committed lockfile.
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "deps: npm ci (from package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi
