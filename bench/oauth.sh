# shellcheck shell=bash
# OAuth against npm oidc-provider (issue 4), sourced by bench/run.sh, which
# provides say, die, free_port, jget, start_pc, stop_pc, cpu_ticks, to_ms,
# forget, PIDS, TMP, DATA, BIN, BUILD, ROOT, DURATION, CONNS, WRK_THREADS and
# NCPU, and for targets_table CPU, RPS, HR, VER_RATE, LOGIN, pct_of_h, pct,
# ge, le and mib. Defines oauth_bench (the runs), oauth_table (the rows),
# targets_table (the issue 13 targets, printed last) and failed_runs (the
# closing banner of failed runs, and run.sh's exit status).
#
# Side by side, on loopback, one server at a time:
#   client_credentials grants/s   POST /token, client_secret_basic
#   refresh-token rotations/s     POST /token grant_type=refresh_token,
#                                 BENCH_REFRESH_CHAINS chains (-t N -c N)
#   introspections/s              POST /introspect (theirs:
#                                 /token/introspection) of a valid token
# ours also with RSA-2048, ES256 and no ID tokens on refresh, and the
# single-thread signature rates (bench/es256rate.c).
# See bench/README.md, "OAuth against oidc-provider".
# shellcheck disable=SC2059  # the table's printf formats are constants
# shellcheck disable=SC2153  # NCPU, HZ: set by run.sh

OAUTH=${BENCH_OAUTH:-1}
OAUTH_DURATION=${BENCH_OAUTH_DURATION:-$DURATION}
CHAINS=${BENCH_REFRESH_CHAINS:-8}
OAUTH_WARMUP=${BENCH_OAUTH_WARMUP:-5s}
OP_DIR=$ROOT/bench/oidc-provider
ES256RATE=$BUILD/bench-es256rate
OAUTH_SCOPE='openid offline_access api.read'
RT_PW=copper-meadow-lantern-saffron-17

# Results: per run NAME (cc_ours, cc_theirs, rt_ours, ...): ok responses
# per second, p99 (ms), server CPU per request (µs), and counts.
declare -A ORATE OP99 OCPU ONOTE
OAUTH_SKIP=()

oauth_check() {
	[ "$OAUTH" = 1 ] || return 0
	command -v npm >/dev/null || die "npm not found (make test-deps)"
	pkg-config --exists libcrypto || die "libssl-dev not installed"
	[[ $CHAINS =~ ^[0-9]+$ && $CHAINS -ge 1 && $CHAINS -le 64 ]] ||
		die "BENCH_REFRESH_CHAINS: a number from 1 to 64"
	ODUR_S=$(dur_s "$OAUTH_DURATION")
	[[ $ODUR_S =~ ^[0-9]+$ && $ODUR_S -ge 1 ]] ||
		die "BENCH_OAUTH_DURATION: cannot parse '$OAUTH_DURATION'"
	OWARM_S=$(dur_s "$OAUTH_WARMUP")
	[[ $OWARM_S =~ ^[0-9]+$ ]] ||
		die "BENCH_OAUTH_WARMUP: cannot parse '$OAUTH_WARMUP'"
}

# oidc-provider from bench/oidc-provider/package-lock.json, with npm ci;
# again only when the lock file changed since the last install.
oauth_install() {
	local stamp=$OP_DIR/node_modules/.bench-lock
	if [ -f "$stamp" ] && cmp -s "$stamp" "$OP_DIR/package-lock.json"; then
		return 0
	fi
	say "npm ci in bench/oidc-provider (from package-lock.json)"
	(cd "$OP_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
		die "npm ci in bench/oidc-provider failed"
	cp "$OP_DIR/package-lock.json" "$stamp"
}

# es256 K: the signature rates of this machine, one thread
# (bench/es256rate.c): SIGRATE[NAME.K] (per second of wall time) and
# SIGCPU[NAME.K] (CPU µs per operation) for NAME raw, jwt, rs3072, rs2048
# and es256v, K = 1 (before the servers) or 2 (after).
declare -A SIGRATE SIGCPU
SIG_NAMES="raw jwt rs3072 rs2048 es256v"
es256() {
	local s=$((ODUR_S < 3 ? ODUR_S : 3)) out k v
	say "signature rates (ES256, RS256 3072 and 2048, ES256 verify), 1 thread, 5 x ${s}s"
	out=$("$ES256RATE" "$s") || die "bench-es256rate failed"
	for k in $SIG_NAMES; do
		v=$(awk -v k="$k" '$1 == k && $8 == "cpu_us" { print $7, $9 }' <<<"$out")
		[ -n "$v" ] || die "cannot parse bench-es256rate output: $out"
		SIGRATE[$k.$1]=${v% *}
		SIGCPU[$k.$1]=${v#* }
	done
}

# sig_us NAME: CPU µs per operation NAME, the mean of the two runs (CPU
# time, like the servers' figures it is compared with: a busy machine
# lowers the wall-time rate far more).
sig_us() {
	awk -v a="${SIGCPU[$1.1]:-0}" -v b="${SIGCPU[$1.2]:-0}" \
		'BEGIN { printf "%.1f", (a + b) / 2 }'
}
# sig_rate NAME: the mean rate of the two runs.
sig_rate() {
	awk -v a="${SIGRATE[$1.1]:-0}" -v b="${SIGRATE[$1.2]:-0}" \
		'BEGIN { printf "%.0f", (a + b) / 2 }'
}

basic_auth() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

# opost PORT PATH AUTH BODY: the status and body of one POST, as
# "STATUS BODY" (for the checks before a run).
opost() {
	curl -s -w '\n%{http_code}' -H "Authorization: $3" \
		-H 'Content-Type: application/x-www-form-urlencoded' \
		--data-raw "$4" "http://127.0.0.1:$1$2" |
		awk '{ l[NR] = $0 } END { printf "%s ", l[NR];
			for (i = 1; i < NR; i++) print l[i] }'
}

# field JSON NAME: a top-level string member of a JSON object.
field() {
	node -e 'try{const v=JSON.parse(process.argv[1])[process.argv[2]];
	  console.log(v===undefined||v===null?"":v)}catch{console.log("")}' \
		"$1" "$2"
}

