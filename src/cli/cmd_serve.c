/*
 * cmd_serve.c - `facegate serve`: options from a config file, the environment and the command
 * line (in rising precedence), then run the server until SIGINT or SIGTERM.
 *
 * One table describes every option once; the three sources and --help are all driven by it.
 * Config file lines are `name = value` (# comments); environment variables are FACEGATE_ +
 * the name upper-cased with '-' as '_' (FACEGATE_DATA_DIR); a list option (cors-origin) takes
 * a comma-separated value there. Boolean options are --name / --no-name on the command line.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "server/server.h"
#include "server/service.h"

typedef enum option_kind {
    OPT_TEXT,     /* char array */
    OPT_INT,      /* int in [lo, hi] */
    OPT_UINT,     /* unsigned in [lo, hi] */
    OPT_SIZE,     /* size_t in [lo, hi] */
    OPT_U64,      /* uint64_t in [lo, hi] */
    OPT_FLOAT,    /* float in [lo, hi] */
    OPT_BOOL,     /* int 0/1 */
    OPT_LIST,     /* cors_origins */
    OPT_PROXY,    /* trusted_proxies (a list too) */
    OPT_LISTEN,   /* HOST:PORT into admin_host, admin_port */
    OPT_GUIDANCE, /* guidance: fast or login */
    OPT_ENGINE,   /* handed to fg_cli_engine_option */
} option_kind;

typedef struct serve_option {
    const char *name;
    const char *metavar; /* NULL for booleans */
    const char *help;
    option_kind kind;
    size_t offset, size;
    double lo, hi;
} serve_option;

#define FIELD(f) offsetof(fg_server_config, f), sizeof(((fg_server_config *)0)->f)
#define RL(f) offsetof(fg_server_config, ratelimit.f), sizeof(int)

