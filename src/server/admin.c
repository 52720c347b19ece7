/*
 * admin.c - the admin routes: list users, delete a user, read the audit log, the accept
 * threshold on this population. http.c has checked the admin token before any of these runs.
 */
#include "core/clock.h"
#include "server/routes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_DEFAULT 100
#define AUDIT_MAX 1000

/* Answers a failed store call: 503 or 500. */
static void reply_store_error(fg_request *req, int rc, const fg_error *err, const char *what)
{
    fg_http_error e;
    fg_http_store_fail(&e, rc, err, what);
    fg_reply_error(req, &e);
}

void fg_route_admin_users(fg_request *req)
{
    fg_store_user *users = NULL;
    size_t count = 0;
    fg_error err = {0};
    json_t *list;
    int rc = fg_store_user_list(req->server->store, &users, &count, &err);
    if (rc != FG_OK) {
        reply_store_error(req, rc, &err, "could not list users");
        return;
    }
    list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, fg_user_json(&users[i]));
    free(users);
    fg_reply_json(req, 200, json_pack("{s:o}", "users", list));
}

void fg_route_admin_user_delete(fg_request *req)
{
    fg_server *s = req->server;
    fg_store_user user;
    fg_error err = {0};
    int rc = FG_STORE_ENOTFOUND;
    /* A name that cannot be a username cannot exist: same answer as an unknown one. */
    if (fg_store_username_valid(req->param))
        rc = fg_store_user_get(s->store, req->param, &user, &err);
    /* The store's change feed takes the user out of every server's matcher. */
    if (rc == FG_OK) rc = fg_store_user_delete(s->store, user.id, &err);
    if (rc == FG_STORE_ENOTFOUND) {
        fg_reply_errorf(req, 404, "not_found", "no user named \"%.64s\"", req->param);
        return;
    }
    if (rc != FG_OK) {
        reply_store_error(req, rc, &err, "could not delete the user");
        return;
    }
    fg_audit_deleted(req, "admin_delete", &user, 1);
    fg_reply_json(req, 200, json_pack("{s:s}", "deleted", user.username));
}

void fg_route_admin_audit(fg_request *req)
{
    const char *limit_text = fg_req_query(req, "limit");
    long limit = AUDIT_DEFAULT;
    fg_audit_event *events = NULL;
    size_t count = 0;
    fg_error err = {0};
    json_t *list;
    int rc;
    if (limit_text) {
        char *end;
        limit = strtol(limit_text, &end, 10);
        if (*end || end == limit_text || limit < 1 || limit > AUDIT_MAX) {
            fg_reply_errorf(req, 400, "invalid_field", "limit must be a number from 1 to %d",
                            AUDIT_MAX);
            return;
        }
    }
    rc = fg_store_audit_list(req->server->store, (size_t)limit, &events, &count, &err);
    if (rc != FG_OK) {
        reply_store_error(req, rc, &err, "could not read the audit log");
        return;
    }
    list = json_array();
    for (size_t i = 0; i < count; i++) {
        const fg_audit_event *ev = &events[i];
        char when[32];
        fg_iso8601(ev->time, when, sizeof when);
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "time", when, "event", ev->event,
                      "username", ev->username, "client", ev->client, "outcome", ev->outcome,
                      "distance", isnan(ev->distance) ? json_null() : json_real(ev->distance)));
    }
    free(events);
    fg_reply_json(req, 200, json_pack("{s:o}", "events", list));
}

/* Rounded for display: a summary, not a measurement to 17 digits. */
static json_t *rounded(double x, double unit)
{
    return json_real(round(x / unit) * unit);
}

void fg_route_admin_threshold(fg_request *req)
{
    fg_server *s = req->server;
    const fg_policy *p = &s->policy;
    fg_policy_summary sum;
    if (fg_matcher_policy_summary(s->matcher, p, &sum) != FG_OK) {
        fg_reply_errorf(req, 500, "internal", "out of memory estimating the threshold");
        return;
    }
    const char *basis = p->fixed ? "fixed" : sum.estimated ? "estimated" : "fallback";
    json_t *body = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:I, s:I, s:o, s:I, s:I}", "policy",
        p->fixed ? "fixed" : "adaptive", "basis", basis, "threshold", rounded(sum.threshold, 1e-4),
        "threshold_low", rounded(sum.threshold_low, 1e-4), "threshold_high",
        rounded(sum.threshold_high, 1e-4), "target_far", json_real(p->target_far), "ceiling",
        rounded(p->ceiling, 1e-4), "min_users", p->min_users, "fallback",
        rounded(p->fallback, 1e-4), "margin", rounded(fg_policy_margin(p, sum.threshold), 1e-4),
        "users", (json_int_t)sum.users, "templates", (json_int_t)sum.templates, "estimated_far",
        json_real(sum.estimated_far), "impostor_pairs", (json_int_t)sum.pairs, "impostor_accepts",
        (json_int_t)sum.accepted);
    fg_reply_json(req, 200, body);
}
