/*
 * routes.c - the route table, and the small routes: detect, healthz, metrics, JWKS.
 */
#include "core/clock.h"
#include "server/routes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const fg_route fg_routes[] = {
    {"POST", "/register", fg_route_seed_register, FG_ROUTE_SEED | FG_ROUTE_INFER, "seed_register"},
    {"POST", "/verify", fg_route_seed_verify, FG_ROUTE_SEED | FG_ROUTE_INFER, "seed_verify"},
    {"POST", "/api/v1/users", fg_route_signup, FG_ROUTE_INFER, "signup"},
    {"GET", "/api/v1/users", fg_route_admin_users, FG_ROUTE_ADMIN, "admin_users"},
    {"DELETE", "/api/v1/users/{name}", fg_route_admin_user_delete, FG_ROUTE_ADMIN,
     "admin_user_delete"},
    {"GET", "/api/v1/audit", fg_route_admin_audit, FG_ROUTE_ADMIN, "admin_audit"},
    {"GET", "/api/v1/threshold", fg_route_admin_threshold, FG_ROUTE_ADMIN, "admin_threshold"},
    {"POST", "/api/v1/login", fg_route_login, FG_ROUTE_INFER, "login"},
    {"POST", "/api/v1/logout", fg_route_logout, 0, "logout"},
    {"GET", "/api/v1/me", fg_route_me, 0, "me"},
    {"DELETE", "/api/v1/me", fg_route_me_delete, 0, "me_delete"},
    {"POST", "/api/v1/me/faces", fg_route_me_faces, FG_ROUTE_INFER, "me_faces"},
    {"POST", "/api/v1/detect", fg_route_detect, FG_ROUTE_INFER, "detect"},
    {"POST", "/api/v1/liveness", fg_route_liveness_new, 0, "liveness_new"},
    {"POST", "/api/v1/liveness/{id}/frames", fg_route_liveness_frames, FG_ROUTE_INFER,
     "liveness_frames"},
    {"GET", "/healthz", fg_route_healthz, FG_ROUTE_OPS, "healthz"},
    {"GET", "/livez", fg_route_livez, FG_ROUTE_OPS, "livez"},
    {"GET", "/readyz", fg_route_healthz, FG_ROUTE_OPS, "readyz"},
    {"GET", "/metrics", fg_route_metrics, FG_ROUTE_OPS, "metrics"},
    {"GET", "/.well-known/jwks.json", fg_route_jwks, 0, "jwks"},
    {"GET", "/.well-known/openid-configuration", fg_route_oidc_discovery, 0, "oidc_discovery"},
    {"GET", "/oauth2/authorize", fg_route_oidc_authorize, 0, "oidc_authorize"},
    {"POST", "/oauth2/authorize", fg_route_oidc_authorize_complete, 0, "oidc_authorize_complete"},
    {"POST", "/oauth2/token", fg_route_oidc_token, FG_ROUTE_CLIENT_AUTH, "oidc_token"},
    {"GET", "/oauth2/userinfo", fg_route_oidc_userinfo, 0, "oidc_userinfo"},
    {"POST", "/oauth2/userinfo", fg_route_oidc_userinfo, FG_ROUTE_CLIENT_AUTH,
     "oidc_userinfo_post"},
    {"GET", "/api/v1/clients", fg_route_admin_clients, FG_ROUTE_ADMIN, "admin_clients"},
    {"POST", "/api/v1/clients", fg_route_admin_client_add, FG_ROUTE_ADMIN, "admin_client_add"},
    {"DELETE", "/api/v1/clients/{name}", fg_route_admin_client_delete, FG_ROUTE_ADMIN,
     "admin_client_delete"},
};
const size_t fg_route_count = sizeof fg_routes / sizeof fg_routes[0];

const char **fg_route_labels(void)
{
    const char **labels = calloc(FG_ROUTE_LABELS, sizeof *labels);
    if (!labels) return NULL;
    for (size_t i = 0; i < fg_route_count; i++)
        labels[i] = fg_routes[i].label;
    labels[FG_ROUTE_LABEL_STATIC] = "static";
    labels[FG_ROUTE_LABEL_NOT_FOUND] = "not_found";
    labels[FG_ROUTE_LABEL_OTHER] = "other";
    return labels;
}

json_t *fg_user_json(const fg_store_user *user)
{
    char created[32];
    fg_iso8601(user->created_at, created, sizeof created);
    return json_pack("{s:s, s:s, s:i, s:s}", "username", user->username, "display_name",
                     user->display_name, "faces", user->faces, "created_at", created);
}

