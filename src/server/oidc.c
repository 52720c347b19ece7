/*
 * oidc.c - the OpenID Connect provider: authorization code flow with PKCE (RFC 6749, RFC 7636,
 * OpenID Connect Core 1.0 and Discovery 1.0, RFC 9207's `iss` in the response).
 *
 * GET /oauth2/authorize checks the request. What cannot safely go back to the client (an
 * unknown client, a redirect URI it did not register) is shown to the person as a page; other
 * errors go back to the redirect URI. A valid request is handed to the web app's log-in screen
 * (/#/authorize?<the same parameters>): the same face log-in component the app uses. Once the
 * server recognised the face, the app posts the request again with that fresh session as a
 * Bearer token (POST /oauth2/authorize; a cookie does not count, so no other site can make a
 * browser do it) and gets back where to send the browser: the redirect URI with a code. Nothing
 * is kept between the two steps: the POST checks everything again.
 *
 * Codes are 256 random bits, stored as a SHA-256 hash, redeemable once within code_ttl_s.
 * The token endpoint returns an ID token (aud = the client) and an access token (typ at+jwt,
 * aud = the issuer), good for /oauth2/userinfo only: the session API refuses both, as their
 * issuer is the URL, not "facegate". A replayed code revokes the access token it bought.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "server/clients.h"
#include "server/routes.h"

#define ACR_FACE "urn:facegate:acr:face"
#define ACR_FACE_LIVENESS "urn:facegate:acr:face-liveness"
#define STATE_MAX 512
#define NONCE_MAX 255
#define URL_MAX 4096
#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* An OAuth error: RFC 6749's error code and a description. */
typedef struct oauth_error {
    const char *error;
    char description[256];
} oauth_error;

enum { AUTHZ_OK = 0, AUTHZ_FATAL = 1, AUTHZ_REDIRECT = 2 };

/* Fills oe and returns `result`: `return refuse(oe, -1, "invalid_grant", "...")`. */
static int refuse(oauth_error *oe, int result, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(oauth_error *oe, int result, const char *error, const char *fmt, ...)
{
    va_list ap;
    oe->error = error;
    va_start(ap, fmt);
    vsnprintf(oe->description, sizeof oe->description, fmt, ap);
    va_end(ap);
    return result;
}

/* --- small helpers -------------------------------------------------------------------------- */

/* Appends name=value (percent-encoded, RFC 3986 unreserved characters kept) to url. */
static int append_param(char *url, size_t cap, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(url);
    char last = len ? url[len - 1] : 0;
    const char *sep = last == '?' || last == '&' ? "" : strchr(url, '?') ? "&" : "?";
    if (len + strlen(name) + 3 >= cap) return -1;
    len += (size_t)snprintf(url + len, cap - len, "%s%s=", sep, name);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (len + 4 >= cap) return -1;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            url[len++] = (char)*p;
        } else {
            url[len++] = '%';
            url[len++] = hex[*p >> 4];
            url[len++] = hex[*p & 15];
        }
    }
    url[len] = 0;
    return 0;
}

/* Does the space-separated list hold the word? */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        size_t m = strcspn(p, " ");
        if (m == n && strncmp(p, word, n) == 0) return 1;
        p += m;
        while (*p == ' ')
            p++;
    }
    return 0;
}

static json_t *word_array(const char *list)
{
    json_t *arr = json_array();
    for (const char *p = list; p && *p;) {
        size_t m = strcspn(p, " ");
        if (m > 0) json_array_append_new(arr, json_stringn(p, m));
        p += m;
        while (*p == ' ')
            p++;
    }
    return arr;
}

static void sha256_hex(const char *text, char hex[FG_SECRET_HASH_LEN + 1])
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const uint8_t *)text, strlen(text));
    sodium_bin2hex(hex, FG_SECRET_HASH_LEN + 1, digest, sizeof digest);
}

/* The access token's jti follows from the code, so a replay of the code can revoke it. */
static void access_token_id(const char *code_hash, char *jti, size_t cap)
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)"facegate/at/", 12);
    crypto_hash_sha256_update(&st, (const uint8_t *)code_hash, strlen(code_hash));
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2base64(jti, cap, digest, 16, B64URL);
}

