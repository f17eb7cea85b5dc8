# shellcheck shell=bash
# PostgreSQL (issue 5), sourced by bench/run.sh after bench/oauth.sh, whose
# owrk, opost, field, basic_auth, CHAINS, OAUTH_SCOPE, RT_PW, OWARM_S,
# OAUTH_WARMUP, OAUTH_DURATION and ORATE/OP99/OCPU/ONOTE it uses. Defines
# pg_bench (the runs) and pg_table (the rows).
#
# The same two OAuth runs as oauth_ours, on a throwaway PostgreSQL cluster
# (tests/tools/pg-cluster.sh, fsync ON, so that a commit is as durable as
# SQLite's synchronous=FULL one) on this machine:
#   one node:  one portcullis, the whole load;
#   two nodes: two portcullis on the same database (same master key, same
#              data dir for it), the same total load split in two: two wrk
#              processes at once, one per node, each with half the
#              connections (client_credentials) or half the chains
#              (refresh); the rates of the two are summed.
# See bench/README.md, "PostgreSQL".
# shellcheck disable=SC2059  # the table's printf formats are constants
# shellcheck disable=SC2153  # NCPU, HZ, TMP, DATA, BIN: set by run.sh
# shellcheck disable=SC2004  # ORATE etc. are associative (oauth.sh)

PG=${BENCH_PG:-1}
PG_SKIP=()

pg_check() {
	[ "$PG" = 1 ] || return 0
	[ "$OAUTH" = 1 ] || die "BENCH_PG=1 needs BENCH_OAUTH=1 (it reuses the OAuth runs)"
	command -v psql >/dev/null || die "psql not found (make test-deps)"
	[[ $CHAINS -ge 2 ]] || die "BENCH_PG=1 needs BENCH_REFRESH_CHAINS >= 2 (two nodes)"
}

# Stops the cluster (also from run.sh's cleanup).
pg_cleanup() {
	[ -n "${PG_DIR:-}" ] || return 0
	bash "$ROOT/tests/tools/pg-cluster.sh" stop "$PG_DIR/cluster" \
		>/dev/null 2>&1 || true
	rm -rf "$PG_DIR"
	PG_DIR=""
}

