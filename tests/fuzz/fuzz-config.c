/*
 * fuzz-config.c - the `facegate serve` config file (`name = value` lines, # comments, quoted
 * values, list options): fg_serve_config_text on any text. It either applies every line or
 * stops at a bad one; whatever it applied stays within each option's bounds.
 */
#include <string.h>
#include <sys/socket.h>

#include "cli/commands.h"
#include "fuzz.h"
#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fg_server_config config;
    fg_server_config_init(&config);
    fg_serve_config_text((const char *)data, size, "fuzz.conf", &config);
    FG_FUZZ_CHECK(config.port >= 0 && config.port <= 65535);
    FG_FUZZ_CHECK(config.workers >= 1 && config.workers <= 256);
    FG_FUZZ_CHECK(config.cors_count >= 0 && config.cors_count <= FG_SERVER_MAX_CORS_ORIGINS);
    FG_FUZZ_CHECK(config.trusted_proxy_count >= 0 &&
                  config.trusted_proxy_count <= FG_MAX_TRUSTED_PROXIES);
    for (int i = 0; i < config.trusted_proxy_count; i++)
        FG_FUZZ_CHECK(config.trusted_proxies[i].prefix >= 0 &&
                      config.trusted_proxies[i].prefix <=
                          (config.trusted_proxies[i].family == AF_INET ? 32 : 128));
    FG_FUZZ_CHECK(memchr(config.admin_host, 0, sizeof config.admin_host) != NULL);
    FG_FUZZ_CHECK(config.admin_port >= 0 && config.admin_port <= 65535);
    FG_FUZZ_CHECK(memchr(config.issuer, 0, sizeof config.issuer) != NULL);
    FG_FUZZ_CHECK(memchr(config.host, 0, sizeof config.host) != NULL);
    FG_FUZZ_CHECK(config.threshold >= 0.01f && config.threshold <= 2.0f);
    return 0;
}

void fg_fuzz_seeds(void)
{
    static const char conf[] = "# facegate serve configuration\n"
                               "host = 0.0.0.0\n"
                               "port=9000\n"
                               "data-dir \"/var/lib/facegate\"\n"
                               "cors-origin = https://a.example, https://b.example\n"
                               "trusted-proxy = 10.0.0.0/8,::1, fd00::/8\n"
                               "admin-listen = [::1]:9090\n"
                               "issuer = https://login.example.com\n"
                               "code-ttl = 120\n"
                               "audit-retention-days = 30\n"
                               "threshold = 0.4   # stricter\n"
                               "secure-cookie = yes\n"
                               "detector = tiny\n"
                               "max-pixels = 1000000\n"
                               "frame-max-pixels = 4096\n"
                               "lockout-after = 3\n";
    fg_fuzz_seed("serve.conf", conf, sizeof conf - 1);
    fg_fuzz_seed("bad.conf", "port = eighty\n", 14);
}
