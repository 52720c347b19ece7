/*
 * clients.c - OpenID Connect client registration, and the admin API's /api/v1/clients.
 */
#include "server/clients.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/error.h"
#include "server/http.h"
#include "server/routes.h"

static const char SECRET_DOMAIN[] = "facegate/client-secret/v1";

static void hash_secret(const char *secret, char hex[FG_SECRET_HASH_LEN + 1])
{
    uint8_t digest[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof digest);
    crypto_generichash_update(&st, (const uint8_t *)SECRET_DOMAIN, sizeof SECRET_DOMAIN - 1);
    crypto_generichash_update(&st, (const uint8_t *)secret, strlen(secret));
    crypto_generichash_final(&st, digest, sizeof digest);
    sodium_bin2hex(hex, FG_SECRET_HASH_LEN + 1, digest, sizeof digest);
}

int fg_client_secret_matches(const fg_oidc_client *client, const char *secret)
{
    char given[FG_SECRET_HASH_LEN + 1];
    if (!client->secret_hash[0] || !secret || strlen(secret) >= FG_CLIENT_SECRET_MAX) return 0;
    hash_secret(secret, given);
    return sodium_memcmp(given, client->secret_hash, FG_SECRET_HASH_LEN) == 0;
}

static int id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n < 3 || n > FG_CLIENT_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(id[i] >= 'a' && id[i] <= 'z') && !(id[i] >= 'A' && id[i] <= 'Z') &&
            !(id[i] >= '0' && id[i] <= '9') && id[i] != '.' && id[i] != '_' && id[i] != '-')
            return 0;
    return 1;
}

/* The host of an http(s) URI's authority (after "://", before the port, path or query). */
static int host_is_loopback(const char *authority)
{
    static const char *const loopback[] = {"127.0.0.1", "localhost", "[::1]"};
    size_t n = strcspn(authority, "/?");
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
        size_t m = strlen(loopback[i]);
        if (n >= m && strncasecmp(authority, loopback[i], m) == 0 &&
            (authority[m] == ':' || n == m))
            return 1;
    }
    return 0;
}

int fg_redirect_uri_valid(const char *uri)
{
    size_t n = strlen(uri), scheme;
    if (n == 0 || n > FG_REDIRECT_URI_MAX || strchr(uri, '#')) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)uri[i] <= 0x20 || uri[i] == 0x7f) return 0;
    if (strncmp(uri, "https://", 8) == 0) return uri[8] && uri[8] != '/';
    if (strncmp(uri, "http://", 7) == 0) return host_is_loopback(uri + 7);
    /* A private-use scheme (RFC 8252 7.1): reverse domain name, so it holds a dot. */
    scheme = strcspn(uri, ":");
    if (uri[scheme] != ':' || scheme < 3) return 0;
    for (size_t i = 0; i < scheme; i++)
        if (!(uri[i] >= 'a' && uri[i] <= 'z') && !(uri[i] >= '0' && uri[i] <= '9') &&
            uri[i] != '.' && uri[i] != '-' && uri[i] != '+')
            return 0;
    return memchr(uri, '.', scheme) != NULL;
}

