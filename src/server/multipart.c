/*
 * multipart.c - multipart/form-data bodies (RFC 7578 on RFC 2046), split once the whole body
 * has arrived (it is bounded by --body-limit). Our own parser rather than libmicrohttpd's
 * post-processor: it needs no connection, so it is unit-tested and fuzzed on its own.
 *
 * Accepted: a preamble, "--boundary" lines with optional trailing whitespace, part headers up
 * to a blank line (Content-Disposition: form-data; name="..."; filename="..." and
 * Content-Type are read, others ignored), and a closing "--boundary--". Anything else is a
 * bad_multipart with a message saying where it went wrong.
 */
#include "server/http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_BOUNDARY 70 /* RFC 2046 */
#define MAX_PART_HEADERS 8192

void fg_parts_free(fg_part *parts, size_t count)
{
    if (!parts) return;
    for (size_t i = 0; i < count; i++)
        free(parts[i].value.data);
    free(parts);
}

/* The value of parameter `name` in a header such as `form-data; name="a"; filename="b.jpg"`
 * (quoted with \-escapes, or a token) into out. 1 found, 0 absent, -1 longer than cap - 1. */
static int header_param(const char *h, size_t len, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name), i = 0;
    while (i < len) {
        size_t o = 0;
        /* Parameters start after a ';' (not one inside a quoted value). */
        while (i < len && h[i] != ';') {
            if (h[i] == '"')
                for (i++; i < len && h[i] != '"'; i++)
                    i += h[i] == '\\';
            i++;
        }
        if (i >= len) return 0;
        i++;
        while (i < len && (h[i] == ' ' || h[i] == '\t'))
            i++;
        if (i + nlen >= len || strncasecmp(h + i, name, nlen) != 0 || h[i + nlen] != '=') continue;
        i += nlen + 1;
        if (i < len && h[i] == '"') {
            for (i++; i < len && h[i] != '"'; i++) {
                if (h[i] == '\\' && i + 1 < len) i++;
                if (o + 1 >= cap) return -1;
                out[o++] = h[i];
            }
        } else {
            for (; i < len && h[i] != ';' && h[i] != ' ' && h[i] != '\t'; i++) {
                if (o + 1 >= cap) return -1;
                out[o++] = h[i];
            }
        }
        out[o] = 0;
        return 1;
    }
    return 0;
}

/* The boundary named by a multipart/form-data Content-Type. */
static int find_boundary(const char *content_type, char *boundary, fg_http_error *e)
{
    int found = content_type ? header_param(content_type, strlen(content_type), "boundary",
                                            boundary, MAX_BOUNDARY + 1)
                             : 0;
    if (found < 0)
        return fg_http_fail(e, 400, "bad_multipart",
                            "the multipart boundary is longer than %d characters", MAX_BOUNDARY);
    if (found == 0 || !boundary[0])
        return fg_http_fail(e, 400, "bad_multipart",
                            "the multipart/form-data Content-Type names no boundary");
    return 0;
}

/* After a delimiter at p: "--" (the end, *last = 1) or whitespace then CRLF. Returns the
 * position after it, or NULL. */
static const char *after_delimiter(const char *p, const char *end, int *last)
{
    *last = 0;
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
        *last = 1;
        return p + 2;
    }
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') return p + 2;
    return NULL;
}

