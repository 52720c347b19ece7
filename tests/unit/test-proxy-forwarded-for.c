/* test-proxy-forwarded-for.c - the client address behind trusted proxies: ranges (IPv4, IPv6,
 * IPv4-mapped), X-Forwarded-For read from the right, spoofed entries and untrusted peers. */
#include "harness.h"
#include "server/proxy.h"

#include <string.h>

static const char *client(const fg_cidr *t, int n, const char *peer, const char *xff)
{
    static char out[64];
    fg_proxy_client(t, n, peer, xff, out, sizeof out);
    return out;
}

#define CHECK_STR(a, b) CHECKF(strcmp((a), (b)) == 0, "got %s, want %s", (a), (b))

int main(void)
{
    fg_cidr t[3], bad;
    CHECK_EQ_INT(fg_cidr_parse("10.0.0.0/8", &t[0]), 0);
    CHECK_EQ_INT(fg_cidr_parse("127.0.0.1", &t[1]), 0);
    CHECK_EQ_INT(fg_cidr_parse("fd00::/8", &t[2]), 0);
    CHECK_EQ_INT(t[1].prefix, 32);
    CHECK_EQ_INT(fg_cidr_parse("10.0.0.0/33", &bad), -1);
    CHECK_EQ_INT(fg_cidr_parse("10.0.0/8", &bad), -1);
    CHECK_EQ_INT(fg_cidr_parse("::/129", &bad), -1);
    CHECK_EQ_INT(fg_cidr_parse("/8", &bad), -1);
    CHECK_EQ_INT(fg_cidr_parse("10.0.0.0/", &bad), -1);

    CHECK(fg_cidr_match(t, 3, "10.200.3.4"));
    CHECK(!fg_cidr_match(t, 3, "11.0.0.1"));
    CHECK(fg_cidr_match(t, 3, "::ffff:10.1.2.3")); /* IPv4-mapped */
    CHECK(fg_cidr_match(t, 3, "fd12::1"));
    CHECK(!fg_cidr_match(t, 3, "fe80::1"));
    CHECK(!fg_cidr_match(t, 3, "not an address"));
    CHECK_EQ_INT(fg_cidr_parse("192.168.2.0/23", &bad), 0); /* not on a byte boundary */
    CHECK(fg_cidr_match(&bad, 1, "192.168.3.7"));
    CHECK(!fg_cidr_match(&bad, 1, "192.168.4.1"));
    CHECK(!fg_cidr_match(&bad, 1, "192.168.1.255"));

    /* An untrusted peer: the header is ignored. */
    CHECK_STR(client(t, 3, "203.0.113.5", "198.51.100.1"), "203.0.113.5");
    /* No proxies configured: the same. */
    CHECK_STR(client(t, 0, "127.0.0.1", "198.51.100.1"), "127.0.0.1");
    /* A trusted peer: the rightmost address that is not a trusted proxy. */
    CHECK_STR(client(t, 3, "127.0.0.1", "198.51.100.1"), "198.51.100.1");
    CHECK_STR(client(t, 3, "127.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.2"), "198.51.100.1");
    CHECK_STR(client(t, 3, "127.0.0.1", " 2001:db8::7 "), "2001:db8::7");
    /* Garbage stops the walk at the last good hop, or keeps the peer. */
    CHECK_STR(client(t, 3, "127.0.0.1", "evil"), "127.0.0.1");
    CHECK_STR(client(t, 3, "127.0.0.1", "198.51.100.1, , 10.0.0.2"), "10.0.0.2");
    CHECK_STR(client(t, 3, "127.0.0.1", ""), "127.0.0.1");

    CHECK(fg_proxy_https(t, 3, "127.0.0.1", "https"));
    CHECK(!fg_proxy_https(t, 3, "203.0.113.5", "https"));
    CHECK(!fg_proxy_https(t, 3, "127.0.0.1", "http"));
    return fg_test_done();
}
