#!/usr/bin/env bash
# `make run`: start the server in development mode on the embedded SQLite
# store with a data directory under the repo, and say where to go.
set -euo pipefail
: "${BIN:?}" "${DATA_DIR:?}" "${LISTEN:?}"

# The issuer is the URL clients use, so never a wildcard address: with
# LISTEN=0.0.0.0:8080 (a container, or the LAN) it is http://localhost:8080
# unless ISSUER names the host clients reach (ISSUER=http://portcullis:8080
# for a docker compose service; development mode allows http:// on it with
# a warning).
#
# A loopback address (127.0.0.1, the default, or [::1]) is named
# localhost too: browsers offer passkeys (WebAuthn) only in a secure
# context and to a host name, never to an IP literal, and
# http://localhost is both.
if [ -z "${ISSUER:-}" ]; then
  case "$LISTEN" in
    0.0.0.0:* | "[::]:"* | 127.0.0.1:* | "[::1]:"*)
      ISSUER="http://localhost:${LISTEN##*:}" ;;
    *) ISSUER="http://$LISTEN" ;;
  esac
fi
# Where this script reaches the server itself (readyz).
case "$LISTEN" in
  0.0.0.0:*) PROBE="http://127.0.0.1:${LISTEN##*:}" ;;
  "[::]:"*) PROBE="http://[::1]:${LISTEN##*:}" ;;
  *) PROBE="http://$LISTEN" ;;
esac

mkdir -p "$DATA_DIR"
chmod 700 "$DATA_DIR"
"$BIN" serve --mode development --data-dir "$DATA_DIR" \
  --listen "$LISTEN" --issuer "$ISSUER" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM

for _ in $(seq 1 300); do
  # The Host the server answers to is the issuer's, whatever address
  # this probe connects to.
  if curl -fsS -H "Host: ${ISSUER#http*://}" "$PROBE/readyz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 $pid 2>/dev/null; then wait $pid; exit 1; fi
  sleep 0.1
done

cat <<MSG

  Portcullis is running (development mode, SQLite in $DATA_DIR).

  Issuer:     $ISSUER   (listening on $LISTEN)
  Discovery:  $ISSUER/.well-known/openid-configuration
  JWKS:       $ISSUER/jwks.json
  Health:     $ISSUER/healthz   $ISSUER/readyz
  Sign in:    $ISSUER/login     (then $ISSUER/account)

  There is no default account. Create the first user (the password is
  read from standard input, never from the command line; at least 15
  characters):
    $BIN user add --email you@example.com --verified --password-stdin \
      --mode development --data-dir $DATA_DIR

  Mail (verification and reset links) is written to $DATA_DIR/outbox/
  until smtp_url is set.

  Next:
    curl $ISSUER/.well-known/openid-configuration
    $BIN key list --data-dir $DATA_DIR
    $BIN check-config --data-dir $DATA_DIR --mode development

  The master key is $DATA_DIR/master.key (mode 0600): back it up apart
  from the store. Stop with Ctrl-C (graceful shutdown).

MSG
wait $pid