# --- measuring ---------------------------------------------------------
# ctx_switches PID: voluntary + nonvoluntary context switches, summed over
# every thread of PID (/proc/PID/task/*/status).
ctx_switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null | awk '
		$1 == "voluntary_ctxt_switches:" || $1 == "nonvoluntary_ctxt_switches:" {
			n += $2 } END { print n + 0 }'
}

# pg_ticks: the CPU time (clock ticks) of the throwaway PostgreSQL cluster:
# the postmaster's own and its reaped children's (utime, stime, cutime,
# cstime), plus every live child's (backends, walwriter, checkpointer...).
# A backend that exits moves from the second sum to the first: nothing is
# lost or counted twice.
pg_ticks() {
	local pm c n
	pm=$(head -1 "$PG_DIR/cluster/data/postmaster.pid" 2>/dev/null) || true
	if [ -z "$pm" ]; then echo 0; return; fi
	n=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat" 2>/dev/null) || n=0
	for c in $(pgrep -P "$pm"); do
		n=$((n + $(cpu_ticks "$c")))
	done
	echo "$n"
}

# lock_start URL SECONDS: one psql session sampling pg_stat_activity every
# 10 ms for SECONDS (a PL/pgSQL loop, pg_stat_clear_snapshot() before each
# sample): the number of backends waiting on a heavyweight lock
# (wait_event_type = 'Lock': advisory, row, relation, transaction id...).
# It prints its backend pid first, and keeps the session open after the
# loop (stdin is a fifo) so that its own CPU time can be read and taken out
# of the cluster's. Sets LOCK_PID (psql), LOCK_FD, LOCK_OUT, LOCK_BACKEND.
lock_start() {
	local fifo=$TMP/lock.fifo
	LOCK_OUT=$TMP/locks.out
	rm -f "$fifo"
	mkfifo "$fifo"
	psql -X -q -A -t -d "$1" <"$fifo" >"$LOCK_OUT" 2>&1 &
	LOCK_PID=$!
	PIDS+=("$LOCK_PID")
	exec {LOCK_FD}>"$fifo"
	printf '%s\n' 'SELECT pg_backend_pid();' >&"$LOCK_FD"
	LOCK_BACKEND=""
	for _ in $(seq 200); do
		LOCK_BACKEND=$(head -1 "$LOCK_OUT" 2>/dev/null | tr -dc 0-9)
		[ -z "$LOCK_BACKEND" ] || break
		sleep 0.02
	done
	[ -n "$LOCK_BACKEND" ] || die "lock sampler: no backend pid: $(cat "$LOCK_OUT")"
	cat >&"$LOCK_FD" <<-EOF
		DO \$\$
		DECLARE
		  t0 timestamptz := clock_timestamp();
		  t_end timestamptz := clock_timestamp() + interval '$2 seconds';
		  n bigint := 0; w bigint := 0; c bigint;
		BEGIN
		  WHILE clock_timestamp() < t_end LOOP
		    PERFORM pg_stat_clear_snapshot();
		    SELECT count(*) INTO c FROM pg_stat_activity
		      WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid();
		    n := n + 1; w := w + c;
		    PERFORM pg_sleep(0.01);
		  END LOOP;
		  RAISE NOTICE 'lock-samples % waiters % seconds %', n, w,
		    extract(epoch FROM clock_timestamp() - t0);
		END
		\$\$;
	EOF
}

# lock_result: waits for the sampler's result (the loop ends with the
# run); sets LOCK_WSECS (waiter-seconds: mean waiters x the loop's
# duration) and LOCK_TICKS (the sampler backend's CPU so far). The session
# stays open (its backend alive) until lock_close.
lock_result() {
	local l=""
	for _ in $(seq 500); do
		l=$(grep -m1 'lock-samples' "$LOCK_OUT" 2>/dev/null) && break
		kill -0 "$LOCK_PID" 2>/dev/null || break
		sleep 0.02
	done
	[ -n "$l" ] || die "lock sampler: no result: $(cat "$LOCK_OUT")"
	LOCK_WSECS=$(awk '{ for (i = 1; i < NF; i++) {
		if ($i == "lock-samples") n = $(i + 1)
		if ($i == "waiters") w = $(i + 1)
		if ($i == "seconds") s = $(i + 1) }
		printf "%.6f", (n > 0 ? w / n * s : 0) }' <<<"$l")
	LOCK_TICKS=$(cpu_ticks "$LOCK_BACKEND")
}

lock_close() {
	exec {LOCK_FD}>&-
	wait "$LOCK_PID" || true
	forget "$LOCK_PID"
}

