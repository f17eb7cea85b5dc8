# shellcheck shell=bash
# API keys (issue 14), sourced by bench/run.sh after bench/oauth.sh, whose
# owrk, o_check, opost, field, basic_auth, sig_us, verdict, le and OAUTH_*
# settings it uses. Defines apikey_bench (the runs) and apikey_table (the
# rows and their targets, printed after the issue 13 targets).
#
# On one portcullis (SQLite, request logging on, like the OAuth server):
#   API-key exchanges/s       POST /token, RFC 8693 token exchange of one
#                             API key for a 5-minute access token for one
#                             resource; the key authenticates itself (no
#                             client authentication)
#   API-key introspections/s  POST /introspect of the same key by the
#                             resource server's own client (RFC 7662)
# each with the server's CPU per operation against the request floor (the
# bare hello's CPU per request of this run): exchange <= 1.5 x floor +
# one ES256 JWT signature, introspection <= 1.5 x floor.
# See bench/README.md, "API keys".
# shellcheck disable=SC2059  # the table's printf formats are constants

APIKEY=${BENCH_APIKEY:-1}
AK_RESOURCE=http://127.0.0.1/bench-api # a registered resource (loopback: http)
AK_SCOPE=api.read
AK_EXCHANGE_TYPE=urn:ietf:params:oauth:grant-type:token-exchange
AK_KEY_TYPE=urn:portcullis:params:oauth:token-type:api_key
AK_SKIP=""

# ak_cli ARGS...: a portcullis command against the API-key server's store;
# its stdout. A refusal is this build's (a slice of issue 14 not complete
# yet), not the machine's: the section says "not measured" and why, and
# the rest of the bench goes on.
ak_cli() {
	"$BIN" "$@" "${AKCLI[@]}" 2>"$TMP/ak-cli.err"
}
ak_refused() {
	AK_SKIP="'portcullis $1' failed: $(grep -v '^{' "$TMP/ak-cli.err" | head -c 300)"
	return 1
}

# ak_setup: the resource (with its introspection client), a service
# account allowed its scope, and one API key for the resource; sets AK_KEY,
# AK_RS_ID, AK_RS_SEC. AK_SKIP says why when this build lacks a command.
ak_setup() {
	local j sa c
	for c in resource service-account api-key; do
		if ! "$BIN" "$c" --help >/dev/null 2>&1; then
			AK_SKIP="this build has no 'portcullis $c'"
			return 1
		fi
	done
	j=$(ak_cli resource add --id "$AK_RESOURCE" --scope "$AK_SCOPE" \
		--name bench-api --json) || ak_refused "resource add" || return 1
	AK_RS_ID=$(field "$j" client_id)
	AK_RS_SEC=$(field "$j" client_secret)
	if [ -z "$AK_RS_ID" ] || [ -z "$AK_RS_SEC" ]; then
		die "resource add: no client_id/client_secret: $j"
	fi
	j=$(ak_cli service-account add --name bench-sa --scope "$AK_SCOPE" \
		--json) || ak_refused "service-account add" || return 1
	sa=$(field "$j" id)
	[ -n "$sa" ] || die "service-account add: no id: $j"
	j=$(ak_cli api-key add --owner "$sa" --scope "$AK_SCOPE" \
		--resource "$AK_RESOURCE" --json) || ak_refused "api-key add" ||
		return 1
	AK_KEY=$(field "$j" key)
	[ -n "$AK_KEY" ] || die "api-key add: no key: $(field "$j" id)"
}