static const serve_option OPTIONS[] = {
    {"host", "HOST", "address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)", OPT_TEXT,
     FIELD(host), 0, 0},
    {"port", "PORT", "TCP port (default 8080; 0 picks a free one, see the banner)", OPT_INT,
     FIELD(port), 0, 65535},
    {"data-dir", "DIR", "store, keys and admin token (default ./data, created 0700)", OPT_TEXT,
     FIELD(data_dir), 0, 0},
    {"store", "URL",
     "sqlite (default: DIR/facegate.db) or postgres://USER@HOST/DB, shared by several servers",
     OPT_TEXT, FIELD(store), 0, 0},
    {"models", "DIR",
     "face-api model folder (default $FACEGATE_MODELS or node_modules/@vladmandic/face-api/model)",
     OPT_TEXT, FIELD(models), 0, 0},
    {"fast-models", "DIR",
     "the fast path's models (default $FACEGATE_FAST_MODELS or "
     "node_modules/@vladmandic/human/models)",
     OPT_TEXT, FIELD(fast_models), 0, 0},
    {"guidance", "PATH",
     "what answers /api/v1/detect: fast (BlazeFace + FaceMesh, default) or login (the --detector)",
     OPT_GUIDANCE, FIELD(guidance), 0, 0},
    {"web-root", "DIR", "web app to serve at / (default web/dist; API only if missing)", OPT_TEXT,
     FIELD(web_root), 0, 0},
    {"workers", "N", "inference threads, one engine each (default: number of cores)", OPT_INT,
     FIELD(workers), 1, 256},
    {"threshold", "T",
     "never accept at or above this match distance (default 0.38, 0.375 with --tta; the LFW "
     "calibration); below it the threshold adapts to the enrolled users",
     OPT_FLOAT, FIELD(threshold), 0.01, 2},
    {"target-far", "F",
     "false-accept rate the adaptive threshold aims at on the enrolled users (default 0.001)",
     OPT_FLOAT, FIELD(target_far), 1e-6, 0.1},
    {"policy", "NAME",
     "adaptive (default: S-normalised against the enrolled users) or fixed (always --threshold)",
     OPT_TEXT, FIELD(policy), 0, 0},
    {"margin", "M",
     "1:N: the runner-up user must be this much further (default 0.035 at the ceiling, scaled "
     "with the threshold)",
     OPT_FLOAT, FIELD(margin), 0, 0.99},
    {"min-face", "PX", "smallest usable face box side in pixels (default 80)", OPT_INT,
     FIELD(min_face_px), 16, 4096},
    {"enrol-quality", NULL,
     "refuse blurred, dark, overexposed or turned faces at sign-up and when adding a face "
     "(default on)",
     OPT_BOOL, FIELD(enrol_quality), 0, 0},
    {"cors-origin", "ORIGIN", "allow this browser origin (repeatable; default: none)", OPT_LIST, 0,
     0, 0, 0},
    {"body-limit", "BYTES", "largest request body (default 10485760)", OPT_SIZE, FIELD(body_limit),
     1024, 1024.0 * 1024 * 1024},
    {"frame-max-pixels", "N",
     "largest log-in / detect image in pixels, a camera frame (default 2097152: 1920x1080 fits)",
     OPT_U64, FIELD(frame_max_pixels), 64 * 64, 40e6},
    {"timeout", "SECONDS", "idle connection timeout (default 30)", OPT_UINT, FIELD(timeout_s), 1,
     3600},
    {"request-timeout", "SECONDS",
     "a request (headers and body) must arrive whole within this (default 60)", OPT_UINT,
     FIELD(request_timeout_s), 1, 3600},
    {"max-connections-per-client", "N", "open connections per client address (default 32)",
     OPT_UINT, FIELD(max_per_client), 1, 512},
    {"queue-limit", "N", "requests waiting for an engine before 503 busy (default 64)", OPT_SIZE,
     FIELD(queue_limit), 1, 100000},
    {"token-ttl", "SECONDS", "session lifetime (default 3600)", OPT_INT, FIELD(token_ttl_s), 60,
     30 * 86400},
    {"secure-cookie", NULL, "mark the session cookie Secure (serve behind HTTPS)", OPT_BOOL,
     FIELD(secure_cookie), 0, 0},
    {"seed-routes", NULL, "serve the tutorial's /register and /verify (default on)", OPT_BOOL,
     FIELD(seed_routes), 0, 0},
    {"rate-limit-window", "SECONDS", "window of the failed log-in limits (default 60)", OPT_INT,
     RL(window_s), 1, 86400},
    {"rate-limit-ip", "N", "failed log-ins per client address per window (default 5)", OPT_INT,
     RL(ip_failures), 1, 64},
    {"rate-limit-account", "N",
     "failed log-ins on one account per window that put it under guard (default 5)", OPT_INT,
     RL(account_failures), 1, 64},
    {"lockout-after", "N",
     "consecutive failures of one address on one account before it must wait (default 3)", OPT_INT,
     RL(lockout_after), 1, 1000000},
    {"lockout-seconds", "SECONDS", "longest such wait, and how long a guard lasts (default 900)",
     OPT_INT, RL(lockout_s), 1, 7 * 86400},
    {"signup-limit", "N", "sign-ups per client address per hour (default 20)", OPT_INT,
     RL(signup_per_hour), 1, 1000000},
    {"detect-limit", "N", "/api/v1/detect calls per client address per minute (default 300)",
     OPT_INT, RL(detect_per_minute), 1, 1000000},
    {"audit-retention-days", "DAYS",
     "delete audit events older than this (default 90; 0 keeps them)", OPT_INT,
     FIELD(audit_retention_days), 0, 36500},
    {"trusted-proxy", "CIDR",
     "believe X-Forwarded-For/-Proto from this proxy range (repeatable; default: none)", OPT_PROXY,
     0, 0, 0, 0},
    {"admin-listen", "HOST:PORT",
     "serve /metrics and the health routes here only (default: on the public port)", OPT_LISTEN, 0,
     0, 0, 0},
    {"issuer", "URL",
     "OpenID Connect issuer: the public URL of this server (default http://HOST:PORT)", OPT_TEXT,
     FIELD(issuer), 0, 0},
    {"code-ttl", "SECONDS", "lifetime of an OpenID Connect authorization code (default 60)",
     OPT_INT, FIELD(code_ttl_s), 1, 600},
    {"detector", "NAME", "ssd (accurate, default) or tiny (fast)", OPT_ENGINE, 0, 0, 0, 0},
    {"align", "NAME", "dlib (default) or reference", OPT_ENGINE, 0, 0, 0, 0},
    {"max-pixels", "N", "refuse images larger than N pixels (default 40000000)", OPT_ENGINE, 0, 0,
     0, 0},
    {"threads", "N", "inference threads per engine (default 1)", OPT_ENGINE, 0, 0, 0, 0},
    {"padding", "MODE", "retry (default), always or none: when detection looks again in a border",
     OPT_ENGINE, 0, 0, 0, 0},
    {"tta", NULL, "descriptor of the face and its mirror image (slower, fewer false rejects)",
     OPT_BOOL, FIELD(engine.tta), 0, 0},
};
#define NOPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

