#!/usr/bin/env bash
# Portcullis benchmark: discovery and JWKS throughput against a bare
# libmicrohttpd "hello" with the same daemon settings, idle and loaded RSS,
# time to ready, and password sign-in (Argon2id verifications and logins
# per second against the raw hash rate, memory and discovery latency under
# a login flood). See bench/README.md.
#
#   bench/run.sh [BUILD_DIR]        (make bench: BUILD_DIR=build)
#
# Environment:
#   BENCH_DURATION     wrk duration per run (default 10s)
#   BENCH_CONNECTIONS  wrk connections (default 64)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_NOLOG        1 (default): also measure with log_requests = false
#   BENCH_LOGIN        1 (default): the password sign-in runs; 0 skips them
#   BENCH_LOGIN_DURATION  duration of each sign-in run (default BENCH_DURATION)
#   BENCH_FLOOD_CONNECTIONS  wrk connections of the login flood (default 200)
#   BENCH_OAUTH        1 (default): the OAuth runs against npm oidc-provider
#                      (bench/oauth.sh); 0 skips them
#   BENCH_OAUTH_DURATION  duration of each OAuth run (default BENCH_DURATION)
#   BENCH_REFRESH_CHAINS  refresh-token chains = wrk threads = connections
#                      of the rotation run (default 8)
#   BENCH_APIKEY       1 (default): API-key exchanges and introspections
#                      (bench/apikey.sh; needs BENCH_OAUTH=1); 0 skips them
#   BENCH_DPOP         1 (default): DPoP-bound refresh rotations against
#                      Bearer ones (bench/dpop.sh; needs BENCH_OAUTH=1)
#   BENCH_EXCHANGE     1 (default): delegation token exchanges
#                      (bench/exchange.sh; needs BENCH_OAUTH=1); 0 skips them
#   BENCH_MFA          1 (default): passkey and TOTP verifications per second
#                      and CPU per verification, in process (bench/mfa.sh,
#                      bench/passkeyrate.c, bench/totprate.c); 0 skips them
#   BENCH_PG           1 (default): the OAuth runs of portcullis again on a
#                      throwaway PostgreSQL cluster, one node and two nodes
#                      (bench/pg.sh); 0 skips them
#
#   BENCH_PROFILE      1: perf record -g of portcullis during one more
#                      client_credentials run; prints its top 25 symbols
#
# Prints the figures and the targets beside them; never fails on a figure.
# Exits non-zero only when something could not run, including an OAuth run
# with a failing side (no successful response, a dead refresh chain, more
# than 1% failed requests): the table says so in a banner and the script
# exits 1 after printing everything. Loopback only; every process it
# starts is stopped on exit.
# shellcheck disable=SC2059  # the table's printf formats are constants
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BIN=$BUILD/src/portcullis
HELLO=$BUILD/bench-hello
HASHRATE=$BUILD/bench-hashrate
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_THREADS:-2}
NOLOG=${BENCH_NOLOG:-1}
LOGIN=${BENCH_LOGIN:-1}
LOGIN_DURATION=${BENCH_LOGIN_DURATION:-$DURATION}
FLOOD_CONNS=${BENCH_FLOOD_CONNECTIONS:-200}
NCPU=$(getconf _NPROCESSORS_ONLN)
HZ=$(getconf CLK_TCK)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

for t in cc pkg-config node wrk curl; do
	command -v "$t" >/dev/null || die "$t not found (make test-deps)"
done
[ -x "$BIN" ] || die "$BIN missing: run 'make build' first"
pkg-config --exists libmicrohttpd || die "libmicrohttpd-dev not installed"
pkg-config --exists libsodium || die "libsodium-dev not installed"

