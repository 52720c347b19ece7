/*
 * fuzz-jwt.c - tokens (jwt.c), with a key set of two keys as after a rotation. The first byte
 * picks what the rest is:
 *   0: a token to verify as the server does, and to decode as the OpenID Connect routes do (any
 *      bytes: only signed ones get past the signature, so this mode tests the framing, the
 *      header, the kid lookup and base64url);
 *   1: a header and a claims JSON (separated by a newline), signed with the signing key and
 *      then verified: the JSON parsing and claim checks behind a valid signature;
 *   2: claim values (sub, username, name, amr separated by newlines) signed by fg_jwt_sign,
 *      which must verify and give back exactly the same claims.
 */
#include <string.h>

#include "fuzz.h"
#include "server/jwt.h"

#define NOW 1800000000

static const fg_jwt_keyset *keys(void)
{
    static fg_jwt_keyset set;
    if (!set.count) {
        uint8_t seed[crypto_sign_SEEDBYTES];
        for (int k = 0; k < FG_JWT_MAX_KEYS; k++) {
            for (size_t i = 0; i < sizeof seed; i++)
                seed[i] = (uint8_t)(i * 7 + 1 + k);
            fg_jwt_key_from_seed(&set.keys[k], seed);
        }
        set.count = FG_JWT_MAX_KEYS;
    }
    return &set;
}

static const fg_jwt_key *key(void)
{
    return &keys()->keys[0];
}

static void verify(const char *token)
{
    fg_jwt_claims claims;
    fg_error err = {0};
    char typ[32];
    json_t *decoded = NULL;
    if (fg_jwt_verify(keys(), token, NOW, &claims, &err) == FG_OK)
        FG_FUZZ_CHECK(claims.exp > NOW && claims.jti[0] && claims.amr[0]);
    else
        FG_FUZZ_CHECK(err.message[0]);
    if (fg_jwt_decode(keys(), token, typ, sizeof typ, &decoded, &err) == FG_OK)
        FG_FUZZ_CHECK(json_is_object(decoded));
    json_decref(decoded);
}

/* header.claims signed with the key, into out (cap bytes). */
static int sign_parts(const char *header, size_t hlen, const char *claims, size_t clen, char *out,
                      size_t cap)
{
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    uint8_t sig[crypto_sign_BYTES];
    size_t len;
    if (sodium_base64_ENCODED_LEN(hlen, variant) + sodium_base64_ENCODED_LEN(clen, variant) +
            sodium_base64_ENCODED_LEN(sizeof sig, variant) + 3 >
        cap)
        return -1;
    sodium_bin2base64(out, cap, (const uint8_t *)header, hlen, variant);
    len = strlen(out);
    out[len++] = '.';
    sodium_bin2base64(out + len, cap - len, (const uint8_t *)claims, clen, variant);
    len += strlen(out + len);
    crypto_sign_detached(sig, NULL, (const uint8_t *)out, len, key()->secret_key);
    out[len++] = '.';
    sodium_bin2base64(out + len, cap - len, sig, sizeof sig, variant);
    return 0;
}

/* What verification gives back for a signed amr of printable ASCII short enough to be kept
 * whole: its words joined by one space, "face" when it has no word (empty or only spaces).
 * 0 (no expectation) else. */
static int expected_amr(const char *in, char *out, size_t cap)
{
    size_t len = 0;
    if (strlen(in) + 3 >= cap) return 0;
    if (!in[0]) return snprintf(out, cap, "face") > 0;
    for (const char *p = in; *p; p++) {
        if (*p < ' ' || *p > '~') return 0;
        if (*p == ' ') continue;
        if (len > 0 && p[-1] == ' ') out[len++] = ' ';
        out[len++] = *p;
    }
    out[len] = 0;
    if (!len) return snprintf(out, cap, "face") > 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[4 * FG_JWT_MAX], token[4 * FG_JWT_MAX];
    const char *nl;
    if (size < 1 || size - 1 >= sizeof text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    switch (data[0] % 3) {
    case 0:
        verify(text);
        break;
    case 1:
        nl = memchr(text, '\n', size - 1);
        if (nl && sign_parts(text, (size_t)(nl - text), nl + 1, size - 2 - (size_t)(nl - text),
                             token, sizeof token) == 0)
            verify(token);
        break;
    default: {
        fg_jwt_claims in = {.iat = NOW - 10, .exp = NOW + 3600}, out;
        char issued[FG_JWT_MAX], amr[FG_JWT_AMR_MAX]; /* what the server signs into */
        fg_error err = {0};
        char *fields[4] = {in.sub, in.username, in.name, in.amr};
        size_t caps[4] = {sizeof in.sub, sizeof in.username, sizeof in.name, sizeof in.amr};
        const char *p = text;
        for (int i = 0; i < 4; i++) {
            size_t n = strcspn(p, "\n");
            if (n >= caps[i]) return 0;
            memcpy(fields[i], p, n);
            fields[i][n] = 0;
            p += n + (p[n] ? 1 : 0);
        }
        if (fg_jwt_sign(key(), &in, issued, sizeof issued) != FG_OK) return 0;
        FG_FUZZ_CHECK(fg_jwt_verify(keys(), issued, NOW, &out, &err) == FG_OK);
        FG_FUZZ_CHECK(strcmp(in.sub, out.sub) == 0 && strcmp(in.username, out.username) == 0 &&
                      strcmp(in.name, out.name) == 0 && strcmp(in.jti, out.jti) == 0 &&
                      in.iat == out.iat && in.exp == out.exp);
        FG_FUZZ_CHECK(!expected_amr(in.amr, amr, sizeof amr) || strcmp(amr, out.amr) == 0);
        break;
    }
    }
    return 0;
}

void fg_fuzz_seeds(void)
{
    fg_jwt_claims claims = {.sub = "0123456789abcdef0123456789abcdef",
                            .username = "obama",
                            .name = "Barack",
                            .amr = "face",
                            .iat = NOW - 10,
                            .exp = NOW + 3600};
    char token[FG_JWT_MAX + 1] = {0}, parts[512];
    static const char fields[] =
        "\x02"
        "0123456789abcdef0123456789abcdef\nobama\nBarack \xc3\xa9\"\\\nface";
    int n;
    if (fg_jwt_sign(key(), &claims, token + 1, sizeof token - 1) == FG_OK)
        fg_fuzz_seed("token", token, 1 + strlen(token + 1));
    /* Signed by the previous key: verified through its kid. */
    if (fg_jwt_sign(&keys()->keys[1], &claims, token + 1, sizeof token - 1) == FG_OK)
        fg_fuzz_seed("token-previous", token, 1 + strlen(token + 1));
    n = snprintf(parts, sizeof parts,
                 "\x01{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}\n"
                 "{\"sub\":\"s\",\"preferred_username\":\"u\",\"iat\":1,\"exp\":1900000000,"
                 "\"iss\":\"facegate\",\"jti\":\"j\",\"amr\":[\"face\"]}",
                 key()->kid);
    fg_fuzz_seed("parts", parts, (size_t)n);
    fg_fuzz_seed("fields", fields, sizeof fields - 1);
}
