/*
 * http.c - libmicrohttpd glue: routing, body limits, common headers, replies, request log, and
 * the worker model.
 *
 * Worker model. A small pool of HTTP threads (IO_THREADS) does only network I/O and the cheap
 * routes (health, metrics, keys, sessions, admin, static files), which never wait on an
 * engine. A face route (FG_ROUTE_INFER) suspends its connection and goes to the inference
 * pool's queue (pool.h); the first free engine runs it and resumes the connection, and the HTTP
 * thread sends the reply. So every engine serves every connection (a keep-alive connection
 * stays on the HTTP thread that accepted it, but that thread never runs inference), and health
 * checks are answered while every engine is busy.
 *
 * The access handler is called once with the headers, then once per body chunk, then once
 * more with no data: the route runs on that last call, with the whole (bounded) body. A body
 * announced larger than the limit (Content-Length) is refused on the first call, before any of
 * it is read; MHD then closes the connection after the 413. A chunked body that grows past the
 * limit stops being kept (its bytes are dropped as they arrive) and gets the 413 when it ends;
 * past twice the limit the connection is cut.
 *
 * Slow clients. libmicrohttpd's timeout is an idle timeout, which a client sending one byte
 * every few seconds never trips. So each connection is tracked from the moment it opens (or
 * its previous reply was queued) until its request has fully arrived, and a reaper thread shuts
 * down connections that took longer than --request-timeout; the number of connections per
 * client address is capped (--max-connections-per-client) so one address cannot hold them all.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"

/* HTTP threads: one would do, a second keeps health checks answered while the other one is
 * busy with a large body or a slow disk. */
#define IO_THREADS 2
#define MAX_CONNECTIONS 512
#define REAP_INTERVAL_MS 250

#define CSP_API "default-src 'none'; frame-ancestors 'none'"
/* The web app: its own scripts and styles, webcam frames as blob:/data: images, no framing. */
#define CSP_APP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                    \
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "                     \
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

/* A connection as the reaper sees it. Lives from MHD's "started" to its "closed" notification;
 * MHD closes the socket only after the latter, so under conns_lock the fd is still ours. */
typedef struct fg_conn {
    struct fg_conn *prev, *next;
    int fd;
    double since; /* when the current request began to be awaited */
    int exempt;   /* a request is being processed: no deadline */
    int reaped;
} fg_conn;

struct fg_http {
    pthread_mutex_t conns_lock;
    fg_conn *conns;
    pthread_t reaper;
    int reaper_started;
    int stopping;
    pthread_cond_t stop;
};

int fg_http_fail(fg_http_error *e, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    e->code = code;
    e->retry_after = 0;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* --- replies -------------------------------------------------------------------------------- */

static void set_response(fg_request *req, int status, struct MHD_Response *response)
{
    if (req->response) MHD_destroy_response(req->response);
    req->response = response;
    req->status = status;
}

void fg_reply_text(fg_request *req, int status, const char *content_type, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) return;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    set_response(req, status, r);
}

void fg_reply_json(fg_request *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct MHD_Response *r;
    json_decref(body);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        r = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        status = 500;
    } else {
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!r) free(text);
    }
    if (!r) return;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    set_response(req, status, r);
}

