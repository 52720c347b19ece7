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

#define FIELD(f) OPT_FIELD(fg_server_config, f)
#define RL(f) OPT_FIELD(fg_server_config, ratelimit.f)
#define LV(f) OPT_FIELD(fg_server_config, liveness.f)

static const char *const guidance_names[] = {"fast", "login", NULL};   /* FG_GUIDANCE_* order */
static const char *const liveness_names[] = {"off", "required", NULL}; /* liveness.required */
static int set_steps(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                     const fg_cli_source *src);
static int set_origins(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                       const fg_cli_source *src);
static int set_proxies(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                       const fg_cli_source *src);
static int set_listen(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                      const fg_cli_source *src);

static const fg_cli_option OPTIONS[] = {
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
     OPT_CHOICE, FIELD(guidance), 0, 0, guidance_names},
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
    {"cors-origin", "ORIGIN", "allow this browser origin (repeatable; default: none)", OPT_CUSTOM,
     0, 0, 0, 0, .set = set_origins},
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
     "believe X-Forwarded-For/-Proto from this proxy range (repeatable; default: none)", OPT_CUSTOM,
     0, 0, 0, 0, .set = set_proxies},
    {"admin-listen", "HOST:PORT",
     "serve /metrics and the health routes here only (default: on the public port)", OPT_CUSTOM, 0,
     0, 0, 0, .set = set_listen},
    {"issuer", "URL",
     "OpenID Connect issuer: the public URL of this server (default http://HOST:PORT)", OPT_TEXT,
     FIELD(issuer), 0, 0},
    {"code-ttl", "SECONDS", "lifetime of an OpenID Connect authorization code (default 60)",
     OPT_INT, FIELD(code_ttl_s), 1, 600},
    {"liveness", "MODE",
     "required (default: sign-up, log-in and added faces need a passed liveness challenge) or "
     "off",
     OPT_CHOICE, LV(required), 0, 0, liveness_names},
    {"liveness-steps", "A,B,...",
     "fixed challenge steps in this order (turn_left, turn_right, look_up, look_down, blink); "
     "default: random ones",
     OPT_CUSTOM, FIELD(liveness), 0, 0, .set = set_steps},
    {"liveness-step-count", "N", "random steps per challenge (default 3)", OPT_INT, LV(step_count),
     1, FGL_STEP_COUNT},
    {"liveness-step-seconds", "SECONDS", "time limit of one step from its reveal (default 5)",
     OPT_FLOAT, LV(step_seconds), 1, 60},
    {"liveness-session-seconds", "SECONDS", "time limit of a whole challenge (default 30)",
     OPT_FLOAT, LV(session_seconds), 2, 300},
    {"liveness-proof-seconds", "SECONDS",
     "a passed challenge must be used within this time (default 60)", OPT_FLOAT, LV(proof_seconds),
     1, 3600},
    {"liveness-sessions", "N", "challenges open at once in total (default 1000)", OPT_INT,
     LV(max_sessions), 1, 1000000},
    {"liveness-sessions-per-client", "N", "challenges open at once per client address (default 5)",
     OPT_INT, LV(max_per_client), 1, 1000},
    {"detector", "NAME",
     "the log-in descriptor path: ssd (accurate, default), tiny, or blaze\n(the fast path)",
     OPT_CHOICE,
     FIELD(engine.detector), 0, 0, fg_cli_detector_names},
    {"align", "NAME", "dlib (default) or reference", OPT_CHOICE, FIELD(engine.align), 0, 0,
     fg_cli_align_names},
    {"max-pixels", "N", "refuse images larger than N pixels (default 40000000)", OPT_U64,
     FIELD(engine.max_pixels), 1, 1e15},
    {"threads", "N", "inference threads per engine (default 1)", OPT_INT, FIELD(engine.threads), 0,
     256},
    {"padding", "MODE", "retry (default), always or none: when detection looks again in a border",
     OPT_CHOICE, FIELD(engine.padding), 0, 0, fg_cli_padding_names},
    {"tta", NULL, "descriptor of the face and its mirror image (slower, fewer false rejects)",
     OPT_BOOL, FIELD(engine.tta), 0, 0},
};
#define NOPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

/* --liveness-steps turn_left,blink: steps in this order. */
static int set_steps(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                     const fg_cli_source *src)
{
    fg_liveness_config *c = field;
    const char *s = value;
    c->fixed_steps = 0;
    while (*s) {
        char name[32];
        size_t len = strcspn(s, ",");
        fg_error err = {0};
        fgl_step step;
        if (len == 0 || len >= sizeof name || c->fixed_steps >= FGL_MAX_STEPS) break;
        memcpy(name, s, len);
        name[len] = 0;
        if (fgl_step_parse(name, &step, &err) != FG_OK) break;
        c->steps[c->fixed_steps++] = step;
        s += len;
        if (*s == ',' && *++s == 0) break; /* a trailing comma */
    }
    if (*s == 0 && c->fixed_steps > 0) return 0;
    c->fixed_steps = 0;
    return fg_cli_bad_value(p, o, value, src,
                            "a list of steps such as turn_left,blink (turn_left, turn_right, "
                            "look_up, look_down, blink; at most 8)");
}

/* The lists' precedence: a higher source replaces a list instead of adding to it. */
typedef struct parse_state {
    fg_server_config *config;
    int list_rank;  /* rank of the source the CORS list came from */
    int proxy_rank; /* rank of the source the trusted proxy list came from */
} parse_state;

