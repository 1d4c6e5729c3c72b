// SPDX-License-Identifier: GPL-2.0
/*
 * PUB/SUB errors, options and readiness.
 *
 *  - A PUB cannot receive and a SUB cannot send: recv()/read() on a PUB and
 *    send()/write() on a SUB fail at once with EOPNOTSUPP, with and without
 *    MSG_DONTWAIT.  A PUB with nobody subscribed publishes without ever
 *    blocking or failing.
 *  - SP_SUBSCRIBE / SP_UNSUBSCRIBE: prefixes of 0 and 1024 bytes are taken,
 *    1025 bytes give EINVAL; the subscriptions are a set of exact prefixes
 *    (subscribing twice is subscribing once, so one unsubscribe removes it;
 *    removing a prefix that is not in the set, or only a prefix of one that
 *    is, gives ENOENT); SP_SUBSCRIBE on REQ, REP and PUB sockets and
 *    SP_UNSUBSCRIBE on a PUB give ENOPROTOOPT.
 *  - SP_DROPS: 0 on a fresh PUB, read as an unsigned 64-bit value with
 *    optlen 8; optlen 4 gives EINVAL.  SO_TYPE reports SOCK_PUB / SOCK_SUB.
 *  - poll(): a PUB is always writable and never readable; a SUB is never
 *    writable and is readable exactly while a message that matches its
 *    subscriptions is queued (a non-matching one does not wake it), level-
 *    triggered, until it is received.
 *  - recv() on a SUB with nothing queued: EAGAIN at once with MSG_DONTWAIT
 *    and on a SOCK_NONBLOCK socket, after about SO_RCVTIMEO otherwise.
 */
#include "sp_pubsub.h"

#define PORT		25800
#define SHORT_MS	300	/* for waits that must time out */
#define QUICK_MS	5000	/* "at once", allowing for a slow emulated guest */
#define TIMEO_MS	1000
#define LATE_MS		15000	/* how late a timeout may fire on a slow guest */

/* The call returned -1 with errno @e (report @what); also "at once". */
static void check_errno(long rc, long long t0, int e, const char *what)
{
	int err = errno;
	long long dt = tap_now_ms() - t0;

	if (rc >= 0)
		tap_diag("%s: returned %ld", what, rc);
	else if (err != e)
		tap_diag("%s: errno %d (%s)", what, err, strerror(err));
	if (dt > QUICK_MS)
		tap_diag("%s: took %lld ms", what, dt);
	tap_ok(rc < 0 && err == e && dt <= QUICK_MS, "%s fails at once with %s",
	       what, sp_errname(e));
}

static void check_ok(int rc, const char *what)
{
	if (rc)
		tap_diag("%s: %s", what, strerror(errno));
	tap_ok(rc == 0, "%s succeeds", what);
}

/* poll() @fd for @events within @ms; the revents (POLLIN|POLLOUT only). */
static int poll_bits(int fd, int events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r = poll(&pfd, 1, ms);

	if (r < 0) {
		tap_diag("poll: %s", strerror(errno));
		return -1;
	}
	if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
		tap_diag("poll: revents 0x%x", pfd.revents);
	return pfd.revents & (POLLIN | POLLOUT);
}

static const char *bits_name(int b)
{
	static const char *const names[] = { "nothing", "IN", "OUT", "IN|OUT" };

	if (b < 0)
		return "error";
	return names[(b & POLLIN ? 1 : 0) | (b & POLLOUT ? 2 : 0)];
}

static void check_type(int fd, int type)
{
	int v, rc = sp_get_int(fd, SOL_SOCKET, SO_TYPE, &v);

	if (rc)
		tap_diag("getsockopt(SO_TYPE): %s", strerror(errno));
	tap_ok(rc == 0 && v == type, "SO_TYPE of a %s is %d (%d)",
	       sp_type_name(type), type, v);
}

