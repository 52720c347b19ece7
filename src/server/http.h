/*
 * http.h - requests and replies between libmicrohttpd (http.c) and the route handlers.
 *
 * http.c receives a request, finds its route, collects the body within the size limit (JSON,
 * multipart/form-data or a raw image: body.c) and calls the handler once the body is complete:
 * on the HTTP thread for the cheap routes, on the inference pool (pool.h) for the face routes.
 * A handler reads its inputs with fg_req_* and answers with exactly one fg_reply_*; http.c adds
 * the common headers (security, CORS, caching), queues the reply, logs one line and counts it.
 * A handler never touches the connection itself: fg_req_* read a copy of the request's
 * headers, cookies and query taken when it began, so it may run on any thread.
 */
#ifndef FG_SERVER_HTTP_H
#define FG_SERVER_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

/* An error on its way to the client: status, stable code, specific message. */
typedef struct fg_http_error {
    int status;
    const char *code; /* static snake_case string */
    char message[256];
    int retry_after; /* seconds for a Retry-After header, 0 for none */
} fg_http_error;

/* Fills e and returns -1: `return fg_http_fail(e, 400, "bad_json", "...")`. */
int fg_http_fail(fg_http_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Bytes owned by whoever holds the struct (free data with free()). */
typedef struct fg_blob {
    unsigned char *data;
    size_t size;
} fg_blob;

/* One multipart/form-data part (multipart.c). */
typedef struct fg_part {
    char name[64];
    int is_file;   /* had a filename or a non-text content type: data is raw bytes */
    fg_blob value; /* NUL-terminated copy (the NUL is not counted in size) */
} fg_part;

/* Splits a complete multipart/form-data body (RFC 7578) whose Content-Type is content_type
 * (it names the boundary) into at most FG_MULTIPART_MAX_PARTS parts: *parts is malloc'd, free
 * with fg_parts_free. -1 with e = 400 bad_multipart and a message saying what is wrong. */
#define FG_MULTIPART_MAX_PARTS 16
int fg_multipart_parse(const char *content_type, const char *body, size_t len, fg_part **parts,
                       size_t *count, fg_http_error *e);
void fg_parts_free(fg_part *parts, size_t count);

typedef enum fg_body_kind {
    FG_BODY_NONE,        /* no body */
    FG_BODY_JSON,        /* application/json (or +json) */
    FG_BODY_MULTIPART,   /* multipart/form-data */
    FG_BODY_IMAGE,       /* image/ * or application/octet-stream: the body is one image */
    FG_BODY_FORM,        /* application/x-www-form-urlencoded: FG_ROUTE_CLIENT_AUTH routes only */
    FG_BODY_UNSUPPORTED, /* any other type (text/plain, ...): refused with 415 */
} fg_body_kind;

/* What a body of this Content-Type is (has_body: Content-Length > 0 or chunked). */
fg_body_kind fg_body_kind_of(const char *content_type, int has_body);

typedef struct fg_request fg_request;
typedef void (*fg_handler)(fg_request *req);

/* Route flags. */
enum {
    FG_ROUTE_ADMIN = 1, /* needs the admin token */
    FG_ROUTE_SEED = 2,  /* one of the tutorial's routes (--seed-routes) */
    FG_ROUTE_OPS = 4,   /* metrics and health: on the admin listener when there is one */
    FG_ROUTE_INFER = 8, /* runs on the inference pool (req->engine is set): the face routes */
    /* Authenticated by the request itself (OAuth client credentials, a bearer access token),
     * never by a cookie: no cross-site check, and urlencoded form bodies are accepted. */
    FG_ROUTE_CLIENT_AUTH = 16,
};

typedef struct fg_route {
    const char *method;
    const char *path; /* exact, or ending in "/{name}": one more non-empty segment */
    fg_handler handler;
    int flags;
    const char *label; /* metrics label */
} fg_route;

/* The route table (routes.c). Metrics label requests by route index, then three more:
 * static files, not found, and other (405s, preflights). */
extern const fg_route fg_routes[];
extern const size_t fg_route_count;
#define FG_ROUTE_LABEL_STATIC (fg_route_count)
#define FG_ROUTE_LABEL_NOT_FOUND (fg_route_count + 1)
#define FG_ROUTE_LABEL_OTHER (fg_route_count + 2)
#define FG_ROUTE_LABELS (fg_route_count + 3)
/* The labels, in that order (static strings; the array is malloc'd, caller frees). */
const char **fg_route_labels(void);

/* A header, cookie or query argument of the request. The strings belong to the connection
 * (libmicrohttpd's memory pool) and live as long as the request. */
typedef struct fg_kv {
    int kind; /* MHD_HEADER_KIND, MHD_COOKIE_KIND or MHD_GET_ARGUMENT_KIND */
    const char *key;
    const char *value;
} fg_kv;

/* Where a request is: its body arriving, then (face routes) waiting for or running on an
 * engine while the connection is suspended, then answered. */
typedef enum fg_request_state {
    FG_REQ_RECEIVING,
    FG_REQ_QUEUED,
    FG_REQ_ANSWERED,
} fg_request_state;

struct fg_request {
    fg_server *server;
    struct MHD_Connection *conn; /* NULL for a request built outside a connection (tests) */
    fg_engine *engine;           /* the inference engine while a FG_ROUTE_INFER handler runs */
    fg_request_state state;
    char method[16];
    char path[1024];
    char param[256];     /* the {name} segment of the route, if any */
    char client[64];     /* client IP address: the peer, or what a trusted proxy says (proxy.h) */
    char peer[64];       /* TCP peer IP address */
    int forwarded_https; /* a trusted proxy says the client used HTTPS */
    const fg_listener *listener;
    double started;   /* monotonic seconds */
    double queued_at; /* when it was handed to the inference pool */
    const fg_route *route;
    size_t label;  /* metrics route label index */
    fg_kv *values; /* headers, cookies and query arguments, copied when the request began */
    size_t nvalues;

    /* body */
    fg_body_kind body_kind;
    size_t body_received;
    int body_too_large;
    int body_malformed; /* out of memory while collecting it */
    char *body;         /* the bytes as received, NUL-terminated */
    size_t body_len, body_cap;
    fg_part *parts; /* multipart parts, split on first use */
    size_t nparts;
    int parts_state; /* 0 not split, 1 ok, -1 malformed */
    fg_http_error parts_error;
    json_t *json;   /* parsed on first use by fg_req_* */
    int json_state; /* 0 not parsed, 1 ok, -1 invalid */

    /* reply */
    struct MHD_Response *response;
    int status;
    int is_static;          /* static file: app CSP and caching instead of no-store */
    int close;              /* close the connection after the reply */
    const char *error_code; /* for the request log */
};

/* --- inputs (body.c) ------------------------------------------------------------------------ */

/* Called by http.c for each chunk; returns 0, or -1 once the body exceeds the limit. */
int fg_body_append(fg_request *req, const char *data, size_t size);
/* Frees everything the body holds. */
void fg_body_free(fg_request *req);
/* The 415 unsupported_media_type of a body of another type (FG_BODY_UNSUPPORTED): -1. */
int fg_body_unsupported(const fg_request *req, fg_http_error *e);

/* A text field from the JSON object, a multipart field, or the query string (in that order).
 * *value is NULL when absent. -1 with e filled when present but not a string or when the
 * body is not valid JSON. The string lives as long as the request. */
int fg_req_text(fg_request *req, const char *name, const char **value, fg_http_error *e);
/* The same from the body only (JSON or multipart), never the query string: for secrets, which
 * must not end up in URLs and logs. */
int fg_req_body_text(fg_request *req, const char *name, const char **value, fg_http_error *e);

/* The images of the request, decoded from data URLs / base64 / raw parts / a raw body: JSON
 * members "images" (array) or `single` (string); multipart parts named "images" or `single`;
 * or the whole body when it is an image. 1..max images, else missing_field /
 * too_many_images. *images is malloc'd with each blob's data: free with fg_blobs_free. */
int fg_req_images(fg_request *req, const char *single, size_t max, fg_blob **images, size_t *count,
                  fg_http_error *e);
void fg_blobs_free(fg_blob *blobs, size_t count);
/* Does the request carry an image where fg_req_images would look (after fg_req_text parsed the
 * body)? */
int fg_req_has_images(fg_request *req, const char *single);

/* The JSON object of the body (415 unsupported_media_type for another kind of body, 400
 * bad_json). It lives as long as the request. */
int fg_req_json(fg_request *req, json_t **out, fg_http_error *e);

/* Decodes a data URL (image/jpeg|png|webp) or bare base64 into bytes. */
int fg_decode_image_text(const char *text, size_t len, fg_blob *out, fg_http_error *e);

/* --- replies (http.c) ----------------------------------------------------------------------- */

/* JSON reply; takes the reference to body. */
void fg_reply_json(fg_request *req, int status, json_t *body);
/* Error reply {"error":{"code","message"}} (+ Retry-After when e->retry_after > 0). */
void fg_reply_error(fg_request *req, const fg_http_error *e);
void fg_reply_errorf(fg_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A text reply (copied). */
void fg_reply_text(fg_request *req, int status, const char *content_type, const char *text);
/* Adds a header to the reply made by the last fg_reply_* call. */
void fg_reply_header(fg_request *req, const char *name, const char *value);

/* Request header (case-insensitive name) / cookie / query parameter, or NULL. The first one
 * when there are several. */
const char *fg_req_header(const fg_request *req, const char *name);
const char *fg_req_cookie(const fg_request *req, const char *name);
const char *fg_req_query(const fg_request *req, const char *name);
/* How many headers of this name the request has. */
size_t fg_req_header_count(const fg_request *req, const char *name);

/* --- server loop (http.c) ------------------------------------------------------------------- */

/* Starts the public listener and, when configured, the admin one. */
int fg_http_start(fg_server *server, fg_error *err);
void fg_http_stop(fg_server *server);

/* --- static files (static.c) ---------------------------------------------------------------- */

/* Serves GET/HEAD of a file under the web root (with the SPA fallback to index.html for
 * extension-less paths). Returns 1 if it replied, 0 if there is no such file. */
int fg_static_serve(fg_request *req);

#endif
