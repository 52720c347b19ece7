/* test-server-jwt-roundtrip.c - a token fg_jwt_sign makes verifies with the key set holding its
 * key and gives back its claims (the jti it generated among them, the amr), has the documented
 * header and claims as base64url JSON, and verifies with the JWKS key (the x of the JWKS is the
 * public key). After a rotation the previous key's tokens still verify; without it they do not. */
#include <jansson.h>
#include <string.h>

#include "harness.h"
#include "server/jwt.h"

static json_t *part(const char *token, int index)
{
    const char *start = token;
    uint8_t bin[1024];
    size_t len = 0;
    for (int i = 0; i < index; i++)
        start = strchr(start, '.') + 1;
    if (sodium_base642bin(bin, sizeof bin, start, strcspn(start, "."), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    return json_loadb((const char *)bin, len, 0, NULL);
}

int main(void)
{
    uint8_t seed[crypto_sign_SEEDBYTES] = {1, 2, 3}, seed2[crypto_sign_SEEDBYTES] = {4, 5, 6};
    fg_jwt_keyset keys = {.count = 1}, rotated = {.count = 2};
    const fg_jwt_key *key = &keys.keys[0];
    fg_jwt_claims in = {.sub = "0123456789abcdef0123456789abcdef",
                        .username = "obama",
                        .name = "Barack \xc3\xa9",
                        .amr = "face liveness",
                        .iat = 1000,
                        .exp = 4600},
                  out;
    char token[FG_JWT_MAX];
    fg_error err = {0};

    CHECK(sodium_init() >= 0);
    fg_jwt_key_from_seed(&keys.keys[0], seed);
    CHECK_EQ_INT(fg_jwt_sign(key, &in, token, sizeof token), FG_OK);
    CHECK(strlen(in.jti) >= 16);
    CHECK_EQ_INT(fg_jwt_verify(&keys, token, 2000, &out, &err), FG_OK);
    CHECK(strcmp(out.sub, in.sub) == 0 && strcmp(out.username, "obama") == 0);
    CHECK(strcmp(out.name, in.name) == 0 && strcmp(out.jti, in.jti) == 0);
    CHECKF(strcmp(out.amr, "face liveness") == 0, "amr '%s'", out.amr);
    CHECK_EQ_INT(out.iat, 1000);
    CHECK_EQ_INT(out.exp, 4600);

    json_t *header = part(token, 0), *claims = part(token, 1);
    CHECK(header && claims);
    CHECK(strcmp(json_string_value(json_object_get(header, "alg")), "EdDSA") == 0);
    CHECK(strcmp(json_string_value(json_object_get(header, "kid")), key->kid) == 0);
    CHECK(strcmp(json_string_value(json_object_get(claims, "iss")), FG_JWT_ISSUER) == 0);
    CHECK(strcmp(json_string_value(json_object_get(claims, "preferred_username")), "obama") == 0);
    json_decref(header);
    json_decref(claims);

    /* The JWKS publishes the key that verifies it. */
    char *jwks = fg_jwt_jwks(&keys);
    CHECK(jwks && strstr(jwks, key->x) && strstr(jwks, key->kid) && strstr(jwks, "\"EdDSA\""));
    free(jwks);
    /* A rotation: a new signing key first, the old one kept; its tokens verify until it goes. */
    fg_jwt_key_from_seed(&rotated.keys[0], seed2);
    rotated.keys[1] = keys.keys[0];
    CHECK_EQ_INT(fg_jwt_verify(&rotated, token, 2000, &out, &err), FG_OK);
    CHECK(strcmp(out.jti, in.jti) == 0);
    rotated.count = 1;
    CHECK_EQ_INT(fg_jwt_verify(&rotated, token, 2000, &out, &err), FG_EINVAL);
    CHECKF(strstr(err.message, "unknown key id") != NULL, "%s", err.message);
    /* Two tokens of the same claims differ (a fresh jti each). */
    char again[FG_JWT_MAX];
    CHECK_EQ_INT(fg_jwt_sign(key, &in, again, sizeof again), FG_OK);
    CHECK(strcmp(token, again) != 0);
    /* Too small a buffer is refused, not overrun. */
    char small[64];
    CHECK_EQ_INT(fg_jwt_sign(key, &in, small, sizeof small), FG_EINVAL);
    return fg_test_done();
}