int main(void)
{
	static char big[PS_MAX_PREFIX + 1];
	int pub, sub, req, rep, nb, rc, b, i, fails, stray;
	char buf[256], what[128];
	long long t0, dt;
	socklen_t len;
	uint64_t drops;
	uint32_t drops32;
	ssize_t n;

	tap_plan(46);
	tap_watchdog(180);

	pub = sp_open(SOCK_PUB, 0);
	sub = sp_open(SOCK_SUB, 0);
	req = sp_open(SOCK_REQ, 0);
	rep = sp_open(SOCK_REP, 0);
	/* Short timeouts: a wrong blocking call fails instead of hanging. */
	sp_timeouts(pub, 2000, 2000);
	sp_timeouts(sub, 2000, 2000);
	check_type(pub, SOCK_PUB);
	check_type(sub, SOCK_SUB);

	/* Wrong direction. */
	t0 = tap_now_ms();
	check_errno(recv(pub, buf, sizeof(buf), 0), t0, EOPNOTSUPP, "recv on a PUB");
	t0 = tap_now_ms();
	check_errno(recv(pub, buf, sizeof(buf), MSG_DONTWAIT), t0, EOPNOTSUPP,
		    "recv(MSG_DONTWAIT) on a PUB");
	t0 = tap_now_ms();
	check_errno(read(pub, buf, sizeof(buf)), t0, EOPNOTSUPP, "read on a PUB");
	t0 = tap_now_ms();
	check_errno(send(sub, "x", 1, 0), t0, EOPNOTSUPP, "send on a SUB");
	t0 = tap_now_ms();
	check_errno(send(sub, "x", 1, MSG_DONTWAIT), t0, EOPNOTSUPP,
		    "send(MSG_DONTWAIT) on a SUB");
	t0 = tap_now_ms();
	check_errno(write(sub, "x", 1), t0, EOPNOTSUPP, "write on a SUB");

	/* Publishing to nobody never blocks and never fails. */
	fails = 0;
	t0 = tap_now_ms();
	for (i = 0; i < 200; i++) {
		n = send(pub, "nobody listens", 14, MSG_DONTWAIT);
		if (n != 14 && fails++ < 3)
			tap_diag("send %d: %s", i, n < 0 ? strerror(errno) : "short");
	}
	dt = tap_now_ms() - t0;
	tap_ok(fails == 0, "a PUB without subscribers publishes 200 messages with MSG_DONTWAIT, none refused (%d failed, %lld ms)",
	       fails, dt);

	/* SP_DROPS. */
	rc = ps_drops(pub, &drops);
	tap_diag("SP_DROPS after publishing to nobody: %llu",
		 (unsigned long long)drops);
	{
		int fresh = sp_open(SOCK_PUB, 0);

		rc = ps_drops(fresh, &drops);
		if (rc)
			tap_diag("getsockopt(SP_DROPS): %s", strerror(errno));
		tap_ok(rc == 0 && drops == 0,
		       "SP_DROPS of a fresh PUB reads 0 with optlen 8 (%llu)",
		       (unsigned long long)drops);
		len = sizeof(drops32);
		rc = getsockopt(fresh, SOL_SP, SP_DROPS, &drops32, &len);
		check_errno(rc, tap_now_ms(), EINVAL, "getsockopt(SP_DROPS) with optlen 4");
		close(fresh);
	}

	/* Subscriptions. */
	check_errno(ps_unsubscribe(sub, "never", 5), tap_now_ms(), ENOENT,
		    "SP_UNSUBSCRIBE of a prefix never subscribed");
	check_errno(ps_unsubscribe(sub, "", 0), tap_now_ms(), ENOENT,
		    "SP_UNSUBSCRIBE of \"\" never subscribed");
	memset(big, 'x', sizeof(big));
	check_errno(ps_subscribe(sub, big, PS_MAX_PREFIX + 1), tap_now_ms(),
		    EINVAL, "SP_SUBSCRIBE with a 1025-byte prefix");
	check_ok(ps_subscribe(sub, big, PS_MAX_PREFIX),
		 "SP_SUBSCRIBE with a 1024-byte prefix");
	check_ok(ps_unsubscribe(sub, big, PS_MAX_PREFIX),
		 "SP_UNSUBSCRIBE of that 1024-byte prefix");
	check_ok(ps_subscribe(sub, "", 0), "SP_SUBSCRIBE with an empty prefix (optlen 0)");
	check_ok(ps_unsubscribe(sub, "", 0), "SP_UNSUBSCRIBE of the empty prefix");
	rc = ps_subscribe(sub, "dup", 3);
	if (rc)
		tap_diag("first SP_SUBSCRIBE \"dup\": %s", strerror(errno));
	check_ok(rc || ps_subscribe(sub, "dup", 3),
		 "SP_SUBSCRIBE of \"dup\" a second time");
	check_errno(ps_unsubscribe(sub, "du", 2), tap_now_ms(), ENOENT,
		    "SP_UNSUBSCRIBE \"du\" while only \"dup\" is subscribed");
	check_errno(ps_unsubscribe(sub, "dupe", 4), tap_now_ms(), ENOENT,
		    "SP_UNSUBSCRIBE \"dupe\" while only \"dup\" is subscribed");
	check_ok(ps_unsubscribe(sub, "dup", 3), "SP_UNSUBSCRIBE \"dup\" once");
	check_errno(ps_unsubscribe(sub, "dup", 3), tap_now_ms(), ENOENT,
		    "a second SP_UNSUBSCRIBE \"dup\" (subscribing twice is once)");
	check_errno(ps_subscribe(req, "x", 1), tap_now_ms(), ENOPROTOOPT,
		    "SP_SUBSCRIBE on a REQ");
	check_errno(ps_subscribe(rep, "x", 1), tap_now_ms(), ENOPROTOOPT,
		    "SP_SUBSCRIBE on a REP");
	check_errno(ps_subscribe(pub, "x", 1), tap_now_ms(), ENOPROTOOPT,
		    "SP_SUBSCRIBE on a PUB");
	check_errno(ps_unsubscribe(pub, "x", 1), tap_now_ms(), ENOPROTOOPT,
		    "SP_UNSUBSCRIBE on a PUB");
	close(req);
	close(rep);

	/* Readiness of fresh sockets. */
	b = poll_bits(pub, POLLIN | POLLOUT, sp_wait_ms());
	tap_ok(b == POLLOUT, "poll: a PUB without subscribers is writable, not readable (%s)",
	       bits_name(b));
	b = poll_bits(sub, POLLIN | POLLOUT, SHORT_MS);
	tap_ok(b == 0, "poll: a fresh SUB is neither readable nor writable (%s)",
	       bits_name(b));

	/* Nothing queued: EAGAIN. */
	t0 = tap_now_ms();
	check_errno(recv(sub, buf, sizeof(buf), MSG_DONTWAIT), t0, EAGAIN,
		    "recv(MSG_DONTWAIT) on a SUB with nothing queued");
	nb = sp_open(SOCK_SUB, SOCK_NONBLOCK);
	t0 = tap_now_ms();
	check_errno(recv(nb, buf, sizeof(buf), 0), t0, EAGAIN,
		    "recv on a SOCK_NONBLOCK SUB with nothing queued");
	close(nb);
	if (sp_timeo(sub, SO_RCVTIMEO, TIMEO_MS))
		tap_diag("SO_RCVTIMEO: %s", strerror(errno));
	t0 = tap_now_ms();
	n = recv(sub, buf, sizeof(buf), 0);
	rc = errno;
	dt = tap_now_ms() - t0;
	if (n >= 0)
		tap_diag("recv returned %s", sp_show(buf, n));
	tap_ok(n < 0 && sp_is_again(rc),
	       "recv on a SUB with nothing queued fails with EAGAIN after SO_RCVTIMEO (%s)",
	       n < 0 ? strerror(rc) : "a message");
	tap_ok(dt >= TIMEO_MS * 95 / 100 && dt <= TIMEO_MS + LATE_MS,
	       "... after about the %d ms timeout (%lld ms)", TIMEO_MS, dt);

	/* Connected: only matching messages make a SUB readable. */
	sp_timeouts(sub, sp_wait_ms(), 2000);
	rc = sp_bind4(pub, PORT);
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	rc = rc || sp_connect4(sub, PORT);
	if (rc)
		tap_diag("bind/connect: %s", strerror(errno));
	tap_ok(rc == 0 && ps_sub_str(sub, "yes", "SUB") &&
	       ps_sub_str(sub, PS_SYNC, "SUB"),
	       "PUB binds 127.0.0.1:%d, a SUB connects, subscribes \"yes\"", PORT);
	i = ps_sync(pub, &sub, 1, PS_SYNC "errors", sp_wait_ms(), &stray);
	snprintf(what, sizeof(what), "%s", PS_SYNC "quiet");
	tap_ok(i == 1 && !stray && sp_send_all(pub, what, strlen(what), "PUB") &&
	       ps_expect_seq(sub, NULL, NULL, 0, what, tap_now_ms() + sp_wait_ms(),
			     "SUB", &rc),
	       "the SUB is connected and has nothing queued");
	b = poll_bits(sub, POLLIN | POLLOUT, SHORT_MS);
	tap_ok(b == 0, "poll: a connected SUB with nothing queued: nothing (%s)",
	       bits_name(b));
	b = poll_bits(pub, POLLIN | POLLOUT, sp_wait_ms());
	tap_ok(b == POLLOUT, "poll: a PUB with a subscriber is writable, not readable (%s)",
	       bits_name(b));

	tap_ok(sp_send_all(pub, "no: not subscribed", 18, "PUB"),
	       "PUB publishes a message the SUB is not subscribed to");
	usleep(500 * 1000);
	b = poll_bits(sub, POLLIN | POLLOUT, SP_NEVER_MS);
	tap_ok(b == 0, "poll: a message that does not match does not make the SUB readable (%s)",
	       bits_name(b));
	tap_ok(sp_send_all(pub, "yes: subscribed", 15, "PUB"),
	       "PUB publishes a message that matches");
	t0 = tap_now_ms();
	b = poll_bits(sub, POLLIN | POLLOUT, sp_wait_ms());
	tap_ok(b == POLLIN, "poll: then the SUB is readable, not writable (%s after %lld ms)",
	       bits_name(b), tap_now_ms() - t0);
	b = poll_bits(sub, POLLIN, SHORT_MS);
	tap_ok(b == POLLIN, "poll: still readable until it is received (%s)",
	       bits_name(b));
	b = poll_bits(pub, POLLIN | POLLOUT, sp_wait_ms());
	tap_ok(b == POLLOUT, "poll: the PUB is still writable, not readable (%s)",
	       bits_name(b));
	tap_ok(sp_expect(sub, "yes: subscribed", 15, "SUB"),
	       "recv gets exactly the matching message, the other was filtered out");
	b = poll_bits(sub, POLLIN | POLLOUT, SHORT_MS);
	tap_ok(b == 0, "poll: after the recv the SUB is not readable (%s)",
	       bits_name(b));
	t0 = tap_now_ms();
	check_errno(recv(sub, buf, sizeof(buf), MSG_DONTWAIT), t0, EAGAIN,
		    "recv(MSG_DONTWAIT) on a connected SUB with nothing queued");

	close(sub);
	close(pub);
	return tap_done();
}