# Duration in seconds, for the bound on how long a server may live.
dur_s() {
	local d=$1
	case $d in
	*ms) echo 1 ;;
	*s) echo "${d%s}" ;;
	*m) echo $((${d%m} * 60)) ;;
	*h) echo $((${d%h} * 3600)) ;;
	*) echo "$d" ;;
	esac
}
DUR_S=$(dur_s "$DURATION")
[[ $DUR_S =~ ^[0-9]+$ ]] || die "BENCH_DURATION: cannot parse '$DURATION'"
LDUR_S=$(dur_s "$LOGIN_DURATION")
# shellcheck source=bench/oauth.sh
. "$ROOT/bench/oauth.sh"
oauth_check
# shellcheck source=bench/apikey.sh
. "$ROOT/bench/apikey.sh"
# shellcheck source=bench/dpop.sh
. "$ROOT/bench/dpop.sh"
# shellcheck source=bench/exchange.sh
. "$ROOT/bench/exchange.sh"
# shellcheck source=bench/mfa.sh
. "$ROOT/bench/mfa.sh"
# shellcheck source=bench/pg.sh
. "$ROOT/bench/pg.sh"
pg_check
[[ $LDUR_S =~ ^[0-9]+$ && $LDUR_S -ge 1 ]] ||
	die "BENCH_LOGIN_DURATION: cannot parse '$LOGIN_DURATION'"
[[ $FLOOD_CONNS =~ ^[0-9]+$ && $FLOOD_CONNS -ge 2 && $FLOOD_CONNS -le 10000 ]] ||
	die "BENCH_FLOOD_CONNECTIONS: a number from 2 to 10000"
if ! [[ $CONNS =~ ^[0-9]+$ && $WRK_THREADS =~ ^[0-9]+$ ]] ||
    [ "$CONNS" -lt "$WRK_THREADS" ] || [ "$WRK_THREADS" -lt 1 ]; then
	die "BENCH_CONNECTIONS and BENCH_THREADS: numbers, connections >= threads"
fi

# Limits: wrk opens CONNS connections from 127.0.0.1; the default per-IP
# limit (64) would refuse some of them, so both servers get the same,
# higher limits. Everything else as in src/http/mhd.c with the defaults.
PER_IP=$((CONNS * 2 > 256 ? CONNS * 2 : 256))
MAX_CONN=$((PER_IP > 1024 ? PER_IP : 1024))
[ "$MAX_CONN" -le 65536 ] || die "BENCH_CONNECTIONS too large"
IDLE_TIMEOUT=30                     # http_idle_timeout default
POOL=$((8 * 1024 * 2 + 32 * 1024))  # 2 * http_max_header + 32 KiB

TMP=$(mktemp -d /tmp/pc-bench.XXXXXX)
PIDS=()             # node wrappers, wrk and the hello server
SERVER_PIDFILES=()  # portcullis pids, written by start.mjs

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
	local rc=$? p f
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for f in "${SERVER_PIDFILES[@]}"; do
		[ -s "$f" ] || continue
		p=$(cat "$f")
		# Only if it is still our portcullis (start.mjs normally stops it).
		if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null |
		    grep -qF "$TMP/"; then
			kill -TERM "$p" 2>/dev/null || true
		fi
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	pg_cleanup
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# forget PID: it was waited for; never signal a pid that may be reused.
forget() {
	local p rest=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || rest+=("$p"); done
	PIDS=("${rest[@]}")
}

# A free loopback port (tiny race between close and use; fine on loopback).
free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",
	  ()=>{console.log(s.address().port);s.close()})'
}

# Field $2 of the last JSON line of file $1.
jget() {
	node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8")
	  .trim().split("\n").pop();const v=JSON.parse(l)[process.argv[2]];
	  console.log(v===undefined||v===null?"":v)' "$1" "$2"
}

vm() { # vm PID VmRSS|VmHWM: in kB
	awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null || true
}

cpu_ticks() { # utime + stime of PID, all threads, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# --- 1. the bare hello -------------------------------------------------------
say "building $HELLO"
# shellcheck disable=SC2046
cc -O2 bench/hello.c $(pkg-config --cflags --libs libmicrohttpd) \
	-o "$HELLO" || die "cannot build bench/hello.c"
if [ "$LOGIN" = 1 ]; then
	say "building $HASHRATE"
	# shellcheck disable=SC2046
	cc -O2 bench/hashrate.c $(pkg-config --cflags --libs libsodium) \
		-pthread -o "$HASHRATE" || die "cannot build bench/hashrate.c"
fi

BUILDTYPE=$(node -e 'try{const o=JSON.parse(require("fs").readFileSync(
  process.argv[1]+"/meson-info/intro-buildoptions.json","utf8"));
  console.log(o.find(x=>x.name==="buildtype").value)}catch{console.log("?")}' \
	"$BUILD")