int fg_client_register(fg_store *store, const fg_client_spec *spec, fg_oidc_client *client,
                       char secret[FG_CLIENT_SECRET_MAX], fg_error *err)
{
    uint8_t random[32];
    const char *name = spec->name ? spec->name : "";
    memset(client, 0, sizeof *client);
    secret[0] = 0;
    if (spec->id && *spec->id) {
        if (!id_valid(spec->id))
            return fg_fail(err, FG_EINVAL, "a client id is 3 to %d characters of A-Z a-z 0-9 . _ -",
                           FG_CLIENT_ID_MAX);
        snprintf(client->id, sizeof client->id, "%s", spec->id);
    } else {
        randombytes_buf(random, 16);
        sodium_bin2base64(client->id, sizeof client->id, random, 16,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    if (strlen(name) > FG_CLIENT_NAME_MAX)
        return fg_fail(err, FG_EINVAL, "a client name is at most %d bytes", FG_CLIENT_NAME_MAX);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fg_fail(err, FG_EINVAL, "a client name holds no control characters");
    snprintf(client->name, sizeof client->name, "%s", name);
    if (spec->redirect_count < 1 || spec->redirect_count > FG_CLIENT_MAX_REDIRECTS)
        return fg_fail(err, FG_EINVAL, "a client needs 1 to %d redirect URIs",
                       FG_CLIENT_MAX_REDIRECTS);
    for (size_t i = 0; i < spec->redirect_count; i++) {
        if (!spec->redirect_uris[i] || !fg_redirect_uri_valid(spec->redirect_uris[i]))
            return fg_fail(err, FG_EINVAL,
                           "redirect URI \"%.200s\" is not allowed: use https://..., http:// on "
                           "127.0.0.1, localhost or [::1], or a private scheme such as "
                           "com.example.app:/callback; no fragment",
                           spec->redirect_uris[i] ? spec->redirect_uris[i] : "");
        snprintf(client->redirect_uris[i], sizeof client->redirect_uris[i], "%s",
                 spec->redirect_uris[i]);
    }
    client->redirect_count = (int)spec->redirect_count;
    client->created_at = fg_now();
    if (!spec->public_client) {
        randombytes_buf(random, sizeof random);
        sodium_bin2base64(secret, FG_CLIENT_SECRET_MAX, random, sizeof random,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        hash_secret(secret, client->secret_hash);
        sodium_memzero(random, sizeof random);
    }
    return fg_store_client_add(store, client, err);
}

json_t *fg_client_json(const fg_oidc_client *c)
{
    json_t *uris = json_array();
    char created[32];
    for (int i = 0; i < c->redirect_count; i++)
        json_array_append_new(uris, json_string(c->redirect_uris[i]));
    fg_iso8601(c->created_at, created, sizeof created);
    return json_pack("{s:s, s:s, s:b, s:o, s:s}", "client_id", c->id, "name", c->name, "public",
                     c->secret_hash[0] == 0, "redirect_uris", uris, "created_at", created);
}

/* --- admin API ------------------------------------------------------------------------------ */

void fg_route_admin_clients(fg_request *req)
{
    fg_oidc_client *clients = NULL;
    size_t count = 0;
    fg_error err = {0};
    json_t *list;
    if (fg_store_client_list(req->server->store, &clients, &count, &err) != FG_OK) {
        fg_reply_errorf(req, 500, "internal", "%s", err.message);
        return;
    }
    list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, fg_client_json(&clients[i]));
    free(clients);
    fg_reply_json(req, 200, json_pack("{s:o}", "clients", list));
}

void fg_route_admin_client_add(fg_request *req)
{
    const char *id = NULL, *name = NULL, *uris[FG_CLIENT_MAX_REDIRECTS];
    json_t *list, *item, *pub;
    fg_client_spec spec = {0};
    fg_oidc_client client;
    char secret[FG_CLIENT_SECRET_MAX];
    fg_http_error e;
    fg_error err = {0};
    size_t i;
    json_t *body;
    int rc;

    if (req->body_kind != FG_BODY_JSON || fg_req_text(req, "client_id", &id, &e) != 0 ||
        fg_req_text(req, "name", &name, &e) != 0) {
        if (req->body_kind != FG_BODY_JSON)
            fg_http_fail(&e, 400, "bad_json", "send the client as a JSON object");
        fg_reply_error(req, &e);
        return;
    }
    list = json_object_get(req->json, "redirect_uris");
    pub = json_object_get(req->json, "public");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > FG_CLIENT_MAX_REDIRECTS || (pub && !json_is_boolean(pub))) {
        fg_reply_errorf(req, 400, "invalid_field",
                        "\"redirect_uris\" must be an array of 1 to %d strings and \"public\" a "
                        "boolean",
                        FG_CLIENT_MAX_REDIRECTS);
        return;
    }
    json_array_foreach(list, i, item)
    {
        uris[i] = json_string_value(item);
        if (!uris[i]) {
            fg_reply_errorf(req, 400, "invalid_field", "redirect URI %zu is not a string", i + 1);
            return;
        }
    }
    spec = (fg_client_spec){id, name, uris, json_array_size(list), json_is_true(pub)};
    rc = fg_client_register(req->server->store, &spec, &client, secret, &err);
    if (rc == FG_STORE_EEXIST) {
        fg_reply_errorf(req, 409, "client_exists", "%s", err.message);
        return;
    }
    if (rc != FG_OK) {
        fg_reply_errorf(req, rc == FG_EINVAL ? 400 : 500,
                        rc == FG_EINVAL ? "invalid_field" : "internal", "%s", err.message);
        return;
    }
    body = fg_client_json(&client);
    if (secret[0]) json_object_set_new(body, "client_secret", json_string(secret));
    sodium_memzero(secret, sizeof secret);
    fg_audit(req, "client_add", NULL, "ok", NAN);
    fg_reply_json(req, 201, body);
}

void fg_route_admin_client_delete(fg_request *req)
{
    fg_error err = {0};
    int rc = fg_store_client_delete(req->server->store, req->param, &err);
    if (rc == FG_STORE_ENOTFOUND) {
        fg_reply_errorf(req, 404, "not_found", "no client \"%s\"", req->param);
        return;
    }
    if (rc != FG_OK) {
        fg_reply_errorf(req, 500, "internal", "%s", err.message);
        return;
    }
    fg_audit(req, "client_delete", NULL, "ok", NAN);
    fg_reply_json(req, 200, json_pack("{s:s}", "deleted", req->param));
}