static void endpoint(const fg_server *s, const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", s->config.issuer, path);
}

/* A reply that sends the browser elsewhere. */
static void reply_redirect(fg_request *req, const char *location)
{
    fg_reply_text(req, 302, "text/plain; charset=utf-8", "");
    fg_reply_header(req, MHD_HTTP_HEADER_LOCATION, location);
}

/* --- discovery ------------------------------------------------------------------------------ */

void fg_route_oidc_discovery(fg_request *req)
{
    const fg_server *s = req->server;
    char authz[600], token[600], userinfo[600], jwks[600];
    endpoint(s, "/oauth2/authorize", authz, sizeof authz);
    endpoint(s, "/oauth2/token", token, sizeof token);
    endpoint(s, "/oauth2/userinfo", userinfo, sizeof userinfo);
    endpoint(s, "/.well-known/jwks.json", jwks, sizeof jwks);
    fg_reply_json(
        req, 200,
        json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s], s:[s], s:[s], s:[s], s:[s, s], "
            "s:[s, s, s, s, s, s, s, s, s, s, s, s], s:[s, s, s], s:[s], s:[s, s], s:b, "
            "s:[s, s]}",
            "issuer", s->config.issuer, "authorization_endpoint", authz, "token_endpoint", token,
            "userinfo_endpoint", userinfo, "jwks_uri", jwks, "response_types_supported", "code",
            "response_modes_supported", "query", "grant_types_supported", "authorization_code",
            "subject_types_supported", "public", "id_token_signing_alg_values_supported", "EdDSA",
            "code_challenge_methods_supported", "S256", "scopes_supported", "openid", "profile",
            "claims_supported", "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr",
            "acr", "azp", "name", "preferred_username", "token_endpoint_auth_methods_supported",
            "client_secret_basic", "client_secret_post", "none",
            "userinfo_signing_alg_values_supported", "none", "acr_values_supported", ACR_FACE,
            ACR_FACE_LIVENESS, "authorization_response_iss_parameter_supported", 1,
            "prompt_values_supported", "none", "login"));
}

/* --- the authorization request -------------------------------------------------------------- */

typedef struct authz_request {
    const char *response_type, *client_id, *redirect_uri, *scope, *state, *nonce;
    const char *code_challenge, *code_challenge_method, *prompt;
    fg_oidc_client client;
} authz_request;

