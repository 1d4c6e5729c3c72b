/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the PF_SP userspace tests: creating SP sockets (bailing
 * out with a clear message when the family is missing, as on a host without
 * the module), loopback addresses, timeouts, option helpers and checks that
 * one received message is exactly the expected bytes.  Nothing in here hides
 * a failure: every helper either returns the raw syscall result or reports
 * what it saw through TAP diagnostics.
 */
#ifndef SP_TEST_H
#define SP_TEST_H

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

/*
 * The header's comment spells the URL "tcp://" "*:5555" literally, which
 * contains a comment opener and trips -Wcomment (-Werror).  Tolerate it here
 * so the tests build against the header as it is.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include <linux/sp.h>
#pragma GCC diagnostic pop

#include "tap.h"

/* Generous bound for waits that must succeed (TCG + KASAN is slow). */
static inline int sp_wait_ms(void)
{
	const char *env = getenv("SP_TEST_WAIT_MS");

	if (env && atoi(env) > 0)
		return atoi(env);
	return 20000;
}

/* How long to wait for something that must NOT happen. */
#define SP_NEVER_MS	2000

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static inline const char *sp_type_name(int type)
{
	switch (type) {
	case SOCK_REQ:
		return "SOCK_REQ";
	case SOCK_REP:
		return "SOCK_REP";
	case SOCK_PUB:
		return "SOCK_PUB";
	case SOCK_SUB:
		return "SOCK_SUB";
	case SOCK_PAIR:
		return "SOCK_PAIR";
	case SOCK_PUSH:
		return "SOCK_PUSH";
	case SOCK_PULL:
		return "SOCK_PULL";
	case SOCK_SURVEYOR:
		return "SOCK_SURVEYOR";
	case SOCK_RESPONDENT:
		return "SOCK_RESPONDENT";
	case SOCK_BUS:
		return "SOCK_BUS";
	}
	return "?";
}

/* socket(PF_SP, type | flags, IPPROTO_TCP); raw result. */
static inline int sp_socket(int type, int flags)
{
	return socket(PF_SP, type | flags, IPPROTO_TCP);
}

/*
 * Create an SP socket or give up: reports "not ok" and bails out, so a host
 * without the module fails every test at once instead of hanging.
 */
static inline int sp_open(int type, int flags)
{
	int fd = sp_socket(type, flags);

	if (fd < 0) {
		int err = errno;

		if (tap_is_child)
			tap_bail("socket(PF_SP=%d, %s): %s", PF_SP,
				 sp_type_name(type), strerror(err));
		tap_ok(0, "socket(PF_SP=%d, %s) succeeds (errno %d: %s)", PF_SP,
		       sp_type_name(type), err, strerror(err));
		tap_bail("cannot create PF_SP sockets%s",
			 err == EAFNOSUPPORT ? " (is the sp module loaded?)" : "");
	}
	return fd;
}

static inline void sp_addr4(struct sockaddr_in *sin, int port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static inline void sp_addr6(struct sockaddr_in6 *sin6, int port)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = in6addr_loopback;
}

/* SO_REUSEADDR, so a test can rebind a port with connections in TIME_WAIT. */
static inline void sp_reuseaddr(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		tap_diag("setsockopt(SO_REUSEADDR): %s", strerror(errno));
}

