/*
 * jwt.c - EdDSA JWTs: sign, verify, publish the keys.
 */
#include "server/jwt.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void b64url(char *out, size_t cap, const uint8_t *bin, size_t len)
{
    sodium_bin2base64(out, cap, bin, len, B64URL);
}

/* Decodes base64url into out; returns the length or -1. */
static long unb64url(uint8_t *out, size_t cap, const char *text, size_t len)
{
    size_t n = 0;
    if (sodium_base642bin(out, cap, text, len, NULL, &n, NULL, B64URL) != 0) return -1;
    return (long)n;
}

void fg_jwt_key_from_seed(fg_jwt_key *key, const uint8_t seed[crypto_sign_SEEDBYTES])
{
    char thumb_input[128];
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_sign_seed_keypair(key->public_key, key->secret_key, seed);
    b64url(key->x, sizeof key->x, key->public_key, sizeof key->public_key);
    /* RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace. */
    snprintf(thumb_input, sizeof thumb_input, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}",
             key->x);
    crypto_hash_sha256(digest, (const uint8_t *)thumb_input, strlen(thumb_input));
    b64url(key->kid, sizeof key->kid, digest, sizeof digest);
}

void fg_jwt_random_id(char *out, size_t cap)
{
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    b64url(out, cap, id, sizeof id);
}

/* Appends base64url(json) to out at *len. */
static int append_json(char *out, size_t cap, size_t *len, json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT);
    size_t n = text ? strlen(text) : 0;
    int rc = FG_EINVAL;
    if (text && *len + sodium_base64_ENCODED_LEN(n, B64URL) <= cap) {
        b64url(out + *len, cap - *len, (const uint8_t *)text, n);
        *len += strlen(out + *len);
        rc = FG_OK;
    }
    free(text);
    return rc;
}

int fg_jwt_encode(const fg_jwt_key *key, const char *typ, json_t *claims, char *out, size_t cap)
{
    uint8_t sig[crypto_sign_BYTES];
    json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", typ, "kid", key->kid);
    size_t len = 0;
    int rc = header && claims ? append_json(out, cap, &len, header) : FG_ENOMEM;
    if (rc == FG_OK && len + 1 < cap) {
        out[len++] = '.';
        rc = append_json(out, cap, &len, claims);
    } else if (rc == FG_OK) {
        rc = FG_EINVAL;
    }
    json_decref(header);
    if (rc != FG_OK) return rc;
    crypto_sign_detached(sig, NULL, (const uint8_t *)out, len, key->secret_key);
    if (len + 1 + sodium_base64_ENCODED_LEN(sizeof sig, B64URL) > cap) return FG_EINVAL;
    out[len++] = '.';
    b64url(out + len, cap - len, sig, sizeof sig);
    return FG_OK;
}

/* The space-separated methods as a JSON array. */
static json_t *amr_array(const char *amr)
{
    json_t *list = json_array();
    const char *p = amr && *amr ? amr : "face";
    while (*p) {
        size_t n = strcspn(p, " ");
        if (n > 0) json_array_append_new(list, json_stringn(p, n));
        p += n;
        while (*p == ' ')
            p++;
    }
    return list;
}

int fg_jwt_sign(const fg_jwt_key *key, fg_jwt_claims *claims, char *out, size_t cap)
{
    json_t *body;
    int rc;
    fg_jwt_random_id(claims->jti, sizeof claims->jti);
    body = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:o}", "sub", claims->sub,
                     "preferred_username", claims->username, "name", claims->name, "iat",
                     (json_int_t)claims->iat, "exp", (json_int_t)claims->exp, "iss", FG_JWT_ISSUER,
                     "jti", claims->jti, "amr", amr_array(claims->amr));
    rc = body ? fg_jwt_encode(key, "JWT", body, out, cap) : FG_ENOMEM;
    json_decref(body);
    return rc;
}