# owrk2 NAME PORT_A PID_A PORT_B PID_B T C: owrk's runs, on two nodes at
# once: two wrk processes, each with T threads and C connections (or C
# chains, from the token files $OAUTH_TOKENS.a and .b), warm-up first;
# ORATE[NAME] is the sum of the two rates, OP99 the larger p99, OCPU the
# two servers' CPU over both runs' requests.
owrk2() {
	local name=$1 pa=$2 ida=$3 pb=$4 idb=$5 t=$6 c=$7 s w1 w2
	local tokens=${OAUTH_TOKENS:-} off=0
	if [ "$OWARM_S" -gt 0 ]; then
		say "warm-up: 2 x wrk -t$t -c$c -d$OAUTH_WARMUP POST /token ($name)"
		OAUTH_TOKENS=$tokens.a OAUTH_OFFSET=0 wrk -t"$t" -c"$c" \
			-d"$OAUTH_WARMUP" --timeout 10s -s bench/oauth.lua \
			"http://127.0.0.1:$pa/token" >"$TMP/warm-$name.a" 2>&1 &
		w1=$!
		OAUTH_TOKENS=$tokens.b OAUTH_OFFSET=0 wrk -t"$t" -c"$c" \
			-d"$OAUTH_WARMUP" --timeout 10s -s bench/oauth.lua \
			"http://127.0.0.1:$pb/token" >"$TMP/warm-$name.b" 2>&1 &
		w2=$!
		PIDS+=("$w1" "$w2")
		wait "$w1" || die "wrk failed: $(cat "$TMP/warm-$name.a")"
		wait "$w2" || die "wrk failed: $(cat "$TMP/warm-$name.b")"
		forget "$w1"
		forget "$w2"
		off=$t
	fi
	say "2 x wrk -t$t -c$c -d$OAUTH_DURATION -s bench/oauth.lua POST /token ($name)"
	m_begin "$name" "$ida" "$idb"
	OAUTH_TOKENS=$tokens.a OAUTH_OFFSET=$off wrk -t"$t" -c"$c" \
		-d"$OAUTH_DURATION" --latency --timeout 10s -s bench/oauth.lua \
		"http://127.0.0.1:$pa/token" >"$TMP/wrk-$name.a" 2>&1 &
	w1=$!
	OAUTH_TOKENS=$tokens.b OAUTH_OFFSET=$off wrk -t"$t" -c"$c" \
		-d"$OAUTH_DURATION" --latency --timeout 10s -s bench/oauth.lua \
		"http://127.0.0.1:$pb/token" >"$TMP/wrk-$name.b" 2>&1 &
	w2=$!
	PIDS+=("$w1" "$w2")
	wait "$w1" || die "wrk failed: $(cat "$TMP/wrk-$name.a")"
	wait "$w2" || die "wrk failed: $(cat "$TMP/wrk-$name.b")"
	forget "$w1"
	forget "$w2"
	local rate=0 p99=0 ok=0 bad=0 dead=0 errs=0 sent=0 f o b d n e secs
	for s in a b; do
		f=$TMP/wrk-$name.$s
		read -r o b d n e secs _ < <(wrk_counts "$f") ||
			die "cannot parse wrk output: $(cat "$f")"
		rate=$(awk -v r="$rate" -v n="$o" -v s="$secs" \
			'BEGIN { printf "%.0f", r + (s > 0 ? n / s : 0) }')
		p99=$(awk -v a="$p99" -v b="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")" \
			'BEGIN { print (b + 0 > a + 0) ? b : a }')
		ok=$((ok + o))
		bad=$((bad + b))
		dead=$((dead + d))
		sent=$((sent + n))
		errs=$((errs + e))
	done
	m_end "$sent" "$ok"
	ORATE[$name]=$rate
	OP99[$name]=$p99
	ONOTE[$name]="$ok ok"
	[ "$bad" = 0 ] || ONOTE[$name]+=", $bad failed"
	[ "$dead" = 0 ] || ONOTE[$name]+=", $dead chains died"
	[ "$errs" = 0 ] || ONOTE[$name]+=", $errs socket errors"
	ONOTE[$name]+=" of $sent sent"
	o_check "$name" "$ok" "$bad" "$dead" "$sent" "$errs"
}

# pg_seed PORT CID SECRET N FILE: N refresh tokens from real flows on the
# node at PORT, one per line in FILE (users created in the PG store).
pg_seed() {
	local port=$1 cid=$2 sec=$3 n=$4 file=$5 emails="" i
	for i in $(seq 0 $(((n - 1) / 16))); do
		printf '%s\n' "$RT_PW" | "$BIN" user add \
			--email "pg-$(basename "$file")-$i@example.com" --verified \
			--password-stdin "${PG_CLI[@]}" >>"$TMP/pg-user.log" 2>&1 ||
			die "user add (PostgreSQL) failed: $(cat "$TMP/pg-user.log")"
		emails+="${emails:+,}pg-$(basename "$file")-$i@example.com"
	done
	say "portcullis on PostgreSQL: $n authorization-code flows for refresh tokens"
	node bench/refresh-seed.mjs portcullis "http://127.0.0.1:$port" \
		"$cid" "$sec" "$n" "$file" "$emails" "$RT_PW" \
		>"$TMP/seed-$(basename "$file").json" 2>&1 ||
		die "refresh seeding on PostgreSQL failed: $(cat "$TMP/seed-$(basename "$file").json")"
}

