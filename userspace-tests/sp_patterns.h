/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the tests of the PAIR, PUSH/PULL, SURVEYOR/RESPONDENT and
 * BUS sockets (patterns.c, scenarios.c): opening a socket with the tests'
 * timeouts, linking two sockets by bind()/connect() or by SP_BIND/SP_CONNECT
 * URLs, waiting for SP_PEERS, poll() readiness, bounded receives and numbered
 * messages.  As in sp_test.h, every helper either returns the raw result or
 * says in a diagnostic what it saw; none of them reports a check itself.
 */
#ifndef SP_PATTERNS_H
#define SP_PATTERNS_H

#include "sp_test.h"

/* How long to watch for something that must not happen, where stated. */
#define PT_SHORT_MS	300
/* "At once" on a slow emulated guest (TCG + KASAN). */
#define PT_QUICK_MS	2000
/* Slack for a kernel timer measured from user space (a jiffy is up to 10 ms). */
#define PT_TIMER_SLACK_MS	50

/* An SP socket of @type with SO_RCVTIMEO/SO_SNDTIMEO at the tests' bound. */
static inline int pt_open(int type)
{
	int fd = sp_open(type, 0);

	sp_timeouts(fd, sp_wait_ms(), sp_wait_ms());
	return fd;
}

/* "tcp://127.0.0.1:@port" into @buf. */
static inline const char *pt_url4(char *buf, size_t len, int port)
{
	snprintf(buf, len, "tcp://127.0.0.1:%d", port);
	return buf;
}

/* How the two ends of a link find each other. */
enum pt_how {
	PT_ADDR,	/* bind(sockaddr_in) and connect(sockaddr_in) */
	PT_URL,		/* SP_BIND and SP_CONNECT with "tcp://127.0.0.1:port" */
	PT_ADDR6,	/* bind(sockaddr_in6) and connect(sockaddr_in6), [::1] */
	PT_URL6,	/* SP_BIND and SP_CONNECT with "tcp://[::1]:port" */
};

static inline const char *pt_how_name(enum pt_how how)
{
	switch (how) {
	case PT_URL:
		return "SP_BIND/SP_CONNECT URLs";
	case PT_ADDR6:
		return "bind()/connect() with sockaddr_in6 [::1]";
	case PT_URL6:
		return "SP_BIND/SP_CONNECT tcp://[::1] URLs";
	default:
		return "bind()/connect()";
	}
}

/*
 * @binder listens on loopback (127.0.0.1, or [::1] for the IPv6 ways) at
 * @port, @dialer dials it, as @how says; 1 on success, else logs.
 */
static inline int pt_link(int binder, int dialer, int port, enum pt_how how,
			  const char *what)
{
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	socklen_t len = 0;	/* 0: by URL */
	char url[64];
	int rc;

	switch (how) {
	case PT_ADDR:
		sp_addr4((struct sockaddr_in *)&ss, port);
		len = sizeof(struct sockaddr_in);
		snprintf(url, sizeof(url), "127.0.0.1:%d", port);
		break;
	case PT_ADDR6:
		sp_addr6((struct sockaddr_in6 *)&ss, port);
		len = sizeof(struct sockaddr_in6);
		snprintf(url, sizeof(url), "[::1]:%d", port);
		break;
	case PT_URL:
		pt_url4(url, sizeof(url), port);
		break;
	case PT_URL6:
		snprintf(url, sizeof(url), "tcp://[::1]:%d", port);
		break;
	}
	sp_reuseaddr(binder);
	rc = len ? bind(binder, sa, len) : sp_url(binder, SP_BIND, url);
	if (rc) {
		tap_diag("%s: %s %s: %s", what, len ? "bind" : "SP_BIND", url,
			 strerror(errno));
		return 0;
	}
	rc = len ? connect(dialer, sa, len) : sp_url(dialer, SP_CONNECT, url);
	if (rc)
		tap_diag("%s: %s %s: %s", what, len ? "connect" : "SP_CONNECT",
			 url, strerror(errno));
	return !rc;
}

/* A call that must fail with @e; logs otherwise; returns 1 if it did. */
static inline int pt_fails(long rc, int e, const char *what)
{
	int err = errno;

	if (rc >= 0) {
		tap_diag("%s: returned %ld, expected %s", what, rc, sp_errname(e));
		return 0;
	}
	if (err != e) {
		tap_diag("%s: errno %d (%s), not %s", what, err, strerror(err),
			 sp_errname(e));
		return 0;
	}
	return 1;
}

