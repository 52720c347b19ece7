/*
 * service.c - sd_notify, when built with libsystemd.
 */
#include "server/service.h"

#ifdef FG_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

void fg_service_notify(const char *state)
{
    sd_notify(0, state);
}
#else
void fg_service_notify(const char *state)
{
    (void)state;
}
#endif
