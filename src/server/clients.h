/*
 * clients.h - registering OpenID Connect clients (shared by `facegate client` and the admin
 * API): validation of ids and redirect URIs, generated ids and secrets, secret hashing.
 *
 * A confidential client gets a generated 256-bit secret, shown once; the store keeps only its
 * hash. Being random and long, the secret needs no slow password hash: a keyed-free BLAKE2b of
 * it cannot be reversed or guessed. A public client (a browser or mobile app that cannot keep
 * a secret) has none and must use PKCE (S256).
 */
#ifndef FG_SERVER_CLIENTS_H
#define FG_SERVER_CLIENTS_H

#include <jansson.h>
#include <stddef.h>

#include "facegate.h"
#include "store/store.h"

#define FG_CLIENT_SECRET_MAX 64

typedef struct fg_client_spec {
    const char *id; /* NULL or "": generate one */
    const char *name;
    const char *const *redirect_uris;
    size_t redirect_count;
    int public_client; /* 1: no secret, PKCE required */
} fg_client_spec;

/* Validates and stores a client. Fills *client and secret (NUL-terminated; "" for a public
 * client). FG_EINVAL with a specific message for a bad spec, FG_STORE_EEXIST for a taken id. */
int fg_client_register(fg_store *store, const fg_client_spec *spec, fg_oidc_client *client,
                       char secret[FG_CLIENT_SECRET_MAX], fg_error *err);

/* 1 if `secret` is the client's (constant time), 0 otherwise (and always for public clients). */
int fg_client_secret_matches(const fg_oidc_client *client, const char *secret);

/* 1 if uri may be registered: https://host/..., http:// only on a loopback host (RFC 8252),
 * or a private-use scheme with a dot (com.example.app:/cb); no fragment, no spaces. */
int fg_redirect_uri_valid(const char *uri);

/* {"client_id","name","public","redirect_uris","created_at"} (no secret, no hash). */
json_t *fg_client_json(const fg_oidc_client *client);

#endif
