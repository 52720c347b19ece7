/*
 * body.c - request bodies: collecting them within the limit, and reading fields and images
 * out of JSON, multipart/form-data, query strings and raw image bodies.
 */
#include "server/http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMAGES_FIELD "images"

int fg_body_append(fg_request *req, const char *data, size_t size)
{
    size_t limit = req->server->config.body_limit;
    req->body_received += size;
    if (req->body_too_large) return -1;
    if (req->body_received > limit) {
        /* Stop keeping anything: free what we have and drop the rest as it arrives. */
        req->body_too_large = 1;
        fg_body_free(req);
        return -1;
    }
    if (req->body_len + size + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 16384;
        char *grown;
        while (cap < req->body_len + size + 1)
            cap *= 2;
        if (cap > limit + 1) cap = limit + 1;
        grown = realloc(req->body, cap);
        if (!grown) {
            req->body_malformed = 1;
            return 0;
        }
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    req->body[req->body_len] = 0;
    return 0;
}

void fg_body_free(fg_request *req)
{
    fg_parts_free(req->parts, req->nparts);
    req->parts = NULL;
    req->nparts = 0;
    free(req->body);
    req->body = NULL;
    req->body_len = req->body_cap = 0;
    json_decref(req->json);
    req->json = NULL;
}

int fg_body_unsupported(const fg_request *req, fg_http_error *e)
{
    const char *type = fg_req_header(req, "Content-Type");
    return fg_http_fail(e, 415, "unsupported_media_type",
                        "a body must be application/json, multipart/form-data or an image "
                        "(image/jpeg, image/png, image/webp), not %.64s",
                        type ? type : "a body without a Content-Type");
}

/* Parses the body once: the JSON object, or the multipart parts. 0 when the body is usable
 * (req->json set for JSON), -1 with e filled otherwise. */
static int parse_body(fg_request *req, fg_http_error *e)
{
    json_error_t jerr;
    if (req->body_malformed)
        return fg_http_fail(e, 500, "internal", "out of memory reading the body");
    if (req->body_kind == FG_BODY_UNSUPPORTED || req->body_kind == FG_BODY_FORM)
        return fg_body_unsupported(req, e);
    if (req->body_kind == FG_BODY_MULTIPART) {
        if (req->parts_state == 0)
            req->parts_state =
                fg_multipart_parse(fg_req_header(req, "Content-Type"), req->body, req->body_len,
                                   &req->parts, &req->nparts, &req->parts_error) == 0
                    ? 1
                    : -1;
        if (req->parts_state < 0) {
            *e = req->parts_error;
            return -1;
        }
        return 0;
    }
    if (req->body_kind != FG_BODY_JSON) return 0;
    if (req->json_state == 1) return 0;
    if (req->json_state == -1) goto invalid;
    req->json =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req->json) {
        req->json_state = -1;
        return fg_http_fail(e, 400, "bad_json",
                            "the body is not valid JSON: %s (line %d, column %d)", jerr.text,
                            jerr.line, jerr.column);
    }
    if (!json_is_object(req->json)) {
        json_decref(req->json);
        req->json = NULL;
        req->json_state = -1;
        goto invalid;
    }
    req->json_state = 1;
    return 0;
invalid:
    return fg_http_fail(e, 400, "bad_json", "the body must be a JSON object");
}

static const fg_part *find_part(const fg_request *req, const char *name, size_t from)
{
    for (size_t i = from; i < req->nparts; i++)
        if (strcmp(req->parts[i].name, name) == 0) return &req->parts[i];
    return NULL;
}