static int is_b64url(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

/* Reads the parameters (query string for GET, JSON body for POST) and checks them in the
 * order RFC 6749 4.1.2.1 asks: client and redirect URI first (AUTHZ_FATAL: the browser must
 * not be sent to an unverified address), then the rest (AUTHZ_REDIRECT). */
static int check_authz(fg_request *req, authz_request *a, oauth_error *oe)
{
    const char *const names[] = {
        "response_type", "client_id",      "redirect_uri",          "scope", "state",
        "nonce",         "code_challenge", "code_challenge_method", "prompt"};
    const char **fields[] = {
        &a->response_type, &a->client_id,      &a->redirect_uri,          &a->scope, &a->state,
        &a->nonce,         &a->code_challenge, &a->code_challenge_method, &a->prompt};
    fg_http_error e;
    fg_error err = {0};
    int registered = 0;

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (fg_req_text(req, names[i], fields[i], &e) != 0) {
            refuse(oe, -1, "invalid_request", "%s", e.message);
            return AUTHZ_FATAL;
        }
    if (!a->client_id || !*a->client_id) {
        return refuse(oe, AUTHZ_FATAL, "invalid_request", "client_id is missing");
    }
    if (fg_store_client_get(req->server->store, a->client_id, &a->client, &err) != FG_OK) {
        return refuse(oe, AUTHZ_FATAL, "invalid_client", "no client \"%.64s\" is registered here",
                      a->client_id);
    }
    if (!a->redirect_uri || !*a->redirect_uri) {
        return refuse(oe, AUTHZ_FATAL, "invalid_request", "redirect_uri is missing");
    }
    for (int i = 0; i < a->client.redirect_count; i++)
        if (strcmp(a->redirect_uri, a->client.redirect_uris[i]) == 0) registered = 1;
    if (!registered) {
        return refuse(oe, AUTHZ_FATAL, "invalid_request",
                      "redirect_uri is not one the client registered (they must match exactly)");
    }
    if (a->state && strlen(a->state) > STATE_MAX) {
        a->state = NULL; /* not echoed: too long to put in a URL safely */
        return refuse(oe, AUTHZ_REDIRECT, "invalid_request", "state is longer than %d characters",
                      STATE_MAX);
    }
    if (!a->response_type || strcmp(a->response_type, "code") != 0)
        return refuse(oe, AUTHZ_REDIRECT, "unsupported_response_type",
                      "only response_type=code (the authorization code flow) is supported");
    if (!a->scope || !has_word(a->scope, "openid"))
        return refuse(oe, AUTHZ_REDIRECT, "invalid_scope", "scope must include openid");
    if (strlen(a->scope) > 255)
        return refuse(oe, AUTHZ_REDIRECT, "invalid_scope", "scope is too long");
    if (a->nonce && strlen(a->nonce) > NONCE_MAX)
        return refuse(oe, AUTHZ_REDIRECT, "invalid_request", "nonce is longer than %d characters",
                      NONCE_MAX);
    if (a->code_challenge_method && strcmp(a->code_challenge_method, "S256") != 0)
        return refuse(oe, AUTHZ_REDIRECT, "invalid_request", "code_challenge_method must be S256");
    if (a->code_challenge && !is_b64url(a->code_challenge, 43, 43))
        return refuse(oe, AUTHZ_REDIRECT, "invalid_request",
                      "code_challenge must be the 43-character base64url SHA-256 of the "
                      "verifier");
    if (a->code_challenge && !a->code_challenge_method)
        return refuse(oe, AUTHZ_REDIRECT, "invalid_request",
                      "code_challenge_method=S256 is required with a code_challenge");
    if (!a->code_challenge && !a->client.secret_hash[0])
        return refuse(oe, AUTHZ_REDIRECT, "invalid_request",
                      "this is a public client: PKCE (code_challenge with S256) is required");
    if (a->prompt && has_word(a->prompt, "none"))
        return refuse(oe, AUTHZ_REDIRECT, "login_required",
                      "facegate always asks for the face: prompt=none cannot be met");
    return AUTHZ_OK;
}

/* The redirect URI with the response parameters (code or error, state, iss). */
static int response_url(const fg_server *s, const authz_request *a, const char *code,
                        const oauth_error *oe, char *url, size_t cap)
{
    snprintf(url, cap, "%s", a->redirect_uri);
    if (code && append_param(url, cap, "code", code) != 0) return -1;
    if (oe && (append_param(url, cap, "error", oe->error) != 0 ||
               append_param(url, cap, "error_description", oe->description) != 0))
        return -1;
    if (a->state && *a->state && append_param(url, cap, "state", a->state) != 0) return -1;
    return append_param(url, cap, "iss", s->config.issuer);
}

/* A page for an error that must not go back to the client (text only: the CSP allows nothing
 * else here). */
static void reply_error_page(fg_request *req, const oauth_error *oe)
{
    char page[1024], text[600];
    size_t len = 0;
    for (const char *p = oe->description; *p && len + 7 < sizeof text; p++) {
        const char *esc = *p == '<'   ? "&lt;"
                          : *p == '>' ? "&gt;"
                          : *p == '&' ? "&amp;"
                          : *p == '"' ? "&quot;"
                                      : NULL;
        if (esc)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s", esc);
        else
            text[len++] = *p;
    }
    text[len] = 0;
    snprintf(page, sizeof page,
             "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in "
             "request refused</title></head><body><h1>Sign-in request refused</h1><p>The "
             "application that sent you here made a request facegate cannot accept:</p>"
             "<p><code>%s</code>: %s</p><p>Go back to the application and try again, or tell "
             "its operator.</p></body></html>",
             oe->error, text);
    req->error_code = oe->error;
    fg_reply_text(req, 400, "text/html; charset=utf-8", page);
}

static int web_app_present(const fg_server *s)
{
    char path[1100];
    struct stat st;
    snprintf(path, sizeof path, "%s/index.html", s->config.web_root);
    return s->config.web_root[0] && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void fg_route_oidc_authorize(fg_request *req)
{
    authz_request a = {0};
    oauth_error oe = {0};
    char url[URL_MAX] = "/#/authorize?";
    int verdict = check_authz(req, &a, &oe);

    if (verdict == AUTHZ_FATAL) {
        reply_error_page(req, &oe);
        return;
    }
    if (verdict == AUTHZ_OK && !web_app_present(req->server))
        verdict = refuse(&oe, AUTHZ_REDIRECT, "temporarily_unavailable",
                         "the facegate web app is not installed on this server");
    if (verdict == AUTHZ_REDIRECT) {
        req->error_code = oe.error;
        if (response_url(req->server, &a, NULL, &oe, url, sizeof url) != 0) {
            reply_error_page(req, &(oauth_error){"invalid_request", "the request is too long"});
            return;
        }
        reply_redirect(req, url);
        return;
    }
    /* The same parameters, to the web app's log-in screen. */
    if (append_param(url, sizeof url, "response_type", a.response_type) != 0 ||
        append_param(url, sizeof url, "client_id", a.client_id) != 0 ||
        append_param(url, sizeof url, "redirect_uri", a.redirect_uri) != 0 ||
        append_param(url, sizeof url, "scope", a.scope) != 0 ||
        (a.state && append_param(url, sizeof url, "state", a.state) != 0) ||
        (a.nonce && append_param(url, sizeof url, "nonce", a.nonce) != 0) ||
        (a.code_challenge &&
         (append_param(url, sizeof url, "code_challenge", a.code_challenge) != 0 ||
          append_param(url, sizeof url, "code_challenge_method", a.code_challenge_method) != 0))) {
        reply_error_page(req, &(oauth_error){"invalid_request", "the request is too long"});
        return;
    }
    reply_redirect(req, url);
}

/* Issues a code for the signed-in person and fills url with where the browser goes next. */
static int issue_code(fg_request *req, const authz_request *a, const fg_store_user *user,
                      const fg_jwt_claims *session, char *url, size_t cap, fg_http_error *e)
{
    fg_server *s = req->server;
    uint8_t random[32];
    char code[64];
    fg_oidc_code row = {0};
    fg_error err = {0};

    randombytes_buf(random, sizeof random);
    sodium_bin2base64(code, sizeof code, random, sizeof random, B64URL);
    sha256_hex(code, row.code_hash);
    snprintf(row.client_id, sizeof row.client_id, "%s", a->client.id);
    row.user_id = user->id;
    snprintf(row.redirect_uri, sizeof row.redirect_uri, "%s", a->redirect_uri);
    snprintf(row.code_challenge, sizeof row.code_challenge, "%s",
             a->code_challenge ? a->code_challenge : "");
    snprintf(row.nonce, sizeof row.nonce, "%s", a->nonce ? a->nonce : "");
    snprintf(row.scope, sizeof row.scope, "%s", a->scope);
    snprintf(row.amr, sizeof row.amr, "%s", session->amr);
    row.auth_time = session->iat;
    row.expires_at = fg_now() + s->config.code_ttl_s;
    if (response_url(s, a, code, NULL, url, cap) != 0)
        return fg_http_fail(e, 400, "invalid_request", "the request is too long");
    if (fg_store_code_add(s->store, &row, &err) != FG_OK)
        return fg_http_fail(e, 500, "internal", "could not store the code: %s", err.message);
    return 0;
}

void fg_route_oidc_authorize_complete(fg_request *req)
{
    authz_request a = {0};
    oauth_error oe = {0};
    char url[URL_MAX];
    const char *auth = fg_req_header(req, "Authorization"), *cancel = NULL;
    fg_store_user user;
    fg_jwt_claims session;
    fg_http_error e;
    int verdict = check_authz(req, &a, &oe);

    if (verdict == AUTHZ_FATAL) {
        fg_reply_errorf(req, 400, oe.error, "%s", oe.description);
        return;
    }
    if (verdict == AUTHZ_OK && json_is_true(json_object_get(req->json, "cancel"))) {
        verdict = refuse(&oe, AUTHZ_REDIRECT, "access_denied", "the person cancelled the sign-in");
        cancel = "cancel";
    }
    if (verdict == AUTHZ_REDIRECT) {
        req->error_code = cancel ? "access_denied" : oe.error;
        if (response_url(req->server, &a, NULL, &oe, url, sizeof url) != 0) {
            fg_reply_errorf(req, 400, "invalid_request", "the request is too long");
            return;
        }
        fg_reply_json(req, 200, json_pack("{s:s}", "redirect_to", url));
        return;
    }
    /* Only the fresh session the log-in screen holds, never a cookie. */
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        fg_reply_json(req, 200,
                      json_pack("{s:b, s:{s:s, s:s}}", "login_required", 1, "client", "client_id",
                                a.client.id, "name", a.client.name));
        return;
    }
    if (fg_session_user(req, auth + 7, &user, &session, &e) != 0 ||
        issue_code(req, &a, &user, &session, url, sizeof url, &e) != 0) {
        fg_reply_error(req, &e);
        return;
    }
    fg_audit(req, "authorize", user.username, "ok", NAN);
    fg_reply_json(req, 200, json_pack("{s:s}", "redirect_to", url));
}

/* --- the token endpoint --------------------------------------------------------------------- */

/* Percent-decodes src[0..n) of a form body ('+' is a space) into out. -1 if malformed. */
static int form_decode(const char *src, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            char digits[3] = {0};
            if (i + 2 >= n || !isxdigit((unsigned char)src[i + 1]) ||
                !isxdigit((unsigned char)src[i + 2]))
                return -1;
            memcpy(digits, src + i + 1, 2);
            c = (int)strtol(digits, NULL, 16);
            i += 2;
        }
        if (c == 0 || len + 1 >= cap) return -1;
        out[len++] = (char)c;
    }
    out[len] = 0;
    return 0;
}

