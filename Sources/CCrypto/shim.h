#ifndef TIDEMARK_CCRYPTO_SHIM_H
#define TIDEMARK_CCRYPTO_SHIM_H

#include <openssl/evp.h>
#include <openssl/hmac.h>

// OpenSSL's SHA-256 uses the CPU's SHA extensions where there are any (about 1.4 GB/s on this
// project's machine, against 0.19 GB/s for TidemarkCore's portable one): repository metadata
// hashes tens of megabytes on every refresh. One call, so Swift needs no EVP plumbing.

/// SHA-256 of `count` bytes at `data` into `digest` (32 bytes); 1 on success.
static inline int tidemark_sha256(const void *data, size_t count, unsigned char *digest) {
    unsigned int length = 0;
    return EVP_Digest(data, count, digest, &length, EVP_sha256(), NULL) == 1 && length == 32;
}

/// HMAC-SHA1 of `count` bytes at `data` with `key` into `digest` (20 bytes); 1 on success. openQA
/// signs API requests with it (TidemarkOpenQA).
static inline int tidemark_hmac_sha1(const void *key, size_t keyCount, const void *data, size_t count, unsigned char *digest) {
    unsigned int length = 0;
    return HMAC(EVP_sha1(), key, (int)keyCount, data, count, digest, &length) != NULL && length == 20;
}

#endif
