/*
 * proxy.c - trusted reverse proxies: CIDR ranges and X-Forwarded-For.
 */
#include "server/proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses an address; IPv4-mapped IPv6 becomes IPv4. 0 or -1. */
static int parse_addr(const char *text, int *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, addr) != 1) return -1;
    *family = AF_INET6;
    if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr)) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = AF_INET;
    }
    return 0;
}

int fg_cidr_parse(const char *text, fg_cidr *out)
{
    char host[64];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    int max;
    if (n == 0 || n >= sizeof host) return -1;
    memcpy(host, text, n);
    host[n] = 0;
    if (parse_addr(host, &out->family, out->addr) != 0) return -1;
    max = out->family == AF_INET ? 32 : 128;
    out->prefix = max;
    if (slash) {
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || bits < 0 || bits > max) return -1;
        out->prefix = (int)bits;
    }
    return 0;
}

static int in_range(const fg_cidr *r, int family, const uint8_t addr[16])
{
    int full = r->prefix / 8, rest = r->prefix % 8;
    if (r->family != family) return 0;
    if (memcmp(r->addr, addr, (size_t)full) != 0) return 0;
    if (rest == 0) return 1;
    return ((r->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int fg_cidr_match(const fg_cidr *ranges, int n, const char *ip)
{
    uint8_t addr[16];
    int family;
    if (!ip || parse_addr(ip, &family, addr) != 0) return 0;
    for (int i = 0; i < n; i++)
        if (in_range(&ranges[i], family, addr)) return 1;
    return 0;
}

/* The rightmost entry of list[0..*end) as a valid address in hop; moves *end before it.
 * -1 if it is empty, too long or not an address. */
static int pop_hop(const char *list, size_t *end, char *hop, size_t cap)
{
    size_t start = *end;
    const char *a, *b;
    uint8_t addr[16];
    int family;
    while (start > 0 && list[start - 1] != ',')
        start--;
    a = list + start;
    b = list + *end;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    *end = start > 0 ? start - 1 : 0;
    if (b == a || (size_t)(b - a) >= cap) return -1;
    memcpy(hop, a, (size_t)(b - a));
    hop[b - a] = 0;
    return parse_addr(hop, &family, addr);
}

void fg_proxy_client(const fg_cidr *trusted, int n, const char *peer, const char *forwarded,
                     char *out, size_t cap)
{
    char hop[64];
    size_t end = forwarded ? strlen(forwarded) : 0;
    snprintf(out, cap, "%s", peer);
    if (n == 0 || !forwarded || !fg_cidr_match(trusted, n, peer)) return;
    /* Each hop was appended by the proxy to its right; a malformed one ends the walk. */
    while (end > 0 && pop_hop(forwarded, &end, hop, sizeof hop) == 0) {
        snprintf(out, cap, "%s", hop);
        if (!fg_cidr_match(trusted, n, hop)) return;
    }
}

int fg_proxy_https(const fg_cidr *trusted, int n, const char *peer, const char *proto)
{
    return n > 0 && proto && strcasecmp(proto, "https") == 0 && fg_cidr_match(trusted, n, peer);
}