/* Where a value came from, for messages and list precedence. */
typedef struct source {
    const char *what; /* "the command line", "FACEGATE_PORT", "serve.conf:3" */
    int rank;         /* 1 config file, 2 environment, 3 command line */
} source;

typedef struct parse_state {
    fg_server_config *config;
    int list_rank;     /* rank of the source the CORS list came from */
    int proxy_rank;    /* rank of the source the trusted proxy list came from */
    int threshold_set; /* a source gave --threshold */
} parse_state;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: facegate serve [options]\n\n"
            "Serves sign-up and log-in by face over HTTP (see README.md, section The server).\n\n"
            "options:\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        char left[40];
        snprintf(left, sizeof left, "--%s%s%s", OPTIONS[i].name, OPTIONS[i].metavar ? " " : "",
                 OPTIONS[i].metavar ? OPTIONS[i].metavar : "");
        fprintf(f, "  %-26s %s\n", left, OPTIONS[i].help);
    }
    fprintf(f, "  %-26s %s\n  %-26s %s\n\n", "--config FILE",
            "read options from FILE (`name = value` lines; also $FACEGATE_CONFIG)", "--help",
            "this text");
    fprintf(f, "Every option can also be set as FACEGATE_<NAME> in the environment\n"
               "(FACEGATE_DATA_DIR=/var/lib/facegate; FACEGATE_CORS_ORIGIN takes a comma-\n"
               "separated list). The command line wins over the environment, which wins over\n"
               "the config file. Booleans: --name / --no-name, or true/false in file and env.\n");
}

static const serve_option *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strlen(OPTIONS[i].name) == len && strncmp(OPTIONS[i].name, name, len) == 0)
            return &OPTIONS[i];
    return NULL;
}

static int bad_value(const serve_option *o, const char *value, const source *src,
                     const char *expected)
{
    fprintf(stderr, "facegate serve: %s: '%s' is not %s (from %s)\n", o->name, value, expected,
            src->what);
    return -1;
}

static int parse_bool(const char *v)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return 1;
        if (strcasecmp(v, no[i]) == 0) return 0;
    }
    return -1;
}

static int add_origin(parse_state *st, const char *origin, size_t len, const source *src)
{
    fg_server_config *c = st->config;
    if (st->list_rank != src->rank) { /* a higher source replaces the list */
        c->cors_count = 0;
        st->list_rank = src->rank;
    }
    while (len > 0 && isspace((unsigned char)*origin))
        origin++, len--;
    while (len > 0 && isspace((unsigned char)origin[len - 1]))
        len--;
    if (len == 0) return 0;
    if (c->cors_count >= FG_SERVER_MAX_CORS_ORIGINS || len >= sizeof c->cors_origins[0]) {
        fprintf(stderr, "facegate serve: cors-origin: at most %d origins of %zu characters\n",
                FG_SERVER_MAX_CORS_ORIGINS, sizeof c->cors_origins[0] - 1);
        return -1;
    }
    if (strcmp(origin, "*") == 0 ||
        (strncmp(origin, "http://", 7) != 0 && strncmp(origin, "https://", 8) != 0)) {
        fprintf(stderr,
                "facegate serve: cors-origin: '%.*s' must be an origin such as "
                "https://app.example.com (no wildcard)\n",
                (int)len, origin);
        return -1;
    }
    memcpy(c->cors_origins[c->cors_count], origin, len);
    c->cors_origins[c->cors_count][len] = 0;
    c->cors_count++;
    return 0;
}