# start_hello: sets HPORT, HPID.
start_hello() {
	HPORT=$(free_port)
	"$HELLO" "$HPORT" "$NCPU" "$MAX_CONN" "$PER_IP" "$IDLE_TIMEOUT" \
		"$POOL" >"$TMP/hello.out" 2>&1 &
	HPID=$!
	PIDS+=("$HPID")
	for _ in $(seq 250); do
		grep -q '^ready' "$TMP/hello.out" 2>/dev/null && return 0
		kill -0 "$HPID" 2>/dev/null || break
		sleep 0.02
	done
	die "bench-hello did not start: $(cat "$TMP/hello.out")"
}

stop_hello() {
	kill -TERM "$HPID" 2>/dev/null || true
	wait "$HPID" || true
	forget "$HPID"
}

# --- 2. portcullis -----------------------------------------------------------
DATA=$TMP/data
mkdir -m 700 "$DATA"

# start_pc NAME LOG_REQUESTS KEEP_S [EXTRA_CONFIG]: starts portcullis
# through start.mjs (which measures the time to the first 200 on /readyz
# and idle RSS); sets PC_PORT, PC_PID, PC_JSON (the measurements), PC_LOG,
# PC_NODE. EXTRA_CONFIG: more "key = value" lines.
start_pc() {
	local name=$1 logreq=$2 keep=$3 extra=${4:-} conf out
	PC_PORT=$(free_port)
	conf=$TMP/$name.conf
	out=$TMP/$name.json
	PC_LOG=$TMP/$name.stderr
	PC_JSON=$out
	cat >"$conf" <<-EOF
		mode = development
		issuer = http://127.0.0.1:$PC_PORT
		listen = 127.0.0.1:$PC_PORT
		log_requests = $logreq
		http_max_connections = ${PC_MAX_CONN:-$MAX_CONN}
		http_max_connections_per_ip = ${PC_PER_IP:-$PER_IP}
	EOF
	[ -z "$extra" ] || printf '%s\n' "$extra" >>"$conf"
	SERVER_PIDFILES+=("$TMP/$name.pid")
	node bench/start.mjs "$PC_PORT" "$PC_LOG" "$TMP/$name.pid" "$keep" \
		"$BIN" serve --config "$conf" --data-dir "$DATA" \
		--mode development >"$out" 2>"$TMP/$name.node-err" &
	PC_NODE=$!
	PIDS+=("$PC_NODE")
	if [ "$keep" = 0 ]; then
		wait "$PC_NODE" || true
		forget "$PC_NODE"
	else
		while [ ! -s "$out" ] && kill -0 "$PC_NODE" 2>/dev/null; do
			sleep 0.05
		done
		sleep 0.05
	fi
	if [ ! -s "$out" ] || [ "$(jget "$out" ok)" != true ]; then
		cat "$TMP/$name.node-err" >&2 || true
		tail -20 "$PC_LOG" >&2 || true
		die "portcullis ($name) did not become ready"
	fi
	PC_PID=$(jget "$out" pid)
}

stop_pc() {
	kill -TERM "$PC_NODE" 2>/dev/null || true
	wait "$PC_NODE" || say "warning: portcullis exited non-zero (see log)"
	forget "$PC_NODE"
}

# check_200 PORT PATH: the endpoint must answer 200, or the figure is a lie
# (a 400 "Unknown Host" is fast too).
check_200() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$1$2") || true
	[ "$code" = 200 ] || die "GET $2 on :$1 answered $code, not 200"
}

# to_ms VALUE: wrk's latency ("812.00us", "3.21ms", "1.02s", "1.5m") in ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
		else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000;
		printf "%.2f", n }'
}