void fg_reply_error(fg_request *req, const fg_http_error *e)
{
    req->error_code = e->code;
    fg_reply_json(req, e->status,
                  json_pack("{s:{s:s, s:s}}", "error", "code", e->code, "message", e->message));
    if (e->retry_after > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", e->retry_after);
        fg_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
}

void fg_reply_errorf(fg_request *req, int status, const char *code, const char *fmt, ...)
{
    fg_http_error e = {.status = status, .code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    fg_reply_error(req, &e);
}

void fg_reply_header(fg_request *req, const char *name, const char *value)
{
    if (req->response) MHD_add_response_header(req->response, name, value);
}

/* --- request values ------------------------------------------------------------------------- */

static const char *lookup(const fg_request *req, int kind, const char *name, int nocase)
{
    for (size_t i = 0; i < req->nvalues; i++) {
        const fg_kv *kv = &req->values[i];
        if (kv->kind == kind && kv->key &&
            (nocase ? strcasecmp(kv->key, name) : strcmp(kv->key, name)) == 0)
            return kv->value;
    }
    return NULL;
}

const char *fg_req_header(const fg_request *req, const char *name)
{
    return lookup(req, MHD_HEADER_KIND, name, 1);
}

const char *fg_req_cookie(const fg_request *req, const char *name)
{
    return lookup(req, MHD_COOKIE_KIND, name, 0);
}

const char *fg_req_query(const fg_request *req, const char *name)
{
    return lookup(req, MHD_GET_ARGUMENT_KIND, name, 0);
}

size_t fg_req_header_count(const fg_request *req, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < req->nvalues; i++)
        n += req->values[i].kind == MHD_HEADER_KIND && req->values[i].key &&
             strcasecmp(req->values[i].key, name) == 0;
    return n;
}

static enum MHD_Result count_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind, (void)key, (void)value;
    (*(size_t *)cls)++;
    return MHD_YES;
}

static enum MHD_Result copy_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    fg_request *req = cls;
    req->values[req->nvalues++] = (fg_kv){(int)kind, key, value};
    return MHD_YES;
}

/* Copies the pointers to the headers, cookies and query arguments (MHD keeps the strings for
 * the request's lifetime), so handlers on other threads never call into the connection. */
static int snapshot_values(fg_request *req)
{
    const int kinds = MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND;
    size_t n = 0;
    MHD_get_connection_values(req->conn, kinds, count_value, &n);
    req->values = calloc(n ? n : 1, sizeof *req->values);
    if (!req->values) return -1;
    MHD_get_connection_values(req->conn, kinds, copy_value, req);
    return 0;
}

/* --- routing -------------------------------------------------------------------------------- */

/* Does path match the route's pattern? A "{name}" segment (one per pattern, at the end or
 * between two others) matches one non-empty segment, copied to param. */
static int path_matches(const char *pattern, const char *path, char *param, size_t cap)
{
    const char *brace = strstr(pattern, "/{");
    const char *suffix, *rest, *end;
    size_t prefix, len;
    if (!brace) return strcmp(pattern, path) == 0;
    prefix = (size_t)(brace - pattern) + 1; /* up to and including the '/' */
    if (strncmp(pattern, path, prefix) != 0) return 0;
    suffix = strchr(brace, '}') + 1; /* "" or "/more" */
    rest = path + prefix;
    end = strchr(rest, '/');
    if (!end) end = rest + strlen(rest);
    len = (size_t)(end - rest);
    if (len == 0 || len >= cap || strcmp(end, suffix) != 0) return 0;
    memcpy(param, rest, len);
    param[len] = 0;
    return 1;
}

/* Is the route served on the listener the request came through? With an admin listener, the
 * operations routes live there, and nothing else does. */
static int route_enabled(const fg_request *req, const fg_route *r)
{
    int ops = (r->flags & FG_ROUTE_OPS) != 0;
    if ((r->flags & FG_ROUTE_SEED) && !req->server->config.seed_routes) return 0;
    if (req->listener->admin) return ops;
    return !ops || !req->server->config.admin_host[0];
}

/* Finds the route of method+path. *path_known is set when another method has the path. */
static const fg_route *find_route(fg_request *req, int *path_known)
{
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    *path_known = 0;
    for (size_t i = 0; i < fg_route_count; i++) {
        const fg_route *r = &fg_routes[i];
        char param[sizeof req->param];
        if (!route_enabled(req, r)) continue;
        if (!path_matches(r->path, req->path, param, sizeof param)) continue;
        if (strcmp(r->method, method) == 0) {
            memcpy(req->param, param, sizeof param);
            req->label = i;
            return r;
        }
        *path_known = 1;
    }
    return NULL;
}

/* The allowed methods of a path, for 405 and preflight answers. */
static void allowed_methods(fg_request *req, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < fg_route_count; i++) {
        char param[sizeof req->param];
        if (!route_enabled(req, &fg_routes[i])) continue;
        if (!path_matches(fg_routes[i].path, req->path, param, sizeof param)) continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", fg_routes[i].method);
        if (len >= cap) break;
    }
}