/* The parser of serve's one table (st->config its target, st its context). */
static fg_cli_parser serve_parser(parse_state *st, fg_cli_table *table)
{
    fg_cli_parser p = {.command = "serve", .tables = table, .ntables = 1, .ctx = st};
    table->options = OPTIONS;
    table->count = NOPTIONS;
    table->target = st->config;
    return p;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: facegate serve [options]\n\n"
            "Serves sign-up and log-in by face over HTTP (see README.md, section The server).\n\n"
            "options:\n");
    fg_cli_help(f, OPTIONS, NOPTIONS, 26);
    fprintf(f, "  %-26s %s\n  %-26s %s\n\n", "--config FILE",
            "read options from FILE (`name = value` lines; also $FACEGATE_CONFIG)", "--help",
            "this text");
    fprintf(f, "Every option can also be set as FACEGATE_<NAME> in the environment\n"
               "(FACEGATE_DATA_DIR=/var/lib/facegate; FACEGATE_CORS_ORIGIN takes a comma-\n"
               "separated list). The command line wins over the environment, which wins over\n"
               "the config file. Booleans: --name / --no-name, or true/false in file and env.\n");
}

static int add_origin(parse_state *st, const char *origin, size_t len, const fg_cli_source *src)
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

static int add_proxy(parse_state *st, const char *text, size_t len, const fg_cli_source *src)
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
static int set_listen(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                      const fg_cli_source *src)
{
    fg_server_config *c = ((parse_state *)p->ctx)->config;
    (void)o, (void)field;
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

/* A list option's value: one item on the command line, comma-separated elsewhere. */
static int set_list(fg_cli_parser *p, const char *value, const fg_cli_source *src,
                    int (*add)(parse_state *, const char *, size_t, const fg_cli_source *))
{
    const char *item = value;
    for (;;) {
        const char *comma = src->rank == 3 ? NULL : strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        if (add(p->ctx, item, len, src) != 0) return -1;
        if (!comma) return 0;
        item = comma + 1;
    }
}

static int set_origins(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                       const fg_cli_source *src)
{
    (void)o, (void)field;
    return set_list(p, value, src, add_origin);
}

static int set_proxies(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                       const fg_cli_source *src)
{
    (void)o, (void)field;
    return set_list(p, value, src, add_proxy);
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
static int load_text(fg_cli_parser *p, const char *text, size_t len, const char *name)
{
    char line[CONFIG_MAX_LINE + 1], where[1100];
    int lineno = 0, rc = 0;
    size_t pos = 0;
    while (rc == 0 && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *key, *value, *sep;
        const fg_cli_option *o;
        void *target;
        fg_cli_source src = {where, 1};
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
        if (!(o = fg_cli_find(p, key, strlen(key), &target))) {
            fprintf(stderr, "facegate serve: %s: unknown option '%s'\n", where, key);
            rc = -1;
        } else {
            rc = fg_cli_apply(p, o, target, value, &src);
        }
    }
    return rc;
}

static int load_file(fg_cli_parser *p, const char *path)
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
        rc = load_text(p, text, len, path);
    }
    if (f) fclose(f);
    free(text);
    return rc;
}

int fg_serve_config_text(const char *text, size_t len, const char *name, fg_server_config *config)
{
    parse_state st = {config, 0, 0};
    fg_cli_table table;
    fg_cli_parser p = serve_parser(&st, &table);
    return load_text(&p, text, len, name);
}

static int load_env(fg_cli_parser *p)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        char name[64];
        const char *value;
        size_t n = (size_t)snprintf(name, sizeof name, "FACEGATE_%s", OPTIONS[i].name);
        fg_cli_source src = {name, 2};
        for (size_t k = 0; k < n; k++)
            name[k] = name[k] == '-' ? '_' : (char)toupper((unsigned char)name[k]);
        value = getenv(name);
        if (value && *value && fg_cli_apply(p, &OPTIONS[i], p->tables[0].target, value, &src) != 0)
            return -1;
    }
    return 0;
}

/* Finds --config (or $FACEGATE_CONFIG) before anything else is applied; *rest gets the other
 * arguments (argv[0] first; malloc'd, the caller frees). */
static int prescan(int argc, char **argv, const char **config, char ***rest, int *nrest)
{
    *config = getenv("FACEGATE_CONFIG");
    if (!(*rest = malloc((size_t)argc * sizeof **rest))) {
        fprintf(stderr, "facegate serve: out of memory\n");
        return -1;
    }
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "facegate serve: --config needs a file\n");
                return -1;
            }
            *config = argv[++i];
        } else if (i > 0 && strncmp(argv[i], "--config=", 9) == 0) {
            *config = argv[i] + 9;
        } else {
            (*rest)[(*nrest)++] = argv[i];
        }
    }
    return 0;
}

int fg_cmd_serve(int argc, char **argv)
{
    fg_server_config config;
    parse_state st = {&config, 0, 0};
    fg_cli_table table;
    fg_cli_parser p = serve_parser(&st, &table);
    const char *config_file;
    char **args = NULL;
    fg_server *server = NULL;
    fg_error err = {0};
    sigset_t signals;
    int nargs, sig = 0;

    fg_server_config_init(&config);
    snprintf(config.models, sizeof config.models, "%s", fg_cli_default_models());
    snprintf(config.fast_models, sizeof config.fast_models, "%s", fg_cli_default_fast_models());
    if (fg_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (prescan(argc, argv, &config_file, &args, &nargs) != 0 ||
        (config_file && load_file(&p, config_file) != 0) || load_env(&p) != 0 ||
        fg_cli_parse(&p, nargs, args) != 0) {
        free(args);
        return 2;
    }
    free(args);
    if (config.engine.tta && !fg_cli_seen(&p, "threshold"))
        config.threshold = FG_MATCH_THRESHOLD_TTA;
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