static int add_proxy(parse_state *st, const char *text, size_t len, const source *src)
{
    fg_server_config *c = st->config;
    char cidr[64];
    if (st->proxy_rank != src->rank) { /* a higher source replaces the list */
        c->trusted_proxy_count = 0;
        st->proxy_rank = src->rank;
    }
    while (len > 0 && isspace((unsigned char)*text))
        text++, len--;
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == 0) return 0;
    if (len >= sizeof cidr || c->trusted_proxy_count >= FG_MAX_TRUSTED_PROXIES) {
        fprintf(stderr, "facegate serve: trusted-proxy: at most %d ranges\n",
                FG_MAX_TRUSTED_PROXIES);
        return -1;
    }
    memcpy(cidr, text, len);
    cidr[len] = 0;
    if (fg_cidr_parse(cidr, &c->trusted_proxies[c->trusted_proxy_count]) != 0) {
        fprintf(stderr,
                "facegate serve: trusted-proxy: '%s' is not an address or range such as "
                "10.0.0.0/8, 127.0.0.1 or fd00::/8 (from %s)\n",
                cidr, src->what);
        return -1;
    }
    c->trusted_proxy_count++;
    return 0;
}

/* HOST:PORT, [IPv6]:PORT. */
static int set_listen(fg_server_config *c, const char *value, const source *src)
{
    const char *colon = strrchr(value, ':');
    const char *host = value, *end;
    size_t len;
    char *num_end;
    long port;
    if (!colon) goto bad;
    len = (size_t)(colon - value);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') host++, len -= 2;
    end = colon + 1;
    port = strtol(end, &num_end, 10);
    if (len == 0 || len >= sizeof c->admin_host || !*end || *num_end || port < 0 || port > 65535)
        goto bad;
    memcpy(c->admin_host, host, len);
    c->admin_host[len] = 0;
    c->admin_port = (int)port;
    return 0;
bad:
    fprintf(stderr,
            "facegate serve: admin-listen: '%s' is not HOST:PORT such as 127.0.0.1:9090 (from "
            "%s)\n",
            value, src->what);
    return -1;
}