# run_wrk NAME PORT PATH PID: runs wrk against the server PID; samples its
# VmRSS every 100 ms meanwhile (PEAK_RSS) and its CPU time (user + system,
# all threads) before and after. Sets RPS, P99, CPU (µs per request) and
# ERRS (non-2xx + socket errors) for NAME.
declare -A RPS P99 CPU ERRS
PEAK_RSS=0
# sample_rss PID W: samples PID's VmRSS every 100 ms while the process W
# runs; sets PEAK_RSS (kB).
sample_rss() {
	local r
	PEAK_RSS=0
	while kill -0 "$2" 2>/dev/null; do
		r=$(vm "$1" VmRSS)
		[ -n "$r" ] && [ "$r" -gt "$PEAK_RSS" ] && PEAK_RSS=$r
		sleep 0.1
	done
}
run_wrk() {
	local name=$1 port=$2 path=$3 pid=$4 out=$TMP/wrk-$1.txt w t0 t1 n
	check_200 "$port" "$path"
	say "wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency $path ($name)"
	t0=$(cpu_ticks "$pid")
	wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency \
		"http://127.0.0.1:$port$path" >"$out" 2>&1 &
	w=$!
	PIDS+=("$w")
	sample_rss "$pid" "$w"
	wait "$w" || die "wrk failed: $(cat "$out")"
	forget "$w"
	t1=$(cpu_ticks "$pid")
	RPS[$name]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
	P99[$name]=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
	n=$(awk '/ requests in / {print $1}' "$out")
	if [ -z "${RPS[$name]}" ] || [ -z "$n" ]; then
		die "cannot parse wrk output: $(cat "$out")"
	fi
	CPU[$name]=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$n" \
		'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }')
	ERRS[$name]=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {
		gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END {print n + 0}' "$out")
}

# The hello runs first and last: the machine may be shared, and the mean of
# the two is the baseline (both are printed).
say "bare hello (1 of 2)"
start_hello
sleep 1
HELLO_RSS=$(vm "$HPID" VmRSS)
run_wrk hello1 "$HPORT" /hello "$HPID"
HELLO_LOAD_RSS=$PEAK_RSS
stop_hello

say "portcullis: $BIN (buildtype $BUILDTYPE), data dir $DATA"
say "first start (fresh data dir: keys generated)"
start_pc first true 0
READY_FIRST=$(jget "$PC_JSON" ready_ms)

KEEP=$((DUR_S * 3 + 60))
say "second start (same data dir: the normal case)"
start_pc warm true "$KEEP"
READY_WARM=$(jget "$PC_JSON" ready_ms)
RSS_READY=$(jget "$PC_JSON" rss_ready_kb)
RSS_IDLE=$(jget "$PC_JSON" rss_idle_kb)
LOG_BEFORE=$(wc -l <"$PC_LOG")
run_wrk disc "$PC_PORT" /.well-known/openid-configuration "$PC_PID"
run_wrk jwks "$PC_PORT" /jwks.json "$PC_PID"
RSS_LOAD=$PEAK_RSS
HWM_LOAD=$(vm "$PC_PID" VmHWM)
LOG_LINES=$(($(wc -l <"$PC_LOG") - LOG_BEFORE))
LOG_BYTES=$(stat -c %s "$PC_LOG")
stop_pc
rm -f "$PC_LOG"

READY_3=""
if [ "$NOLOG" = 1 ]; then
	say "third start, log_requests = false"
	start_pc nolog false "$KEEP"
	READY_3=$(jget "$PC_JSON" ready_ms)
	run_wrk disc_nolog "$PC_PORT" /.well-known/openid-configuration "$PC_PID"
	run_wrk jwks_nolog "$PC_PORT" /jwks.json "$PC_PID"
	stop_pc
fi

say "bare hello (2 of 2)"
start_hello
run_wrk hello2 "$HPORT" /hello "$HPID"
stop_hello

# --- 3. password sign-in ----------------------------------------------------
# The hashing pool's slots with the defaults (pwhash_concurrency = 0):
# min(cores, pwhash_memory_budget / pwhash_memory) = min(NCPU, 1024m / 64m),
# as pwpool_auto_slots() computes them. The raw rate uses as many threads.
SLOTS=$((NCPU < 16 ? NCPU : 16))
LOGIN_PW=bench-lantern-orbit-saffron-42
WRONG_PW=bench-wrong-password-tangerine-7
ISO_CONNS=8

# hashrate: sets HR (Argon2id hashes/s on SLOTS threads, LDUR_S seconds).
hashrate() {
	local out
	say "raw Argon2id (m = 64 MiB, t = 3, p = 1): $SLOTS threads, ${LDUR_S}s"
	out=$("$HASHRATE" "$SLOTS" "$LDUR_S" 64 3) || die "bench-hashrate failed"
	HR=$(awk '{ for (i = 1; i < NF; i++)
		if ($i == "hashes_per_s") print $(i + 1) }' <<<"$out")
	[ -n "$HR" ] || die "cannot parse bench-hashrate output: $out"
}

# login_wrk NAME CONNS DURATION: wrk with bench/login.lua (POST /login,
# wrong password) in the background; sets LW (its pid).
login_wrk() {
	local t=$((WRK_THREADS < $2 ? WRK_THREADS : $2))
	say "wrk -t$t -c$2 -d$3 -s bench/login.lua POST /login ($1)"
	LOGIN_PAIRS=$TMP/pairs LOGIN_EMAILS=$EMAILS LOGIN_PASSWORD=$WRONG_PW \
		wrk -t"$t" -c"$2" -d"$3" --timeout 30s -s bench/login.lua \
		"http://127.0.0.1:$PC_PORT/login" >"$TMP/wrk-$1.txt" 2>&1 &
	LW=$!
	PIDS+=("$LW")
}

# login_end NAME: waits for login_wrk NAME; sets N400, N503, NBAD (any
# other status, socket errors and timeouts) and SECS (wrk's duration).
login_end() {
	local out=$TMP/wrk-$1.txt
	wait "$LW" || die "wrk failed: $(cat "$out")"
	forget "$LW"
	N400=$(awk '$1 == "status" && $2 == 400 { print $3 }' "$out")
	N503=$(awk '$1 == "status" && $2 == 503 { print $3 }' "$out")
	N400=${N400:-0}
	N503=${N503:-0}
	NBAD=$(awk '$1 == "status" && $2 != 400 && $2 != 503 { n += $3 }
		/Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
		END { print n + 0 }' "$out")
	SECS=$(awk '/ requests in / { sub(/,$/, "", $4); print $4 }' "$out")
	[ -n "$SECS" ] || die "cannot parse wrk output: $(cat "$out")"
	SECS=$(awk -v ms="$(to_ms "$SECS")" 'BEGIN { printf "%.3f", ms / 1000 }')
}

# lat_wrk NAME DURATION: wrk -c$ISO_CONNS --latency against discovery in
# the background; sets LW2. lat_end NAME: waits, sets LP99 (ms).
lat_wrk() {
	say "wrk -t1 -c$ISO_CONNS -d$2 --latency discovery ($1)"
	wrk -t1 -c"$ISO_CONNS" -d"$2" --latency \
		"http://127.0.0.1:$PC_PORT/.well-known/openid-configuration" \
		>"$TMP/wrk-$1.txt" 2>&1 &
	LW2=$!
	PIDS+=("$LW2")
}
lat_end() {
	wait "$LW2" || die "wrk failed: $(cat "$TMP/wrk-$1.txt")"
	forget "$LW2"
	LP99=$(awk '$1 == "99%" { print $2 }' "$TMP/wrk-$1.txt")
	[ -n "$LP99" ] || die "cannot parse wrk output: $(cat "$TMP/wrk-$1.txt")"
	LP99=$(to_ms "$LP99")
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.2f", (s > 0 ? n / s : 0) }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }'; }

if [ "$LOGIN" = 1 ]; then
	hashrate
	HR1=$HR

	# Wrong passwords count as failures per account: keep each account
	# below login_delay_free (99, the most it allows) over both wrk runs
	# (at most the raw rate each), with a margin of 1.5.
	NUSERS=$(awk -v r="$HR1" -v s="$LDUR_S" 'BEGIN {
		n = int(r * (2 * s + 10) * 1.5 / 90) + 1; print (n < 2 ? 2 : n) }')
	say "creating $NUSERS users (portcullis user add --password-stdin)"
	printf 'mode = development\n' >"$TMP/useradd.conf"
	EMAILS=""
	for i in $(seq 0 $((NUSERS - 1))); do
		printf '%s\n' "$LOGIN_PW" | "$BIN" user add \
			--email "bench$i@example.com" --verified --password-stdin \
			--config "$TMP/useradd.conf" --data-dir "$DATA" \
			--mode development >>"$TMP/useradd.log" 2>&1 ||
			die "user add failed: $(tail -5 "$TMP/useradd.log")"
		EMAILS+="${EMAILS:+,}bench$i@example.com"
	done

	# Throttling off for the flood of wrong passwords; the limits make
	# room for the flood's connections besides the latency probe's.
	PC_PER_IP=$((FLOOD_CONNS + 64 > PER_IP ? FLOOD_CONNS + 64 : PER_IP))
	PC_MAX_CONN=$((PC_PER_IP > MAX_CONN ? PC_PER_IP : MAX_CONN))
	say "sign-in server (throttling off, $SLOTS hashing slots)"
	start_pc login true $((LDUR_S * 5 + 120)) "login_delay_free = 99
login_lock_after = 100
login_ip_failures = 1000000
login_subnet_failures = 1000000
login_global_failures = 100000000"
	unset PC_PER_IP PC_MAX_CONN
	check_200 "$PC_PORT" /.well-known/openid-configuration
	check_200 "$PC_PORT" /login

	# Pre-sessions: cookie and csrf token from GET /login, with curl.
	: >"$TMP/pairs"
	for _ in $(seq 16); do
		curl -s -D "$TMP/h" -o "$TMP/b" "http://127.0.0.1:$PC_PORT/login" ||
			die "GET /login failed"
		c=$(tr -d '\r' <"$TMP/h" | awk 'tolower($1) == "set-cookie:" {
			sub(/;.*/, "", $2); print $2 }' | grep -E '^(__Host-)?sid=' |
			head -1) || true
		t=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/b" |
			head -1)
		if [ -z "$c" ] || [ -z "$t" ]; then
			die "GET /login: no pre-session cookie or csrf token"
		fi
		printf '%s %s\n' "$c" "$t" >>"$TMP/pairs"
	done
	# One wrong password by hand: must be 400, or the figures mean nothing.
	read -r c t <"$TMP/pairs"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $c" \
		-H 'Sec-Fetch-Site: same-origin' --data-urlencode "csrf=$t" \
		--data-urlencode "email=bench0@example.com" \
		--data-urlencode "password=$WRONG_PW" \
		"http://127.0.0.1:$PC_PORT/login") || true
	[ "$code" = 400 ] || die "POST /login (wrong password) answered $code, not 400"

	# Verifications: enough connections to keep every slot busy with one
	# more waiting (the queue never fills).
	VER_CONNS=$((SLOTS * 2))
	login_wrk verify "$VER_CONNS" "$LOGIN_DURATION"
	sample_rss "$PC_PID" "$LW"
	VER_PEAK=$PEAK_RSS
	login_end verify
	VER_N=$N400
	VER_RATE=$(rate "$N400" "$SECS")
	VER_BAD=$((N503 + NBAD))

	# Real sign-ins: GET /login then POST with the right password (303).
	say "node bench/login-ok.mjs: $SLOTS workers, ${LDUR_S}s"
	node bench/login-ok.mjs "$PC_PORT" bench0@example.com "$LOGIN_PW" \
		"$SLOTS" "$LDUR_S" >"$TMP/login-ok.json" 2>"$TMP/login-ok.err" ||
		true
	if [ ! -s "$TMP/login-ok.json" ] ||
	    [ "$(jget "$TMP/login-ok.json" ok)" != true ]; then
		die "successful sign-ins failed: $(cat "$TMP/login-ok.json" \
			"$TMP/login-ok.err")"
	fi
	OK_N=$(jget "$TMP/login-ok.json" logins)
	OK_RATE=$(jget "$TMP/login-ok.json" per_s)

	# Discovery latency alone, then during the flood.
	lat_wrk iso_alone "$LOGIN_DURATION"
	lat_end iso_alone
	P99_ALONE=$LP99
	login_wrk flood "$FLOOD_CONNS" "$LOGIN_DURATION"
	sleep 1
	lat_wrk iso_flood "$((LDUR_S > 3 ? LDUR_S - 2 : 1))s"
	sample_rss "$PC_PID" "$LW"
	FLOOD_PEAK=$PEAK_RSS
	lat_end iso_flood
	P99_FLOOD=$LP99
	login_end flood
	FL_N=$N400
	FL_RATE=$(rate "$N400" "$SECS")
	FL_503=$N503
	FL_BAD=$NBAD
	LOGIN_HWM=$(vm "$PC_PID" VmHWM)
	stop_pc

	hashrate
	HR2=$HR
	HR=$(awk -v a="$HR1" -v b="$HR2" 'BEGIN { printf "%.2f", (a + b) / 2 }')
fi

# --- 4. OAuth against oidc-provider (bench/oauth.sh) -------------------------
oauth_bench
apikey_bench
dpop_bench
exchange_bench
pg_bench
mfa_bench

# --- 6. the table ------------------------------------------------------------
H=$(awk -v a="${RPS[hello1]}" -v b="${RPS[hello2]}" \
	'BEGIN { printf "%.0f", (a + b) / 2 }')
RPS[hello]=$H
P99[hello]=$(awk -v a="${P99[hello1]}" -v b="${P99[hello2]}" \
	'BEGIN { printf "%.2f", (a > b ? a : b) }')
CPU[hello]=$(awk -v a="${CPU[hello1]}" -v b="${CPU[hello2]}" \
	'BEGIN { printf "%.1f", (a + b) / 2 }')
pct_of_h() { awk -v a="$1" -v b="$H" 'BEGIN { printf "%.1f", 100 * a / b }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%.1f MiB", k / 1024 }'; }
ok() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? 1 : 0 }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 <= b + 0) ? 1 : 0 }'; }