static const char *allowed_origin(fg_request *req)
{
    const char *origin = fg_req_header(req, "Origin");
    if (!origin) return NULL;
    for (int i = 0; i < req->server->config.cors_count; i++)
        if (strcmp(origin, req->server->config.cors_origins[i]) == 0) return origin;
    return NULL;
}

/* Constant-time check of the admin bearer token (hashing first makes lengths equal). */
static int admin_authorized(fg_request *req)
{
    const char *auth = fg_req_header(req, "Authorization");
    uint8_t given[32], want[32];
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return 0;
    auth += 7;
    crypto_generichash(given, sizeof given, (const uint8_t *)auth, strlen(auth), NULL, 0);
    crypto_generichash(want, sizeof want, (const uint8_t *)req->server->admin_token_hex,
                       strlen(req->server->admin_token_hex), NULL, 0);
    return sodium_memcmp(given, want, sizeof want) == 0;
}

static void reply_preflight(fg_request *req)
{
    char methods[128];
    fg_reply_text(req, 204, "text/plain", "");
    if (!allowed_origin(req)) return;
    allowed_methods(req, methods, sizeof methods);
    fg_reply_header(req, "Access-Control-Allow-Methods", methods[0] ? methods : "GET");
    fg_reply_header(req, "Access-Control-Allow-Headers", "Content-Type, Authorization");
    fg_reply_header(req, "Access-Control-Max-Age", "600");
}