/* Applies one value to one option. */
static int apply(parse_state *st, const serve_option *o, const char *value, const source *src)
{
    char *field = (char *)st->config + o->offset, *end;
    double d;
    if (!strcmp(o->name, "threshold")) st->threshold_set = 1;
    switch (o->kind) {
    case OPT_TEXT:
        if (!*value || strlen(value) >= o->size)
            return bad_value(o, value, src, "a non-empty value of sensible length");
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case OPT_BOOL: {
        int b = parse_bool(value);
        if (b < 0) return bad_value(o, value, src, "true or false");
        *(int *)field = b;
        return 0;
    }
    case OPT_LIST:
    case OPT_PROXY: {
        const char *p = value;
        for (;;) {
            const char *comma = src->rank == 3 ? NULL : strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if ((o->kind == OPT_LIST ? add_origin(st, p, len, src) : add_proxy(st, p, len, src)) !=
                0)
                return -1;
            if (!comma) return 0;
            p = comma + 1;
        }
    }
    case OPT_LISTEN:
        return set_listen(st->config, value, src);
    case OPT_GUIDANCE: {
        static const char *const names[] = {"fast", "login"}; /* FG_GUIDANCE_* order */
        int k = fg_cli_choose("guidance", value, names, 2);
        if (k < 0) return -1;
        *(int *)field = k;
        return 0;
    }
    case OPT_ENGINE: {
        char flag[64], *args[3] = {flag, (char *)value, NULL};
        int i = 0;
        snprintf(flag, sizeof flag, "--%s", o->name);
        return fg_cli_engine_option(2, args, &i, &st->config->engine) == 1 ? 0 : -1;
    }
    default:
        break;
    }
    errno = 0;
    d = strtod(value, &end);
    if (!*value || *end || errno || d < o->lo || d > o->hi) {
        char expected[96];
        snprintf(expected, sizeof expected, "a number from %g to %g", o->lo, o->hi);
        return bad_value(o, value, src, expected);
    }
    if (o->kind != OPT_FLOAT && d != (long long)d)
        return bad_value(o, value, src, "a whole number");
    if (o->kind == OPT_INT) *(int *)field = (int)d;
    if (o->kind == OPT_UINT) *(unsigned *)field = (unsigned)d;
    if (o->kind == OPT_SIZE) *(size_t *)field = (size_t)d;
    if (o->kind == OPT_U64) *(uint64_t *)field = (uint64_t)d;
    if (o->kind == OPT_FLOAT) *(float *)field = (float)d;
    return 0;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        e[-1] = 0;
        s++;
    }
    return s;
}

#define CONFIG_MAX_BYTES (1 << 20)
#define CONFIG_MAX_LINE 2047

/* Applies the `name = value` lines (# comments) of a config file's text; `name` names the file
 * in messages. */
static int load_text(parse_state *st, const char *text, size_t len, const char *name)
{
    char line[CONFIG_MAX_LINE + 1], where[1100];
    int lineno = 0, rc = 0;
    size_t pos = 0;
    while (rc == 0 && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *key, *value, *sep;
        const serve_option *o;
        source src = {where, 1};
        lineno++;
        snprintf(where, sizeof where, "%.1000s:%d", name, lineno);
        if (n > CONFIG_MAX_LINE || memchr(text + pos, '\0', n)) {
            fprintf(stderr, "facegate serve: %s: %s\n", where,
                    n > CONFIG_MAX_LINE ? "line longer than 2047 characters" : "a NUL byte");
            return -1;
        }
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos += n + 1;
        if ((sep = strchr(line, '#')) != NULL) *sep = 0;
        key = trim(line);
        if (!*key) continue;
        sep = key + strcspn(key, "= \t");
        value = sep;
        if (*sep) {
            *sep = 0;
            value = trim(sep + 1);
            if (*value == '=') value = trim(value + 1);
        }
        if (strcmp(key, "config") == 0 || !(o = find_option(key, strlen(key)))) {
            fprintf(stderr, "facegate serve: %s: unknown option '%s'\n", where, key);
            rc = -1;
        } else {
            rc = apply(st, o, value, &src);
        }
    }
    return rc;
}

static int load_file(parse_state *st, const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = malloc(CONFIG_MAX_BYTES + 1);
    size_t len = 0;
    int rc = -1;
    if (!f || !text) {
        fprintf(stderr, "facegate serve: cannot read config file %s: %s\n", path,
                f ? "out of memory" : strerror(errno));
    } else if ((len = fread(text, 1, CONFIG_MAX_BYTES + 1, f)) > CONFIG_MAX_BYTES || ferror(f)) {
        fprintf(stderr, "facegate serve: cannot read config file %s: %s\n", path,
                ferror(f) ? "read error" : "larger than 1 MB");
    } else {
        rc = load_text(st, text, len, path);
    }
    if (f) fclose(f);
    free(text);
    return rc;
}

int fg_serve_config_text(const char *text, size_t len, const char *name, fg_server_config *config)
{
    parse_state st = {config, 0, 0, 0};
    return load_text(&st, text, len, name);
}

