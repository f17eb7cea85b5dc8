# shellcheck shell=bash
# DPoP-bound refreshes (issue 15), sourced by bench/run.sh after
# bench/oauth.sh, whose m_begin, m_end, o_check, field, sig_us, verdict,
# le, SEEDS, CHAINS, RT_PW, OAUTH_CONF and ODUR_S/OWARM_S it uses. Defines
# dpop_bench (the runs) and dpop_table (the rows and their target, printed
# after the API-key rows).
#
# On one portcullis (SQLite, request logging on): a public client
# registered --no-id-token-on-refresh (so a rotation signs one access
# token and nothing else), whose grants come from real authorization-code
# flows, each of its code exchanges carrying a DPoP proof (so the grant is
# bound to the key: RT-06), then BENCH_REFRESH_CHAINS rotation chains:
#   DPoP-bound refreshes/s     POST /token grant_type=refresh_token with a
#                              new DPoP proof per request (verified: one
#                              ES256 verification; its jti recorded in the
#                              rotation's commit), a DPoP-bound access token
#   Bearer refreshes/s         the same client and load generator, grants
#                              made without a proof (the "before": what the
#                              binding adds)
# each with the server's CPU per rotation against the request floor (the
# bare hello's CPU per request of this run): target DPoP <= 1.5 x (floor +
# one ES256 JWT signature + one ES256 verification). The load is
# bench/dpop-refresh.mjs (node: every request needs a proof of its own,
# which wrk cannot sign); the client's cost is not the server's.
# See bench/README.md, "DPoP".
# shellcheck disable=SC2059  # the table's printf formats are constants
# shellcheck disable=SC2004  # ORATE, OP99, ONOTE: oauth.sh's associative arrays

DPOP=${BENCH_DPOP:-1}
DPOP_SKIP=""
DP_SCOPE='openid offline_access api.read'

