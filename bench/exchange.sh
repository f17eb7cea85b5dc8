# shellcheck shell=bash
# Delegation token exchange (issue 15), sourced by bench/run.sh after
# bench/oauth.sh and bench/apikey.sh, whose owrk, opost, field, basic_auth,
# new_client, seed_ours, sig_us, verdict, le and OAUTH_* settings it uses.
# Defines exchange_bench (the run) and exchange_table (the row and its
# target, printed after the API-key rows).
#
# On one portcullis (SQLite, request logging on, like the OAuth server):
#   token exchanges/s   POST /token, RFC 8693 token exchange of a user's
#                       access token (from a real authorization-code flow
#                       and one refresh) by the client it was issued to,
#                       client_secret_basic, for a token for one registered
#                       resource with act (src/oauth/exchange_deleg.c)
# with the server's CPU per operation against the request floor (the bare
# hello's CPU per request of this run): <= 1.5 x floor + the signatures
# made: one ES256 verification (the subject token) and one ES256 JWT
# signature (the new token). Each exchange also appends its durable
# token.exchange audit row; the grant's last use is written at most once a
# minute. See bench/README.md, "Token exchange".
# shellcheck disable=SC2059  # the table's printf formats are constants

EXCHANGE=${BENCH_EXCHANGE:-1}
XC_RESOURCE=http://127.0.0.1/bench-deleg # a registered resource (loopback: http)
XC_GRANT=urn:ietf:params:oauth:grant-type:token-exchange
XC_TT=urn:ietf:params:oauth:token-type:access_token
XC_SKIP=""

exchange_bench() {
	[ "$EXCHANGE" = 1 ] || return 0
	if [ "$OAUTH" != 1 ]; then
		XC_SKIP="BENCH_OAUTH=0: the exchange run uses the OAuth runs' signature rates"
		return 0
	fi
	local conf=$TMP/xchg-cli.conf r st auth rt at body
	OCLI=(--config "$conf" --data-dir "$DATA" --mode development)
	printf 'mode = development\n' >"$conf"
	say "portcullis: token-exchange server"
	# The subject token must outlive the run: access tokens of an hour.
	start_pc xchg true $(((ODUR_S + OWARM_S) * 4 + 300)) \
		"$OAUTH_CONF
access_token_ttl = 1h"
	if ! "$BIN" resource --help >/dev/null 2>&1; then
		XC_SKIP="this build has no 'portcullis resource'"
		stop_pc
		return 0
	fi
	"$BIN" resource add --id "$XC_RESOURCE" --scope api.read \
		--name bench-deleg "${OCLI[@]}" >/dev/null 2>"$TMP/xc-cli.err" ||
		die "resource add: $(cat "$TMP/xc-cli.err")"
	new_client bench-xchg
	auth=$(basic_auth "$NC_ID" "$NC_SEC")
	# A user's grant to the client: one code flow, one refresh for the
	# access token (scope "openid offline_access api.read").
	SEEDS=1 seed_ours bench-xc "$NC_ID" "$NC_SEC" "$TMP/xc.tokens"
	rt=$(head -n 1 "$TMP/xc.tokens")
	r=$(opost "$PC_PORT" /token "$auth" \
		"grant_type=refresh_token&refresh_token=$rt")
	st=${r%% *}
	[ "$st" = 200 ] || die "refresh on portcullis answered: $r"
	at=$(field "${r#* }" access_token)
	[ -n "$at" ] || die "refresh on portcullis: no access_token: $r"

	# The exchange: one by hand first, then the run.
	body="grant_type=$XC_GRANT&subject_token=$at&subject_token_type=$XC_TT"
	body+="&resource=$XC_RESOURCE&scope=api.read"
	r=$(opost "$PC_PORT" /token "$auth" "$body")
	st=${r%% *}
	if [ "$st" = 400 ] && [[ $r == *'not supported yet'* ]]; then
		XC_SKIP="portcullis does not serve delegation token exchange yet"
		stop_pc
		return 0
	fi
	if [ "$st" != 200 ] || [[ $r != *'"issued_token_type"'* ]]; then
		die "token exchange on portcullis answered: $r"
	fi
	OAUTH_AUTH=$auth OAUTH_MODE=post OAUTH_EXPECT='"access_token"' \
		OAUTH_BODY="$body" \
		owrk xc_ex "$PC_PORT" /token "$PC_PID" "$WRK_THREADS" "$CONNS"
	stop_pc
}

# exchange_table: the row and its target; floor = CPU[hello].
exchange_table() {
	[ "$EXCHANGE" = 1 ] || return 0
	local X='%-44s %9s %9s   %-9s %s\n' floor sig ver b bt lbl
	floor=${CPU[hello]}
	echo
	echo "Token exchange (issue 15 target; SQLite, request logging on, wrk -t$WRK_THREADS -c$CONNS,"
	echo "         runs of ${ODUR_S:-?}s; floor = the bare hello's server CPU per request: $floor µs)"
	if [ -n "$XC_SKIP" ]; then
		echo "not measured: $XC_SKIP"
		return 0
	fi
	echo
	printf "$X" 'per exchange' 'per s' 'CPU µs' verdict bound
	sig=$(sig_us jwt)
	ver=$(sig_us es256v)
	lbl="delegation (POST /token, RFC 8693, act)"
	b=$(awk -v f="$floor" -v s="$sig" -v v="$ver" \
		'BEGIN { printf "%.1f", 1.5 * f + s + v }')
	bt="<= $b µs = 1.5 x floor + ES256 verify ($ver µs) + ES256 JWT ($sig µs)"
	if [ -z "${ORATE[xc_ex]:-}" ]; then
		printf "$X" "$lbl" - - - "not measured"
	elif [ -n "${OFAIL[xc_ex]:-}" ]; then
		printf "$X" "$lbl" "${ORATE[xc_ex]}" "${OCPU[xc_ex]}" "NO RESULT" \
			"$bt (the run failed: ${OFAIL[xc_ex]})"
	else
		printf "$X" "$lbl" "${ORATE[xc_ex]}" "${OCPU[xc_ex]}" \
			"$(verdict "$(le "${OCPU[xc_ex]}" "$b")")" "$bt"
	fi
	printf '%-44s %s\n' "  p99 ms, context switches per call" \
		"${OP99[xc_ex]:--} ms ${OCSW[xc_ex]:--}"
	printf '%-44s %s\n' "  requests" "${ONOTE[xc_ex]:--}"
}