/* A parameter of an application/x-www-form-urlencoded body: 1 found (out filled), 0 absent,
 * -1 malformed or repeated (RFC 6749 3.2: parameters must not repeat). */
static int form_get(const char *body, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    int found = 0;
    out[0] = 0;
    for (const char *p = body; p && *p;) {
        size_t m = strcspn(p, "&");
        if (m > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            if (found || form_decode(p + n + 1, m - n - 1, out, cap) != 0) return -1;
            found = 1;
        }
        p += m;
        if (*p == '&') p++;
    }
    return found;
}

typedef struct token_request {
    char grant_type[64], code[128], redirect_uri[FG_REDIRECT_URI_MAX + 1], verifier[160];
    char client_id[FG_CLIENT_ID_MAX + 1], client_secret[FG_CLIENT_SECRET_MAX];
    int basic; /* the client authenticated with HTTP Basic */
} token_request;

static void reply_oauth_error(fg_request *req, int status, const oauth_error *oe, int basic)
{
    req->error_code = oe->error;
    fg_reply_json(
        req, status,
        json_pack("{s:s, s:s}", "error", oe->error, "error_description", oe->description));
    fg_reply_header(req, "Pragma", "no-cache");
    if (status == 401)
        fg_reply_header(req, "WWW-Authenticate",
                        basic ? "Basic realm=\"facegate\"" : "Bearer realm=\"facegate\"");
}