# dp_run NAME TOKENS OFFSET [KEYFILE]: one measured run of
# bench/dpop-refresh.mjs (after an unmeasured warm-up from the first
# CHAINS tokens when BENCH_OAUTH_WARMUP > 0); sets ORATE, OP99, OCPU,
# OCSW, ONOTE and, on a failing run, OFAIL for NAME.
dp_run() {
	local name=$1 tokens=$2 key=${3:-} out=$TMP/dpop-$1.txt off=0
	local ok bad dead sent secs
	if [ "$OWARM_S" -gt 0 ]; then
		say "warm-up: $CHAINS chains, ${OWARM_S}s ($name)"
		node bench/dpop-refresh.mjs "http://127.0.0.1:$PC_PORT" "$DP_CID" \
			"$tokens" 0 "$CHAINS" "$OWARM_S" ${key:+"$key"} >"$TMP/warm-$name.txt" 2>&1 ||
			die "dpop-refresh.mjs (warm-up $name) failed: $(cat "$TMP/warm-$name.txt")"
		off=$CHAINS
	fi
	say "$CHAINS DPoP refresh chains, ${ODUR_S}s ($name)"
	m_begin "$name" "$PC_PID"
	node bench/dpop-refresh.mjs "http://127.0.0.1:$PC_PORT" "$DP_CID" \
		"$tokens" "$off" "$CHAINS" "$ODUR_S" ${key:+"$key"} >"$out" 2>&1 ||
		die "dpop-refresh.mjs ($name) failed: $(cat "$out")"
	read -r ok bad dead sent secs < <(awk '$1 == "ok" { o = $2 } $1 == "bad" { b = $2 }
		$1 == "dead" { d = $2 } $1 == "sent" { s = $2 } $1 == "secs" { t = $2 }
		END { print o + 0, b + 0, d + 0, s + 0, t + 0 }' "$out")
	m_end "$sent" "$ok"
	ORATE[$name]=$(awk -v n="$ok" -v s="$secs" \
		'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
	OP99[$name]=$(awk '$1 == "p99" { print $2 }' "$out")
	ONOTE[$name]="$ok ok"
	[ "$bad" = 0 ] || ONOTE[$name]+=", $bad failed"
	[ "$dead" = 0 ] || ONOTE[$name]+=", $dead chains died"
	ONOTE[$name]+=" of $sent sent"
	o_check "$name" "$ok" "$bad" "$dead" "$sent" 0
}

dpop_bench() {
	[ "$DPOP" = 1 ] || return 0
	if [ "$OAUTH" != 1 ]; then
		DPOP_SKIP="BENCH_OAUTH=0: the DPoP runs use the OAuth runs' signature rates"
		return 0
	fi
	local conf=$TMP/dpop-cli.conf j emails="" i key=$TMP/dpop-key.json
	local help
	help=$("$BIN" client add --help 2>&1) || true
	if [[ $help != *--dpop-required* ]]; then
		DPOP_SKIP="this build has no DPoP ('client add --help' lacks --dpop-required)"
		return 0
	fi
	OCLI=(--config "$conf" --data-dir "$DATA" --mode development)
	printf 'mode = development\n' >"$conf"
	say "portcullis: DPoP server"
	start_pc dpop true $(((ODUR_S + OWARM_S) * 4 + 600)) "$OAUTH_CONF"
	j=$("$BIN" client add --name bench-dpop --public --first-party \
		--redirect-uri https://127.0.0.1/cb \
		--grant authorization_code,refresh_token --scope "$DP_SCOPE" \
		--no-id-token-on-refresh --json "${OCLI[@]}" 2>"$TMP/dpop-cli.err") ||
		die "client add (DPoP): $(cat "$TMP/dpop-cli.err")"
	DP_CID=$(field "$j" client_id)
	[ -n "$DP_CID" ] || die "client add (DPoP): no client_id: $j"
	for i in $(seq 0 $(((2 * SEEDS - 1) / 16))); do
		printf '%s\n' "$RT_PW" | "$BIN" user add \
			--email "bench-dp$i@example.com" --verified \
			--password-stdin "${OCLI[@]}" >>"$TMP/dp-user.log" 2>&1 ||
			die "user add failed: $(cat "$TMP/dp-user.log")"
		emails+="${emails:+,}bench-dp$i@example.com"
	done
	say "portcullis: $SEEDS DPoP-bound and $SEEDS Bearer grants"
	BENCH_DPOP_KEY=$key node bench/refresh-seed.mjs portcullis \
		"http://127.0.0.1:$PC_PORT" "$DP_CID" - "$SEEDS" "$TMP/dp-bound" \
		"$emails" "$RT_PW" >"$TMP/dp-bound.json" 2>&1 ||
		die "DPoP seeding failed: $(cat "$TMP/dp-bound.json")"
	node bench/refresh-seed.mjs portcullis "http://127.0.0.1:$PC_PORT" \
		"$DP_CID" - "$SEEDS" "$TMP/dp-plain" "$emails" "$RT_PW" \
		>"$TMP/dp-plain.json" 2>&1 ||
		die "Bearer seeding failed: $(cat "$TMP/dp-plain.json")"
	dp_run dp_plain "$TMP/dp-plain"
	dp_run dp_bound "$TMP/dp-bound" "$key"
	stop_pc
}

# dpop_table: the two rows and the target; floor = CPU[hello].
dpop_table() {
	[ "$DPOP" = 1 ] || return 0
	local X='%-44s %9s %9s   %-9s %s\n' floor sj sv b bt k lbl
	floor=${CPU[hello]}
	echo
	echo "DPoP (issue 15 target; SQLite, request logging on, $CHAINS chains from node,"
	echo "      runs of ${ODUR_S:-?}s; floor = the bare hello's server CPU per request: $floor µs)"
	if [ -n "$DPOP_SKIP" ]; then
		echo "not measured: $DPOP_SKIP"
		return 0
	fi
	echo
	printf "$X" 'per rotation' 'per s' 'CPU µs' verdict bound
	sj=$(sig_us jwt)
	sv=$(sig_us es256v)
	b=$(awk -v f="$floor" -v j="$sj" -v v="$sv" \
		'BEGIN { printf "%.1f", 1.5 * (f + j + v) }')
	bt="<= $b µs = 1.5 x (floor + ES256 JWT $sj + ES256 verify $sv)"
	for k in dp_plain dp_bound; do
		case $k in
		dp_plain) lbl="Bearer refresh (the same client, no proof)" ;;
		dp_bound) lbl="DPoP-bound refresh (a proof each)" ;;
		esac
		if [ -z "${ORATE[$k]:-}" ]; then
			printf "$X" "$lbl" - - - "not measured"
		elif [ -n "${OFAIL[$k]:-}" ]; then
			printf "$X" "$lbl" "${ORATE[$k]}" "${OCPU[$k]}" "NO RESULT" \
				"(the run failed: ${OFAIL[$k]})"
		elif [ "$k" = dp_bound ]; then
			printf "$X" "$lbl" "${ORATE[$k]}" "${OCPU[$k]}" \
				"$(verdict "$(le "${OCPU[$k]}" "$b")")" "$bt"
		else
			printf "$X" "$lbl" "${ORATE[$k]}" "${OCPU[$k]}" "" \
				"(for comparison: what DPoP adds)"
		fi
	done
	printf '%-44s %s\n' "  p99 ms, context switches per rotation" \
		"Bearer ${OP99[dp_plain]:--} ms ${OCSW[dp_plain]:--}, DPoP ${OP99[dp_bound]:--} ms ${OCSW[dp_bound]:--}"
	printf '%-44s %s\n' "  requests" \
		"Bearer: ${ONOTE[dp_plain]:--}; DPoP: ${ONOTE[dp_bound]:--}"
}
