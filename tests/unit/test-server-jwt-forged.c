/* test-server-jwt-forged.c - tokens the server did not sign, or that lie, are refused with a
 * reason: another key, a changed claim, a changed header (alg none, HS256, another kid), a
 * signature of the wrong length, not three parts, an expired token, a missing claim, a token
 * longer than FG_JWT_MAX; and claims whose strings do not fit are refused, not cut. */
#include <string.h>

#include "harness.h"
#include "server/jwt.h"

static fg_jwt_keyset keys = {.count = 2}; /* the signing key and the previous one */
static fg_jwt_key other;
static const fg_jwt_key *const key = &keys.keys[0];

/* header.claims (JSON texts) signed with k. */
static void sign_raw(const fg_jwt_key *k, const char *header, const char *claims, char *out,
                     size_t cap)
{
    const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    uint8_t sig[crypto_sign_BYTES];
    size_t n;
    sodium_bin2base64(out, cap, (const uint8_t *)header, strlen(header), v);
    n = strlen(out);
    out[n++] = '.';
    sodium_bin2base64(out + n, cap - n, (const uint8_t *)claims, strlen(claims), v);
    n += strlen(out + n);
    crypto_sign_detached(sig, NULL, (const uint8_t *)out, n, k->secret_key);
    out[n++] = '.';
    sodium_bin2base64(out + n, cap - n, sig, sizeof sig, v);
}

static void refused(const char *what, const char *token, const char *reason)
{
    fg_jwt_claims claims;
    fg_error err = {0};
    int rc = fg_jwt_verify(&keys, token, 2000, &claims, &err);
    CHECKF(rc == FG_EINVAL, "%s: accepted", what);
    CHECKF(strstr(err.message, reason) != NULL, "%s: \"%s\" lacks \"%s\"", what, err.message,
           reason);
}

int main(void)
{
    uint8_t seed1[crypto_sign_SEEDBYTES] = {1}, seed2[crypto_sign_SEEDBYTES] = {2},
            seed3[crypto_sign_SEEDBYTES] = {3};
    char token[4096], header[256], good_claims[512];
    fg_jwt_claims in = {.sub = "0123456789abcdef0123456789abcdef",
                        .username = "obama",
                        .name = "Barack",
                        .iat = 1000,
                        .exp = 4600};

    CHECK(sodium_init() >= 0);
    fg_jwt_key_from_seed(&keys.keys[0], seed1);
    fg_jwt_key_from_seed(&keys.keys[1], seed3);
    fg_jwt_key_from_seed(&other, seed2);
    snprintf(header, sizeof header, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}", key->kid);
    snprintf(good_claims, sizeof good_claims,
             "{\"sub\":\"%s\",\"preferred_username\":\"obama\",\"name\":\"B\",\"iat\":1000,"
             "\"exp\":4600,\"iss\":\"facegate\",\"jti\":\"abc\"}",
             in.sub);

    sign_raw(key, header, good_claims, token, sizeof token);
    fg_jwt_claims out;
    CHECK_EQ_INT(fg_jwt_verify(&keys, token, 2000, &out, NULL), FG_OK); /* the control */

    sign_raw(&other, header, good_claims, token, sizeof token);
    refused("another key", token, "bad signature");
    /* The previous key's kid on a token the signing key signed (and the other way round). */
    snprintf(header, sizeof header, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             keys.keys[1].kid);
    sign_raw(key, header, good_claims, token, sizeof token);
    refused("the previous key's kid", token, "bad signature");
    sign_raw(&keys.keys[1], header, good_claims, token, sizeof token);
    CHECK_EQ_INT(fg_jwt_verify(&keys, token, 2000, &out, NULL), FG_OK); /* rotation */
    snprintf(header, sizeof header, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}", key->kid);
    CHECK_EQ_INT(fg_jwt_sign(key, &in, token, sizeof token), FG_OK);
    token[strchr(token, '.') - token + 3] ^= 1; /* one character of the claims */
    refused("a changed claim", token, "bad signature");
    CHECK_EQ_INT(fg_jwt_sign(key, &in, token, sizeof token), FG_OK);
    token[strlen(token) - 3] = 0;
    refused("a short signature", token, "malformed signature");
    refused("two parts", "abc.def", "not a JWT");
    refused("four parts", "a.b.c.d", "not a JWT");
    refused("empty", "", "no token");

    sign_raw(key, "{\"alg\":\"none\",\"typ\":\"JWT\"}", good_claims, token, sizeof token);
    refused("alg none", token, "wrong algorithm");
    sign_raw(key, "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"x\"}", good_claims, token,
             sizeof token);
    refused("alg none with a kid", token, "wrong algorithm");
    sign_raw(key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", good_claims, token, sizeof token);
    refused("alg HS256", token, "wrong algorithm");
    sign_raw(key, "{\"alg\":\"EdDSA\",\"kid\":\"someone-else\"}", good_claims, token, sizeof token);
    refused("another kid", token, "key id");
    sign_raw(key, "{\"alg\":\"EdDSA\"}", good_claims, token, sizeof token);
    refused("no kid", token, "key id");
    sign_raw(key, header, "{\"sub\":\"x\",\"iat\":1,\"exp\":4600,\"iss\":\"facegate\"}", token,
             sizeof token);
    refused("no jti", token, "claims");
    sign_raw(key, header,
             "{\"sub\":\"x\",\"preferred_username\":\"u\",\"iat\":1,\"exp\":4600,"
             "\"iss\":\"evil\",\"jti\":\"j\"}",
             token, sizeof token);
    refused("another issuer", token, "claims");
    sign_raw(key, header,
             "{\"sub\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\","
             "\"preferred_username\":\"u\",\"iat\":1,\"exp\":4600,\"iss\":\"facegate\","
             "\"jti\":\"j\"}",
             token, sizeof token);
    refused("a sub too long", token, "claims");
    sign_raw(key, header, "[1,2]", token, sizeof token);
    refused("claims not an object", token, "claims");
    sign_raw(key, header, "{not json", token, sizeof token);
    refused("claims not JSON", token, "malformed claims");

    CHECK_EQ_INT(fg_jwt_sign(key, &in, token, sizeof token), FG_OK);
    fg_error err = {0};
    CHECK_EQ_INT(fg_jwt_verify(&keys, token, 4600, &out, &err), FG_EINVAL);
    CHECKF(strstr(err.message, "expired") != NULL, "%s", err.message);

    memset(token, 'a', FG_JWT_MAX + 1);
    token[FG_JWT_MAX + 1] = 0;
    refused("too long", token, "too long");
    return fg_test_done();
}