static int state_changing(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

/* Is origin ("https://host[:port]") the origin the request was sent to? Its host[:port] must
 * be the request's Host (or the X-Forwarded-Host of a trusted proxy), a default port written or
 * not. */
static int same_origin(const fg_request *req, const char *origin)
{
    const fg_server_config *c = &req->server->config;
    const char *host = fg_req_header(req, "Host");
    const char *forwarded = fg_req_header(req, "X-Forwarded-Host");
    const char *sep = strstr(origin, "://");
    size_t scheme_len, hlen;
    if (forwarded && fg_cidr_match(c->trusted_proxies, c->trusted_proxy_count, req->peer))
        host = forwarded;
    if (!host || !sep) return 0;
    scheme_len = (size_t)(sep - origin);
    origin = sep + 3;
    hlen = strlen(host);
    if (scheme_len == 4 && strncasecmp(sep - 4, "http", 4) == 0 && hlen > 3 &&
        strcmp(host + hlen - 3, ":80") == 0)
        hlen -= 3;
    else if (scheme_len == 5 && strncasecmp(sep - 5, "https", 5) == 0 && hlen > 4 &&
             strcmp(host + hlen - 4, ":443") == 0)
        hlen -= 4;
    return strlen(origin) == hlen && strncasecmp(origin, host, hlen) == 0;
}

/* CSRF: may this state-changing request have come from a page on another site? Browsers send
 * Origin with every POST/DELETE (and "null" from sandboxed or opaque pages); older ones at
 * least Sec-Fetch-Site. A request with neither does not come from a browser. */
static int foreign_origin(fg_request *req)
{
    const char *origin = fg_req_header(req, "Origin");
    const char *site = fg_req_header(req, "Sec-Fetch-Site");
    if (origin) return !allowed_origin(req) && !same_origin(req, origin);
    return site && (strcasecmp(site, "cross-site") == 0 || strcasecmp(site, "same-site") == 0);
}

/* Runs the route's handler and makes sure there is a reply. */
static void run_handler(fg_request *req)
{
    req->route->handler(req);
    if (!req->response)
        fg_reply_errorf(req, 500, "internal", "the server could not build a response");
}

/* Answers what can be answered before the route runs (413, preflight, 404, 405, 401...) and
 * finds the route. Returns 1 when the route's handler must still run. */
static int route_request(fg_request *req)
{
    fg_server *s = req->server;
    int path_known = 0;

    if (req->body_too_large) {
        fg_reply_errorf(req, 413, "body_too_large",
                        "the request body is larger than the %zu-byte limit", s->config.body_limit);
        return 0;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        reply_preflight(req);
        return 0;
    }
    req->route = find_route(req, &path_known);
    if (!req->route) {
        char methods[128];
        if (path_known) {
            req->label = FG_ROUTE_LABEL_OTHER;
            allowed_methods(req, methods, sizeof methods);
            fg_reply_errorf(req, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
                            req->method, req->path, methods);
            fg_reply_header(req, "Allow", methods);
            return 0;
        }
        if (!req->listener->admin &&
            (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) &&
            fg_static_serve(req)) {
            req->label = FG_ROUTE_LABEL_STATIC;
            req->is_static = 1;
            return 0;
        }
        req->label = FG_ROUTE_LABEL_NOT_FOUND;
        fg_reply_errorf(req, 404, "not_found", "no route for %s %s", req->method, req->path);
        return 0;
    }
    if (state_changing(req->method) && !(req->route->flags & FG_ROUTE_CLIENT_AUTH) &&
        foreign_origin(req)) {
        fg_reply_errorf(req, 403, "forbidden_origin",
                        "%s %s from another site (%.100s) is refused: only this server's own "
                        "pages and the --cors-origin list may change state",
                        req->method, req->path,
                        fg_req_header(req, "Origin") ? fg_req_header(req, "Origin")
                                                     : fg_req_header(req, "Sec-Fetch-Site"));
        return 0;
    }
    if (req->body_kind == FG_BODY_UNSUPPORTED ||
        (req->body_kind == FG_BODY_FORM && !(req->route->flags & FG_ROUTE_CLIENT_AUTH))) {
        fg_http_error e;
        fg_body_unsupported(req, &e);
        fg_reply_error(req, &e);
        return 0;
    }
    if ((req->route->flags & FG_ROUTE_ADMIN) && !admin_authorized(req)) {
        fg_reply_errorf(req, 401, "unauthorized",
                        "this route needs Authorization: Bearer <admin token> (the token is in "
                        "admin.token in the data directory)");
        fg_reply_header(req, "WWW-Authenticate", "Bearer");
        return 0;
    }
    return 1;
}

/* --- connections and the reaper ------------------------------------------------------------- */

static fg_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* exempt 1: a request is being processed; 0: the clock runs again from now. */
static void conn_exempt(fg_server *s, struct MHD_Connection *conn, int exempt)
{
    fg_conn *c = conn_of(conn);
    if (!c) return;
    pthread_mutex_lock(&s->http->conns_lock);
    c->exempt = exempt;
    c->since = fg_monotonic();
    pthread_mutex_unlock(&s->http->conns_lock);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    fg_server *s = ((const fg_listener *)cls)->server;
    struct fg_http *h = s->http;
    fg_conn *c = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info || !(c = calloc(1, sizeof *c))) return; /* untracked: MHD's timeout applies */
        c->fd = info->connect_fd;
        c->since = fg_monotonic();
        pthread_mutex_lock(&h->conns_lock);
        c->next = h->conns;
        if (h->conns) h->conns->prev = c;
        h->conns = c;
        pthread_mutex_unlock(&h->conns_lock);
        *socket_context = c;
        return;
    }
    if (!c) return;
    pthread_mutex_lock(&h->conns_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&h->conns_lock);
    free(c);
    *socket_context = NULL;
}

/* Shuts down (MHD then closes) connections whose request did not arrive in time. */
static void *reaper_main(void *arg)
{
    fg_server *s = arg;
    struct fg_http *h = s->http;
    const double limit = (double)s->config.request_timeout_s;
    pthread_mutex_lock(&h->conns_lock);
    while (!h->stopping) {
        struct timespec until;
        double now = fg_monotonic();
        int reaped = 0;
        for (fg_conn *c = h->conns; c; c = c->next) {
            if (c->exempt || c->reaped || now - c->since <= limit) continue;
            shutdown(c->fd, SHUT_RDWR);
            c->reaped = 1;
            reaped++;
        }
        if (reaped) {
            fg_metrics_timeouts(s->metrics, (unsigned)reaped);
            fprintf(stderr,
                    "facegate: closed %d connection%s that sent no complete request within "
                    "--request-timeout (%u s)\n",
                    reaped, reaped == 1 ? "" : "s", s->config.request_timeout_s);
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += REAP_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&h->stop, &h->conns_lock, &until);
    }
    pthread_mutex_unlock(&h->conns_lock);
    return NULL;
}