/* HTTP Basic client credentials: both parts are form-encoded first (RFC 6749 2.3.1). */
static int read_basic(const char *auth, token_request *t, oauth_error *oe)
{
    uint8_t raw[256];
    size_t len = 0;
    const char *colon;
    auth += 6;
    while (*auth == ' ')
        auth++;
    if (sodium_base642bin(raw, sizeof raw - 1, auth, strlen(auth), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return refuse(oe, -1, "invalid_client", "the Basic credentials are not base64");
    raw[len] = 0;
    colon = memchr(raw, ':', len);
    if (!colon ||
        form_decode((const char *)raw, (size_t)(colon - (const char *)raw), t->client_id,
                    sizeof t->client_id) != 0 ||
        form_decode(colon + 1, len - (size_t)(colon + 1 - (const char *)raw), t->client_secret,
                    sizeof t->client_secret) != 0) {
        sodium_memzero(raw, sizeof raw);
        return refuse(oe, -1, "invalid_client", "the Basic credentials are malformed");
    }
    sodium_memzero(raw, sizeof raw);
    t->basic = 1;
    return 0;
}

static int read_token_request(fg_request *req, token_request *t, oauth_error *oe)
{
    const char *type = fg_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *auth = fg_req_header(req, "Authorization");
    const char *body = req->body ? req->body : "";
    char id[sizeof t->client_id], secret[sizeof t->client_secret];
    int has_id, has_secret;
    memset(t, 0, sizeof *t);
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 ||
        req->body_kind != FG_BODY_FORM || req->body_malformed)
        return refuse(oe, -1, "invalid_request",
                      "send the parameters as application/x-www-form-urlencoded");
    if (form_get(body, "grant_type", t->grant_type, sizeof t->grant_type) < 0 ||
        form_get(body, "code", t->code, sizeof t->code) < 0 ||
        form_get(body, "redirect_uri", t->redirect_uri, sizeof t->redirect_uri) < 0 ||
        form_get(body, "code_verifier", t->verifier, sizeof t->verifier) < 0 ||
        (has_id = form_get(body, "client_id", id, sizeof id)) < 0 ||
        (has_secret = form_get(body, "client_secret", secret, sizeof secret)) < 0)
        return refuse(oe, -1, "invalid_request", "a parameter is malformed, too long or repeated");
    if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
        if (has_secret)
            return refuse(oe, -1, "invalid_request",
                          "use one client authentication method, not Basic and "
                          "client_secret");
        if (read_basic(auth, t, oe) != 0) return -1;
        if (has_id && strcmp(id, t->client_id) != 0)
            return refuse(oe, -1, "invalid_request", "client_id differs from the Basic one");
    } else {
        memcpy(t->client_id, id, sizeof id);
        memcpy(t->client_secret, secret, sizeof secret);
    }
    sodium_memzero(secret, sizeof secret);
    return 0;
}