int fg_req_body_text(fg_request *req, const char *name, const char **value, fg_http_error *e)
{
    const fg_part *part;
    *value = NULL;
    if (parse_body(req, e) != 0) return -1;
    if (req->json) {
        json_t *v = json_object_get(req->json, name);
        if (v && !json_is_null(v)) {
            if (!json_is_string(v))
                return fg_http_fail(e, 400, "invalid_field", "\"%s\" must be a string", name);
            if (strlen(json_string_value(v)) != json_string_length(v))
                return fg_http_fail(e, 400, "invalid_field", "\"%s\" holds a NUL character", name);
            *value = json_string_value(v);
            return 0;
        }
    }
    if ((part = find_part(req, name, 0)) != NULL) {
        if (part->value.size > 0 && strlen((const char *)part->value.data) != part->value.size)
            return fg_http_fail(e, 400, "invalid_field", "\"%s\" holds a NUL character", name);
        *value = part->value.data ? (const char *)part->value.data : "";
        return 0;
    }
    return 0;
}

int fg_req_text(fg_request *req, const char *name, const char **value, fg_http_error *e)
{
    if (fg_req_body_text(req, name, value, e) != 0) return -1;
    if (!*value) *value = fg_req_query(req, name);
    return 0;
}

static int is_b64_char(int c)
{
    return isalnum(c) || c == '+' || c == '/' || c == '-' || c == '_' || c == '=';
}

/* Base64 (standard or URL-safe alphabet, padded or not, whitespace ignored) into out. */
static int decode_base64(const char *text, size_t len, fg_blob *out, fg_http_error *e)
{
    int urlsafe = 0, padded = 0, variant;
    size_t bin_len = 0, cap = len / 4 * 3 + 3;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '-' || c == '_') urlsafe = 1;
        if (c == '=') padded = 1;
        if (!is_b64_char(c) && !isspace(c))
            return fg_http_fail(
                e, 400, "bad_base64",
                "the image is not valid base64 (unexpected character 0x%02x at offset %zu)", c, i);
    }
    variant =
        urlsafe
            ? (padded ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
            : (padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    out->data = malloc(cap);
    if (!out->data) return fg_http_fail(e, 500, "internal", "out of memory decoding base64");
    if (sodium_base642bin(out->data, cap, text, len, " \t\r\n", &bin_len, NULL, variant) != 0) {
        free(out->data);
        out->data = NULL;
        return fg_http_fail(e, 400, "bad_base64",
                            "the image is not valid base64 (bad length or padding)");
    }
    out->size = bin_len;
    return 0;
}

int fg_decode_image_text(const char *text, size_t len, fg_blob *out, fg_http_error *e)
{
    static const char *const types[] = {"image/jpeg", "image/jpg", "image/png", "image/webp"};
    out->data = NULL;
    out->size = 0;
    while (len > 0 && isspace((unsigned char)*text))
        text++, len--;
    if (len >= 5 && strncasecmp(text, "data:", 5) == 0) {
        const char *comma = memchr(text, ',', len);
        size_t meta_len, type_len;
        int known = 0, base64 = 0;
        if (!comma) return fg_http_fail(e, 400, "bad_base64", "malformed data URL (no comma)");
        meta_len = (size_t)(comma - text) - 5;
        for (type_len = 0; type_len < meta_len && text[5 + type_len] != ';'; type_len++)
            continue;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strlen(types[i]) == type_len && strncasecmp(text + 5, types[i], type_len) == 0)
                known = 1;
        if (!known)
            return fg_http_fail(
                e, 415, fg_error_name(FG_EIMAGE_FORMAT),
                "data URL type \"%.*s\" is not an image facegate reads (JPEG, PNG or WebP)",
                (int)(type_len > 64 ? 64 : type_len), text + 5);
        for (size_t i = 5 + type_len; i + 7 <= 5 + meta_len; i++)
            if (strncasecmp(text + i, ";base64", 7) == 0) base64 = 1;
        if (!base64)
            return fg_http_fail(e, 400, "bad_base64",
                                "the data URL is not base64-encoded (expected ;base64,)");
        len -= (size_t)(comma + 1 - text);
        text = comma + 1;
    }
    return decode_base64(text, len, out, e);
}

void fg_blobs_free(fg_blob *blobs, size_t count)
{
    if (!blobs) return;
    for (size_t i = 0; i < count; i++)
        free(blobs[i].data);
    free(blobs);
}