# m_begin NAME PID...: snapshots before a measured run of the servers PID...:
# their CPU time and context switches; with M_PGURL set (the PostgreSQL
# runs) also the cluster's CPU time, and the lock sampler starts for
# OAUTH_DURATION.
declare -A OCSW ODB OLOCK OFAIL
FAILED_RUNS=()
m_begin() {
	local p
	M_NAME=$1
	shift
	M_PIDS=("$@")
	M_T0=0 M_CS0=0
	if [ -n "${M_PGURL:-}" ]; then
		lock_start "$M_PGURL" "$ODUR_S"
		M_LT0=$(cpu_ticks "$LOCK_BACKEND")
		M_DB0=$(pg_ticks)
	fi
	for p in "${M_PIDS[@]}"; do
		M_T0=$((M_T0 + $(cpu_ticks "$p")))
		M_CS0=$((M_CS0 + $(ctx_switches "$p")))
	done
}

# m_end SENT WRITES: after the run (wrk has exited): CPU time per request
# sent (OCPU, µs, the servers PID... only), context switches per request
# (OCSW); on PostgreSQL the cluster's CPU per request without the sampler's
# (ODB, µs) and the lock wait per write (OLOCK, µs: waiter-seconds / WRITES).
m_end() {
	local sent=$1 writes=$2 t1=0 cs1=0 p db1
	sleep 0.2 # the requests still in flight when wrk stopped finish
	for p in "${M_PIDS[@]}"; do
		t1=$((t1 + $(cpu_ticks "$p")))
		cs1=$((cs1 + $(ctx_switches "$p")))
	done
	OCPU[$M_NAME]=$(awk -v t="$((t1 - M_T0))" -v hz="$HZ" -v n="$sent" \
		'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }')
	OCSW[$M_NAME]=$(awk -v c="$((cs1 - M_CS0))" -v n="$sent" \
		'BEGIN { if (n > 0) printf "%.2f", c / n; else print "-" }')
	if [ -n "${M_PGURL:-}" ]; then
		lock_result
		db1=$(pg_ticks)
		lock_close
		ODB[$M_NAME]=$(awk -v t="$((db1 - M_DB0 - (LOCK_TICKS - M_LT0)))" \
			-v hz="$HZ" -v n="$sent" \
			'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }')
		OLOCK[$M_NAME]=$(awk -v w="$LOCK_WSECS" -v n="$writes" \
			'BEGIN { if (n > 0) printf "%.1f", w * 1e6 / n; else print "-" }')
	fi
}

# o_check NAME OK BAD DEAD SENT ERRS: a run with a failing side is no
# result: no successful response, a dead refresh chain, or more than 1% of
# the requests failed or lost to socket errors/timeouts. Sets OFAIL[NAME]
# and adds the run to FAILED_RUNS (run.sh prints a banner and exits 1).
o_check() {
	local why=""
	[ "$2" -gt 0 ] || why="no successful response"
	[ "$4" = 0 ] || why+="${why:+; }$4 refresh chains died"
	if [ "$(awk -v b="$3" -v s="$5" 'BEGIN { print (b > 0.01 * s) ? 1 : 0 }')" = 1 ]; then
		why+="${why:+; }$3 of $5 requests failed"
	fi
	if [ "$(awk -v e="$6" -v s="$5" 'BEGIN { print (e > 0.01 * s) ? 1 : 0 }')" = 1 ]; then
		why+="${why:+; }$6 socket errors or timeouts"
	fi
	[ -n "$why" ] || return 0
	OFAIL[$1]=$why
	FAILED_RUNS+=("$1: $why (${ONOTE[$1]})")
}

# wrk_counts FILE: "OK BAD DEAD SENT ERRS SECS DONE" of one oauth.lua run
# (DONE: wrk's completed requests).
wrk_counts() {
	awk '$1 == "ok" { ok = $2 } $1 == "bad" { bad = $2 } $1 == "dead" { dead = $2 }
		$1 == "sent" { sent = $2 }
		/Socket errors/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
		/ requests in / { done = $1; s = $4; sub(/s,$/, "", s) }
		END { if (ok == "" || s == "") exit 1
			printf "%d %d %d %d %d %s %d\n", ok, bad, dead, sent, e, s, done }' "$1"
}

