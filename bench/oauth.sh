# shellcheck shell=bash
# OAuth against npm oidc-provider (issue 4), sourced by bench/run.sh, which
# provides say, die, free_port, jget, start_pc, stop_pc, cpu_ticks, to_ms,
# forget, PIDS, TMP, DATA, BIN, BUILD, ROOT, DURATION, CONNS, WRK_THREADS and
# NCPU. Defines oauth_bench (the runs) and oauth_table (the rows).
#
# Side by side, on loopback, one server at a time:
#   client_credentials grants/s   POST /token, client_secret_basic
#   refresh-token rotations/s     POST /token grant_type=refresh_token,
#                                 BENCH_REFRESH_CHAINS chains (-t N -c N)
#   introspections/s              POST /introspect (theirs:
#                                 /token/introspection) of a valid token
# and the raw single-thread ES256 signing rate (bench/es256rate.c).
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

# es256: sets ES_RAW, ES_JWT (signatures/s, one thread).
es256() {
	local s=$((ODUR_S < 5 ? ODUR_S : 5)) out
	say "raw ES256 signing, 1 thread, 2 x ${s}s"
	out=$("$ES256RATE" "$s") || die "bench-es256rate failed"
	ES_RAW=$(awk '$1 == "raw" { print $7 }' <<<"$out")
	ES_JWT=$(awk '$1 == "jwt" { print $7 }' <<<"$out")
	if [ -z "$ES_RAW" ] || [ -z "$ES_JWT" ]; then
		die "cannot parse bench-es256rate output: $out"
	fi
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

# owrk NAME PORT PATH PID THREADS CONNS: wrk with bench/oauth.lua (its
# OAUTH_* variables set by the caller), first for BENCH_OAUTH_WARMUP
# unmeasured (node's JIT needs thousands of requests to reach its speed;
# ours gets the same), then measured; sets ORATE[NAME] (ok responses / s),
# OP99, OCPU and ONOTE (the counts). A refresh run starts the measured
# chains from the next CHAINS lines of the token file (the warm-up's
# chains went on from the first ones).
owrk() {
	local name=$1 port=$2 path=$3 pid=$4 t=$5 c=$6 out=$TMP/wrk-$1.txt
	local w t0 t1 n ok bad dead secs
	if [ "$OWARM_S" -gt 0 ]; then
		say "warm-up: wrk -t$t -c$c -d$OAUTH_WARMUP POST $path ($name)"
		OAUTH_OFFSET=0 wrk -t"$t" -c"$c" -d"$OAUTH_WARMUP" --timeout 10s \
			-s bench/oauth.lua "http://127.0.0.1:$port$path" \
			>"$TMP/warm-$1.txt" 2>&1 &
		w=$!
		PIDS+=("$w")
		wait "$w" || die "wrk failed: $(cat "$TMP/warm-$1.txt")"
		forget "$w"
		grep -q '^ok [1-9]' "$TMP/warm-$1.txt" ||
			die "warm-up ($name): no successful response: $(cat "$TMP/warm-$1.txt")"
	fi
	say "wrk -t$t -c$c -d$OAUTH_DURATION -s bench/oauth.lua POST $path ($name)"
	t0=$(cpu_ticks "$pid")
	OAUTH_OFFSET=$([ "$OWARM_S" -gt 0 ] && echo "$CHAINS" || echo 0) \
		wrk -t"$t" -c"$c" -d"$OAUTH_DURATION" --latency --timeout 10s \
		-s bench/oauth.lua "http://127.0.0.1:$port$path" >"$out" 2>&1 &
	w=$!
	PIDS+=("$w")
	wait "$w" || die "wrk failed: $(cat "$out")"
	forget "$w"
	t1=$(cpu_ticks "$pid")
	ok=$(awk '$1 == "ok" { print $2 }' "$out")
	bad=$(awk '$1 == "bad" { print $2 }' "$out")
	dead=$(awk '$1 == "dead" { print $2 }' "$out")
	secs=$(awk '/ requests in / { sub(/s,$/, "", $4); print $4 }' "$out")
	n=$(awk '/ requests in / { print $1 }' "$out")
	if [ -z "$ok" ] || [ -z "$secs" ]; then
		die "cannot parse wrk output: $(cat "$out")"
	fi
	ORATE[$name]=$(awk -v n="$ok" -v s="$secs" \
		'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
	OP99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	OCPU[$name]=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$n" \
		'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')
	ONOTE[$name]="$ok ok"
	[ "${bad:-0}" = 0 ] || ONOTE[$name]+=", $bad failed"
	[ "${dead:-0}" = 0 ] || ONOTE[$name]+=", $dead chains died"
	local errs
	errs=$(awk '/Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
		END { print n + 0 }' "$out")
	[ "$errs" = 0 ] || ONOTE[$name]+=", $errs socket errors"
}

# --- portcullis ----------------------------------------------------------
oauth_ours() {
	local conf=$TMP/oauth-cli.conf j r st cid sec auth at emails i
	local cli=(--config "$conf" --data-dir "$DATA" --mode development)
	say "portcullis: OAuth server"
	# The sign-in flood before this ran on the same data dir from the same
	# IP; its failure windows would throttle the seeding sign-ins here.
	start_pc oauth true $((ODUR_S * 4 + 180)) "login_ip_failures = 1000000
login_subnet_failures = 1000000
login_global_failures = 100000000"
	printf 'mode = development\n' >"$conf"
	j=$("$BIN" client add --name bench --redirect-uri https://127.0.0.1/cb \
		--grant client_credentials,authorization_code,refresh_token \
		--scope "$OAUTH_SCOPE" --first-party --json "${cli[@]}" \
		2>"$TMP/client-add.err") ||
		die "client add failed: $(cat "$TMP/client-add.err")"
	cid=$(field "$j" client_id)
	sec=$(field "$j" client_secret)
	if [ -z "$cid" ] || [ -z "$sec" ]; then
		die "client add: no client_id/secret: $j"
	fi
	auth=$(basic_auth "$cid" "$sec")
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
	else
		# One account per 16 sign-ins: session_max_per_user is 32.
		emails=""
		for i in $(seq 0 $(((SEEDS - 1) / 16))); do
			printf '%s\n' "$RT_PW" | "$BIN" user add \
				--email "bench-rt$i@example.com" --verified \
				--password-stdin "${cli[@]}" >>"$TMP/rt-user.log" 2>&1 ||
				die "user add failed: $(cat "$TMP/rt-user.log")"
			emails+="${emails:+,}bench-rt$i@example.com"
		done
		say "portcullis: $SEEDS authorization-code flows for refresh tokens"
		node bench/refresh-seed.mjs portcullis "http://127.0.0.1:$PC_PORT" \
			"$cid" "$sec" "$SEEDS" "$TMP/rt-ours" "$emails" "$RT_PW" \
			>"$TMP/seed-ours.json" 2>&1 ||
			die "refresh seeding on portcullis failed: $(cat "$TMP/seed-ours.json")"
		OAUTH_MODE=refresh OAUTH_TOKENS=$TMP/rt-ours \
			owrk rt_ours "$PC_PORT" /token "$PC_PID" "$CHAINS" "$CHAINS"
	fi
	unset OAUTH_AUTH
	stop_pc
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
	es256
	ES_RAW1=$ES_RAW
	ES_JWT1=$ES_JWT
	oauth_ours
	oauth_theirs
	es256
	ES_RAW2=$ES_RAW
	ES_JWT2=$ES_JWT
}

# --- the rows ------------------------------------------------------------
oauth_table() {
	[ "$OAUTH" = 1 ] || return 0
	local T='%-38s %10s %10s %8s   %-8s %s\n' raw need p s
	# The raw rate: the mean of the two runs (before and after).
	raw=$(awk -v a="$ES_RAW1" -v b="$ES_RAW2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
	# ratio A B: A / B with one decimal, or "-".
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.1fx", a / b; else print "-" }'; }
	verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
	oline() { # oline LABEL KEY TARGET_X
		local o=${ORATE[${2}_ours]:-} t=${ORATE[${2}_theirs]:-} v=""
		if [ -z "$o" ] || [ -z "$t" ]; then
			printf "$T" "$1" "${o:--}" "${t:--}" "-" "${3:+$3x}" "not measured"
			return
		fi
		[ -z "$3" ] || v=$(verdict "$(awk -v a="$o" -v b="$t" -v x="${3#>= }" \
			'BEGIN { print (b > 0 && a / b >= x + 0) ? 1 : 0 }')")
		printf "$T" "$1" "$o" "$t" "$(ratio "$o" "$t")" "${3:+$3x}" "$v"
	}
	echo
	echo "OAuth against npm oidc-provider $OP_VERSION (node $(node --version), its in-memory adapter),"
	echo "         runs of ${ODUR_S}s, one server at a time, wrk on the same $NCPU CPUs; portcullis"
	echo "         with request logging on and SQLite; the equivalence and its limits: bench/README.md"
	echo
	printf "$T" 'per second' portcullis 'oidc-prov' ratio target ''
	oline "client_credentials grants (-c$CONNS)" cc ">= 10"
	oline "refresh-token rotations ($CHAINS chains)" rt ">= 10"
	oline "introspections (-c$CONNS)" in ""
	printf "$T" "raw ES256 signatures, 1 thread" "$raw" "" "" "" \
		"(runs: $ES_RAW1, $ES_RAW2; bench-es256rate)"
	printf "$T" "  JWT signing input, fresh context" \
		"$(awk -v a="$ES_JWT1" -v b="$ES_JWT2" 'BEGIN { printf "%.0f", (a + b) / 2 }')" \
		"" "" "" "(what one token costs the signer)"
	need=$(awk -v r="$raw" -v t="$NCPU" 'BEGIN { printf "%.0f", r * t / 2 }')
	p=${ORATE[cc_ours]:-}
	if [ -n "$p" ]; then
		s=$(awk -v a="$p" -v b="$need" 'BEGIN { print (a >= b) ? 1 : 0 }')
		printf "%-38s %10s   %s\n" "client_credentials vs raw ES256" "$p" \
			">= $need (50% of raw x $NCPU CPUs): $(verdict "$s") ($(awk \
			-v a="$p" -v b="$need" 'BEGIN { printf "%.1f", 100 * a / b / 2 }')% of raw x CPUs)"
	fi
	echo
	local D='%-38s %21s %21s\n'
	printf "$D" 'p99 / server CPU per request' portcullis oidc-provider
	for k in cc rt in; do
		local lbl
		case $k in cc) lbl=client_credentials ;; rt) lbl=refresh ;; in) lbl=introspection ;; esac
		[ -n "${ORATE[${k}_ours]:-}${ORATE[${k}_theirs]:-}" ] || continue
		printf "$D" "$lbl" \
			"${OP99[${k}_ours]:--} ms ${OCPU[${k}_ours]:--} µs" \
			"${OP99[${k}_theirs]:--} ms ${OCPU[${k}_theirs]:--} µs"
	done
	for k in cc rt in; do
		for s in ours theirs; do
			[ -n "${ONOTE[${k}_$s]:-}" ] || continue
			case ${ONOTE[${k}_$s]} in *failed* | *died* | *socket*)
				echo "warning: $k ($s): ${ONOTE[${k}_$s]}" ;;
			esac
		done
	done
	for s in "${OAUTH_SKIP[@]}"; do echo "not measured: $s"; done
	echo "oidc-provider peak RSS (VmHWM): $(mib "$OP_RSS")"
}
