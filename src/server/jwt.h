/*
 * jwt.h - session tokens: EdDSA (Ed25519, libsodium) JSON Web Tokens and their JWKS.
 *
 * A token is header.claims.signature (base64url, RFC 7519/8037) with header
 * {"alg":"EdDSA","typ":"JWT","kid":K} and claims sub (username), name (display name), iat,
 * exp, iss "facegate", jti (random session id). K is the key's RFC 7638 thumbprint, so other
 * backends pick the right key from /.well-known/jwks.json and verify without calling back.
 */
#ifndef FG_SERVER_JWT_H
#define FG_SERVER_JWT_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "facegate.h"
#include "store/store.h"

#define FG_JWT_ISSUER "facegate"
#define FG_JWT_MAX 2048 /* longest token accepted or produced */

typedef struct fg_jwt_key {
    uint8_t public_key[crypto_sign_PUBLICKEYBYTES];
    uint8_t secret_key[crypto_sign_SECRETKEYBYTES];
    char x[64];   /* base64url public key */
    char kid[64]; /* RFC 7638 thumbprint */
} fg_jwt_key;

typedef struct fg_jwt_claims {
    char sub[FG_USERNAME_MAX + 1];
    char name[FG_DISPLAY_NAME_MAX + 1];
    char jti[32];
    int64_t iat;
    int64_t exp;
} fg_jwt_claims;

/* Derives the key pair from a 32-byte seed (the signing key file). */
void fg_jwt_key_from_seed(fg_jwt_key *key, const uint8_t seed[crypto_sign_SEEDBYTES]);

/* Signs claims (sub, name, iat, exp filled by the caller; jti is generated into *claims).
 * Writes the NUL-terminated token into out. Returns FG_OK or FG_EINVAL if it does not fit. */
int fg_jwt_sign(const fg_jwt_key *key, fg_jwt_claims *claims, char *out, size_t cap);

/* Verifies signature, algorithm, kid, issuer and expiry (at time `now`). Returns FG_OK and
 * fills *claims, or FG_EINVAL with err's message saying why. */
int fg_jwt_verify(const fg_jwt_key *key, const char *token, int64_t now, fg_jwt_claims *claims,
                  fg_error *err);

/* The JWKS document ({"keys":[...]}) as a malloc'd JSON string; caller frees. */
char *fg_jwt_jwks(const fg_jwt_key *key);

#endif
