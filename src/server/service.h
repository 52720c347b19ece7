/*
 * service.h - telling the service manager how the server is doing (systemd's sd_notify:
 * READY=1 once listening, RELOADING=1 / READY=1 around a key reload, STOPPING=1).
 *
 * Built with libsystemd when pkg-config finds it (FG_HAVE_SYSTEMD); otherwise a no-op. Outside
 * systemd (no $NOTIFY_SOCKET) it does nothing either.
 */
#ifndef FG_SERVER_SERVICE_H
#define FG_SERVER_SERVICE_H

void fg_service_notify(const char *state);

#endif