int fg_http_store_fail(fg_http_error *e, int rc, const fg_error *err, const char *what)
{
    if (rc == FG_STORE_EUNAVAILABLE) {
        fg_http_fail(e, 503, "unavailable", "%s: the database is unavailable; try again shortly",
                     what);
        e->retry_after = 1;
        return -1;
    }
    return fg_http_fail(e, 500, "internal", "%s: %s", what, err->message);
}

static void audit_write(fg_request *req, const char *event, const char *username,
                        const char *client, const char *outcome, double distance)
{
    fg_server *s = req->server;
    fg_audit_event ev = {.time = fg_now(), .distance = isfinite(distance) ? distance : NAN};
    fg_error err = {0};
    snprintf(ev.event, sizeof ev.event, "%s", event);
    snprintf(ev.username, sizeof ev.username, "%s", username ? username : "");
    snprintf(ev.client, sizeof ev.client, "%s", client);
    snprintf(ev.outcome, sizeof ev.outcome, "%s", outcome);
    if (fg_store_audit_add(s->store, &ev, &err) != FG_OK)
        fprintf(stderr, "facegate: audit event not written: %s\n", err.message);
    if (ev.time - atomic_load(&s->audit_pruned_at) >= 3600 &&
        fg_server_prune_audit(s, &err) != FG_OK)
        fprintf(stderr, "facegate: old audit events not deleted: %s\n", err.message);
}

void fg_audit(fg_request *req, const char *event, const char *username, const char *outcome,
              double distance)
{
    audit_write(req, event, username, req->client, outcome, distance);
}

void fg_audit_deleted(fg_request *req, const char *event, const fg_store_user *user, int by_admin)
{
    char pseudonym[32];
    snprintf(pseudonym, sizeof pseudonym, "deleted-%.8s", user->uid);
    audit_write(req, event, pseudonym, by_admin ? req->client : "", "ok", NAN);
}

/* Pixel coordinates to 1/100 px, scores to 4 decimals: what a UI can use, without float noise. */
static double rounded(double v, double scale)
{
    return round(v * scale) / scale;
}

/* The camera UI's hint for a set of faces in a width x height frame; quality (may be NULL)
 * the usable face's measurements: a face that would be refused at sign-up is not "ok". */
static const char *detect_hint(const fg_server *s, const fg_face *faces, size_t count, int width,
                               int height, const fg_face_quality *quality, const char **message)
{
    size_t usable = 0;
    const fg_face *f = NULL;
    float cx, cy;
    for (size_t i = 0; i < count; i++) {
        float side =
            faces[i].box.width < faces[i].box.height ? faces[i].box.width : faces[i].box.height;
        if (side >= (float)s->config.min_face_px) {
            usable++;
            f = &faces[i];
        }
    }
    if (count == 0) {
        *message = "No face found: look straight at the camera in good light.";
        return "no_face";
    }
    if (usable > 1) {
        *message = "Several faces are in the picture: only one person at a time, please.";
        return "multiple_faces";
    }
    if (usable == 0) {
        *message = "The face is too small: move closer to the camera.";
        return "move_closer";
    }
    cx = f->box.x + f->box.width / 2;
    cy = f->box.y + f->box.height / 2;
    if (fabsf(cx - (float)width / 2) > 0.2f * (float)width ||
        fabsf(cy - (float)height / 2) > 0.2f * (float)height) {
        *message = "Centre your face in the frame.";
        return "off_center";
    }
    if (quality && s->config.enrol_quality) {
        static const char *const hints[] = {"ok",       "move_closer", "blurred",
                                            "too_dark", "overexposed", "turned"};
        static const char *const messages[] = {"",
                                               "The face is too small: move closer to the camera.",
                                               "Hold still: the picture is blurred.",
                                               "Too dark: turn towards the light.",
                                               "Too bright: move out of direct light.",
                                               "Look straight at the camera."};
        fg_quality_verdict v = fg_quality_check(quality, &s->quality, NULL, 0);
        if (v != FG_QUALITY_OK) {
            *message = messages[v];
            return hints[v];
        }
    }
    *message = "Face found: hold still.";
    return "ok";
}

/* The fast path's per-frame measures of a face: what a liveness step will follow. */
static json_t *measures_json(const fg_face_mesh *m)
{
    return json_pack("{s:f, s:{s:f, s:f, s:f}, s:{s:f, s:f}, s:f}", "confidence",
                     rounded(m->confidence, 1e4), "pose", "yaw", rounded(m->yaw, 100), "pitch",
                     rounded(m->pitch, 100), "roll", rounded(m->roll, 100), "eye_openness", "right",
                     rounded(m->eye_openness[FG_EYE_RIGHT], 1e4), "left",
                     rounded(m->eye_openness[FG_EYE_LEFT], 1e4), "mouth_openness",
                     rounded(m->mouth_openness, 1e4));
}