# owrk NAME PORT PATH PID THREADS CONNS: wrk with bench/oauth.lua (its
# OAUTH_* variables set by the caller), first for BENCH_OAUTH_WARMUP
# unmeasured (node's JIT needs thousands of requests to reach its speed;
# ours gets the same), then measured; sets ORATE[NAME] (ok responses / s),
# OP99, OCPU (server CPU per request sent), OCSW, ONOTE (the counts) and,
# on a failing run, OFAIL. A refresh run starts the measured chains from
# the next CHAINS lines of the token file (the warm-up's chains went on
# from the first ones). BENCH_PROFILE=1: after the measured cc_ours run,
# one more run of the same length under perf record (not measured).
owrk() {
	local name=$1 port=$2 path=$3 pid=$4 t=$5 c=$6 out=$TMP/wrk-$1.txt
	local w ok bad dead sent errs secs
	if [ "$OWARM_S" -gt 0 ]; then
		say "warm-up: wrk -t$t -c$c -d$OAUTH_WARMUP POST $path ($name)"
		OAUTH_OFFSET=0 wrk -t"$t" -c"$c" -d"$OAUTH_WARMUP" --timeout 10s \
			-s bench/oauth.lua "http://127.0.0.1:$port$path" \
			>"$TMP/warm-$1.txt" 2>&1 &
		w=$!
		PIDS+=("$w")
		wait "$w" || die "wrk failed: $(cat "$TMP/warm-$1.txt")"
		forget "$w"
		# No success in the warm-up: the measured run will say how it
		# fails (o_check), in the table, instead of ending the bench here.
		grep -q '^ok [1-9]' "$TMP/warm-$1.txt" ||
			say "warning: warm-up ($name): no successful response: $(grep -E '^(ok|bad|dead|status) ' "$TMP/warm-$1.txt" | tr '\n' ' ')"
	fi
	say "wrk -t$t -c$c -d$OAUTH_DURATION -s bench/oauth.lua POST $path ($name)"
	m_begin "$name" "$pid"
	OAUTH_OFFSET=$([ "$OWARM_S" -gt 0 ] && echo "$CHAINS" || echo 0) \
		wrk -t"$t" -c"$c" -d"$OAUTH_DURATION" --latency --timeout 10s \
		-s bench/oauth.lua "http://127.0.0.1:$port$path" >"$out" 2>&1 &
	w=$!
	PIDS+=("$w")
	wait "$w" || die "wrk failed: $(cat "$out")"
	forget "$w"
	read -r ok bad dead sent errs secs _ < <(wrk_counts "$out") ||
		die "cannot parse wrk output: $(cat "$out")"
	m_end "$sent" "$ok"
	ORATE[$name]=$(awk -v n="$ok" -v s="$secs" \
		'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
	OP99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	ONOTE[$name]="$ok ok"
	[ "$bad" = 0 ] || ONOTE[$name]+=", $bad failed"
	[ "$dead" = 0 ] || ONOTE[$name]+=", $dead chains died"
	[ "$errs" = 0 ] || ONOTE[$name]+=", $errs socket errors"
	ONOTE[$name]+=" of $sent sent"
	o_check "$name" "$ok" "$bad" "$dead" "$sent" "$errs"
	if [ "${BENCH_PROFILE:-0}" = 1 ] && [ "$name" = cc_ours ]; then
		oprofile "$port" "$path" "$pid" "$t" "$c"
	fi
}

# oprofile PORT PATH PID THREADS CONNS: perf record -g of the server PID
# during one more client_credentials run (the measured figures above are
# taken without perf); PROFILE_TOP: the 25 top symbols, self time.
PROFILE_TOP=""
oprofile() {
	local w pf=$TMP/perf.data
	command -v perf >/dev/null || { PROFILE_TOP="(perf not found)"; return 0; }
	say "BENCH_PROFILE: perf record -g -p $3 during another ${ODUR_S}s client_credentials run"
	perf record -q -g -p "$3" -o "$pf" -- sleep "$ODUR_S" \
		>"$TMP/perf.err" 2>&1 &
	w=$!
	PIDS+=("$w")
	OAUTH_OFFSET=0 wrk -t"$4" -c"$5" -d"$OAUTH_DURATION" --timeout 10s \
		-s bench/oauth.lua "http://127.0.0.1:$1$2" >"$TMP/wrk-profile.txt" 2>&1 ||
		true
	wait "$w" || true
	forget "$w"
	PROFILE_TOP=$(perf report -i "$pf" --no-children --sort symbol --stdio \
		-g none 2>/dev/null | grep -E '^ +[0-9.]+%' | head -25 |
		sed -E 's/([[:space:]]+-)+[[:space:]]*$//') || true
	[ -n "$PROFILE_TOP" ] ||
		PROFILE_TOP="(perf record failed: $(head -c 300 "$TMP/perf.err"))"
}

# --- portcullis ----------------------------------------------------------
# new_client NAME [FLAG...]: portcullis client add (the bench client's
# settings plus FLAG...) against the store of OCLI (--config, --data-dir,
# --mode); sets NC_ID, NC_SEC.
new_client() {
	local name=$1 j
	shift
	j=$("$BIN" client add --name "$name" --redirect-uri https://127.0.0.1/cb \
		--grant client_credentials,authorization_code,refresh_token \
		--scope "$OAUTH_SCOPE" --first-party "$@" --json "${OCLI[@]}" \
		2>"$TMP/client-add.err") ||
		die "client add $name $*: $(cat "$TMP/client-add.err")"
	NC_ID=$(field "$j" client_id)
	NC_SEC=$(field "$j" client_secret)
	if [ -z "$NC_ID" ] || [ -z "$NC_SEC" ]; then
		die "client add $name: no client_id/secret: $j"
	fi
}

# seed_ours PREFIX CID SECRET FILE: SEEDS refresh tokens for client CID
# from real authorization-code flows on the server at PC_PORT, signing in
# as new verified users PREFIX0@example.com... (one per 16 flows:
# session_max_per_user is 32), one token per line in FILE.
seed_ours() {
	local prefix=$1 cid=$2 sec=$3 file=$4 emails="" i
	for i in $(seq 0 $(((SEEDS - 1) / 16))); do
		printf '%s\n' "$RT_PW" | "$BIN" user add \
			--email "$prefix$i@example.com" --verified \
			--password-stdin "${OCLI[@]}" >>"$TMP/rt-user.log" 2>&1 ||
			die "user add failed: $(cat "$TMP/rt-user.log")"
		emails+="${emails:+,}$prefix$i@example.com"
	done
	say "portcullis: $SEEDS authorization-code flows for refresh tokens ($prefix)"
	node bench/refresh-seed.mjs portcullis "http://127.0.0.1:$PC_PORT" \
		"$cid" "$sec" "$SEEDS" "$file" "$emails" "$RT_PW" \
		>"$file.json" 2>&1 ||
		die "refresh seeding on portcullis failed: $(cat "$file.json")"
}

# rt_config NAME LABEL PREFIX [FLAG...]: a refresh run of ours with a new
# client made with FLAG... (client add), on the server at PC_PORT/PC_PID.
rt_config() {
	local name=$1 prefix=$3
	shift 3
	new_client "bench-$name" "$@"
	seed_ours "$prefix" "$NC_ID" "$NC_SEC" "$TMP/$name.tokens"
	OAUTH_AUTH=$(basic_auth "$NC_ID" "$NC_SEC") OAUTH_MODE=refresh \
		OAUTH_TOKENS=$TMP/$name.tokens \
		owrk "$name" "$PC_PORT" /token "$PC_PID" "$CHAINS" "$CHAINS"
}

OAUTH_CONF="login_ip_failures = 1000000
login_subnet_failures = 1000000
login_global_failures = 100000000"
declare -A RT_SKIP

oauth_ours() {
	local conf=$TMP/oauth-cli.conf r st auth at help
	OCLI=(--config "$conf" --data-dir "$DATA" --mode development)
	say "portcullis: OAuth server"
	# The sign-in flood before this ran on the same data dir from the same
	# IP; its failure windows would throttle the seeding sign-ins here.
	start_pc oauth true $(((ODUR_S + OWARM_S) * 8 + 600)) "$OAUTH_CONF"
	printf 'mode = development\n' >"$conf"
	new_client bench
	auth=$(basic_auth "$NC_ID" "$NC_SEC")
	export OAUTH_AUTH=$auth

	# client_credentials: one by hand first, then the run.
	r=$(opost "$PC_PORT" /token "$auth" \
		'grant_type=client_credentials&scope=api.read')
	st=${r%% *}
	[ "$st" = 200 ] || die "client_credentials on portcullis answered: $r"
	at=$(field "${r#* }" access_token)
	OAUTH_MODE=post OAUTH_EXPECT='"access_token"' \
		OAUTH_BODY='grant_type=client_credentials&scope=api.read' \
		owrk cc_ours "$PC_PORT" /token "$PC_PID" "$WRK_THREADS" "$CONNS"

	# Introspection of the valid access token from above.
	r=$(opost "$PC_PORT" /introspect "$auth" "token=$at")
	st=${r%% *}
	if [ "$st" = 404 ] || [ "$st" = 405 ]; then
		OAUTH_SKIP+=("introspection: POST /introspect answers $st on portcullis (not built yet)")
	elif [ "$st" != 200 ] || [[ ${r#* } != *'"active":true'* ]]; then
		die "introspection on portcullis answered: $r"
	else
		OAUTH_MODE=post OAUTH_EXPECT='"active":true' \
			OAUTH_BODY="token=$at" \
			owrk in_ours "$PC_PORT" /introspect "$PC_PID" \
			"$WRK_THREADS" "$CONNS"
	fi

	# Refresh-token rotation: the grant must exist (an unknown token is
	# invalid_grant; a grant not served yet is unsupported_grant_type).
	r=$(opost "$PC_PORT" /token "$auth" \
		'grant_type=refresh_token&refresh_token=pcr_unknown')
	if [[ $r == *unsupported_grant_type* ]]; then
		OAUTH_SKIP+=("refresh: portcullis does not serve the refresh_token grant yet")
		unset OAUTH_AUTH
		stop_pc
		return 0
	fi
	seed_ours bench-rt "$NC_ID" "$NC_SEC" "$TMP/rt-ours"
	OAUTH_MODE=refresh OAUTH_TOKENS=$TMP/rt-ours \
		owrk rt_ours "$PC_PORT" /token "$PC_PID" "$CHAINS" "$CHAINS"
	unset OAUTH_AUTH

	# The same rotation with an ES256 ID token (the ES256 key that signs
	# the access tokens), and without an ID token on refresh (OIDC Core
	# §12.2), when this build has the client setting.
	rt_config rt_es "ES256 ID token" bench-rtes --id-token-alg ES256
	help=$("$BIN" client add --help 2>&1) || true
	if [[ $help == *--no-id-token-on-refresh* ]]; then
		rt_config rt_noid "no ID token" bench-rtno --no-id-token-on-refresh
	else
		RT_SKIP[rt_noid]="'portcullis client add --help' of this build has no --no-id-token-on-refresh"
	fi
	stop_pc
	oauth_rsa2048
}

# The default rotation with RSA-2048 keys: a second server on a fresh
# data dir whose config sets rsa_key_bits = 2048 (keys are generated at
# the first start, at that size; the JWKS is checked).
oauth_rsa2048() {
	local save=$DATA conf=$TMP/oauth2048-cli.conf n
	DATA=$TMP/data-rsa2048
	mkdir -m 700 "$DATA"
	printf 'mode = development\nrsa_key_bits = 2048\n' >"$conf"
	OCLI=(--config "$conf" --data-dir "$DATA" --mode development)
	say "portcullis: OAuth server with rsa_key_bits = 2048 (fresh data dir)"
	start_pc oauth2048 true $(((ODUR_S + OWARM_S) * 2 + 300)) "rsa_key_bits = 2048
$OAUTH_CONF"
	n=$(curl -s "http://127.0.0.1:$PC_PORT/jwks.json" | node -e '
	  let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
	  const k=JSON.parse(s).keys.filter(k=>k.kty==="RSA");
	  console.log([...new Set(k.map(k=>Buffer.from(k.n,"base64url").length*8))].join(","))})') ||
		true
	[ "$n" = 2048 ] || die "rsa_key_bits = 2048: the JWKS has RSA keys of '$n' bits"
	rt_config rt_2048 "RSA-2048" bench-rt2k
	stop_pc
	DATA=$save
}

# --- oidc-provider -------------------------------------------------------
oauth_theirs() {
	local port ready=$TMP/op-ready.json op cid sec auth oauth_auth r st at
	port=$(free_port)
	say "oidc-provider $OP_VERSION on 127.0.0.1:$port"
	node "$OP_DIR/server.mjs" "$port" "$ready" >"$TMP/op.log" 2>&1 &
	op=$!
	PIDS+=("$op")
	for _ in $(seq 600); do
		[ -s "$ready" ] && break
		kill -0 "$op" 2>/dev/null || break
		sleep 0.05
	done
	[ -s "$ready" ] || die "oidc-provider did not start: $(cat "$TMP/op.log")"
	cid=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(
	  process.argv[1],"utf8")).clients.bench.client_id)' "$ready")
	sec=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(
	  process.argv[1],"utf8")).clients.bench.client_secret)' "$ready")
	auth=$(basic_auth "$cid" "$sec")
	export OAUTH_AUTH=$auth

	r=$(opost "$port" /token "$auth" \
		'grant_type=client_credentials&scope=api.read')
	[ "${r%% *}" = 200 ] || die "client_credentials on oidc-provider answered: $r"
	OAUTH_MODE=post OAUTH_EXPECT='"access_token"' \
		OAUTH_BODY='grant_type=client_credentials&scope=api.read' \
		owrk cc_theirs "$port" /token "$op" "$WRK_THREADS" "$CONNS"

	# Introspection: its JWT access tokens cannot be introspected, so the
	# client "bench-opaque" gets an opaque one (same scope, same lifetime).
	oauth_auth=$(node -e 'const c=JSON.parse(require("fs").readFileSync(
	  process.argv[1],"utf8")).clients.opaque;console.log(c.client_id+" "+
	  c.client_secret)' "$ready")
	oauth_auth=$(basic_auth "${oauth_auth% *}" "${oauth_auth#* }")
	r=$(opost "$port" /token "$oauth_auth" \
		'grant_type=client_credentials&scope=api.read')
	[ "${r%% *}" = 200 ] || die "client_credentials (opaque) on oidc-provider answered: $r"
	at=$(field "${r#* }" access_token)
	r=$(opost "$port" /token/introspection "$oauth_auth" "token=$at")
	st=${r%% *}
	if [ "$st" != 200 ] || [[ ${r#* } != *'"active":true'* ]]; then
		die "introspection on oidc-provider answered: $r"
	fi
	OAUTH_AUTH=$oauth_auth OAUTH_MODE=post OAUTH_EXPECT='"active":true' \
		OAUTH_BODY="token=$at" \
		owrk in_theirs "$port" /token/introspection "$op" \
		"$WRK_THREADS" "$CONNS"

	say "oidc-provider: $SEEDS authorization-code flows for refresh tokens"
	node bench/refresh-seed.mjs oidc-provider "http://127.0.0.1:$port" \
		"$cid" "$sec" "$SEEDS" "$TMP/rt-theirs" >"$TMP/seed-theirs.json" 2>&1 ||
		die "refresh seeding on oidc-provider failed: $(cat "$TMP/seed-theirs.json")"
	OAUTH_MODE=refresh OAUTH_TOKENS=$TMP/rt-theirs \
		owrk rt_theirs "$port" /token "$op" "$CHAINS" "$CHAINS"
	unset OAUTH_AUTH
	OP_RSS=$(vm "$op" VmHWM)
	kill -TERM "$op" 2>/dev/null || true
	wait "$op" || true
	forget "$op"
}

oauth_bench() {
	[ "$OAUTH" = 1 ] || return 0
	SEEDS=$((OWARM_S > 0 ? CHAINS * 2 : CHAINS))
	oauth_install
	OP_VERSION=$(node -e 'console.log(require(process.argv[1]).version)' \
		"$OP_DIR/node_modules/oidc-provider/package.json")
	say "building $ES256RATE"
	# shellcheck disable=SC2046
	cc -O2 bench/es256rate.c $(pkg-config --cflags --libs libcrypto) \
		-o "$ES256RATE" || die "cannot build bench/es256rate.c"
	es256 1
	oauth_ours
	oauth_theirs
	es256 2
}

# --- the rows ------------------------------------------------------------
# ratio A B: A / B with one decimal, or "-".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.1fx", a / b; else print "-" }'; }
verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
side_name() { case $1 in *_theirs) echo oidc-provider ;; *) echo portcullis ;; esac; }

