#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests.
#   tests/tools/pg-cluster.sh start DIR   initdb + pg_ctl start in DIR; prints
#                                          the store_url to use on stdout
#   tests/tools/pg-cluster.sh stop DIR    stops it and removes DIR
#   tests/tools/pg-cluster.sh halt DIR    kills the server at once (pg_ctl
#                                          stop -m immediate), keeps its data
#   tests/tools/pg-cluster.sh resume DIR  starts a halted cluster again
# The server listens on a Unix socket in DIR only (no TCP), with trust
# authentication on that socket. Run as root (as CI is), it runs as the
# `postgres` user, which then owns DIR. fsync is off: a test cluster needs
# no durability across a power cut. PG_CLUSTER_FSYNC=on (read by start and
# resume) keeps it on, as a real deployment has it: the bench uses that, so
# its PostgreSQL figures pay for durable commits as SQLite's
# (synchronous=FULL) do.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|halt|resume DIR" >&2
  exit 2
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg-cluster: no PostgreSQL server found (Debian package postgresql)" >&2
  exit 1
fi

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

fsync=${PG_CLUSTER_FSYNC:-off}
case $fsync in
on | off) ;;
*)
  echo "pg-cluster: PG_CLUSTER_FSYNC must be on or off" >&2
  exit 2
  ;;
esac

pg_start() {
  port=$(cat "$dir/port")
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=$fsync -c max_connections=300" \
    start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
}

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -x "$dir"; then
      echo "pg-cluster: the postgres user cannot reach $dir (a parent is private)" >&2
      exit 1
    fi
  fi
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust \
    --auth-host=reject -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(free_port)
  echo "$port" >"$dir/port"
  pg_start
  as_pg "$bindir/createdb" -h "$dir" -p "$port" -U postgres portcullis
  echo "postgresql:///portcullis?host=$dir&port=$port&user=postgres"
  ;;
stop)
  [ -d "$dir" ] || exit 0
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$dir"
  ;;
halt)
  dir=$(cd "$dir" && pwd)
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  ;;
resume)
  dir=$(cd "$dir" && pwd)
  pg_start
  ;;
*)
  echo "usage: $0 start|stop|halt|resume DIR" >&2
  exit 2
  ;;
esac
