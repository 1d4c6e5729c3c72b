// SPDX-License-Identifier: GPL-2.0
/*
 * SO_RCVTIMEO and SO_SNDTIMEO on SP sockets behave as on other sockets.  A
 * recv() with nothing arriving, on a REP with no clients and on a REQ whose
 * request has no server, fails with EAGAIN (or EWOULDBLOCK) after roughly the
 * configured time: not noticeably earlier, and within a generous bound after.
 * A REP whose recv() timed out still receives a request that arrives later,
 * and read() honours the timeout like recv().
 * Both options read back through getsockopt() as they were set.
 */
#include "sp_test.h"

#define PORT		24500	/* REP listens here */
#define DEAD_PORT	24501	/* nobody listens here */
#define REP_TIMEO_MS	1500
#define REQ_TIMEO_MS	1000
#define SND_TIMEO_MS	2500
#define LATE_MS		15000	/* how late a timeout may fire on a slow guest */

static int get_timeo_ms(int fd, int opt, long *ms)
{
	struct timeval tv = { 0 };
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len))
		return -1;
	*ms = tv.tv_sec * 1000 + tv.tv_usec / 1000;
	return 0;
}

/* recv() on @fd must time out after about @ms: two checks. */
static void check_timeout(int fd, int ms, const char *what)
{
	long long t0 = tap_now_ms(), dt;
	char buf[64];
	ssize_t n;
	int err;

	n = recv(fd, buf, sizeof(buf), 0);
	err = errno;
	dt = tap_now_ms() - t0;
	if (n >= 0)
		tap_diag("%s: recv returned %s", what, sp_show(buf, n));
	else if (!sp_is_again(err))
		tap_diag("%s: recv failed with errno %d (%s)", what, err,
			 strerror(err));
	tap_ok(n < 0 && sp_is_again(err),
	       "%s: recv with nothing arriving fails with EAGAIN", what);
	tap_ok(dt >= ms * 95 / 100 && dt <= ms + LATE_MS,
	       "%s: ... after about the %d ms timeout (%lld ms)", what, ms, dt);
}

int main(void)
{
	int rep, req, req2, rc;
	long ms = -1;

	tap_plan(10);
	tap_watchdog(180);

	rep = sp_open(SOCK_REP, 0);
	req = sp_open(SOCK_REQ, 0);
	req2 = sp_open(SOCK_REQ, 0);
	sp_timeouts(req2, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(rep, PORT))
		tap_bail("bind 127.0.0.1:%d: %s", PORT, strerror(errno));

	rc = sp_timeo(rep, SO_RCVTIMEO, REP_TIMEO_MS);
	if (rc)
		tap_diag("setsockopt: %s", strerror(errno));
	tap_ok(rc == 0, "setsockopt(SO_RCVTIMEO, %d ms) on a REP", REP_TIMEO_MS);
	rc = get_timeo_ms(rep, SO_RCVTIMEO, &ms);
	tap_ok(rc == 0 && ms == REP_TIMEO_MS,
	       "getsockopt(SO_RCVTIMEO) reads back %d ms (%ld)", REP_TIMEO_MS, ms);
	check_timeout(rep, REP_TIMEO_MS, "REP without clients");

	/* A REQ with its request outstanding and no server to answer it. */
	if (sp_timeo(req, SO_RCVTIMEO, REQ_TIMEO_MS) ||
	    sp_timeo(req, SO_SNDTIMEO, sp_wait_ms()))
		tap_bail("setting timeouts on a REQ: %s", strerror(errno));
	if (sp_connect4(req, DEAD_PORT))
		tap_bail("connect: %s", strerror(errno));
	if (!sp_send_all(req, "anyone?", 7, "REQ"))
		tap_bail("REQ cannot queue a request without a server");
	check_timeout(req, REQ_TIMEO_MS, "REQ without a server");

	/* The timed-out REP is not broken: a later request still arrives. */
	sp_timeo(rep, SO_RCVTIMEO, sp_wait_ms());
	if (sp_connect4(req2, PORT))
		tap_diag("connect: %s", strerror(errno));
	sp_send_all(req2, "late", 4, "REQ send");
	tap_ok(sp_expect(rep, "late", 4, "REP"),
	       "after a timed-out recv the REP still receives a later request");

	sp_send_all(rep, "ok", 2, "REP reply");	/* owe nothing */

	/* read() is a recv() too. */
	{
		long long t0, dt;
		char buf[16];
		ssize_t n;

		sp_timeo(rep, SO_RCVTIMEO, REQ_TIMEO_MS);
		t0 = tap_now_ms();
		n = read(rep, buf, sizeof(buf));
		dt = tap_now_ms() - t0;
		tap_ok(n < 0 && sp_is_again(errno) && dt >= REQ_TIMEO_MS * 95 / 100 &&
		       dt <= REQ_TIMEO_MS + LATE_MS,
		       "read() on the REP honours SO_RCVTIMEO too (%lld ms)", dt);
	}

	rc = sp_timeo(req2, SO_SNDTIMEO, SND_TIMEO_MS);
	if (rc)
		tap_diag("setsockopt: %s", strerror(errno));
	tap_ok(rc == 0, "setsockopt(SO_SNDTIMEO, %d ms) on a REQ", SND_TIMEO_MS);
	ms = -1;
	rc = get_timeo_ms(req2, SO_SNDTIMEO, &ms);
	tap_ok(rc == 0 && ms == SND_TIMEO_MS,
	       "getsockopt(SO_SNDTIMEO) reads back %d ms (%ld)", SND_TIMEO_MS, ms);

	close(req2);
	close(req);
	close(rep);
	return tap_done();
}