/* --- requests ------------------------------------------------------------------------------- */

/* Headers every reply gets, then queue it. */
static enum MHD_Result queue(fg_request *req)
{
    struct MHD_Response *r = req->response;
    const char *origin = allowed_origin(req);
    enum MHD_Result ok;
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    if (req->is_static) {
        MHD_add_response_header(r, "Content-Security-Policy", CSP_APP);
    } else {
        MHD_add_response_header(r, "Content-Security-Policy", CSP_API);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    if (origin) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(r, "Access-Control-Allow-Credentials", "true");
        MHD_add_response_header(r, "Access-Control-Expose-Headers", "Retry-After");
    }
    if (req->server->config.cors_count > 0) MHD_add_response_header(r, "Vary", "Origin");
    if (req->close) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    conn_exempt(req->server, req->conn, 0); /* sending the reply is on the clock again */
    ok = MHD_queue_response(req->conn, (unsigned)req->status, r);
    MHD_destroy_response(r);
    req->response = NULL;
    req->state = FG_REQ_ANSWERED;
    return ok;
}

static void peer_address(struct MHD_Connection *conn, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info ? info->client_addr : NULL;
    snprintf(buf, cap, "unknown");
    if (!sa) return;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)cap);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)cap);
        else
            inet_ntop(AF_INET6, a, buf, (socklen_t)cap);
    }
}

fg_body_kind fg_body_kind_of(const char *content_type, int has_body)
{
    size_t len;
    if (content_type && (strncasecmp(content_type, "image/", 6) == 0 ||
                         strncasecmp(content_type, "application/octet-stream", 24) == 0))
        return FG_BODY_IMAGE;
    if (!has_body) return FG_BODY_NONE;
    if (!content_type) return FG_BODY_UNSUPPORTED;
    if (strncasecmp(content_type, "multipart/form-data", 19) == 0) return FG_BODY_MULTIPART;
    if (strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0)
        return FG_BODY_FORM;
    /* application/json or application/<something>+json, parameters (charset) allowed. Not
     * text/plain or a urlencoded form, which a cross-site HTML form can send (CSRF). */
    len = strcspn(content_type, "; \t");
    if (strncasecmp(content_type, "application/", 12) == 0 &&
        ((len == 16 && strncasecmp(content_type + 12, "json", 4) == 0) ||
         (len > 17 && strncasecmp(content_type + len - 5, "+json", 5) == 0)))
        return FG_BODY_JSON;
    return FG_BODY_UNSUPPORTED;
}

/* First call of a request: set it up, and refuse an announced oversized body at once. */
static fg_request *begin_request(const fg_listener *listener, struct MHD_Connection *conn,
                                 const char *url, const char *method)
{
    fg_server *s = listener->server;
    fg_request *req = calloc(1, sizeof *req);
    const char *length, *transfer;
    unsigned long long announced = 0;
    if (!req) return NULL;
    atomic_fetch_add(&s->in_flight, 1);
    req->server = s;
    req->listener = listener;
    req->conn = conn;
    req->started = fg_monotonic();
    req->label = FG_ROUTE_LABEL_OTHER;
    snprintf(req->method, sizeof req->method, "%s", method);
    snprintf(req->path, sizeof req->path, "%s", url);
    peer_address(conn, req->peer, sizeof req->peer);
    if (snapshot_values(req) != 0) {
        snprintf(req->client, sizeof req->client, "%s", req->peer);
        fg_reply_errorf(req, 500, "internal", "out of memory");
        return req;
    }
    fg_proxy_client(s->config.trusted_proxies, s->config.trusted_proxy_count, req->peer,
                    fg_req_header(req, "X-Forwarded-For"), req->client, sizeof req->client);
    req->forwarded_https = fg_proxy_https(s->config.trusted_proxies, s->config.trusted_proxy_count,
                                          req->peer, fg_req_header(req, "X-Forwarded-Proto"));

    length = fg_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    transfer = fg_req_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    /* Two lengths, or a length and chunking: two readers of this request (a proxy and us)
     * could split it differently (request smuggling). Refuse it and close the connection. */
    if (fg_req_header_count(req, MHD_HTTP_HEADER_CONTENT_LENGTH) > 1 || (length && transfer)) {
        fg_reply_errorf(req, 400, "bad_request", "the request has %s: its length is ambiguous",
                        transfer ? "both Content-Length and Transfer-Encoding"
                                 : "several Content-Length headers");
        req->close = 1;
        return req;
    }
    if (length) announced = strtoull(length, NULL, 10);
    req->body_kind = fg_body_kind_of(fg_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE),
                                     announced > 0 || transfer != NULL);
    if (announced > s->config.body_limit) {
        req->body_too_large = 1;
        route_request(req);
    }
    return req;
}

