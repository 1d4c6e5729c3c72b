// SPDX-License-Identifier: GPL-2.0
/*
 * Dialers reconnect with exponential backoff and jitter, without a storm.
 *
 * A plain TCP listener accepts every connection and closes it at once, so
 * each dial succeeds at the TCP level but never completes the SP handshake:
 * every attempt fails, and the dialer must wait before the next one.  The
 * algorithm (sp/proto/backoff.rs) waits a random time in [ceil(cur/2), cur]
 * and then doubles cur, from SP_RECONNECT_IVL up to SP_RECONNECT_IVL_MAX;
 * the tests model it to bound what they see.  The time between two accepts
 * is at least the dialer's delay (the retry starts only after our close);
 * it may exceed the delay by scheduling, which SLACK_MS allows for.
 *
 *  - SP_RECONNECT_IVL 100, SP_RECONNECT_IVL_MAX 800, for 5 s after the first
 *    accept: no gap below its delay's lower bound (50, 100, 200, 400, 400...),
 *    none above its upper bound (100, 200, 400, 800, 800...) plus slack; the
 *    gaps grow; the number of connections lies between what the longest and
 *    the shortest delays allow.
 *  - SP_RECONNECT_IVL 100, SP_RECONNECT_IVL_MAX 0 (nng's meaning, as
 *    backoff.rs documents: no growth): every gap in [50, 100] plus slack, for
 *    3 s, and as many connections as that allows.
 *  - A request queued on the first REQ all along is answered once a real REP
 *    takes the port.
 *  - After that completed handshake the backoff starts over: when the REP
 *    goes and the refusing listener is back, the first gap is short again
 *    (a delay of at most 200 ms, where the backoff had reached [400, 800]).
 */
#include "sp_test.h"

#define PORT_GROW	27100
#define PORT_FLAT	27101
#define WINDOW_GROW	5000
#define WINDOW_FLAT	3000
#define WINDOW_RESET	1000
/* What scheduling on a loaded, emulated guest may add to one delay. */
#define SLACK_MS	500
/* ... and on average, for the lower bound on the number of connections. */
#define SLACK_STEP_MS	150
/* A delay may end one jiffy (4 ms at HZ=250) early; times are truncated to ms. */
#define EARLY_MS	5
#define MAX_ACCEPTS	256

/* The dialer's backoff, as sp/proto/backoff.rs computes it. */
struct backoff {
	int cur, min, max;
};

static void bo_init(struct backoff *b, int min_ms, int max_ms)
{
	b->min = min_ms > 1 ? min_ms : 1;
	b->cur = b->min;
	b->max = max_ms > b->min ? max_ms : b->min;
}

/* The bounds of the next delay, then double. */
static void bo_next(struct backoff *b, int *lo, int *hi)
{
	*hi = b->cur;
	*lo = b->cur - b->cur / 2;
	b->cur = b->cur * 2 < b->max ? b->cur * 2 : b->max;
}

/*
 * How many connections can start within @window ms of the first: at most one
 * plus the delays that fit at their shortest, at least one plus those that
 * fit at their longest plus SLACK_STEP_MS.
 */
static void count_bounds(int min_ms, int max_ms, int window, int *least,
			 int *most)
{
	struct backoff b;
	long long lo_sum = 0, hi_sum = 0;
	int lo, hi;

	bo_init(&b, min_ms, max_ms);
	*least = *most = 1;
	for (;;) {
		bo_next(&b, &lo, &hi);
		lo_sum += lo;
		hi_sum += hi + SLACK_STEP_MS;
		if (lo_sum > window)
			break;
		++*most;
		if (hi_sum <= window)
			++*least;
	}
}

/* A TCP listener that refuses the SP handshake by closing every connection. */
static int refuser(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		tap_bail("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sp_addr4(&sin, port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 16))
		tap_bail("listen on %d: %s", port, strerror(errno));
	return fd;
}

/*
 * Accept and close at once every connection on @lfd, for @window ms after the
 * first (which must come within sp_wait_ms()); their times go into @t.
 * Returns how many there were.
 */
static int collect(int lfd, int window, long long *t)
{
	long long end = 0;
	int n = 0;

	for (;;) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		long long now = tap_now_ms();
		int fd, wait = n ? (int)(end - now) : sp_wait_ms();

		if (wait <= 0 || poll(&pfd, 1, wait) != 1)
			break;
		fd = accept(lfd, NULL, NULL);
		now = tap_now_ms();
		if (fd < 0)
			continue;
		close(fd);
		if (!n)
			end = now + window;
		if (now > end || n == MAX_ACCEPTS)
			break;
		t[n++] = now;
	}
	return n;
}

static void show_gaps(const char *what, const long long *t, int n)
{
	char line[1024];
	int i, off = 0;

	for (i = 1; i < n && off < (int)sizeof(line) - 16; i++)
		off += snprintf(line + off, sizeof(line) - off, " %lld",
				t[i] - t[i - 1]);
	tap_diag("%s: %d connections, gaps (ms):%s", what, n, n > 1 ? line : " none");
}

