/*
 * http.c - libmicrohttpd glue: routing, body limits, common headers, replies, request log.
 *
 * MHD runs a pool of `workers` threads (MHD_OPTION_THREAD_POOL_SIZE); each request is handled
 * to completion on one of them, so a handler may block on an engine for a few hundred ms.
 * The access handler is called once with the headers, then once per body chunk, then once
 * more with no data: the route runs on that last call, with the whole (bounded) body.
 *
 * A body announced larger than the limit (Content-Length) is refused on the first call, before
 * any of it is read; MHD then closes the connection after the 413. A chunked body that grows
 * past the limit stops being kept (its bytes are dropped as they arrive) and gets the 413 when
 * it ends; past twice the limit the connection is cut.
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

#include "image/error.h"

#define CSP_API "default-src 'none'; frame-ancestors 'none'"
/* The web app: its own scripts and styles, webcam frames as blob:/data: images, no framing. */
#define CSP_APP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                    \
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "                     \
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

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

int64_t fg_now(void)
{
    return (int64_t)time(NULL);
}

double fg_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fg_iso8601(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
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

const char *fg_req_header(fg_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *fg_req_cookie(fg_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *fg_req_query(fg_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
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

static void dispatch(fg_request *req)
{
    fg_server *s = req->server;
    int path_known = 0;

    if (req->body_too_large) {
        fg_reply_errorf(req, 413, "body_too_large",
                        "the request body is larger than the %zu-byte limit", s->config.body_limit);
        return;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        reply_preflight(req);
        return;
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
            return;
        }
        if (!req->listener->admin &&
            (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) &&
            fg_static_serve(req)) {
            req->label = FG_ROUTE_LABEL_STATIC;
            req->is_static = 1;
            return;
        }
        req->label = FG_ROUTE_LABEL_NOT_FOUND;
        fg_reply_errorf(req, 404, "not_found", "no route for %s %s", req->method, req->path);
        return;
    }
    if ((req->route->flags & FG_ROUTE_ADMIN) && !admin_authorized(req)) {
        fg_reply_errorf(req, 401, "unauthorized",
                        "this route needs Authorization: Bearer <admin token> (the token is in "
                        "admin.token in the data directory)");
        fg_reply_header(req, "WWW-Authenticate", "Bearer");
        return;
    }
    req->route->handler(req);
    if (!req->response)
        fg_reply_errorf(req, 500, "internal", "the server could not build a response");
}

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
    ok = MHD_queue_response(req->conn, (unsigned)req->status, r);
    MHD_destroy_response(r);
    req->response = NULL;
    return ok;
}

static void client_address(struct MHD_Connection *conn, char *buf, size_t cap)
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

/* What the body is, from its Content-Type. An empty image body is still an (empty) image. */
static fg_body_kind body_kind(const char *content_type, int has_body)
{
    if (content_type && (strncasecmp(content_type, "image/", 6) == 0 ||
                         strncasecmp(content_type, "application/octet-stream", 24) == 0))
        return FG_BODY_IMAGE;
    if (!has_body) return FG_BODY_NONE;
    /* Not application/x-www-form-urlencoded: that is what `curl -d` labels a JSON body. */
    if (content_type && strncasecmp(content_type, "multipart/form-data", 19) == 0)
        return FG_BODY_MULTIPART;
    return FG_BODY_JSON;
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size);

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
    client_address(conn, req->peer, sizeof req->peer);
    fg_proxy_client(s->config.trusted_proxies, s->config.trusted_proxy_count, req->peer,
                    fg_req_header(req, "X-Forwarded-For"), req->client, sizeof req->client);
    req->forwarded_https = fg_proxy_https(s->config.trusted_proxies, s->config.trusted_proxy_count,
                                          req->peer, fg_req_header(req, "X-Forwarded-Proto"));

    length = fg_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    transfer = fg_req_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (length) announced = strtoull(length, NULL, 10);
    req->body_kind = body_kind(fg_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE),
                               announced > 0 || transfer != NULL);
    if (announced > s->config.body_limit) {
        req->body_too_large = 1;
        dispatch(req);
    } else if (req->body_kind == FG_BODY_MULTIPART) {
        req->post = MHD_create_post_processor(conn, 64 * 1024, on_part, req);
    }
    return req;
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
        if (req->response) return MHD_YES; /* already answered: drain */
        if (fg_body_append(req, upload_data, n) != 0 &&
            req->body_received > 2 * s->config.body_limit)
            return MHD_NO;
        return MHD_YES;
    }
    if (req->status != 0 && !req->response) return MHD_YES; /* queued already */
    if (!req->response) dispatch(req);
    if (!req->response) return MHD_NO;
    return queue(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    fg_server *s = ((const fg_listener *)cls)->server;
    fg_request *req = *con_cls;
    double seconds;
    char when[32];
    (void)conn;
    if (!req) return;
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
    free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    fg_request *req = cls;
    fg_part *part;
    (void)kind, (void)transfer_encoding;
    if (off == 0) {
        fg_part *grown;
        if (req->nparts >= 16) return MHD_NO;
        grown = realloc(req->parts, (req->nparts + 1) * sizeof *grown);
        if (!grown) return MHD_NO;
        req->parts = grown;
        part = &req->parts[req->nparts++];
        memset(part, 0, sizeof *part);
        snprintf(part->name, sizeof part->name, "%s", key ? key : "");
        part->is_file =
            filename != NULL || (content_type && strncasecmp(content_type, "text/", 5) != 0);
    } else {
        if (req->nparts == 0) return MHD_NO;
        part = &req->parts[req->nparts - 1];
    }
    if (size > 0) {
        unsigned char *grown = realloc(part->value.data, part->value.size + size + 1);
        if (!grown) return MHD_NO;
        memcpy(grown + part->value.size, data, size);
        part->value.data = grown;
        part->value.size += size;
        grown[part->value.size] = 0;
    }
    return MHD_YES;
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
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
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

    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    l->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
        s->config.timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
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
    s->public_listener = (fg_listener){.server = s};
    s->admin_listener = (fg_listener){.server = s, .admin = 1};
    rc =
        start_listener(&s->public_listener, s->config.host, s->config.port, s->config.workers, err);
    if (rc != FG_OK) return rc;
    s->bound_port = s->public_listener.bound_port;
    if (s->config.admin_host[0])
        rc = start_listener(&s->admin_listener, s->config.admin_host, s->config.admin_port, 1, err);
    return rc;
}

/* Stops listening, gives running requests up to STOP_GRACE_S to finish and be answered (idle
 * keep-alive connections do not count), then closes everything. */
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
}
