# shellcheck shell=bash
# Second-factor verification (issue 16), sourced by bench/run.sh. Defines
# mfa_bench (builds and runs bench/passkeyrate.c and bench/totprate.c)
# and mfa_table (their rows, printed after the other tables).
#
# In process, one thread, each as verifications per second of wall time
# and CPU µs per verification:
#   passkeys  wa_assert_verify() (a passkey sign-in's verification) for
#             ES256, Ed25519 and RSA-2048 keys; wa_register_verify() (a
#             registration's, attestation none and packed)
#   TOTP      totp_verify() with its SQLite store and master key: a right
#             code (the step advanced in the store) and a wrong one
# Not over HTTP: these are the floor under a sign-in's second factor; the
# request around it (session, challenge, failure counter) comes on top.
# See bench/README.md, "Second-factor verification".
# shellcheck disable=SC2059  # the table's printf formats are constants

MFA=${BENCH_MFA:-1}
PASSKEYRATE=$BUILD/bench-passkeyrate
TOTPRATE=$BUILD/bench-totprate
declare -A PKRATE PKCPU
PK_NAMES="assert_es256 assert_eddsa assert_rs256 register_none register_packed"
TOTP_NAMES="accept refuse"

# mfa_parse OUT NAMES: RATE[name] and CPU[name] of bench-*rate lines into
# PKRATE / PKCPU (the names do not collide).
mfa_parse() {
	local k v
	for k in $2; do
		v=$(awk -v k="$k" '$1 == k && $8 == "cpu_us" { print $7, $9 }' <<<"$1")
		[ -n "$v" ] || die "cannot parse bench output: $1"
		PKRATE[$k]=${v% *}
		PKCPU[$k]=${v#* }
	done
}

mfa_bench() {
	[ "$MFA" = 1 ] || return 0
	local s out lib B=$BUILD/src
	for lib in auth store crypto jose webauthn b64url util; do
		[ -f "$B/libpc_$lib.a" ] ||
			die "$B/libpc_$lib.a missing: run 'make build' first"
	done
	say "building $PASSKEYRATE and $TOTPRATE"
	# shellcheck disable=SC2046
	cc -O2 -I"$ROOT/src" -I"$ROOT" bench/passkeyrate.c \
		tests/tools/wa_soft.c "$B/libpc_webauthn.a" "$B/libpc_b64url.a" \
		"$B/libpc_util.a" $(pkg-config --cflags --libs libfido2 libcbor \
			jansson libcrypto libsodium) -o "$PASSKEYRATE" ||
		die "cannot build bench/passkeyrate.c"
	# shellcheck disable=SC2046
	cc -O2 -I"$ROOT/src" -I"$ROOT" bench/totprate.c -Wl,--start-group \
		"$B/libpc_auth.a" "$B/libpc_store.a" "$B/libpc_crypto.a" \
		"$B/libpc_jose.a" "$B/libpc_webauthn.a" "$B/libpc_b64url.a" \
		"$B/libpc_util.a" -Wl,--end-group $(pkg-config --cflags --libs \
			sqlite3 libpq liboath libsodium libcrypto jansson libfido2 \
			libcbor) -lunistring -lzxcvbn -pthread -lm -o "$TOTPRATE" ||
		die "cannot build bench/totprate.c"
	s=$(dur_s "$DURATION")
	s=$((s < 3 ? s : 3))
	say "passkey verifications, in process, 1 thread, 5 x ${s}s"
	out=$("$PASSKEYRATE" "$s") || die "bench-passkeyrate failed: $out"
	mfa_parse "$out" "$PK_NAMES"
	say "TOTP verifications, in process (SQLite store), 1 thread, 2 x ${s}s"
	# Its store logs the migrations on stderr: kept aside.
	out=$(TMPDIR=${TMP:-/tmp} "$TOTPRATE" "$s" 2>"${TMP:-/tmp}/totprate.err") ||
		die "bench-totprate failed: $out $(tail -3 "${TMP:-/tmp}/totprate.err")"
	mfa_parse "$out" "$TOTP_NAMES"
}

mfa_table() {
	[ "$MFA" = 1 ] || return 0
	local X='%-48s %9s %9s\n' k lbl
	echo
	echo "second-factor verification (issue 16; in process, one thread, no HTTP;"
	echo "         bench-passkeyrate: src/auth/webauthn.c on real responses, no store;"
	echo "         bench-totprate: totp_verify() with a SQLite store and a master key)"
	echo
	printf "$X" 'verification' 'per s' 'CPU µs'
	for k in $PK_NAMES $TOTP_NAMES; do
		case $k in
		assert_es256) lbl="passkey sign-in (wa_assert_verify), ES256" ;;
		assert_eddsa) lbl="passkey sign-in (wa_assert_verify), Ed25519" ;;
		assert_rs256) lbl="passkey sign-in (wa_assert_verify), RS256 2048" ;;
		register_none) lbl="passkey registration, ES256, attestation none" ;;
		register_packed) lbl="passkey registration, ES256, packed self" ;;
		accept) lbl="TOTP code accepted (totp_verify, step stored)" ;;
		refuse) lbl="TOTP code refused (totp_verify, wrong code)" ;;
		esac
		printf "$X" "$lbl" "${PKRATE[$k]}" "${PKCPU[$k]}"
	done
}