static int load_env(parse_state *st)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        char name[64];
        const char *value;
        size_t n = (size_t)snprintf(name, sizeof name, "FACEGATE_%s", OPTIONS[i].name);
        source src = {name, 2};
        for (size_t k = 0; k < n; k++)
            name[k] = name[k] == '-' ? '_' : (char)toupper((unsigned char)name[k]);
        value = getenv(name);
        if (value && *value && apply(st, &OPTIONS[i], value, &src) != 0) return -1;
    }
    return 0;
}

/* Finds --config (or $FACEGATE_CONFIG) and --help before anything else is applied. */
static int prescan(int argc, char **argv, const char **config, int *help)
{
    *config = getenv("FACEGATE_CONFIG");
    *help = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) *help = 1;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "facegate serve: --config needs a file\n");
                return -1;
            }
            *config = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *config = argv[i] + 9;
        }
    }
    return 0;
}

static int load_args(parse_state *st, int argc, char **argv)
{
    source src = {"the command line", 3};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *name, *eq, *value = NULL;
        const serve_option *o;
        size_t len;
        int negated = 0;
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "facegate serve: unexpected argument '%s' (try --help)\n", arg);
            return -1;
        }
        name = arg + 2;
        if (strcmp(name, "config") == 0) {
            i++;
            continue;
        }
        if (strncmp(name, "config=", 7) == 0) continue;
        eq = strchr(name, '=');
        len = eq ? (size_t)(eq - name) : strlen(name);
        o = find_option(name, len);
        if (!o && len > 3 && strncmp(name, "no-", 3) == 0) {
            o = find_option(name + 3, len - 3);
            negated = o && o->kind == OPT_BOOL;
            if (!negated) o = NULL;
        }
        if (!o) {
            fprintf(stderr, "facegate serve: unknown option '%s' (try --help)\n", arg);
            return -1;
        }
        if (o->kind == OPT_BOOL && !eq) {
            value = negated ? "false" : "true";
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "facegate serve: --%s needs a value\n", o->name);
            return -1;
        }
        if (apply(st, o, value, &src) != 0) return -1;
    }
    return 0;
}

int fg_cmd_serve(int argc, char **argv)
{
    fg_server_config config;
    parse_state st = {&config, 0, 0, 0};
    const char *config_file;
    fg_server *server = NULL;
    fg_error err = {0};
    sigset_t signals;
    int help, sig = 0;

    fg_server_config_init(&config);
    snprintf(config.models, sizeof config.models, "%s", fg_cli_default_models());
    snprintf(config.fast_models, sizeof config.fast_models, "%s", fg_cli_default_fast_models());
    if (prescan(argc, argv, &config_file, &help) != 0) return 2;
    if (help) {
        usage(stdout);
        return 0;
    }
    if ((config_file && load_file(&st, config_file) != 0) || load_env(&st) != 0 ||
        load_args(&st, argc, argv) != 0)
        return 2;
    if (config.engine.tta && !st.threshold_set) config.threshold = FG_MATCH_THRESHOLD_TTA;
    if (strcmp(config.policy, "adaptive") && strcmp(config.policy, "fixed")) {
        fprintf(stderr, "facegate serve: policy: '%s' is not adaptive or fixed\n", config.policy);
        return 2;
    }

    /* Block the stop and reload signals in every thread (MHD's inherit the mask); wait for
     * them here. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (fg_server_start(&config, &server, &err) != FG_OK) {
        fprintf(stderr, "facegate serve: %s\n", err.message);
        return 1;
    }
    fg_service_notify("READY=1");
    while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
        fg_service_notify("RELOADING=1");
        if (fg_server_reload_keys(server, &err) != FG_OK)
            fprintf(stderr, "facegate: reload failed, keeping the old keys: %s\n", err.message);
        fg_service_notify("READY=1");
    }
    fg_service_notify("STOPPING=1");
    fprintf(stderr, "facegate: %s received, finishing running requests and stopping\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    fg_server_stop(server);
    fprintf(stderr, "facegate: stopped\n");
    return 0;
}