pg_bench() {
	[ "$PG" = 1 ] || return 0
	local url j cid sec auth r half_c half_t half_k keep seeds
	local p1 id1 n1 p2 id2 n2 conf=$TMP/pg-cli.conf
	if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
		PG_SKIP+=("no PostgreSQL server installed (Debian package postgresql)")
		return 0
	fi
	PG_DIR=$(mktemp -d /tmp/pc-bench-pg.XXXXXX)
	chmod 0755 "$PG_DIR" # the postgres user must reach it when we are root
	say "PostgreSQL: a throwaway cluster, fsync on (tests/tools/pg-cluster.sh)"
	url=$(PG_CLUSTER_FSYNC=on bash "$ROOT/tests/tools/pg-cluster.sh" start \
		"$PG_DIR/cluster" 2>"$TMP/pg-cluster.err") ||
		die "cannot start a PostgreSQL cluster: $(cat "$TMP/pg-cluster.err")"
	PG_VERSION=$(psql -X -A -t -d "$url" -c 'SHOW server_version' |
		awk '{ print $1 }')
	PG_FSYNC=$(psql -X -A -t -d "$url" -c 'SHOW fsync')
	PG_SYNC=$(psql -X -A -t -d "$url" -c 'SHOW synchronous_commit')
	printf 'mode = development\nstore_url = %s\n' "$url" >"$conf"
	PG_CLI=(--config "$conf" --data-dir "$DATA" --mode development)
	# owrk and owrk2 measure the cluster's CPU and its lock waits too.
	# shellcheck disable=SC2034  # read by m_begin (oauth.sh)
	M_PGURL=$url
	keep=$(((ODUR_S + OWARM_S) * 6 + 600))

	# Both nodes use $DATA for the master key only (the SQLite runs'
	# key, created by the first start); the store is PostgreSQL.
	start_pc pg1 true "$keep" "store_url = $url"
	p1=$PC_PORT id1=$PC_PID n1=$PC_NODE
	j=$("$BIN" client add --name bench-pg --redirect-uri https://127.0.0.1/cb \
		--grant client_credentials,authorization_code,refresh_token \
		--scope "$OAUTH_SCOPE" --first-party --json "${PG_CLI[@]}" \
		2>"$TMP/pg-client-add.err") ||
		die "client add (PostgreSQL) failed: $(cat "$TMP/pg-client-add.err")"
	cid=$(field "$j" client_id)
	sec=$(field "$j" client_secret)
	if [ -z "$cid" ] || [ -z "$sec" ]; then
		die "client add (PostgreSQL): no client_id/secret: $j"
	fi
	auth=$(basic_auth "$cid" "$sec")
	export OAUTH_AUTH=$auth
	r=$(opost "$p1" /token "$auth" 'grant_type=client_credentials&scope=api.read')
	[ "${r%% *}" = 200 ] || die "client_credentials on PostgreSQL answered: $r"

	# One node.
	OAUTH_MODE=post OAUTH_EXPECT='"access_token"' \
		OAUTH_BODY='grant_type=client_credentials&scope=api.read' \
		owrk cc_pg1 "$p1" /token "$id1" "$WRK_THREADS" "$CONNS"
	seeds=$((OWARM_S > 0 ? CHAINS * 2 : CHAINS))
	pg_seed "$p1" "$cid" "$sec" "$seeds" "$TMP/rt-pg1"
	OAUTH_MODE=refresh OAUTH_TOKENS=$TMP/rt-pg1 \
		owrk rt_pg1 "$p1" /token "$id1" "$CHAINS" "$CHAINS"

	# Two nodes: the same total load, half on each.
	start_pc pg2 true "$keep" "store_url = $url"
	p2=$PC_PORT id2=$PC_PID n2=$PC_NODE
	r=$(opost "$p2" /token "$auth" 'grant_type=client_credentials&scope=api.read')
	[ "${r%% *}" = 200 ] || die "client_credentials on the second node answered: $r"
	half_c=$((CONNS / 2 > 0 ? CONNS / 2 : 1))
	half_t=$((WRK_THREADS / 2 > 0 ? WRK_THREADS / 2 : 1))
	[ "$half_t" -le "$half_c" ] || half_t=$half_c
	OAUTH_MODE=post OAUTH_EXPECT='"access_token"' \
		OAUTH_BODY='grant_type=client_credentials&scope=api.read' \
		owrk2 cc_pg2 "$p1" "$id1" "$p2" "$id2" "$half_t" "$half_c"
	half_k=$((CHAINS / 2))
	seeds=$((OWARM_S > 0 ? half_k * 2 : half_k))
	pg_seed "$p1" "$cid" "$sec" "$seeds" "$TMP/rt-pg2.a"
	pg_seed "$p2" "$cid" "$sec" "$seeds" "$TMP/rt-pg2.b"
	PG_CHAINS2=$((half_k * 2))
	OAUTH_MODE=refresh OAUTH_TOKENS=$TMP/rt-pg2 \
		owrk2 rt_pg2 "$p1" "$id1" "$p2" "$id2" "$half_k" "$half_k"
	unset OAUTH_AUTH M_PGURL

	PC_NODE=$n2
	stop_pc
	PC_NODE=$n1
	stop_pc
	pg_cleanup
}

