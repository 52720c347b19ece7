/*
 * static.c - the web app's files from --web-root (a Vite build: index.html + assets/).
 *
 * Only regular files whose real path stays inside the real web root are served; a path with a
 * segment starting with "." (.., hidden files) is refused before touching the file system.
 * Extension-less paths that are not files fall back to index.html so the app's client-side routes
 * load; API paths never do.
 */
#include "server/http.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext;
    const char *type;
} TYPES[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".wasm", "application/wasm"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
            if (strcasecmp(dot, TYPES[i].ext) == 0) return TYPES[i].type;
    return "application/octet-stream";
}

/* Opens root/relative (its index.html if it is a directory) if that is a regular file inside
 * root. Returns an fd, with the file's real path in real, or -1. */
static int open_inside(const char *root_real, const char *relative, char real[PATH_MAX],
                       off_t *size)
{
    char joined[PATH_MAX];
    size_t root_len = strlen(root_real);
    struct stat st;
    int fd;
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", root_real, relative) >= sizeof joined)
        return -1;
    if (!realpath(joined, real)) return -1;
    if (strncmp(real, root_real, root_len) != 0 || real[root_len] != '/') return -1;
    if (stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (strlen(real) + sizeof "/index.html" > PATH_MAX) return -1;
        strcat(real, "/index.html");
    }
    fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    *size = st.st_size;
    return fd;
}

int fg_static_serve(fg_request *req)
{
    char root_real[PATH_MAX], real[PATH_MAX];
    const char *path = req->path, *last_slash;
    struct MHD_Response *r;
    off_t size = 0;
    int fd, fallback = 0;

    if (!req->server->config.web_root[0] || !realpath(req->server->config.web_root, root_real))
        return 0;
    if (path[0] != '/' || strstr(path, "/.") || strncmp(path, "/api/", 5) == 0) return 0;
    fd = open_inside(root_real, path[1] ? path + 1 : ".", real, &size);
    last_slash = strrchr(path, '/');
    if (fd < 0 && !strchr(last_slash, '.')) {
        fd = open_inside(root_real, "index.html", real, &size);
        fallback = 1;
    }
    if (fd < 0) return 0;
    r = MHD_create_response_from_fd((uint64_t)size, fd);
    if (!r) {
        close(fd);
        return 0;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(real));
    /* Vite's assets/ names carry a content hash: cache them for good; revalidate the rest. */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            strncmp(path, "/assets/", 8) == 0 && !fallback
                                ? "public, max-age=31536000, immutable"
                                : "no-cache");
    if (req->response) MHD_destroy_response(req->response);
    req->response = r;
    req->status = 200;
    return 1;
}
