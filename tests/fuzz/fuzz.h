/*
 * fuzz.h - what the libFuzzer harnesses share.
 *
 * A harness is one file, tests/fuzz/fuzz-NAME.c: it defines LLVMFuzzerTestOneInput and, if it
 * has starting inputs, fg_fuzz_seeds(), which adds them with fg_fuzz_seed(). Seeds are made at
 * run time (the real encoders, a key of our own): no data file is committed or copied. CMake
 * builds every such file with FG_FUZZ=ON, and scripts/fuzz.sh runs every one it finds, so
 * adding a harness is adding its file. Inputs that once crashed a harness, fixed since, live in
 * tests/fuzz/regressions/NAME/ and are replayed first by every run.
 *
 * A harness checks what must hold whatever the input (an error has a message, a success an
 * object) with FG_FUZZ_CHECK: a violation aborts, which libFuzzer reports like a crash.
 */
#ifndef FG_TESTS_FUZZ_H
#define FG_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Defined by harnesses with seeds; called once at start when FG_FUZZ_SEED_DIR is set. */
void fg_fuzz_seeds(void) __attribute__((weak));

/* Writes one seed file named `name` into $FG_FUZZ_SEED_DIR. */
void fg_fuzz_seed(const char *name, const void *data, size_t size);
/* Writes n text seeds, named seed0, seed1, ... */
void fg_fuzz_seed_texts(const char *const *texts, size_t n);

/* A request as http.c hands it to a route once its body has arrived: a copy of data as the
 * body (of `kind`, the Content-Type given), on a server with the default body limit. Free with
 * fg_fuzz_request_free. */
fg_request *fg_fuzz_request(fg_body_kind kind, const char *content_type, const uint8_t *data,
                            size_t size);
void fg_fuzz_request_free(fg_request *req);

#define FG_FUZZ_CHECK(cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
