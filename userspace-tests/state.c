// SPDX-License-Identifier: GPL-2.0
/*
 * Errors and options.  Pattern state errors fail at once with the contract's
 * state errno (STATE_ERRNO below) instead of hanging: recv() on a REQ with no
 * request outstanding (fresh, or after its reply came), send() on a REP with
 * no request to answer (fresh, or after it answered).  socket() refuses
 * unsupported types and protocols; bind()/connect() refuse other address
 * families and short address lengths; a port in use gives EADDRINUSE.
 * Unknown SOL_SP options give ENOPROTOOPT; the int options have the
 * documented defaults and read back what was set.  SP_BIND and SP_CONNECT
 * take URLs, including "tcp://" "*:PORT" for bind, enough for a whole
 * exchange, and refuse malformed URLs with EINVAL.
 */
#include <sys/un.h>

#include "sp_test.h"

/* The one errno of pattern state errors (api.md: "e.g. EPROTO"). */
#define STATE_ERRNO	EPROTO

#define PORT		24900
#define PORT_INUSE	24901

/* Clearly malformed for both SP_BIND and SP_CONNECT. */
static const char *const bad_urls[] = {
	"",
	"tcp://",
	"tcp:/127.0.0.1:24902",
	"127.0.0.1:24902",
	"tcp://127.0.0.1:65536",
	"tcp://127.0.0.1:-1",
	"tcp://127.0.0.1:12x",
	"tcp://[::1:24902",
	"tcp://[::1]24902",
	"tcp://300.0.0.1:24902",
};

/* Malformed for SP_CONNECT only. */
static const char *const bad_connect_urls[] = {
	"tcp://127.0.0.1",
	"tcp://*:24902",
};

/* Unsupported socket types: 1..10 are all SP types, 0 reaches the family and is none. */
static const int bad_types[] = { 0 };

#define NCHECKS	(28 + ARRAY_SIZE(bad_types) + 2 * ARRAY_SIZE(bad_urls) + \
		 ARRAY_SIZE(bad_connect_urls))

static void check_state_errno(ssize_t n, const char *what)
{
	sp_check_err(n < 0 ? -1 : (int)n, STATE_ERRNO, STATE_ERRNO, what);
}

static void check_int(int fd, int opt, const char *name, int expect,
		      const char *how)
{
	int v;
	int rc = sp_get_int(fd, SOL_SP, opt, &v);

	if (rc)
		tap_diag("getsockopt(%s): %s", name, strerror(errno));
	tap_ok(rc == 0 && v == expect, "%s %s %d (%d)", name, how, expect, v);
}

static void check_set_get(int fd, int opt, const char *name, int val)
{
	int rc = sp_set_int(fd, SOL_SP, opt, val);

	if (rc)
		tap_diag("setsockopt(%s, %d): %s", name, val, strerror(errno));
	check_int(fd, opt, name, val, "reads back");
}