/* The job the inference pool runs: the handler, on an engine; then the reply can go. */
static void run_on_engine(void *arg, fg_engine *engine)
{
    fg_request *req = arg;
    double started = fg_monotonic();
    char timing[96];
    req->engine = engine;
    run_handler(req);
    req->engine = NULL;
    /* How long it waited for an engine and how long it held one (W3C Server-Timing). */
    snprintf(timing, sizeof timing, "queue;dur=%.1f, engine;dur=%.1f",
             (started - req->queued_at) * 1000.0, (fg_monotonic() - started) * 1000.0);
    fg_reply_header(req, "Server-Timing", timing);
    MHD_resume_connection(req->conn);
}

/* The body has arrived: route it, and run the handler here or on the inference pool. */
static enum MHD_Result body_complete(fg_request *req)
{
    fg_server *s = req->server;
    conn_exempt(s, req->conn, 1);
    if (!req->response && route_request(req)) {
        if (!(req->route->flags & FG_ROUTE_INFER)) {
            run_handler(req);
        } else {
            /* Suspend first: the job may finish (and resume) before submit returns. */
            req->state = FG_REQ_QUEUED;
            req->queued_at = fg_monotonic();
            MHD_suspend_connection(req->conn);
            if (fg_pool_submit(s->pool, run_on_engine, req) == 0) return MHD_YES;
            fg_http_error e;
            fg_http_fail(&e, 503, "busy",
                         "every engine is busy and %zu requests are waiting; "
                         "try again in a moment",
                         s->config.queue_limit);
            e.retry_after = 1;
            fg_reply_error(req, &e);
            MHD_resume_connection(req->conn);
            return MHD_YES;
        }
    }
    return req->response ? queue(req) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    const fg_listener *listener = cls;
    fg_server *s = listener->server;
    fg_request *req = *con_cls;
    (void)version;