/* The client, authenticated: a confidential client by its secret, a public one by nothing
 * (PKCE binds its code instead). */
static int authenticate_client(fg_request *req, const token_request *t, fg_oidc_client *client,
                               oauth_error *oe)
{
    fg_error err = {0};
    if (!t->client_id[0])
        return refuse(oe, -1, "invalid_client",
                      "no client authentication: send client_id (and the secret)");
    if (fg_store_client_get(req->server->store, t->client_id, client, &err) != FG_OK)
        return refuse(oe, -1, "invalid_client", "unknown client");
    if (client->secret_hash[0] ? !fg_client_secret_matches(client, t->client_secret)
                               : t->client_secret[0] != 0)
        return refuse(oe, -1, "invalid_client",
                      client->secret_hash[0] ? "wrong client secret"
                                             : "a public client has no secret");
    return 0;
}

/* RFC 7636 4.6: BASE64URL(SHA256(verifier)) must equal the challenge. */
static int check_pkce(const fg_oidc_code *code, const char *verifier, oauth_error *oe)
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    char computed[64];
    size_t n = strlen(verifier);
    if (!code->code_challenge[0]) {
        if (n > 0)
            return refuse(oe, -1, "invalid_grant",
                          "code_verifier sent, but the authorization had no code_challenge");
        return 0;
    }
    if (n == 0) return refuse(oe, -1, "invalid_grant", "code_verifier is missing");
    if (n < 43 || n > 128 ||
        strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-._~") != n)
        return refuse(oe, -1, "invalid_grant",
                      "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~");
    crypto_hash_sha256(digest, (const uint8_t *)verifier, n);
    sodium_bin2base64(computed, sizeof computed, digest, sizeof digest, B64URL);
    if (sodium_memcmp(computed, code->code_challenge, 43) != 0)
        return refuse(oe, -1, "invalid_grant", "code_verifier does not match the code_challenge");
    return 0;
}

