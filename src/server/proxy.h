/*
 * proxy.h - the client's address behind reverse proxies (--trusted-proxy CIDR).
 *
 * The TCP peer is the client unless it is a trusted proxy. Then X-Forwarded-For is read from
 * the right (the address the nearest proxy saw) leftwards, skipping addresses that are
 * themselves trusted proxies; the first untrusted one is the client. Everything left of it
 * was written by the client and is ignored, so nobody picks their own address (and their own
 * rate-limit bucket) by sending the header. From an untrusted peer the header is ignored.
 */
#ifndef FG_SERVER_PROXY_H
#define FG_SERVER_PROXY_H

#include <stddef.h>
#include <stdint.h>

#define FG_MAX_TRUSTED_PROXIES 16

typedef struct fg_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int prefix; /* bits */
} fg_cidr;

/* Parses "10.0.0.0/8", "192.168.1.5" (a /32), "fd00::/8" or "::1". 0, or -1 if malformed. */
int fg_cidr_parse(const char *text, fg_cidr *out);

/* 1 if the textual address ip lies in one of the n ranges (an IPv4-mapped IPv6 address counts
 * as its IPv4 address). */
int fg_cidr_match(const fg_cidr *ranges, int n, const char *ip);

/* The client address of a request from `peer` with the X-Forwarded-For header `forwarded`
 * (may be NULL), given the trusted proxies. Writes it into out (at most cap bytes). */
void fg_proxy_client(const fg_cidr *trusted, int n, const char *peer, const char *forwarded,
                     char *out, size_t cap);

/* 1 if a trusted proxy says the client used HTTPS (X-Forwarded-Proto: https from a trusted
 * peer): the session cookie then gets `Secure`. */
int fg_proxy_https(const fg_cidr *trusted, int n, const char *peer, const char *proto);

#endif
