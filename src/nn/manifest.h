/*
 * manifest.h - reading TF.js weight manifests, shared by the face-api weight loader and the
 * graph-model loader (internal to src/nn/).
 */
#ifndef FG_NN_MANIFEST_H
#define FG_NN_MANIFEST_H

#include <jansson.h>

#include "nn/nn.h"

/* Reads <dir>/<file> (no '/' or '..' in file) and checks it against its pinned SHA-256. On
 * success *data is malloc'd (caller frees). */
int nn_read_verified(const char *dir, const char *file, unsigned char **data, size_t *size,
                     fg_error *err);

/* Reads and verifies every file the manifest's groups name, in order. Free with nn_free_shards. */
int nn_read_manifest_shards(const char *dir, const json_t *groups, nn_blob **shards,
                            size_t *nshards, fg_error *err);
void nn_free_shards(nn_blob *shards, size_t n);

/* The error code of a JSON document jansson could not load: FG_ENOMEM when it ran out of
 * memory, FG_EMODEL_CORRUPT otherwise. jansson reports some of its allocation failures as
 * syntax errors, so a document that matched its pinned SHA-256 (`verified`), which cannot be
 * malformed, failed for want of memory. */
int nn_json_error_code(const json_error_t *jerr, int verified);

/* Decodes the tensors of a manifest (a list of groups) from its shards, given in the order the
 * groups name them; `what` names the model in messages. Every size is checked against the bytes
 * given before it is read. */
int nn_weights_decode(const json_t *groups, const nn_blob *shards, size_t nshards, const char *what,
                      nn_weights *out, fg_error *err);

#endif