/* Redeems the code: single use, this client's, unexpired, same redirect URI, PKCE. */
static int redeem_code(fg_request *req, const token_request *t, const fg_oidc_client *client,
                       fg_oidc_code *code, oauth_error *oe)
{
    fg_server *s = req->server;
    char hash[FG_SECRET_HASH_LEN + 1], jti[32];
    fg_error err = {0};
    int rc;
    if (strcmp(t->grant_type, "authorization_code") != 0)
        return refuse(oe, -1, t->grant_type[0] ? "unsupported_grant_type" : "invalid_request",
                      "grant_type must be authorization_code");
    if (!t->code[0]) return refuse(oe, -1, "invalid_request", "code is missing");
    sha256_hex(t->code, hash);
    rc = fg_store_code_consume(s->store, hash, code, &err);
    if (rc == FG_STORE_EUSED) {
        /* RFC 6749 4.1.2: a code used twice revokes what it was exchanged for. */
        access_token_id(hash, jti, sizeof jti);
        fg_store_session_revoke(s->store, jti, fg_now() + s->config.token_ttl_s, NULL);
        fg_audit(req, "token", NULL, "code_replayed", NAN);
        return refuse(oe, -1, "invalid_grant",
                      "the code was used before; the tokens it gave are revoked");
    }
    if (rc == FG_STORE_ENOTFOUND) return refuse(oe, -1, "invalid_grant", "unknown code");
    if (rc != FG_OK) return refuse(oe, -1, "server_error", "%s", err.message);
    if (strcmp(code->client_id, client->id) != 0)
        return refuse(oe, -1, "invalid_grant", "the code was issued to another client");
    /* Whole seconds: expired only once the second after expires_at has begun, so a code lives
     * at least code_ttl_s (with <=, a code issued late in a second could expire at once). */
    if (code->expires_at < fg_now()) return refuse(oe, -1, "invalid_grant", "the code expired");
    if (strcmp(t->redirect_uri, code->redirect_uri) != 0)
        return refuse(oe, -1, "invalid_grant",
                      "redirect_uri differs from the one of the authorization request");
    return check_pkce(code, t->verifier, oe);
}

static int sign_token(fg_server *s, const char *typ, json_t *claims, char *out, size_t cap)
{
    fg_jwt_keyset keys;
    int rc;
    fg_server_keys(s, &keys);
    rc = claims ? fg_jwt_encode(&keys.keys[0], typ, claims, out, cap) : FG_ENOMEM;
    sodium_memzero(&keys, sizeof keys);
    json_decref(claims);
    return rc;
}

void fg_route_oidc_token(fg_request *req)
{
    fg_server *s = req->server;
    token_request t;
    fg_oidc_client client;
    fg_oidc_code code;
    fg_store_user user;
    oauth_error oe = {0};
    fg_error err = {0};
    char access[FG_JWT_MAX], id_token[FG_JWT_MAX], jti[32];
    int64_t now = fg_now(), exp = now + s->config.token_ttl_s;
    json_t *claims;

    if (read_token_request(req, &t, &oe) != 0) {
        reply_oauth_error(req, strcmp(oe.error, "invalid_client") == 0 ? 401 : 400, &oe, 1);
        return;
    }
    if (authenticate_client(req, &t, &client, &oe) != 0) {
        reply_oauth_error(req, 401, &oe, t.basic);
        sodium_memzero(&t, sizeof t);
        return;
    }
    sodium_memzero(t.client_secret, sizeof t.client_secret);
    if (redeem_code(req, &t, &client, &code, &oe) != 0) {
        reply_oauth_error(req, strcmp(oe.error, "server_error") == 0 ? 500 : 400, &oe, 0);
        return;
    }
    if (fg_store_user_get_id(s->store, code.user_id, &user, &err) != FG_OK) {
        reply_oauth_error(req, 400, &(oauth_error){"invalid_grant", "the account no longer exists"},
                          0);
        return;
    }
    access_token_id(code.code_hash, jti, sizeof jti);
    claims = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", s->config.issuer, "sub",
                       user.uid, "aud", s->config.issuer, "client_id", client.id, "scope",
                       code.scope, "iat", (json_int_t)now, "exp", (json_int_t)exp, "jti", jti);
    if (sign_token(s, "at+jwt", claims, access, sizeof access) != FG_OK) goto sign_failed;
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:s}", "iss", s->config.issuer,
                       "sub", user.uid, "aud", client.id, "azp", client.id, "iat", (json_int_t)now,
                       "exp", (json_int_t)exp, "auth_time", (json_int_t)code.auth_time, "amr",
                       word_array(code.amr), "acr",
                       has_word(code.amr, "liveness") ? ACR_FACE_LIVENESS : ACR_FACE);
    if (claims && code.nonce[0]) json_object_set_new(claims, "nonce", json_string(code.nonce));
    if (claims && has_word(code.scope, "profile")) {
        json_object_set_new(claims, "name", json_string(user.display_name));
        json_object_set_new(claims, "preferred_username", json_string(user.username));
    }
    if (sign_token(s, "JWT", claims, id_token, sizeof id_token) != FG_OK) goto sign_failed;
    fg_audit(req, "token", user.username, "ok", NAN);
    fg_reply_json(req, 200,
                  json_pack("{s:s, s:s, s:I, s:s, s:s}", "access_token", access, "token_type",
                            "Bearer", "expires_in", (json_int_t)s->config.token_ttl_s, "id_token",
                            id_token, "scope", code.scope));
    fg_reply_header(req, "Pragma", "no-cache");
    return;
