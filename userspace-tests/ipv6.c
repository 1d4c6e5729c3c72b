// SPDX-License-Identifier: GPL-2.0
/*
 * Addresses: REQ/REP over IPv6 loopback with struct sockaddr_in6, and port 0.
 * A REP bound to [::1]:0 must report through getsockname() an AF_INET6
 * address [::1] with a non-zero port, which a REQ then connect()s to for a
 * full exchange; a second REQ reaches the same port through SP_CONNECT with
 * "tcp://[::1]:PORT".  The same port-0 binding and getsockname() work for
 * IPv4 on 127.0.0.1.  Skipped when the guest has no IPv6 loopback.
 */
#include "sp_test.h"

/* REQ sends @q, REP must get it, REP answers @a, REQ must get it. */
static int exchange(int req, int rep, const char *q, const char *a)
{
	return sp_send_all(req, q, strlen(q), "REQ send") &&
	       sp_expect(rep, q, strlen(q), "REP") &&
	       sp_send_all(rep, a, strlen(a), "REP send") &&
	       sp_expect(req, a, strlen(a), "REQ");
}

int main(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 sin6, *got6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in sin, *got4 = (struct sockaddr_in *)&ss;
	int rep, req, req2, rep4, req4, rc, port = 0;
	socklen_t len;
	char url[64];

	if (!sp_have_ipv6())
		tap_skip_all("no IPv6 loopback address ::1 in this system");
	tap_plan(10);
	tap_watchdog(180);

	rep = sp_open(SOCK_REP, 0);
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	sp_addr6(&sin6, 0);
	rc = bind(rep, (struct sockaddr *)&sin6, sizeof(sin6));
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	tap_ok(rc == 0, "REP binds [::1]:0 with a struct sockaddr_in6");

	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	rc = getsockname(rep, (struct sockaddr *)&ss, &len);
	if (rc)
		tap_diag("getsockname: %s", strerror(errno));
	tap_ok(rc == 0 && len == sizeof(sin6) && got6->sin6_family == AF_INET6 &&
	       !memcmp(&got6->sin6_addr, &in6addr_loopback, 16),
	       "getsockname reports an AF_INET6 address [::1] (len %u, family %d)",
	       (unsigned int)len, got6->sin6_family);
	if (!rc && got6->sin6_family == AF_INET6)
		port = ntohs(got6->sin6_port);
	tap_ok(port != 0, "getsockname reports the non-zero port picked (%d)",
	       port);
	if (!port)
		tap_bail("no port to connect to");

	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	sp_addr6(&sin6, port);
	rc = connect(req, (struct sockaddr *)&sin6, sizeof(sin6));
	if (rc)
		tap_diag("connect: %s", strerror(errno));
	tap_ok(rc == 0, "REQ connect()s to [::1]:%d", port);
	tap_ok(exchange(req, rep, "hello6", "reply6"),
	       "request and reply travel over IPv6");

	req2 = sp_open(SOCK_REQ, 0);
	sp_timeouts(req2, sp_wait_ms(), sp_wait_ms());
	snprintf(url, sizeof(url), "tcp://[::1]:%d", port);
	rc = sp_url(req2, SP_CONNECT, url);
	if (rc)
		tap_diag("setsockopt(SP_CONNECT): %s", strerror(errno));
	tap_ok(rc == 0, "SP_CONNECT \"%s\" is accepted", url);
	tap_ok(exchange(req2, rep, "via-url6", "ok6"),
	       "a REQ connected by URL talks to the same IPv6 REP");

	/* The same with IPv4. */
	rep4 = sp_open(SOCK_REP, 0);
	req4 = sp_open(SOCK_REQ, 0);
	sp_timeouts(rep4, sp_wait_ms(), sp_wait_ms());
	sp_timeouts(req4, sp_wait_ms(), sp_wait_ms());
	sp_addr4(&sin, 0);
	rc = bind(rep4, (struct sockaddr *)&sin, sizeof(sin));
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	tap_ok(rc == 0, "REP binds 127.0.0.1:0 with a struct sockaddr_in");
	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	port = 0;
	rc = getsockname(rep4, (struct sockaddr *)&ss, &len);
	if (!rc && len == sizeof(sin) && got4->sin_family == AF_INET &&
	    got4->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
		port = ntohs(got4->sin_port);
	tap_ok(port != 0,
	       "getsockname reports AF_INET 127.0.0.1 and a non-zero port (%d, len %u)",
	       port, (unsigned int)len);
	rc = sp_connect4(req4, port);
	tap_ok(port && !rc && exchange(req4, rep4, "hello4", "reply4"),
	       "a REQ connect()ed to that IPv4 port gets its answer");

	close(req4);
	close(rep4);
	close(req2);
	close(req);
	close(rep);
	return tap_done();
}
