/*
 * jwt.h - EdDSA (Ed25519, libsodium) JSON Web Tokens and their JWKS.
 *
 * A token is header.claims.signature (base64url, RFC 7519/8037) with header
 * {"alg":"EdDSA","typ":T,"kid":K}; K is the key's RFC 7638 thumbprint, so other backends pick
 * the right key from /.well-known/jwks.json and verify without calling back.
 *
 * A key set holds the signing key and the previous one (after `facegate keys rotate`): tokens
 * are signed with keys[0] and verified with whichever key their kid names, so a rotation logs
 * nobody out.
 *
 * Session tokens (fg_jwt_sign / fg_jwt_verify) have typ "JWT" and the claims sub (the account
 * id, fg_store_user.uid: random, never reused), preferred_username (the username), name (display
 * name), iat, exp, iss "facegate", jti (random session id) and amr (how the person was
 * authenticated). sub is the account's identity for other backends too: a username can be
 * deleted and signed up again by somebody else, an account id cannot. OpenID Connect tokens
 * (oidc.c) use fg_jwt_encode / fg_jwt_decode with their own claims and an issuer URL, so neither
 * kind passes for the other.
 */
#ifndef FG_SERVER_JWT_H
#define FG_SERVER_JWT_H

#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "facegate.h"
#include "store/store.h"

#define FG_JWT_ISSUER "facegate"
#define FG_JWT_MAX 2048 /* longest token accepted or produced */
#define FG_JWT_MAX_KEYS 2
#define FG_JWT_AMR_MAX 64

typedef struct fg_jwt_key {
    uint8_t public_key[crypto_sign_PUBLICKEYBYTES];
    uint8_t secret_key[crypto_sign_SECRETKEYBYTES];
    char x[64];   /* base64url public key */
    char kid[64]; /* RFC 7638 thumbprint */
} fg_jwt_key;

/* keys[0] signs; every key verifies. */
typedef struct fg_jwt_keyset {
    fg_jwt_key keys[FG_JWT_MAX_KEYS];
    int count;
} fg_jwt_keyset;

typedef struct fg_jwt_claims {
    char sub[FG_USERNAME_MAX + 1];      /* account id (fg_store_user.uid); a username in a token
                                           of the previous format (username "") */
    char username[FG_USERNAME_MAX + 1]; /* preferred_username */
    char name[FG_DISPLAY_NAME_MAX + 1];
    char jti[32];
    char amr[FG_JWT_AMR_MAX]; /* space-separated methods, e.g. "face" */
    int64_t iat;
    int64_t exp;
} fg_jwt_claims;

/* Derives the key pair from a 32-byte seed (a signing key file). */
void fg_jwt_key_from_seed(fg_jwt_key *key, const uint8_t seed[crypto_sign_SEEDBYTES]);

/* A random 128-bit id as base64url (22 characters) into out (at least 23 bytes). */
void fg_jwt_random_id(char *out, size_t cap);

/* Signs `claims` (not consumed) under header {"alg":"EdDSA","typ":typ,"kid"}. Writes the
 * NUL-terminated token into out. FG_OK, or FG_EINVAL if it does not fit. */
int fg_jwt_encode(const fg_jwt_key *key, const char *typ, json_t *claims, char *out, size_t cap);

/* Checks the token's shape, algorithm and signature against the key its kid names. FG_OK with
 * *claims (a new reference the caller decrefs) and typ (the header's, "" when absent) filled,
 * or FG_EINVAL with err saying why. Claims are not checked: that is the caller's job. */
int fg_jwt_decode(const fg_jwt_keyset *keys, const char *token, char *typ, size_t typ_cap,
                  json_t **claims, fg_error *err);

/* Signs a session (sub, username, name, iat, exp and amr filled by the caller; an empty amr
 * means "face"; jti is generated into *claims). FG_OK or FG_EINVAL if it does not fit. */
int fg_jwt_sign(const fg_jwt_key *key, fg_jwt_claims *claims, char *out, size_t cap);

/* Verifies a session token: signature, algorithm, kid, issuer and expiry (at time `now`).
 * FG_OK with *claims filled (amr "face" for tokens from before amr was a claim; username "" for
 * tokens from before sub was the account id), or FG_EINVAL with err's message saying why. */
int fg_jwt_verify(const fg_jwt_keyset *keys, const char *token, int64_t now, fg_jwt_claims *claims,
                  fg_error *err);

/* The JWKS document ({"keys":[...]}, every key of the set) as a malloc'd JSON string. */
char *fg_jwt_jwks(const fg_jwt_keyset *keys);

#endif