F='%-42s %8s %10s %8s %9s   %-9s %s\n'
row() { # row LABEL KEY PCT TARGET VERDICT
	printf "$F" "$1" "${RPS[$2]}" "${P99[$2]} ms" "$3" "${CPU[$2]}" "$4" "$5"
}
M='%-42s %12s   %-10s %s\n'

echo
echo "== Portcullis bench, $(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $NCPU CPUs, loopback"
echo "binary:  $BIN (meson buildtype: $BUILDTYPE)"
echo "load:    wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency (wrk shares the CPUs with the server)"
echo "servers: thread pool: bare libmicrohttpd $NCPU, portcullis its default (http_threads = 0:"
echo "         4 per CPU, 8..64, for group commit); per-IP limit $PER_IP, connection limit $MAX_CONN (both)"
echo "logging: rows without [nolog] INCLUDE request logging (log_requests = true:"
echo "         one JSON line per request to stderr, redirected to a file;"
echo "         $LOG_LINES lines, $((LOG_BYTES / 1024 / 1024)) MiB written during those two runs)"
echo "CPU/req: server user+system CPU time per request, in µs (less sensitive to"
echo "         other load on the machine than req/s)"
echo
printf "$F" endpoint 'req/s' p99 '% hello' 'CPU/req' target ''
printf "$F" "bare libmicrohttpd hello (mean of 2)" "$H" "${P99[hello]} ms" \
	"100.0" "${CPU[hello]}" "" "(runs: ${RPS[hello1]}, ${RPS[hello2]} req/s)"
