/*
 * clock.h - wall-clock and monotonic time, and timestamps as the API and the logs print them.
 * Internal to facegate (hidden in libfacegate); the server, the store and the tools use them.
 */
#ifndef FG_CORE_CLOCK_H
#define FG_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Seconds (and milliseconds) since the epoch. */
int64_t fg_now(void);
int64_t fg_now_ms(void);
/* Seconds on a monotonic clock (for durations and deadlines, not dates). */
double fg_monotonic(void);
/* "2026-11-28T10:00:00Z" (UTC) into buf (at least 21 bytes). */
void fg_iso8601(int64_t t, char *buf, size_t cap);

#endif