sign_failed:
    reply_oauth_error(req, 500, &(oauth_error){"server_error", "could not sign the tokens"}, 0);
}

/* --- userinfo ------------------------------------------------------------------------------- */

static void reply_invalid_token(fg_request *req, const char *why)
{
    char header[400];
    snprintf(header, sizeof header, "Bearer error=\"invalid_token\", error_description=\"%s\"",
             why);
    req->error_code = "invalid_token";
    fg_reply_json(req, 401,
                  json_pack("{s:s, s:s}", "error", "invalid_token", "error_description", why));
    fg_reply_header(req, "WWW-Authenticate", header);
}

void fg_route_oidc_userinfo(fg_request *req)
{
    fg_server *s = req->server;
    const char *auth = fg_req_header(req, "Authorization");
    const char *iss, *aud, *jti, *sub, *scope;
    char typ[32];
    json_t *claims = NULL, *exp, *body;
    fg_jwt_keyset keys;
    fg_store_user user;
    fg_error err = {0};
    int revoked = 0, rc;

    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        req->error_code = "invalid_request";
        fg_reply_json(req, 401,
                      json_pack("{s:s, s:s}", "error", "invalid_request", "error_description",
                                "send the access token as Authorization: Bearer <token>"));
        fg_reply_header(req, "WWW-Authenticate", "Bearer realm=\"facegate\"");
        return;
    }
    fg_server_keys(s, &keys);
    rc = fg_jwt_decode(&keys, auth + 7, typ, sizeof typ, &claims, &err);
    sodium_memzero(&keys, sizeof keys);
    if (rc != FG_OK) {
        reply_invalid_token(req, err.message);
        return;
    }
    iss = json_string_value(json_object_get(claims, "iss"));
    aud = json_string_value(json_object_get(claims, "aud"));
    jti = json_string_value(json_object_get(claims, "jti"));
    sub = json_string_value(json_object_get(claims, "sub"));
    scope = json_string_value(json_object_get(claims, "scope"));
    exp = json_object_get(claims, "exp");
    if (strcmp(typ, "at+jwt") != 0 || !iss || strcmp(iss, s->config.issuer) != 0 || !aud ||
        strcmp(aud, s->config.issuer) != 0 || !jti || !sub || !json_is_integer(exp)) {
        reply_invalid_token(req, "not an access token of this issuer");
    } else if (json_integer_value(exp) <= fg_now()) {
        reply_invalid_token(req, "the access token expired");
    } else if (fg_store_session_revoked(s->store, jti, &revoked, &err) != FG_OK || revoked) {
        reply_invalid_token(req, "the access token was revoked");
    } else if (fg_store_user_get_uid(s->store, sub, &user, &err) != FG_OK) {
        reply_invalid_token(req, "the account no longer exists");
    } else {
        body = json_pack("{s:s}", "sub", user.uid);
        if (scope && has_word(scope, "profile")) {
            json_object_set_new(body, "name", json_string(user.display_name));
            json_object_set_new(body, "preferred_username", json_string(user.username));
        }
        fg_reply_json(req, 200, body);
    }
    json_decref(claims);
}