/* Appends one image to the list, decoding text when the source is not raw bytes. */
static int add_image(fg_blob *list, size_t *count, size_t max, const void *data, size_t size,
                     int raw, fg_http_error *e)
{
    fg_blob *b;
    if (*count >= max)
        return fg_http_fail(e, 400, "too_many_images", "at most %zu image%s per request", max,
                            max == 1 ? "" : "s");
    b = &list[*count];
    if (raw) {
        b->data = malloc(size ? size : 1);
        if (!b->data) return fg_http_fail(e, 500, "internal", "out of memory");
        if (size) memcpy(b->data, data, size);
        b->size = size;
    } else if (fg_decode_image_text(data, size, b, e) != 0) {
        return -1;
    }
    (*count)++;
    return 0;
}

static int json_images(fg_request *req, const char *single, size_t max, fg_blob *list,
                       size_t *count, fg_http_error *e)
{
    json_t *many = json_object_get(req->json, IMAGES_FIELD);
    json_t *one = json_object_get(req->json, single);
    if (many && !json_is_null(many)) {
        size_t i;
        json_t *v;
        if (!json_is_array(many))
            return fg_http_fail(e, 400, "invalid_field",
                                "\"images\" must be an array of data URLs or base64 strings");
        json_array_foreach(many, i, v)
        {
            if (!json_is_string(v))
                return fg_http_fail(e, 400, "invalid_field", "\"images\"[%zu] must be a string", i);
            if (add_image(list, count, max, json_string_value(v), json_string_length(v), 0, e))
                return -1;
        }
    }
    if (one && !json_is_null(one)) {
        if (!json_is_string(one))
            return fg_http_fail(e, 400, "invalid_field",
                                "\"%s\" must be a data URL or base64 string", single);
        if (add_image(list, count, max, json_string_value(one), json_string_length(one), 0, e))
            return -1;
    }
    return 0;
}

int fg_req_images(fg_request *req, const char *single, size_t max, fg_blob **images, size_t *count,
                  fg_http_error *e)
{
    fg_blob *list = calloc(max + 1, sizeof *list);
    int rc = 0;
    *images = NULL;
    *count = 0;
    if (!list) return fg_http_fail(e, 500, "internal", "out of memory");
    if (parse_body(req, e) != 0) {
        rc = -1;
    } else if (req->body_kind == FG_BODY_IMAGE) {
        rc = add_image(list, count, max, req->body, req->body_len, 1, e);
    } else if (req->json) {
        rc = json_images(req, single, max, list, count, e);
    } else {
        for (size_t i = 0; i < req->nparts && rc == 0; i++) {
            const fg_part *p = &req->parts[i];
            if (strcmp(p->name, single) != 0 && strcmp(p->name, IMAGES_FIELD) != 0) continue;
            rc = add_image(list, count, max, p->value.data, p->value.size, p->is_file, e);
        }
    }
    if (rc == 0 && *count == 0)
        rc = fg_http_fail(e, 400, "missing_field",
                          "no image: send \"%s\" as a data URL or base64 string, a multipart file "
                          "field \"%s\", or an image body",
                          single, single);
    if (rc != 0) {
        fg_blobs_free(list, *count);
        *count = 0;
        return -1;
    }
    *images = list;
    return 0;
}

int fg_req_json(fg_request *req, json_t **out, fg_http_error *e)
{
    *out = NULL;
    if (req->body_kind != FG_BODY_JSON)
        return fg_http_fail(e, 415, "unsupported_media_type", "send the body as application/json");
    if (parse_body(req, e) != 0) return -1;
    *out = req->json;
    return 0;
}

int fg_req_has_images(fg_request *req, const char *single)
{
    if (req->body_kind == FG_BODY_IMAGE) return 1;
    if (req->json) {
        json_t *many = json_object_get(req->json, IMAGES_FIELD);
        json_t *one = json_object_get(req->json, single);
        return (many && !json_is_null(many)) || (one && !json_is_null(one));
    }
    for (size_t i = 0; i < req->nparts; i++)
        if (!strcmp(req->parts[i].name, single) || !strcmp(req->parts[i].name, IMAGES_FIELD))
            return 1;
    return 0;
}
