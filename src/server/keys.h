/*
 * keys.h - the data directory's session signing keys and its lock.
 *
 * signing.key signs new tokens; signing-previous.key, when present, is the key before the last
 * `facegate keys rotate` and still verifies the tokens it signed until they expire. Both are
 * Ed25519 seeds as hex (fg_keyfile_*). The running server re-reads them on SIGHUP.
 *
 * facegate.lock is held (flock) by a running `facegate serve` and holds its process id, so the
 * offline commands (restore, rotate-descriptor-key) can refuse to run under a live server and
 * `keys rotate` can tell it to reload.
 */
#ifndef FG_SERVER_KEYS_H
#define FG_SERVER_KEYS_H

#include <sys/types.h>

#include "server/jwt.h"

#define FG_SIGNING_KEY_FILE "signing.key"
#define FG_SIGNING_PREVIOUS_FILE "signing-previous.key"
#define FG_ADMIN_TOKEN_FILE "admin.token"
#define FG_LOCK_FILE "facegate.lock"

/* Loads signing.key (creating it on first run) and signing-previous.key (if present). */
int fg_keys_load(const char *data_dir, fg_jwt_keyset *keys, fg_error *err);

/* Moves signing.key to signing-previous.key and writes a new signing.key (each step an atomic
 * rename). Tokens of the key before the previous one no longer verify. Fills *keys with the
 * new set (may be NULL). */
int fg_keys_rotate(const char *data_dir, fg_jwt_keyset *keys, fg_error *err);

/* Takes the data dir's lock for this process (writing its pid into the file); *fd stays open
 * while the lock is held (close it to release). Fails when another process holds it. */
int fg_datadir_lock(const char *data_dir, int *fd, fg_error *err);

/* The pid of the process holding the data dir's lock, or 0 when nobody holds it. */
pid_t fg_datadir_owner(const char *data_dir);

#endif