/* bind() to 127.0.0.1:port (with SO_REUSEADDR); raw result. */
static inline int sp_bind4(int fd, int port)
{
	struct sockaddr_in sin;

	sp_addr4(&sin, port);
	sp_reuseaddr(fd);
	return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/*
 * bind() to 127.0.0.1:port, retrying while the port is still in use (a killed
 * server's connections may linger in the kernel for a moment); raw result.
 */
static inline int sp_bind4_retry(int fd, int port, int ms)
{
	long long deadline = tap_now_ms() + ms;
	int rc, said = 0;

	while ((rc = sp_bind4(fd, port)) && errno == EADDRINUSE &&
	       tap_now_ms() < deadline) {
		if (!said++)
			tap_diag("port %d still in use, retrying bind", port);
		usleep(100000);
	}
	return rc;
}

/* connect() to 127.0.0.1:port; raw result. */
static inline int sp_connect4(int fd, int port)
{
	struct sockaddr_in sin;

	sp_addr4(&sin, port);
	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/* setsockopt(SOL_SP, SP_BIND or SP_CONNECT, url, strlen(url)); raw result. */
static inline int sp_url(int fd, int opt, const char *url)
{
	return setsockopt(fd, SOL_SP, opt, url, strlen(url));
}

static inline int sp_set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

/* getsockopt of an int; returns the syscall result, value in *val. */
static inline int sp_get_int(int fd, int level, int opt, int *val)
{
	socklen_t len = sizeof(*val);
	int ret;

	*val = -12345;
	ret = getsockopt(fd, level, opt, val, &len);
	if (!ret && len != sizeof(*val)) {
		tap_diag("getsockopt(%d, %d) returned optlen %u, not %zu",
			 level, opt, (unsigned int)len, sizeof(*val));
		errno = EMSGSIZE;
		return -1;
	}
	return ret;
}

/* Set SO_RCVTIMEO or SO_SNDTIMEO in milliseconds; raw result. */
static inline int sp_timeo(int fd, int opt, int ms)
{
	struct timeval tv = {
		.tv_sec = ms / 1000,
		.tv_usec = (ms % 1000) * 1000,
	};

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* Both timeouts, bailing out if the socket refuses them. */
static inline void sp_timeouts(int fd, int rcv_ms, int snd_ms)
{
	if (sp_timeo(fd, SO_RCVTIMEO, rcv_ms) ||
	    sp_timeo(fd, SO_SNDTIMEO, snd_ms))
		tap_bail("setting SO_RCVTIMEO/SO_SNDTIMEO: %s", strerror(errno));
}

/* Printable rendering of (a prefix of) a buffer for diagnostics. */
static inline const char *sp_show(const void *buf, ssize_t len)
{
	static char out[4][200];
	static int which;
	const unsigned char *p = buf;
	char *o = out[which++ & 3], *start = o;
	ssize_t i;

	if (len < 0)
		return "(nothing)";
	*o++ = '"';
	for (i = 0; i < len && o - start < 180; i++) {
		if (isprint(p[i]) && p[i] != '"' && p[i] != '\\')
			*o++ = p[i];
		else
			o += sprintf(o, "\\x%02x", p[i]);
	}
	*o++ = '"';
	if (i < len)
		o += sprintf(o, "...");
	sprintf(o, " (%zd bytes)", len);
	return start;
}

/*
 * Receive one message and check that it is exactly @len bytes equal to @exp.
 * The receive buffer is larger than @len so that a too-long message shows.
 * Returns 1 on a match; otherwise logs what arrived (or errno) and returns 0.
 */
static inline int sp_expect(int fd, const void *exp, size_t len,
			    const char *what)
{
	size_t cap = len + 256;
	char *buf = malloc(cap);
	long long t0 = tap_now_ms();
	ssize_t n;
	int ok;

	if (!buf)
		tap_bail("out of memory");
	n = recv(fd, buf, cap, 0);
	if (n < 0) {
		tap_diag("%s: recv failed after %lld ms: %s", what,
			 tap_now_ms() - t0, strerror(errno));
		free(buf);
		return 0;
	}
	ok = (size_t)n == len && !memcmp(buf, exp, len);
	if (!ok)
		tap_diag("%s: got %s, expected %s", what, sp_show(buf, n),
			 sp_show(exp, len));
	free(buf);
	return ok;
}

/* send() the whole buffer as one message; 1 on success, else logs. */
static inline int sp_send_all(int fd, const void *buf, size_t len,
			      const char *what)
{
	ssize_t n = send(fd, buf, len, 0);

	if (n == (ssize_t)len)
		return 1;
	if (n < 0)
		tap_diag("%s: send of %zu bytes failed: %s", what, len,
			 strerror(errno));
	else
		tap_diag("%s: send of %zu bytes returned %zd", what, len, n);
	return 0;
}

/* A position-dependent byte pattern that detects shifts and mix-ups. */
static inline void sp_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8) * 13 +
				       (i >> 16) * 29);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline ssize_t sp_pattern_check(const void *buf, size_t len,
				       unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed * 131 + i * 7 + (i >> 8) * 13 +
					    (i >> 16) * 29))
			return i;
	return -1;
}

/*
 * Read one byte from a pipe (a child's progress report) within @ms.
 * Returns the byte, or -1 on timeout, EOF or error.
 */
static inline int sp_wait_byte(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char c;

	if (poll(&pfd, 1, ms) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

/* The symbolic name of the errnos the tests talk about. */
static inline const char *sp_errname(int e)
{
#define SP_ERR(x)	{ x, #x }
	static const struct {
		int err;
		const char *name;
	} names[] = {
		SP_ERR(EPROTO), SP_ERR(EAGAIN), SP_ERR(EINVAL), SP_ERR(EBADMSG),
		SP_ERR(EMSGSIZE), SP_ERR(ENOPROTOOPT), SP_ERR(EPROTONOSUPPORT),
		SP_ERR(ESOCKTNOSUPPORT), SP_ERR(EOPNOTSUPP), SP_ERR(EAFNOSUPPORT),
		SP_ERR(EADDRINUSE), SP_ERR(ENOTCONN), SP_ERR(ECONNREFUSED),
		SP_ERR(ECONNRESET), SP_ERR(ENOENT), SP_ERR(EFAULT),
		SP_ERR(ENOBUFS), SP_ERR(EADDRNOTAVAIL), SP_ERR(ENODEV),
		SP_ERR(ENOTTY), SP_ERR(ESHUTDOWN), SP_ERR(EPIPE),
	};
#undef SP_ERR
	static char other[24];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].err == e)
			return names[i].name;
	snprintf(other, sizeof(other), "errno %d", e);
	return other;
}

/*
 * Report one check: the call returned @rc < 0 with errno @e1 or @e2 (the same
 * twice for one); logs what it did otherwise.  Returns whether it passed.
 */
static inline int sp_check_err(long rc, int e1, int e2, const char *what)
{
	int err = errno;

	if (rc >= 0)
		tap_diag("%s: returned %ld", what, rc);
	else if (err != e1 && err != e2)
		tap_diag("%s: errno %d (%s)", what, err, strerror(err));
	return tap_ok(rc < 0 && (err == e1 || err == e2), "%s fails with %s%s%s",
		      what, sp_errname(e1), e1 != e2 ? " or " : "",
		      e1 != e2 ? sp_errname(e2) : "");
}

/* Did the last call fail with EAGAIN / EWOULDBLOCK? */
static inline int sp_is_again(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

/* An IPv6 loopback address that can be bound (the guest may lack IPv6). */
static inline int sp_have_ipv6(void)
{
	struct sockaddr_in6 sin6;
	int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	sp_addr6(&sin6, 0);
	ok = !bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	close(fd);
	return ok;
}

/* "-p" of the interop helpers: can a PF_SP socket of @type be made? */
static inline int sp_probe(const char *prog, int type)
{
	int s = sp_socket(type, 0);

	if (s < 0) {
		fprintf(stderr, "%s: socket(PF_SP, %s): %s\n", prog,
			sp_type_name(type), strerror(errno));
		return 1;
	}
	close(s);
	return 0;
}

#endif /* SP_TEST_H */