# banner LABEL NAME...: the loud notice for a row with a failing run.
banner() {
	local label=$1 k
	shift
	echo '!!! ========================================================================'
	for k in "$@"; do
		[ -n "${OFAIL[$k]:-}" ] || continue
		echo "!!! $label: $(side_name "$k") FAILED ($k): ${OFAIL[$k]}"
		echo "!!!     ${ONOTE[$k]}"
	done
	echo "!!! no ratio: a comparison with a failed side is not a result (exit 1)"
	echo '!!! ========================================================================'
}

oauth_table() {
	[ "$OAUTH" = 1 ] || return 0
	local T='%-38s %10s %10s %8s   %-8s %s\n' raw need p s k lbl
	raw=$(sig_rate raw)
	oline() { # oline LABEL KEY TARGET_X
		local o=${ORATE[${2}_ours]:-} t=${ORATE[${2}_theirs]:-} v=""
		if [ -z "$o" ] || [ -z "$t" ]; then
			printf "$T" "$1" "${o:--}" "${t:--}" "-" "${3:+$3x}" "not measured"
			return
		fi
		if [ -n "${OFAIL[${2}_ours]:-}${OFAIL[${2}_theirs]:-}" ]; then
			printf "$T" "$1" "$o" "$t" "!!" "${3:+$3x}" "NO RESULT: a side failed"
			banner "$1" "${2}_ours" "${2}_theirs"
			return
		fi
		[ -z "$3" ] || v=$(verdict "$(awk -v a="$o" -v b="$t" -v x="${3#>= }" \
			'BEGIN { print (b > 0 && a / b >= x + 0) ? 1 : 0 }')")
		printf "$T" "$1" "$o" "$t" "$(ratio "$o" "$t")" "${3:+$3x}" "$v"
	}
	echo
	echo "OAuth against npm oidc-provider $OP_VERSION (node $(node --version), an in-memory adapter),"
	echo "         runs of ${ODUR_S}s, one server at a time, wrk on the same $NCPU CPUs; portcullis"
	echo "         with request logging on and SQLite; the equivalence and its limits: bench/README.md"
	echo
	printf "$T" 'per second' portcullis 'oidc-prov' ratio target ''
	oline "client_credentials grants (-c$CONNS)" cc ">= 10"
	oline "refresh-token rotations ($CHAINS chains)" rt ">= 10"
	oline "introspections (-c$CONNS)" in ""
	need=$(awk -v r="$raw" -v t="$NCPU" 'BEGIN { printf "%.0f", r * t / 2 }')
	p=${ORATE[cc_ours]:-}
	if [ -n "$p" ]; then
		s=$(awk -v a="$p" -v b="$need" 'BEGIN { print (a >= b) ? 1 : 0 }')
		printf "%-38s %10s   %s\n" "client_credentials vs raw ES256" "$p" \
			">= $need (50% of raw x $NCPU CPUs): $(verdict "$s") ($(awk \
			-v a="$p" -v b="$need" 'BEGIN { printf "%.1f", 100 * a / b / 2 }')% of raw x CPUs)"
	fi
	echo
	local D='%-38s %10s %8s %7s   %10s %8s %7s\n'
	echo "per request, server only (CPU: user+system over the requests sent; ctxsw: context switches)"
	printf "$D" '' 'p99 ms' 'CPU µs' ctxsw 'p99 ms' 'CPU µs' ctxsw
	printf "$D" '' portcullis '' '' oidc-prov '' ''
	for k in cc rt in; do
		case $k in cc) lbl=client_credentials ;; rt) lbl=refresh ;; in) lbl=introspection ;; esac
		[ -n "${ORATE[${k}_ours]:-}${ORATE[${k}_theirs]:-}" ] || continue
		printf "$D" "$lbl" "${OP99[${k}_ours]:--}" "${OCPU[${k}_ours]:--}" \
			"${OCSW[${k}_ours]:--}" "${OP99[${k}_theirs]:--}" \
			"${OCPU[${k}_theirs]:--}" "${OCSW[${k}_theirs]:--}"
	done
	echo
	local R='%-46s %9s %8s %7s %10s\n'
	echo "refresh-token rotations of portcullis by ID token ($CHAINS chains each, SQLite)"
	printf "$R" 'ID token on refresh' 'per s' 'CPU µs' ctxsw 'p99 ms'
	for k in rt_ours rt_2048 rt_es rt_noid; do
		case $k in
		rt_ours) lbl="RS256, RSA-3072 (default)" ;;
		rt_2048) lbl="RS256, RSA-2048 (rsa_key_bits = 2048)" ;;
		rt_es) lbl="ES256 (client --id-token-alg ES256)" ;;
		rt_noid) lbl="none (client --no-id-token-on-refresh)" ;;
		esac
		if [ -z "${ORATE[$k]:-}" ]; then
			printf '%-46s not measured: %s\n' "$lbl" "${RT_SKIP[$k]:-not run}"
			continue
		fi
		printf "$R" "$lbl" "${ORATE[$k]}" "${OCPU[$k]}" "${OCSW[$k]}" "${OP99[$k]}"
		[ -z "${OFAIL[$k]:-}" ] || banner "$lbl" "$k"
	done
	echo
	local G='%-46s %9s %9s   %s\n'
	echo "signatures on this machine, one thread (bench-es256rate, mean of the runs before and after;"
	echo "         per s: wall time, CPU µs: CPU time per operation, what the targets use)"
	printf "$G" '' 'per s' 'CPU µs' ''
	for k in $SIG_NAMES; do
		case $k in
		raw) lbl="ES256 sign, raw (reused context)" ;;
		jwt) lbl="ES256 sign, JWT (as our signer)" ;;
		rs3072) lbl="RS256 sign, RSA-3072, JWT" ;;
		rs2048) lbl="RS256 sign, RSA-2048, JWT" ;;
		es256v) lbl="ES256 verify, JWT (as our verifier)" ;;
		esac
		printf "$G" "$lbl" "$(sig_rate "$k")" "$(sig_us "$k")" \
			"(runs: ${SIGRATE[$k.1]}/s ${SIGCPU[$k.1]} µs, ${SIGRATE[$k.2]}/s ${SIGCPU[$k.2]} µs)"
	done
	for k in "${!ONOTE[@]}"; do
		[ -z "${OFAIL[$k]:-}" ] || continue
		case ${ONOTE[$k]} in *failed* | *died* | *socket*)
			echo "warning: $k: ${ONOTE[$k]}" ;;
		esac
	done
	for s in "${OAUTH_SKIP[@]}"; do echo "not measured: $s"; done
	echo "oidc-provider peak RSS (VmHWM): $(mib "$OP_RSS")"
	if [ "${BENCH_PROFILE:-0}" = 1 ]; then
		echo
		echo "profile of portcullis during a client_credentials run (BENCH_PROFILE=1: perf record -g,"
		echo "         an extra ${ODUR_S}s run after the measured one; perf report --no-children"
		echo "         --sort symbol, top 25 by self time)"
		echo "${PROFILE_TOP:-(no profile)}"
	fi
}