p=$(pct_of_h "${RPS[disc]}")
row "/.well-known/openid-configuration" disc "$p" ">= 80%" "$(ok "$(ge "$p" 80)")"
row "/jwks.json" jwks "$(pct_of_h "${RPS[jwks]}")" "" ""
if [ "$NOLOG" = 1 ]; then
	p=$(pct_of_h "${RPS[disc_nolog]}")
	row "/.well-known/openid-configuration [nolog]" disc_nolog "$p" \
		"(>= 80%)" "$(ok "$(ge "$p" 80)") (log_requests = false)"
	row "/jwks.json [nolog]" jwks_nolog "$(pct_of_h "${RPS[jwks_nolog]}")" \
		"" "(log_requests = false)"
fi
errs=0
for k in "${!ERRS[@]}"; do errs=$((errs + ERRS[$k])); done
[ "$errs" = 0 ] ||
	echo "warning: $errs non-2xx responses or socket errors in the wrk runs"
echo
printf "$M" 'memory and start-up' value target ''
printf "$M" "idle RSS at ready (warm start)" "$(mib "$RSS_READY")" "" ""
printf "$M" "idle RSS after 1 s idle" "$(mib "$RSS_IDLE")" "<= 10 MiB" \
	"$(ok "$(le "$RSS_IDLE" 10240)")"