int main(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	int req, rep, fd, rc, v;
	char buf[64], url[64];
	size_t i;

	tap_plan(NCHECKS);
	tap_watchdog(180);

	/* State errors. */
	req = sp_open(SOCK_REQ, 0);
	rep = sp_open(SOCK_REP, 0);
	sp_timeouts(req, 5000, 5000);
	sp_timeouts(rep, sp_wait_ms(), 5000);
	check_state_errno(recv(req, buf, sizeof(buf), 0),
			  "recv on a REQ with no request outstanding");
	check_state_errno(recv(req, buf, sizeof(buf), MSG_DONTWAIT),
			  "recv(MSG_DONTWAIT) on a REQ with no request outstanding");
	check_state_errno(send(rep, "x", 1, 0),
			  "send on a REP with no request to answer");

	/* An exchange over URLs only, then the same state errors again. */
	snprintf(url, sizeof(url), "tcp://*:%d", PORT);
	rc = sp_url(rep, SP_BIND, url);
	if (rc)
		tap_diag("SP_BIND: %s", strerror(errno));
	tap_ok(rc == 0, "SP_BIND \"%s\" on a REP", url);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", PORT);
	rc = sp_url(req, SP_CONNECT, url);
	if (rc)
		tap_diag("SP_CONNECT: %s", strerror(errno));
	tap_ok(rc == 0, "SP_CONNECT \"%s\" on a REQ", url);
	sp_timeo(req, SO_RCVTIMEO, sp_wait_ms());
	rc = sp_send_all(req, "by-url", 6, "REQ") &&
	     sp_expect(rep, "by-url", 6, "REP") &&
	     sp_send_all(rep, "url-ok", 6, "REP") &&
	     sp_expect(req, "url-ok", 6, "REQ");
	tap_ok(rc, "a REQ/REP exchange works over endpoints given as URLs");
	sp_timeo(req, SO_RCVTIMEO, 5000);
	check_state_errno(send(rep, "again", 5, 0),
			  "a second send on a REP that already answered");
	check_state_errno(recv(req, buf, sizeof(buf), 0),
			  "recv on a REQ that already got its reply");

	/* socket() arguments. */
	for (i = 0; i < ARRAY_SIZE(bad_types); i++) {
		char what[64];

		snprintf(what, sizeof(what), "socket(PF_SP, type %d)",
			 bad_types[i]);
		fd = socket(PF_SP, bad_types[i], 0);
		sp_check_err(fd, ESOCKTNOSUPPORT, EPROTONOSUPPORT, what);
		if (fd >= 0)
			close(fd);
	}
	fd = socket(PF_SP, SOCK_REQ, IPPROTO_UDP);
	sp_check_err(fd, EPROTONOSUPPORT, EPROTONOSUPPORT,
		     "socket(PF_SP, SOCK_REQ, IPPROTO_UDP)");
	if (fd >= 0)
		close(fd);
	fd = socket(PF_SP, SOCK_REP, 0);
	tap_ok(fd >= 0, "socket(PF_SP, SOCK_REP, 0) works (protocol 0 is TCP)");
	if (fd < 0)
		fd = sp_open(SOCK_REP, 0);

	/* Addresses. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/sp-state-test");
	sp_check_err(bind(fd, (struct sockaddr *)&sun, sizeof(sun)),
		     EAFNOSUPPORT, EINVAL, "bind with an AF_UNIX address");
	sp_check_err(connect(fd, (struct sockaddr *)&sun, sizeof(sun)),
		     EAFNOSUPPORT, EINVAL, "connect with an AF_UNIX address");
	sp_addr4(&sin, PORT + 10);
	sp_check_err(bind(fd, (struct sockaddr *)&sin, 8), EINVAL, EINVAL,
		     "bind with an AF_INET address of length 8");
	sp_check_err(connect(fd, (struct sockaddr *)&sin, 8), EINVAL, EINVAL,
		     "connect with an AF_INET address of length 8");
	sp_addr6(&sin6, PORT + 10);
	sp_check_err(bind(fd, (struct sockaddr *)&sin6, sizeof(sin)), EINVAL, EINVAL,
		     "bind with an AF_INET6 address of sizeof(sockaddr_in)");
	close(fd);

	fd = sp_open(SOCK_REP, 0);
	rc = sp_bind4(fd, PORT_INUSE);
	if (rc)
		tap_diag("first bind: %s", strerror(errno));
	v = sp_open(SOCK_REP, 0);
	sp_check_err(rc ? 0 : sp_bind4(v, PORT_INUSE), EADDRINUSE, EADDRINUSE,
		     "a second REP's bind to a port in use");
	close(v);
	close(fd);

	/* Options. */
	sp_check_err(getsockopt(req, SOL_SP, 999, &v, &(socklen_t){ sizeof(v) }),
		     ENOPROTOOPT, ENOPROTOOPT, "getsockopt(SOL_SP, 999)");
	v = 1;
	sp_check_err(setsockopt(req, SOL_SP, 999, &v, sizeof(v)),
		     ENOPROTOOPT, ENOPROTOOPT, "setsockopt(SOL_SP, 999)");
	v = 1000;
	sp_check_err(setsockopt(req, SOL_SP, SP_RESEND_IVL, &v, 2), EINVAL, EINVAL,
		     "setsockopt(SP_RESEND_IVL) with optlen 2");

	check_int(req, SP_RESEND_IVL, "SP_RESEND_IVL", SP_RESEND_IVL_DEFAULT,
		  "defaults to");
	check_set_get(req, SP_RESEND_IVL, "SP_RESEND_IVL", 1234);
	check_int(rep, SP_RCVMAXSIZE, "SP_RCVMAXSIZE", SP_RCVMAXSIZE_DEFAULT,
		  "defaults to");
	check_set_get(rep, SP_RCVMAXSIZE, "SP_RCVMAXSIZE", 4096);
	check_set_get(rep, SP_RCVMAXSIZE, "SP_RCVMAXSIZE", -1);
	check_int(req, SP_RECONNECT_IVL, "SP_RECONNECT_IVL",
		  SP_RECONNECT_IVL_DEFAULT, "defaults to");
	check_int(req, SP_RECONNECT_IVL_MAX, "SP_RECONNECT_IVL_MAX",
		  SP_RECONNECT_IVL_MAX_DEFAULT, "defaults to");
	check_int(req, SP_SNDPRIO, "SP_SNDPRIO", SP_SNDPRIO_DEFAULT,
		  "defaults to");
	check_set_get(req, SP_SNDPRIO, "SP_SNDPRIO", 3);

	/* URLs. */
	fd = sp_open(SOCK_REP, 0);
	for (i = 0; i < ARRAY_SIZE(bad_urls); i++) {
		char what[96];

		snprintf(what, sizeof(what), "SP_BIND \"%s\"", bad_urls[i]);
		sp_check_err(sp_url(fd, SP_BIND, bad_urls[i]), EINVAL, EINVAL,
			     what);
		snprintf(what, sizeof(what), "SP_CONNECT \"%s\"", bad_urls[i]);
		sp_check_err(sp_url(fd, SP_CONNECT, bad_urls[i]), EINVAL, EINVAL,
			     what);
	}
	for (i = 0; i < ARRAY_SIZE(bad_connect_urls); i++) {
		char what[96];

		snprintf(what, sizeof(what), "SP_CONNECT \"%s\"",
			 bad_connect_urls[i]);
		sp_check_err(sp_url(fd, SP_CONNECT, bad_connect_urls[i]), EINVAL,
			     EINVAL, what);
	}
	close(fd);

	close(req);
	close(rep);
	return tap_done();
}
