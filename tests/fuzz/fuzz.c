/*
 * fuzz.c - the seed writer every harness links (see fuzz.h).
 */
#include "fuzz.h"

#include <microhttpd.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* libFuzzer calls this before it reads the corpus directories: the seeds are there in time. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (getenv("FG_FUZZ_SEED_DIR") && fg_fuzz_seeds) fg_fuzz_seeds();
    return 0;
}

void fg_fuzz_seed(const char *name, const void *data, size_t size)
{
    const char *dir = getenv("FG_FUZZ_SEED_DIR");
    char path[4096];
    FILE *f;
    if (!dir || !data) return;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "fuzz: cannot write seed %s\n", path);
        return;
    }
    fwrite(data, 1, size, f);
    fclose(f);
}

void fg_fuzz_seed_texts(const char *const *texts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed%zu", i);
        fg_fuzz_seed(name, texts[i], strlen(texts[i]));
    }
}

fg_request *fg_fuzz_request(fg_body_kind kind, const char *content_type, const uint8_t *data,
                            size_t size)
{
    static fg_server server;
    fg_request *req = calloc(1, sizeof *req);
    if (!req) abort();
    fg_server_config_init(&server.config);
    req->server = &server;
    req->body_kind = kind;
    req->values = calloc(1, sizeof *req->values);
    req->body = malloc(size + 1);
    if (!req->values || !req->body) abort();
    req->values[0] = (fg_kv){MHD_HEADER_KIND, "Content-Type", content_type};
    req->nvalues = content_type ? 1 : 0;
    if (size) memcpy(req->body, data, size);
    req->body[size] = 0;
    req->body_len = req->body_received = size;
    req->body_cap = size + 1;
    return req;
}

void fg_fuzz_request_free(fg_request *req)
{
    if (!req) return;
    fg_body_free(req);
    free(req->values);
    free(req);
}