/* An int SOL_SP option, or -12345 if getsockopt fails (logged). */
static inline int pt_get(int fd, int opt)
{
	int v;

	if (sp_get_int(fd, SOL_SP, opt, &v)) {
		tap_diag("getsockopt(SOL_SP, %d): %s", opt, strerror(errno));
		return -12345;
	}
	return v;
}

/* setsockopt of an int SOL_SP option; 1 on success, else logs. */
static inline int pt_set(int fd, int opt, int val)
{
	if (!sp_set_int(fd, SOL_SP, opt, val))
		return 1;
	tap_diag("setsockopt(SOL_SP, %d, %d): %s", opt, val, strerror(errno));
	return 0;
}

/* Setting an int SOL_SP option must fail with @e; 1 if it did, else logs. */
static inline int pt_set_fails(int fd, int opt, int val, int e, const char *what)
{
	return pt_fails(sp_set_int(fd, SOL_SP, opt, val), e, what);
}

/* SO_LINGER { 1, 0 }: close() discards what is queued. */
static inline void pt_discard_on_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		tap_diag("SO_LINGER: %s", strerror(errno));
}

/* SP_PEERS of @fd, or -1 (logged). */
static inline int pt_peers(int fd)
{
	int v;

	if (sp_get_int(fd, SOL_SP, SP_PEERS, &v)) {
		tap_diag("getsockopt(SP_PEERS): %s", strerror(errno));
		return -1;
	}
	return v;
}

/* Wait up to @ms until @fd has exactly @n peers; 1 if it came, else logs. */
static inline int pt_wait_peers_ms(int fd, int n, int ms, const char *what)
{
	long long deadline = tap_now_ms() + ms;
	int v;

	while ((v = pt_peers(fd)) != n && v >= 0 && tap_now_ms() < deadline)
		usleep(5000);
	if (v != n)
		tap_diag("%s: SP_PEERS is %d, waited for %d", what, v, n);
	return v == n;
}

static inline int pt_wait_peers(int fd, int n, const char *what)
{
	return pt_wait_peers_ms(fd, n, sp_wait_ms(), what);
}

/*
 * poll() @fd for @events for up to @ms; returns the revents (POLLERR, POLLHUP
 * and POLLNVAL included, logged), 0 on timeout, -1 on error.
 */
static inline int pt_poll(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&pfd, 1, ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		tap_diag("poll: %s", strerror(errno));
		return -1;
	}
	if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
		tap_diag("poll: revents 0x%x", pfd.revents);
	return r ? pfd.revents : 0;
}

/* Whether the result @r of pt_poll() reports @ev (never on an error). */
static inline int pt_has(int r, short ev)
{
	return r > 0 && (r & ev);
}

/* Whether poll() reports @ev on @fd within @ms. */
static inline int pt_ready(int fd, short ev, int ms)
{
	return pt_has(pt_poll(fd, ev, ms), ev);
}

/* Rendering of POLLIN/POLLOUT in @revents for diagnostics. */
static inline const char *pt_mask(int revents)
{
	static const char *const names[] = { "nothing", "IN", "OUT", "IN|OUT" };

	if (revents < 0)
		return "error";
	return names[(revents & POLLIN ? 1 : 0) | (revents & POLLOUT ? 2 : 0)];
}

/*
 * Receive one message within @ms (poll, then recv with MSG_DONTWAIT).
 * Returns its length, or -1 with errno (ETIMEDOUT if nothing came in time).
 */
static inline ssize_t pt_recv_ms(int fd, void *buf, size_t len, int ms)
{
	long long deadline = tap_now_ms() + ms;

	for (;;) {
		long long left = deadline - tap_now_ms();
		int r = pt_poll(fd, POLLIN, left > 0 ? (int)left : 0);
		ssize_t n;

		if (r < 0)
			return -1;
		if (r & POLLIN) {
			n = recv(fd, buf, len, MSG_DONTWAIT);
			if (n >= 0 || !sp_is_again(errno))
				return n;
		}
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

/*
 * A recv() with @flags that must fail: the errno it failed with, or 0 if a
 * message came (logged).
 */
static inline int pt_recv_fails(int fd, int flags)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), flags);

	if (n < 0)
		return errno;
	tap_diag("recv returned %s", sp_show(buf, n));
	return 0;
}