apikey_bench() {
	[ "$APIKEY" = 1 ] || return 0
	if [ "$OAUTH" != 1 ]; then
		AK_SKIP="BENCH_OAUTH=0: the API-key runs use the OAuth runs' signature rates"
		return 0
	fi
	local conf=$TMP/apikey-cli.conf r st body
	AKCLI=(--config "$conf" --data-dir "$DATA" --mode development)
	printf 'mode = development\n' >"$conf"
	say "portcullis: API-key server"
	start_pc apikey true $(((ODUR_S + OWARM_S) * 4 + 300)) "$OAUTH_CONF"
	if ! ak_setup; then
		stop_pc
		return 0
	fi

	# Exchange: one by hand first (no Authorization header: the key is
	# the credential), then the run.
	body="grant_type=$AK_EXCHANGE_TYPE&subject_token=$AK_KEY"
	body+="&subject_token_type=$AK_KEY_TYPE&resource=$AK_RESOURCE"
	r=$(curl -s -w '\n%{http_code}' \
		-H 'Content-Type: application/x-www-form-urlencoded' \
		--data-raw "$body" "http://127.0.0.1:$PC_PORT/token" |
		awk '{ l[NR] = $0 } END { printf "%s ", l[NR];
			for (i = 1; i < NR; i++) print l[i] }')
	st=${r%% *}
	if [ "$st" = 400 ] && [[ $r == *unsupported_grant_type* ]]; then
		AK_SKIP="portcullis does not serve the token exchange yet"
		stop_pc
		return 0
	fi
	if [ "$st" != 200 ] || [[ $r != *'"access_token"'* ]]; then
		die "API-key exchange on portcullis answered: $r"
	fi
	OAUTH_AUTH="" OAUTH_MODE=post OAUTH_EXPECT='"access_token"' \
		OAUTH_BODY="$body" \
		owrk ak_ex "$PC_PORT" /token "$PC_PID" "$WRK_THREADS" "$CONNS"

	# Introspection of the key by the resource server's client.
	r=$(opost "$PC_PORT" /introspect "$(basic_auth "$AK_RS_ID" "$AK_RS_SEC")" \
		"token=$AK_KEY")
	st=${r%% *}
	if [ "$st" != 200 ] || [[ ${r#* } != *'"active":true'* ]]; then
		die "API-key introspection on portcullis answered: $r"
	fi
	OAUTH_AUTH=$(basic_auth "$AK_RS_ID" "$AK_RS_SEC") OAUTH_MODE=post \
		OAUTH_EXPECT='"active":true' OAUTH_BODY="token=$AK_KEY" \
		owrk ak_in "$PC_PORT" /introspect "$PC_PID" "$WRK_THREADS" "$CONNS"
	stop_pc
}

# apikey_table: the two rows and their targets; floor = CPU[hello].
apikey_table() {
	[ "$APIKEY" = 1 ] || return 0
	local X='%-44s %9s %9s   %-9s %s\n' floor sig b bt lbl k
	floor=${CPU[hello]}
	echo
	echo "API keys (issue 14 targets; SQLite, request logging on, wrk -t$WRK_THREADS -c$CONNS,"
	echo "         runs of ${ODUR_S:-?}s; floor = the bare hello's server CPU per request: $floor µs)"
	if [ -n "$AK_SKIP" ]; then
		echo "not measured: $AK_SKIP"
		return 0
	fi
	echo
	printf "$X" 'per API key' 'per s' 'CPU µs' verdict bound
	sig=$(sig_us jwt)
	for k in ak_ex ak_in; do
		case $k in
		ak_ex)
			lbl="exchange (POST /token, RFC 8693)"
			b=$(awk -v f="$floor" -v s="$sig" 'BEGIN { printf "%.1f", 1.5 * f + s }')
			bt="<= $b µs = 1.5 x floor + ES256 JWT ($sig µs)" ;;
		ak_in)
			lbl="introspection (POST /introspect)"
			b=$(awk -v f="$floor" 'BEGIN { printf "%.1f", 1.5 * f }')
			bt="<= $b µs = 1.5 x floor" ;;
		esac
		if [ -z "${ORATE[$k]:-}" ]; then
			printf "$X" "$lbl" - - - "not measured"
		elif [ -n "${OFAIL[$k]:-}" ]; then
			printf "$X" "$lbl" "${ORATE[$k]}" "${OCPU[$k]}" "NO RESULT" \
				"$bt (the run failed: ${OFAIL[$k]})"
		else
			printf "$X" "$lbl" "${ORATE[$k]}" "${OCPU[$k]}" \
				"$(verdict "$(le "${OCPU[$k]}" "$b")")" "$bt"
		fi
	done
	printf '%-44s %s\n' "  p99 ms, context switches per call" \
		"exchange ${OP99[ak_ex]:--} ms ${OCSW[ak_ex]:--}, introspection ${OP99[ak_in]:--} ms ${OCSW[ak_in]:--}"
	printf '%-44s %s\n' "  requests" \
		"exchange: ${ONOTE[ak_ex]:--}; introspection: ${ONOTE[ak_in]:--}"
}