printf "$M" "  (bare hello, idle, for scale)" "$(mib "$HELLO_RSS")" "" ""
printf "$M" "RSS under load (peak VmRSS, JWKS run)" "$(mib "$RSS_LOAD")" "" ""
printf "$M" "  (bare hello under load, for scale)" "$(mib "$HELLO_LOAD_RSS")" "" ""
printf "$M" "VmHWM after the loaded runs" "$(mib "$HWM_LOAD")" "" ""
printf "$M" "ready, first start (keys generated)" "$READY_FIRST ms" "" \
	"(RSA-3072 keygen; not judged)"
printf "$M" "ready, warm start (same data dir)" "$READY_WARM ms" "<= 100 ms" \
	"$(ok "$(le "$READY_WARM" 100)")"
if [ -n "$READY_3" ]; then
	printf "$M" "ready, warm start again ([nolog] config)" "$READY_3 ms" \
		"<= 100 ms" "$(ok "$(le "$READY_3" 100)")"
fi
if [ "$LOGIN" = 1 ]; then
	BOUND=$((SLOTS * 65536 + 32768))
	L='%-44s %9s %7s   %-8s %s\n'
	echo
	echo "password sign-in: Argon2id m = 64 MiB, t = 3, p = 1 (the defaults), hashing pool of"
	echo "         $SLOTS slots (pwhash_concurrency 0: min($NCPU CPUs, 1024 MiB budget / 64 MiB));"
	echo "         runs of ${LDUR_S}s; throttling off (login_delay_free 99, IP limits 1e6); wrk and"
	echo "         the hashing threads share the same $NCPU CPUs"
	echo
	printf "$L" 'sign-in' 'per s' '% raw' target ''
	printf "$L" "raw Argon2id, $SLOTS threads (mean of 2)" "$HR" 100.0 "" \
		"(runs: $HR1, $HR2 hashes/s; bench-hashrate)"
	p=$(pct "$VER_RATE" "$HR")
	printf "$L" "verifications: POST /login, wrong pw, 400" "$VER_RATE" "$p" \
		">= 90%" "$(ok "$(ge "$p" 90)") (wrk -c$VER_CONNS: $VER_N x 400)"
	p=$(pct "$OK_RATE" "$HR")
	printf "$L" "sign-ins: GET + POST /login, right pw, 303" "$OK_RATE" "$p" \
		"(>= 90%)" "$(ok "$(ge "$p" 90)") (node, $SLOTS workers: $OK_N x 303)"
	printf "$L" "verifications during the login flood" "$FL_RATE" \
		"$(pct "$FL_RATE" "$HR")" "" \
		"(wrk -c$FLOOD_CONNS: $FL_N x 400, $FL_503 x 503 busy)"
	[ "$VER_BAD" = 0 ] ||
		echo "warning: $VER_BAD responses other than 400 (or socket errors) in the verification run"
	[ "$FL_BAD" = 0 ] ||
		echo "warning: $FL_BAD responses other than 400/503 (or socket errors) in the flood"
	echo
	printf "$M" "login flood (wrk -c$FLOOD_CONNS POST /login)" value target ''
	printf "$M" "peak RSS (VmRSS every 100 ms)" "$(mib "$FLOOD_PEAK")" \
		"<= $(mib "$BOUND")" \
		"$(ok "$(le "$FLOOD_PEAK" "$BOUND")") ($SLOTS x 64 MiB + 32 MiB)"
	printf "$M" "  (peak RSS, verification run, -c$VER_CONNS)" "$(mib "$VER_PEAK")" "" ""
	printf "$M" "VmHWM after all sign-in runs" "$(mib "$LOGIN_HWM")" "" ""
	printf "$M" "discovery p99, wrk -t1 -c$ISO_CONNS, alone" "$P99_ALONE ms" "" ""
	r=$(awk -v a="$P99_FLOOD" -v b="$P99_ALONE" \
		'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')
	printf "$M" "  the same during the flood" "$P99_FLOOD ms" "<= 2x" \
		"$(ok "$(le "$r" 2)") (${r}x alone)"
	echo "token endpoint during the flood: not measured (the OAuth rows below measure it alone)"
fi
oauth_table
pg_table
targets_table
apikey_table
dpop_table
exchange_table
mfa_table
echo
echo "Targets are reported, never enforced. How to read this: bench/README.md."
# A side-by-side run with a failing side is not a result: said loudly, and
# the exit status says it too (after everything was printed).
failed_runs || exit 1
exit 0