    if (!req) {
        req = begin_request(listener, conn, url, method);
        if (!req) return MHD_NO;
        *con_cls = req;
        return req->response ? queue(req) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->response || req->state != FG_REQ_RECEIVING) return MHD_YES; /* answered: drain */
        if (fg_body_append(req, upload_data, n) != 0 &&
            req->body_received > 2 * s->config.body_limit)
            return MHD_NO;
        return MHD_YES;
    }
    switch (req->state) {
    case FG_REQ_RECEIVING:
        return body_complete(req);
    case FG_REQ_QUEUED: /* resumed: the engine's reply is ready */
        return req->response ? queue(req) : MHD_NO;
    default:
        return MHD_YES; /* queued already */
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    fg_server *s = ((const fg_listener *)cls)->server;
    fg_request *req = *con_cls;
    double seconds;
    char when[32];
    if (!req) return;
    conn_exempt(s, conn, 0); /* the next request's clock starts now */
    seconds = fg_monotonic() - req->started;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && req->status == 0) req->status = 499;
    fg_metrics_request(s->metrics, req->label, req->status, seconds);
    fg_iso8601(fg_now(), when, sizeof when);
    /* The path was percent-decoded: keep control bytes from forging log lines. */
    for (char *p = req->path; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    fprintf(stderr, "%s %s %s %s %d%s%s %.1fms\n", when, req->client, req->method, req->path,
            req->status, req->error_code ? " " : "", req->error_code ? req->error_code : "",
            seconds * 1000.0);
    if (req->response) MHD_destroy_response(req->response);
    fg_body_free(req);
    free(req->values);
    free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("facegate: http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* Starts one listener on host:port with `threads` workers (1: MHD's own polling thread runs
 * the requests; it refuses a pool of one). */
static int start_listener(fg_listener *l, const char *host, int port, int threads, fg_error *err)
{
    fg_server *s = l->server;
    struct addrinfo hints = {0}, *ai = NULL;
    struct sockaddr_storage addr;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    int rc;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host, NULL, &hints, &ai);
    if (rc != 0 || !ai)
        return fg_fail(err, FG_EINVAL, "cannot resolve host \"%s\": %s", host, gai_strerror(rc));
    memset(&addr, 0, sizeof addr);
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    if (addr.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);
    }
    freeaddrinfo(ai);

    /* One thread: MHD's own polling thread (it refuses a pool of one). */
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    l->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
        s->config.timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->config.max_per_client,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        l, MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
    if (!l->daemon)
        return fg_fail(err, FG_EIO, "cannot listen on %s:%d (address in use or not permitted?)",
                       host, port);
    info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
    l->bound_port = info ? info->port : port;
    return FG_OK;
}

int fg_http_start(fg_server *s, fg_error *err)
{
    int rc;
    s->http = calloc(1, sizeof *s->http);
    if (!s->http) return fg_fail(err, FG_ENOMEM, "out of memory");
    pthread_mutex_init(&s->http->conns_lock, NULL);
    pthread_cond_init(&s->http->stop, NULL);
    s->public_listener = (fg_listener){.server = s};
    s->admin_listener = (fg_listener){.server = s, .admin = 1};
    rc = start_listener(&s->public_listener, s->config.host, s->config.port, IO_THREADS, err);
    if (rc != FG_OK) return rc;
    s->bound_port = s->public_listener.bound_port;
    if (s->config.admin_host[0] && (rc = start_listener(&s->admin_listener, s->config.admin_host,
                                                        s->config.admin_port, 1, err)) != FG_OK)
        return rc;
    if (pthread_create(&s->http->reaper, NULL, reaper_main, s) != 0)
        return fg_fail(err, FG_ENOMEM, "cannot start the connection reaper thread");
    s->http->reaper_started = 1;
    return FG_OK;
}

/* Stops listening, gives running requests up to STOP_GRACE_S to finish and be answered (idle
 * keep-alive connections do not count), then closes everything. A request waiting for an
 * engine is suspended, and MHD must not stop with suspended connections: the wait covers them
 * (the pool keeps running until after this returns). */
#define STOP_GRACE_S 10.0

void fg_http_stop(fg_server *s)
{
    double deadline = fg_monotonic() + STOP_GRACE_S;
    fg_listener *listeners[] = {&s->public_listener, &s->admin_listener};
    atomic_store(&s->stopping, 1);
    for (int i = 0; i < 2; i++)
        if (listeners[i]->daemon) MHD_quiesce_daemon(listeners[i]->daemon);
    while (atomic_load(&s->in_flight) > 0 && fg_monotonic() < deadline) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    for (int i = 0; i < 2; i++) {
        if (listeners[i]->daemon) MHD_stop_daemon(listeners[i]->daemon);
        listeners[i]->daemon = NULL;
    }
    if (!s->http) return;
    if (s->http->reaper_started) {
        pthread_mutex_lock(&s->http->conns_lock);
        s->http->stopping = 1;
        pthread_cond_signal(&s->http->stop);
        pthread_mutex_unlock(&s->http->conns_lock);
        pthread_join(s->http->reaper, NULL);
    }
    pthread_cond_destroy(&s->http->stop);
    pthread_mutex_destroy(&s->http->conns_lock);
    free(s->http);
    s->http = NULL;
}