pg_table() {
	[ "$PG" = 1 ] || return 0
	local T='%-38s %10s %10s %10s   %s\n' k lbl s
	echo
	if [ -z "${ORATE[cc_pg1]:-}" ]; then
		for s in "${PG_SKIP[@]}"; do echo "PostgreSQL not measured: $s"; done
		return 0
	fi
	echo "PostgreSQL $PG_VERSION on this machine (fsync = $PG_FSYNC, synchronous_commit = $PG_SYNC,"
	echo "         Unix socket), beside the SQLite figures of the same run; runs of ${ODUR_S}s;"
	echo "         two nodes: two servers on one database, the same total load split across"
	echo "         both (two wrk at once), rates summed; server, cluster and wrk share $NCPU CPUs"
	echo
	printf "$T" 'per second' SQLite 'PG 1 node' 'PG 2 nodes' ''
	printf "$T" "client_credentials grants (-c$CONNS)" "${ORATE[cc_ours]:--}" \
		"${ORATE[cc_pg1]:--}" "${ORATE[cc_pg2]:--}" \
		"(2 nodes: 2 x -c$((CONNS / 2 > 0 ? CONNS / 2 : 1)))"
	printf "$T" "refresh-token rotations ($CHAINS chains)" "${ORATE[rt_ours]:--}" \
		"${ORATE[rt_pg1]:--}" "${ORATE[rt_pg2]:--}" \
		"(2 nodes: 2 x $((PG_CHAINS2 / 2)) chains)"
	echo
	local D='%-38s %21s %21s %21s\n'
	printf "$D" 'per request' SQLite 'PG 1 node' 'PG 2 nodes (both)'
	for k in cc rt; do
		case $k in cc) lbl=client_credentials ;; rt) lbl=refresh ;; esac
		printf "$D" "$lbl: p99, ms" "${OP99[${k}_ours]:--}" \
			"${OP99[${k}_pg1]:--}" "${OP99[${k}_pg2]:--}"
		printf "$D" "  server CPU, µs" "${OCPU[${k}_ours]:--}" \
			"${OCPU[${k}_pg1]:--}" "${OCPU[${k}_pg2]:--}"
		printf "$D" "  database CPU, µs" "" \
			"${ODB[${k}_pg1]:--}" "${ODB[${k}_pg2]:--}"
		printf "$D" "  lock wait per write, µs" "" \
			"${OLOCK[${k}_pg1]:--}" "${OLOCK[${k}_pg2]:--}"
		printf "$D" "  context switches (server)" "${OCSW[${k}_ours]:--}" \
			"${OCSW[${k}_pg1]:--}" "${OCSW[${k}_pg2]:--}"
	done
	echo "(server CPU: portcullis, both nodes on 2 nodes; database CPU: every process of the"
	echo " throwaway cluster, the lock sampler's own backend taken out; lock wait: backends"
	echo " waiting on a heavyweight lock, sampled every 10 ms, x time / successful writes)"
	for k in cc_pg1 rt_pg1 cc_pg2 rt_pg2; do
		[ -z "${OFAIL[$k]:-}" ] || banner "PostgreSQL $k" "$k"
	done
	for k in cc_pg1 rt_pg1 cc_pg2 rt_pg2; do
		case ${ONOTE[$k]:-} in *failed* | *died* | *socket*)
			echo "warning: $k: ${ONOTE[$k]}" ;;
		esac
	done
}
