# shellcheck shell=bash
# Passkey verification (issue 16), sourced by bench/run.sh. Defines
# passkey_bench (builds and runs bench/passkeyrate.c) and passkey_table
# (its rows, printed after the other tables).
#
# In process, one thread: wa_assert_verify() (a passkey sign-in's
# verification) for ES256, Ed25519 and RSA-2048 keys, and
# wa_register_verify() (a registration's, attestation none and packed),
# each as verifications per second of wall time and CPU µs per
# verification. Not over HTTP: these are the floor under a passkey
# sign-in; the request around it (session, challenge, store) comes on top.
# See bench/README.md, "Passkey verification".
# shellcheck disable=SC2059  # the table's printf formats are constants

PASSKEY=${BENCH_PASSKEY:-1}
PASSKEYRATE=$BUILD/bench-passkeyrate
declare -A PKRATE PKCPU
PK_NAMES="assert_es256 assert_eddsa assert_rs256 register_none register_packed"

passkey_bench() {
	[ "$PASSKEY" = 1 ] || return 0
	local s out k v lib
	for lib in webauthn b64url util; do
		[ -f "$BUILD/src/libpc_$lib.a" ] ||
			die "$BUILD/src/libpc_$lib.a missing: run 'make build' first"
	done
	say "building $PASSKEYRATE"
	# shellcheck disable=SC2046
	cc -O2 -I"$ROOT/src" -I"$ROOT" bench/passkeyrate.c \
		tests/tools/wa_soft.c "$BUILD/src/libpc_webauthn.a" \
		"$BUILD/src/libpc_b64url.a" "$BUILD/src/libpc_util.a" \
		$(pkg-config --cflags --libs libfido2 libcbor jansson libcrypto \
			libsodium) -o "$PASSKEYRATE" ||
		die "cannot build bench/passkeyrate.c"
	s=$(dur_s "$DURATION")
	s=$((s < 3 ? s : 3))
	say "passkey verifications, in process, 1 thread, 5 x ${s}s"
	out=$("$PASSKEYRATE" "$s") || die "bench-passkeyrate failed: $out"
	for k in $PK_NAMES; do
		v=$(awk -v k="$k" '$1 == k && $8 == "cpu_us" { print $7, $9 }' <<<"$out")
		[ -n "$v" ] || die "cannot parse bench-passkeyrate output: $out"
		PKRATE[$k]=${v% *}
		PKCPU[$k]=${v#* }
	done
}

passkey_table() {
	[ "$PASSKEY" = 1 ] || return 0
	local X='%-48s %9s %9s\n' k lbl
	echo
	echo "passkey verification (issue 16; in process, one thread, no HTTP, no store;"
	echo "         bench-passkeyrate: src/auth/webauthn.c on real responses)"
	echo
	printf "$X" 'verification' 'per s' 'CPU µs'
	for k in $PK_NAMES; do
		case $k in
		assert_es256) lbl="sign-in (wa_assert_verify), ES256" ;;
		assert_eddsa) lbl="sign-in (wa_assert_verify), Ed25519" ;;
		assert_rs256) lbl="sign-in (wa_assert_verify), RS256 2048" ;;
		register_none) lbl="registration, ES256, attestation none" ;;
		register_packed) lbl="registration, ES256, packed self" ;;
		esac
		printf "$X" "$lbl" "${PKRATE[$k]}" "${PKCPU[$k]}"
	done
	echo "TOTP verification: not measured yet (no TOTP verifier in this build's bench)"
}