/*
 * Each gap against the model: 1 if no two consecutive gaps are shorter than
 * their delays' lower bounds together (@check_hi: and none is longer than its
 * upper bound plus SLACK_MS).
 */
static int gaps_fit(const long long *t, int n, int min_ms, int max_ms,
		    int check_hi)
{
	struct backoff b;
	int i, lo, hi, prev_lo = 0, ok = 1;

	bo_init(&b, min_ms, max_ms);
	for (i = 1; i < n; i++) {
		long long gap = t[i] - t[i - 1];

		bo_next(&b, &lo, &hi);
		/*
		 * An accept seen late makes the next gap short by as much, so
		 * the lower bound holds for two gaps together: two attempts
		 * close together (a storm) still fail it.
		 */
		if (!check_hi && i > 1 && t[i] - t[i - 2] < lo + prev_lo - EARLY_MS) {
			tap_diag("gaps %d and %d are %lld ms together, below the shortest delays %d + %d",
				 i - 1, i, t[i] - t[i - 2], prev_lo, lo);
			ok = 0;
		}
		prev_lo = lo;
		if (check_hi && gap > hi + SLACK_MS) {
			tap_diag("gap %d is %lld ms, above the longest delay %d + %d",
				 i, gap, hi, SLACK_MS);
			ok = 0;
		}
	}
	return ok;
}

static int dialer(int ivl, int ivl_max)
{
	int fd = sp_open(SOCK_REQ, 0);

	sp_timeouts(fd, sp_wait_ms(), sp_wait_ms());
	if (sp_set_int(fd, SOL_SP, SP_RECONNECT_IVL, ivl) ||
	    sp_set_int(fd, SOL_SP, SP_RECONNECT_IVL_MAX, ivl_max))
		tap_bail("SP_RECONNECT_IVL(_MAX): %s", strerror(errno));
	return fd;
}

static void check_window(const long long *t, int n, int ivl, int ivl_max,
			 int window, const char *what)
{
	int least, most;

	count_bounds(ivl, ivl_max, window, &least, &most);
	tap_ok(n >= least && n <= most,
	       "%s: %d connections in %d ms, within [%d, %d]", what, n, window,
	       least, most);
	tap_ok(n > 1 && gaps_fit(t, n, ivl, ivl_max, 0),
	       "%s: no two gaps shorter than their delays' lower bounds", what);
	tap_ok(n > 1 && gaps_fit(t, n, ivl, ivl_max, 1),
	       "%s: no gap longer than its delay's upper bound + %d ms", what,
	       SLACK_MS);
}

int main(void)
{
	static long long t[MAX_ACCEPTS];
	int lfd, req, req2, rep, n, ok;
	long long t0;

	tap_plan(9);
	tap_watchdog(120);

	/* Growth, with a request waiting all along. */
	lfd = refuser(PORT_GROW);
	req = dialer(100, 800);
	ok = sp_send_all(req, "waiting", 7, "REQ") && !sp_connect4(req, PORT_GROW);
	if (!ok)
		tap_bail("REQ send/connect: %s", strerror(errno));
	n = collect(lfd, WINDOW_GROW, t);
	show_gaps("IVL 100, IVL_MAX 800", t, n);
	check_window(t, n, 100, 800, WINDOW_GROW, "IVL 100, IVL_MAX 800");
	tap_ok(n >= 6 && t[2] - t[0] < t[5] - t[3],
	       "the gaps grow: the first two together are shorter than the fourth and fifth");

	/* No growth. */
	close(lfd);
	req2 = dialer(100, 0);
	lfd = refuser(PORT_FLAT);
	if (sp_connect4(req2, PORT_FLAT))
		tap_bail("connect: %s", strerror(errno));
	n = collect(lfd, WINDOW_FLAT, t);
	show_gaps("IVL 100, IVL_MAX 0", t, n);
	check_window(t, n, 100, 0, WINDOW_FLAT, "IVL 100, IVL_MAX 0 (no growth)");
	close(req2);
	close(lfd);

	/* A real REP on the first port gets the waiting request. */
	rep = sp_open(SOCK_REP, 0);
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4_retry(rep, PORT_GROW, sp_wait_ms()))
		tap_bail("bind %d: %s", PORT_GROW, strerror(errno));
	t0 = tap_now_ms();
	ok = sp_expect(rep, "waiting", 7, "REP");
	tap_diag("the REP had the request %lld ms after it bound", tap_now_ms() - t0);
	ok = ok && sp_send_all(rep, "answer", 6, "REP") &&
	     sp_expect(req, "answer", 6, "REQ");
	tap_ok(ok, "a REP bound on the port later gets the queued request, and the REQ its reply");

	/* The handshake reset the backoff: short gaps again. */
	close(rep);
	lfd = refuser(PORT_GROW);
	t0 = tap_now_ms();
	n = collect(lfd, WINDOW_RESET, t);
	if (n)
		tap_diag("first reconnect %lld ms after the REP closed", t[0] - t0);
	show_gaps("after a handshake", t, n);
	tap_ok(n >= 2 && t[1] - t[0] < 400,
	       "after a completed handshake the backoff starts over: the first gap is below 400 ms");
	close(lfd);
	close(req);
	return tap_done();
}