/* What pt_recv_fails() saw, for a check's description. */
static inline const char *pt_failed_with(int err)
{
	return err ? sp_errname(err) : "a message";
}

/*
 * Receive one message and check it is the string @exp (without its NUL);
 * 1 on a match, else logs what came and returns 0.  Blocks per SO_RCVTIMEO.
 */
static inline int pt_expect_str(int fd, const char *exp, const char *what)
{
	return sp_expect(fd, exp, strlen(exp), what);
}

/* send() of the string @s (without its NUL) as one message; 1 or logs. */
static inline int pt_send_str(int fd, const char *s, const char *what)
{
	return sp_send_all(fd, s, strlen(s), what);
}

/*
 * Numbered messages: the id in the first 4 bytes (host order), then the
 * pattern of sp_pattern() seeded with the id, @len >= 4 bytes in all.
 */
static inline void pt_numbered(void *buf, size_t len, uint32_t id)
{
	sp_pattern(buf, len, id);
	memcpy(buf, &id, sizeof(id));
}

/* The id of a numbered message of @len bytes, or -1 if it is not one. */
static inline long pt_number_of(const void *buf, ssize_t n, size_t len)
{
	char *exp;
	uint32_t id;
	int same;

	if (n != (ssize_t)len || len < sizeof(id))
		return -1;
	memcpy(&id, buf, sizeof(id));
	exp = malloc(len);
	if (!exp)
		tap_bail("out of memory");
	pt_numbered(exp, len, id);
	same = !memcmp(exp, buf, len);
	free(exp);
	return same ? (long)id : -1;
}

/*
 * Receive @n numbered messages of @len bytes on @fd and check they are ids
 * @first .. @first + @n - 1 in order; each recv waits per SO_RCVTIMEO.
 * Returns how many arrived in order before the first problem (logged).
 */
static inline int pt_expect_numbered(int fd, uint32_t first, int n, size_t len,
				     const char *what)
{
	char *buf = malloc(len + 256);
	int i;

	if (!buf)
		tap_bail("out of memory");
	for (i = 0; i < n; i++) {
		ssize_t got = recv(fd, buf, len + 256, 0);
		long id;

		if (got < 0) {
			tap_diag("%s: message %d of %d: recv: %s", what, i, n,
				 strerror(errno));
			break;
		}
		id = pt_number_of(buf, got, len);
		if (id != (long)(first + i)) {
			tap_diag("%s: message %d of %d is %s (id %ld), expected id %u",
				 what, i, n, sp_show(buf, got), id,
				 (unsigned int)(first + i));
			break;
		}
	}
	free(buf);
	return i;
}

/* Send @n numbered messages of @len bytes, ids @first..; how many were sent. */
static inline int pt_send_numbered(int fd, uint32_t first, int n, size_t len,
				   int flags, const char *what)
{
	char *buf = malloc(len);
	int i;

	if (!buf)
		tap_bail("out of memory");
	for (i = 0; i < n; i++) {
		ssize_t r;

		pt_numbered(buf, len, first + i);
		r = send(fd, buf, len, flags);
		if (r != (ssize_t)len) {
			tap_diag("%s: send of message %d of %d: %s", what, i, n,
				 r < 0 ? strerror(errno) : "short");
			break;
		}
	}
	free(buf);
	return i;
}

/* Set SO_SNDBUF; logs a failure. */
static inline void pt_sndbuf(int fd, int bytes)
{
	if (sp_set_int(fd, SOL_SOCKET, SO_SNDBUF, bytes))
		tap_diag("setsockopt(SO_SNDBUF, %d): %s", bytes, strerror(errno));
}

/*
 * Send @len-byte numbered messages with MSG_DONTWAIT until one fails, at most
 * @max; returns how many were sent, *@err the errno of the failure (0 if
 * none failed).
 */
static inline int pt_fill(int fd, size_t len, int max, int *err)
{
	char *buf = malloc(len);
	int i;

	if (!buf)
		tap_bail("out of memory");
	*err = 0;
	for (i = 0; i < max; i++) {
		pt_numbered(buf, len, i);
		if (send(fd, buf, len, MSG_DONTWAIT) != (ssize_t)len) {
			*err = errno;
			break;
		}
	}
	free(buf);
	return i;
}

#endif /* SP_PATTERNS_H */