# The issue 13 targets, one line each, from this run's figures (run.sh
# calls it last: it needs the hello, discovery and sign-in figures too).
# floor = the bare hello's server CPU per request under the same wrk load.
targets_table() {
	[ "$OAUTH" = 1 ] || return 0
	# label, value, unit (µs is 3 bytes, shown as 2 columns), verdict, bound
	local X='%-44s %9s %-2s   %-9s %s\n' floor at v lbl k id b p m sig
	floor=${CPU[hello]}
	at=$(sig_us jwt)
	# tline LABEL NAME VALUE_US BOUND_US BOUND_TEXT
	tline() {
		if [ -z "${ORATE[$2]:-}" ]; then
			printf "$X" "$1" "-" "" "-" "not measured: ${RT_SKIP[$2]:-not run}"
		elif [ -n "${OFAIL[$2]:-}" ]; then
			printf "$X" "$1" "$3" µs "NO RESULT" "$5 (the run failed)"
		else
			printf "$X" "$1" "$3" µs "$(verdict "$(le "$3" "$4")")" "$5"
		fi
	}
	echo
	echo "issue 13 targets (this run; floor = the bare libmicrohttpd hello's server CPU per"
	echo "         request under wrk -t$WRK_THREADS -c$CONNS: $floor µs; signatures: the table above)"
	echo
	printf "$X" target measured '' verdict bound
	b=$(awk -v f="$floor" -v s="$at" 'BEGIN { printf "%.1f", 1.5 * (f + s) }')
	tline "client_credentials CPU per grant (SQLite)" cc_ours \
		"${OCPU[cc_ours]:-}" 60 "<= 60 µs (1.5 x (floor + ES256 JWT) here: $b µs)"
	m="(${ORATE[cc_ours]:--} / ${ORATE[cc_theirs]:--} grants/s)"
	[ -z "${OFAIL[cc_ours]:-}${OFAIL[cc_theirs]:-}" ] || m+=" NO RESULT: a side failed"
	printf "$X" "  grants/s, portcullis / oidc-provider" \
		"$(ratio "${ORATE[cc_ours]:-}" "${ORATE[cc_theirs]:-}")" "" "" "$m"
	printf "$X" "  context switches per grant" "${OCSW[cc_ours]:--}" "" "" ""
	for k in rt_ours rt_2048 rt_es rt_noid; do
		case $k in
		rt_ours) lbl="RSA-3072 (default)" id=$(sig_us rs3072) sig=" + RS256-3072" ;;
		rt_2048) lbl="RSA-2048" id=$(sig_us rs2048) sig=" + RS256-2048" ;;
		rt_es) lbl="ES256 ID token" id=$at sig=" + ES256" ;;
		rt_noid) lbl="no ID token" id=0 sig="" ;;
		esac
		b=$(awk -v f="$floor" -v a="$at" -v i="$id" 'BEGIN { printf "%.0f", 1.5 * (f + a + i) }')
		tline "refresh CPU per rotation, $lbl" "$k" "${OCPU[$k]:-}" "$b" \
			"<= $b µs = 1.5 x (floor + ES256$sig)"
	done
	b=$(awk -v f="$floor" -v v="$(sig_us es256v)" 'BEGIN { printf "%.1f", 1.5 * (f + v) }')
	tline "introspection CPU per call" in_ours "${OCPU[in_ours]:-}" "$b" \
		"<= $b µs = 1.5 x (floor + ES256 verify)"
	p=$(pct_of_h "${RPS[disc]}")
	printf "$X" "discovery req/s, of the bare hello's" "$p" % "$(verdict "$(ge "$p" 80)")" ">= 80 %"
	if [ "$LOGIN" = 1 ]; then
		p=$(pct "$VER_RATE" "$HR")
		printf "$X" "login verifications/s, of raw Argon2id" "$p" % \
			"$(verdict "$(ge "$p" 90)")" ">= 90 %"
	else
		printf "$X" "login verifications/s, of raw Argon2id" "-" "" "-" \
			">= 90 %: not measured (BENCH_LOGIN=0)"
	fi
	if [ "$PG" = 1 ] && [ -n "${ORATE[cc_pg1]:-}" ]; then
		echo "PostgreSQL (reported; per request: server CPU + database CPU, lock wait per write,"
		echo "         context switches of the server):"
		for k in cc_pg1 cc_pg2 rt_pg1 rt_pg2; do
			case $k in
			cc_pg1) lbl="  grant, 1 node" ;;
			cc_pg2) lbl="  grant, 2 nodes" ;;
			rt_pg1) lbl="  rotation, 1 node" ;;
			rt_pg2) lbl="  rotation, 2 nodes" ;;
			esac
			m="${OCPU[$k]:--} + ${ODB[$k]:--} µs CPU, lock wait ${OLOCK[$k]:--} µs, ${OCSW[$k]:--} ctxsw"
			[ -z "${OFAIL[$k]:-}" ] || m+="; NO RESULT (the run failed)"
			printf '%-44s %s\n' "$lbl" "$m"
		done
	fi
}

# failed_runs: the closing banner; returns 1 when any OAuth run failed.
failed_runs() {
	local f
	[ "${#FAILED_RUNS[@]}" -gt 0 ] || return 0
	echo
	echo '!!! ========================================================================'
	echo "!!! ${#FAILED_RUNS[@]} run(s) FAILED: their rows are not results; exit 1"
	for f in "${FAILED_RUNS[@]}"; do echo "!!!   $f"; done
	echo '!!! ========================================================================'
	return 1
}