void fg_route_detect(fg_request *req)
{
    fg_http_error e;
    fg_blob *images = NULL;
    size_t nimages = 0, count = 0;
    fg_face *faces = NULL;
    fg_face_mesh *meshes = NULL;
    int width = 0, height = 0, measured = 0;
    fg_face_quality quality;
    const char *hint, *message;
    json_t *list;
    int retry = 0;

    if (fg_ratelimit_take(req->server->ratelimit, FG_RL_DETECT, req->client, fg_now_ms(), &retry) !=
        FG_RL_OK) {
        fg_http_fail(&e, 429, "rate_limited",
                     "too many face detections from your address; try again in %d seconds", retry);
        e.retry_after = retry;
        fg_reply_error(req, &e);
        return;
    }
    if (fg_req_images(req, "image", 1, &images, &nimages, &e) != 0 ||
        fg_probe_detect(req, &images[0], &width, &height, &faces, &meshes, &count, &quality,
                        &measured, &e) != 0) {
        fg_blobs_free(images, nimages);
        fg_reply_error(req, &e);
        return;
    }
    fg_blobs_free(images, nimages);
    list = json_array();
    for (size_t i = 0; i < count; i++) {
        json_t *marks = json_array();
        for (int k = 0; k < FG_LANDMARKS; k++)
            json_array_append_new(marks, json_pack("[f, f]", rounded(faces[i].landmarks[k].x, 100),
                                                   rounded(faces[i].landmarks[k].y, 100)));
        json_t *face =
            json_pack("{s:{s:f, s:f, s:f, s:f}, s:f, s:o}", "box", "x",
                      rounded(faces[i].box.x, 100), "y", rounded(faces[i].box.y, 100), "width",
                      rounded(faces[i].box.width, 100), "height", rounded(faces[i].box.height, 100),
                      "score", rounded(faces[i].score, 1e4), "landmarks", marks);
        if (meshes) json_object_set_new(face, "measures", measures_json(&meshes[i]));
        json_array_append_new(list, face);
    }
    hint =
        detect_hint(req->server, faces, count, width, height, measured ? &quality : NULL, &message);
    free(faces);
    free(meshes);
    fg_reply_json(req, 200,
                  json_pack("{s:i, s:i, s:o, s:s, s:s}", "width", width, "height", height, "faces",
                            list, "hint", hint, "message", message));
}

/* Liveness: the process answers. Restart it if this fails. */
void fg_route_livez(fg_request *req)
{
    fg_reply_json(req, 200, json_pack("{s:s}", "status", "alive"));
}

/* Readiness (/readyz, and /healthz as before): the store answers and the server is not
 * stopping; engines and templates are loaded before the server listens at all. Send no
 * traffic here while it fails. */
void fg_route_healthz(fg_request *req)
{
    size_t users = 0;
    fg_error err = {0};
    if (atomic_load(&req->server->stopping)) {
        fg_reply_errorf(req, 503, "unavailable", "the server is stopping");
        return;
    }
    if (fg_store_user_count(req->server->store, &users, &err) != FG_OK) {
        fg_http_error e;
        fg_http_fail(&e, 503, "unavailable", "the store does not answer: %s", err.message);
        e.retry_after = 1;
        fg_reply_error(req, &e);
        return;
    }
    fg_reply_json(req, 200,
                  json_pack("{s:s, s:I, s:s}", "status", "ok", "users", (json_int_t)users,
                            "version", FG_SERVER_VERSION));
}

void fg_route_metrics(fg_request *req)
{
    fg_server *s = req->server;
    fg_metrics_gauges g = {.workers = s->config.workers};
    char *text;
    fg_store_user_count(s->store, &g.users, NULL);
    g.templates = fg_matcher_templates(s->matcher);
    fg_pool_load(s->pool, &g.queued, &g.busy);
    text = fg_metrics_render(s->metrics, &g);
    if (!text) {
        fg_reply_errorf(req, 500, "internal", "out of memory rendering metrics");
        return;
    }
    fg_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text);
    free(text);
}

void fg_route_jwks(fg_request *req)
{
    fg_jwt_keyset keys;
    char *text;
    fg_server_keys(req->server, &keys);
    text = fg_jwt_jwks(&keys);
    sodium_memzero(&keys, sizeof keys);
    if (!text) {
        fg_reply_errorf(req, 500, "internal", "out of memory");
        return;
    }
    fg_reply_text(req, 200, "application/json", text);
    free(text);
}