/* Copies a JSON string member into dst; returns 0 if present and fits. */
static int claim_string(json_t *claims, const char *name, char *dst, size_t cap)
{
    const char *v = json_string_value(json_object_get(claims, name));
    if (!v || strlen(v) >= cap) return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static const fg_jwt_key *find_key(const fg_jwt_keyset *keys, const char *kid)
{
    for (int i = 0; kid && i < keys->count; i++)
        if (strcmp(keys->keys[i].kid, kid) == 0) return &keys->keys[i];
    return NULL;
}

int fg_jwt_decode(const fg_jwt_keyset *keys, const char *token, char *typ, size_t typ_cap,
                  json_t **claims, fg_error *err)
{
    const char *dot1, *dot2, *alg, *header_typ;
    uint8_t part[FG_JWT_MAX], sig[crypto_sign_BYTES + 1];
    const fg_jwt_key *key;
    json_t *header = NULL, *body = NULL;
    long n;
    size_t len = token ? strlen(token) : 0;

    *claims = NULL;
    if (typ_cap) typ[0] = 0;
    if (len == 0 || len > FG_JWT_MAX) return fg_fail(err, FG_EINVAL, "no token or too long");
    dot1 = strchr(token, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.')) return fg_fail(err, FG_EINVAL, "not a JWT");

    n = unb64url(part, sizeof part, token, (size_t)(dot1 - token));
    if (n < 0 || !(header = json_loadb((const char *)part, (size_t)n, 0, NULL)))
        return fg_fail(err, FG_EINVAL, "malformed header");
    alg = json_string_value(json_object_get(header, "alg"));
    key = find_key(keys, json_string_value(json_object_get(header, "kid")));
    if (!alg || strcmp(alg, "EdDSA") != 0 || !key) {
        json_decref(header);
        return fg_fail(err, FG_EINVAL, "wrong algorithm or unknown key id");
    }
    header_typ = json_string_value(json_object_get(header, "typ"));
    if (typ_cap) snprintf(typ, typ_cap, "%s", header_typ ? header_typ : "");
    json_decref(header);

    n = unb64url(sig, sizeof sig, dot2 + 1, strlen(dot2 + 1));
    if (n != crypto_sign_BYTES) return fg_fail(err, FG_EINVAL, "malformed signature");
    if (crypto_sign_verify_detached(sig, (const uint8_t *)token, (size_t)(dot2 - token),
                                    key->public_key) != 0)
        return fg_fail(err, FG_EINVAL, "bad signature");
    n = unb64url(part, sizeof part, dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (n < 0 || !(body = json_loadb((const char *)part, (size_t)n, 0, NULL)) ||
        !json_is_object(body)) {
        json_decref(body);
        return fg_fail(err, FG_EINVAL, "malformed claims");
    }
    *claims = body;
    return FG_OK;
}

/* The amr array back to space-separated text; "face" when absent. */
static void read_amr(json_t *body, char *dst, size_t cap)
{
    json_t *list = json_object_get(body, "amr"), *item;
    size_t i, len = 0;
    snprintf(dst, cap, "face");
    if (!json_is_array(list)) return;
    dst[0] = 0;
    json_array_foreach(list, i, item)
    {
        const char *v = json_string_value(item);
        if (v && *v && len + strlen(v) + 2 < cap)
            len += (size_t)snprintf(dst + len, cap - len, "%s%s", len ? " " : "", v);
    }
    if (!len) snprintf(dst, cap, "face"); /* [] or only empty words: as absent (fuzz-jwt) */
}

int fg_jwt_verify(const fg_jwt_keyset *keys, const char *token, int64_t now, fg_jwt_claims *claims,
                  fg_error *err)
{
    json_t *body = NULL;
    const char *iss;
    int rc;

    memset(claims, 0, sizeof *claims);
    if ((rc = fg_jwt_decode(keys, token, NULL, 0, &body, err)) != FG_OK) return rc;
    iss = json_string_value(json_object_get(body, "iss"));
    rc = FG_EINVAL;
    if (!iss || strcmp(iss, FG_JWT_ISSUER) != 0 ||
        claim_string(body, "sub", claims->sub, sizeof claims->sub) != 0 ||
        (json_object_get(body, "preferred_username") &&
         claim_string(body, "preferred_username", claims->username, sizeof claims->username) !=
             0) ||
        claim_string(body, "jti", claims->jti, sizeof claims->jti) != 0 || !claims->jti[0] ||
        !json_is_integer(json_object_get(body, "exp")) ||
        !json_is_integer(json_object_get(body, "iat"))) {
        fg_set_error(err, FG_EINVAL, "missing or malformed claims");
        goto out;
    }
    claim_string(body, "name", claims->name, sizeof claims->name);
    read_amr(body, claims->amr, sizeof claims->amr);
    claims->iat = json_integer_value(json_object_get(body, "iat"));
    claims->exp = json_integer_value(json_object_get(body, "exp"));
    if (claims->exp <= now) {
        fg_set_error(err, FG_EINVAL, "token expired");
        goto out;
    }
    rc = FG_OK;
out:
    json_decref(body);
    return rc;
}

char *fg_jwt_jwks(const fg_jwt_keyset *keys)
{
    json_t *list = json_array(), *jwks;
    char *text;
    for (int i = 0; i < keys->count; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "OKP", "crv",
                                              "Ed25519", "x", keys->keys[i].x, "kid",
                                              keys->keys[i].kid, "alg", "EdDSA", "use", "sig"));
    jwks = json_pack("{s:o}", "keys", list);
    text = jwks ? json_dumps(jwks, JSON_COMPACT) : NULL;
    json_decref(jwks);
    return text;
}