/* Reads one part's header block [h, h + len) into part. */
static int part_headers(const char *h, size_t len, size_t index, fg_part *part, fg_http_error *e)
{
    int disposition = 0, named = 0, has_filename = 0, text_type = 1;
    const char *line = h, *end = h + len;
    while (line < end) {
        const char *eol = memchr(line, '\r', (size_t)(end - line));
        size_t n = eol ? (size_t)(eol - line) : (size_t)(end - line);
        char filename[256];
        if (n > 20 && strncasecmp(line, "Content-Disposition:", 20) == 0) {
            const char *v = line + 20;
            size_t vn = n - 20;
            while (vn > 0 && (*v == ' ' || *v == '\t'))
                v++, vn--;
            if (vn < 9 || strncasecmp(v, "form-data", 9) != 0)
                return fg_http_fail(e, 400, "bad_multipart",
                                    "part %zu is not form-data (Content-Disposition)", index + 1);
            disposition = 1;
            named = header_param(v, vn, "name", part->name, sizeof part->name);
            if (named < 0)
                return fg_http_fail(e, 400, "bad_multipart",
                                    "part %zu has a name longer than %zu bytes", index + 1,
                                    sizeof part->name - 1);
            has_filename = header_param(v, vn, "filename", filename, sizeof filename) != 0;
        } else if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
            const char *v = line + 13;
            while (v < line + n && (*v == ' ' || *v == '\t'))
                v++;
            text_type = (size_t)(line + n - v) >= 5 && strncasecmp(v, "text/", 5) == 0;
        }
        line += n + 2;
    }
    if (!disposition || named != 1)
        return fg_http_fail(e, 400, "bad_multipart",
                            "part %zu has no Content-Disposition: form-data; name=\"...\"",
                            index + 1);
    part->is_file = has_filename || !text_type;
    return 0;
}

int fg_multipart_parse(const char *content_type, const char *body, size_t len, fg_part **parts,
                       size_t *count, fg_http_error *e)
{
    char boundary[MAX_BOUNDARY + 1], delim[MAX_BOUNDARY + 5];
    const char *p, *end = body + len;
    size_t dlen;
    fg_part *list = NULL;
    size_t n = 0;
    int last = 0;

    *parts = NULL;
    *count = 0;
    if (find_boundary(content_type, boundary, e) != 0) return -1;
    dlen = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    /* The first delimiter may open the body (no CRLF before it) or follow a preamble. */
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        p = body + dlen - 2;
    } else {
        p = body ? memmem(body, len, delim, dlen) : NULL;
        if (!p)
            return fg_http_fail(e, 400, "bad_multipart", "the body holds no \"--%s\" boundary line",
                                boundary);
        p += dlen;
    }
    list = calloc(FG_MULTIPART_MAX_PARTS, sizeof *list);
    if (!list) return fg_http_fail(e, 500, "internal", "out of memory");
    for (;;) {
        const char *headers_end, *next;
        fg_part *part;
        if (!(p = after_delimiter(p, end, &last))) {
            fg_http_fail(e, 400, "bad_multipart", "a boundary line is not followed by a newline");
            goto fail;
        }
        if (last) break;
        if (n == FG_MULTIPART_MAX_PARTS) {
            fg_http_fail(e, 400, "bad_multipart", "more than %d parts", FG_MULTIPART_MAX_PARTS);
            goto fail;
        }
        part = &list[n];
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            headers_end = p; /* no headers at all */
        } else {
            headers_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
            if (!headers_end || headers_end - p > MAX_PART_HEADERS) {
                fg_http_fail(e, 400, "bad_multipart", "part %zu's headers do not end", n + 1);
                goto fail;
            }
        }
        if (part_headers(p, (size_t)(headers_end - p), n, part, e) != 0) goto fail;
        p = headers_end + (headers_end == p ? 2 : 4);
        next = memmem(p, (size_t)(end - p), delim, dlen);
        if (!next) {
            fg_http_fail(e, 400, "bad_multipart",
                         "part %zu is not closed by a boundary line (truncated body?)", n + 1);
            goto fail;
        }
        part->value.size = (size_t)(next - p);
        part->value.data = malloc(part->value.size + 1);
        if (!part->value.data) {
            fg_http_fail(e, 500, "internal", "out of memory");
            goto fail;
        }
        memcpy(part->value.data, p, part->value.size);
        part->value.data[part->value.size] = 0;
        n++;
        p = next + dlen;
    }
    *parts = list;
    *count = n;
    return 0;
fail:
    fg_parts_free(list, FG_MULTIPART_MAX_PARTS);
    return -1;
}
