/*
 * Start-up of the crypto libraries (libsodium, OpenSSL's secure heap for
 * private keys) and the one source of random bytes, the CSPRNG.
 */
#include <openssl/crypto.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "util/log.h"

int
crypto_init(void)
{
	if (sodium_init() < 0)
		return PC_ERR_CRYPTO;
	/*
	 * OpenSSL's secure heap: private key components (RSA d, p, q; EC and
	 * Ed25519 private scalars) live in locked, dump-excluded memory that
	 * is zeroed on free, the OpenSSL analogue of sodium_malloc.
	 */
	if (CRYPTO_secure_malloc_initialized() == 0 &&
	    CRYPTO_secure_malloc_init(64 * 1024, 32) == 0)
		log_msg(LOG_WARN, "crypto.init",
		    "OpenSSL secure heap unavailable (RLIMIT_MEMLOCK?); "
		    "private keys use the normal heap");
	return 0;
}

void
random_bytes(void *p, size_t n)
{
	randombytes_buf(p, n);
}
