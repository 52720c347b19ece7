/*
 * routes.h - the route handlers (routes.c, account.c, admin.c) and what they share.
 */
#ifndef FG_SERVER_ROUTES_H
#define FG_SERVER_ROUTES_H

#include "server/http.h"
#include "server/probe.h"

/* account.c: sign-up, log-in, sessions, the signed-in user's account; the seed routes. */
void fg_route_signup(fg_request *req);
void fg_route_login(fg_request *req);
void fg_route_logout(fg_request *req);
void fg_route_me(fg_request *req);
void fg_route_me_faces(fg_request *req);
void fg_route_me_delete(fg_request *req);
void fg_route_seed_register(fg_request *req);
void fg_route_seed_verify(fg_request *req);

/* admin.c: needs the admin token (checked by http.c from the route's FG_ROUTE_ADMIN flag). */
void fg_route_admin_users(fg_request *req);
void fg_route_admin_user_delete(fg_request *req);
void fg_route_admin_audit(fg_request *req);
void fg_route_admin_threshold(fg_request *req);

/* liveness_api.c: the liveness challenge. */
void fg_route_liveness_new(fg_request *req);
void fg_route_liveness_frames(fg_request *req);

/* The face a passed liveness session proves, for sign-up, log-in and add-a-face: session `id`
 * of the request's "liveness" field, checked against its "liveness_secret", redeemed (single
 * use) and up to cap of its descriptors copied into out, of faces that pass `gate` (sign-up and
 * add-a-face: the enrolment limits; NULL: any). -1 with e (401 liveness_*, 400 with the gate's
 * code). */
int fg_liveness_redeem(fg_request *req, const char *id, const fg_quality_limits *gate,
                       float (*out)[FG_DESCRIPTOR_DIM], size_t cap, size_t *n, fg_http_error *e);

/* routes.c */
void fg_route_detect(fg_request *req);
void fg_route_healthz(fg_request *req);
void fg_route_livez(fg_request *req);
void fg_route_metrics(fg_request *req);
void fg_route_jwks(fg_request *req);

/* The session of `token`: a valid, unrevoked session token whose account (the one its sub, the
 * account id, names: a deleted and re-created username does not inherit old sessions) still
 * exists. 0 with *user and *claims filled, or -1 with e (401 unauthorized). */
int fg_session_user(fg_request *req, const char *token, fg_store_user *user, fg_jwt_claims *claims,
                    fg_http_error *e);

/* oidc.c: OpenID Connect provider (authorization code flow with PKCE). */
void fg_route_oidc_discovery(fg_request *req);
void fg_route_oidc_authorize(fg_request *req);
void fg_route_oidc_authorize_complete(fg_request *req);
void fg_route_oidc_token(fg_request *req);
void fg_route_oidc_userinfo(fg_request *req);

/* clients.c: registered OpenID Connect clients, for the admin API (and the CLI: clients.h). */
void fg_route_admin_clients(fg_request *req);
void fg_route_admin_client_add(fg_request *req);
void fg_route_admin_client_delete(fg_request *req);

/* A store failure as the HTTP error: 503 unavailable (Retry-After: 1) when the database cannot
 * be reached, else 500 internal. `what` says what could not be done. Returns -1. */
int fg_http_store_fail(fg_http_error *e, int rc, const fg_error *err, const char *what);

/* The public user object {"username","display_name","faces","created_at"}. */
json_t *fg_user_json(const fg_store_user *user);

/* Appends an audit event for this request's client. distance: NAN or INFINITY when none. A
 * failure to write it is logged, not fatal. Deletes the events older than the retention period
 * when an hour has passed since it last did. */
void fg_audit(fg_request *req, const char *event, const char *username, const char *outcome,
              double distance);

/* The event of a deleted account: under the pseudonym its other events got ("deleted-" and 8
 * digits of its uid), with the client address only when an admin deleted it. */
void fg_audit_deleted(fg_request *req, const char *event, const fg_store_user *user, int by_admin);

#endif
