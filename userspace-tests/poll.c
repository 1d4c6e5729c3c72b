// SPDX-License-Identifier: GPL-2.0
/*
 * Readiness of REQ and REP sockets through poll(), select() and epoll_wait(),
 * all level-triggered.  Walking one request/reply exchange step by step, each
 * of the three calls must report: a fresh REP neither readable nor writable;
 * a fresh REQ writable (a request may be sent) but not readable; the REP
 * readable once the request has arrived, and still readable on every later
 * call until it is received; after the recv the REP writable (it owes an
 * answer) and no longer readable, and the REQ not yet readable; after the
 * reply the REP neither readable nor writable again and the REQ readable;
 * after the REQ's recv the REQ writable and not readable.
 */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "sp_test.h"

#define PORT		24400
#define SHORT_MS	300	/* for waits that must time out */

#define R_IN	1
#define R_OUT	2

enum method { M_POLL, M_SELECT, M_EPOLL, M_NR };
static const char *const method_name[M_NR] = { "poll", "select", "epoll_wait" };

static const char *mask_name(int mask)
{
	static const char *const names[] = { "nothing", "IN", "OUT", "IN|OUT" };

	return mask >= 0 ? names[mask & 3] : "error";
}

/*
 * Wait up to @timeout_ms for any of @want on @fd using @m; return the subset
 * of @want that was reported, or -1 on error.  @epfd is an epoll instance
 * that already has @fd registered.
 */
static int ready(int fd, int epfd, enum method m, int want, int timeout_ms)
{
	int r, got = 0;

	switch (m) {
	case M_POLL: {
		struct pollfd pfd = { .fd = fd };

		pfd.events = (want & R_IN ? POLLIN : 0) |
			     (want & R_OUT ? POLLOUT : 0);
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0)
			break;
		if (pfd.revents & (POLLERR | POLLNVAL | POLLHUP))
			tap_diag("poll: revents 0x%x", pfd.revents);
		got = (pfd.revents & POLLIN ? R_IN : 0) |
		      (pfd.revents & POLLOUT ? R_OUT : 0);
		break;
	}
	case M_SELECT: {
		struct timeval tv = {
			.tv_sec = timeout_ms / 1000,
			.tv_usec = timeout_ms % 1000 * 1000,
		};
		fd_set rfds, wfds;

		FD_ZERO(&rfds);
		FD_ZERO(&wfds);
		if (want & R_IN)
			FD_SET(fd, &rfds);
		if (want & R_OUT)
			FD_SET(fd, &wfds);
		r = select(fd + 1, &rfds, &wfds, NULL, &tv);
		if (r < 0)
			break;
		got = (FD_ISSET(fd, &rfds) ? R_IN : 0) |
		      (FD_ISSET(fd, &wfds) ? R_OUT : 0);
		break;
	}
	case M_EPOLL: {
		struct epoll_event ev = { .data.fd = fd };

		ev.events = (want & R_IN ? EPOLLIN : 0) |
			    (want & R_OUT ? EPOLLOUT : 0);
		r = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
		if (r < 0)
			break;
		memset(&ev, 0, sizeof(ev));
		r = epoll_wait(epfd, &ev, 1, timeout_ms);
		if (r < 0)
			break;
		if (r == 1 && ev.data.fd != fd)
			tap_diag("epoll_wait: event for fd %d", ev.data.fd);
		if (r == 1 && (ev.events & (EPOLLERR | EPOLLHUP)))
			tap_diag("epoll_wait: events 0x%x", ev.events);
		got = r == 1 ? (ev.events & EPOLLIN ? R_IN : 0) |
			       (ev.events & EPOLLOUT ? R_OUT : 0) : 0;
		break;
	}
	default:
		return -1;
	}
	if (r < 0) {
		tap_diag("%s: %s", method_name[m], strerror(errno));
		return -1;
	}
	return got & want;
}

/*
 * One check per method: wait for @want (generously if @expect has bits in
 * common with it, briefly otherwise) and compare with @expect.
 */
static void check_all(const char *sock, int fd, int epfd, int want, int expect,
		      const char *state)
{
	int timeout = (want & expect) ? sp_wait_ms() : SHORT_MS;
	enum method m;

	for (m = 0; m < M_NR; m++) {
		long long t0 = tap_now_ms();
		int got = ready(fd, epfd, m, want, timeout);

		tap_ok(got == expect,
		       "%s: %s %s: %s (saw %s after %lld ms)", method_name[m],
		       sock, state, mask_name(expect), mask_name(got),
		       tap_now_ms() - t0);
	}
}

static int epoll_for(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev))
		tap_bail("epoll_ctl(ADD) of an SP socket: %s", strerror(errno));
	return epfd;
}

int main(void)
{
	int req, rep, ep_req, ep_rep, got;
	struct epoll_event ev;

	tap_plan(29);
	tap_watchdog(300);

	rep = sp_open(SOCK_REP, 0);
	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(rep, PORT))
		tap_bail("bind 127.0.0.1:%d: %s", PORT, strerror(errno));
	if (sp_connect4(req, PORT))
		tap_bail("connect 127.0.0.1:%d: %s", PORT, strerror(errno));
	ep_rep = epoll_for(rep);
	ep_req = epoll_for(req);

	/* A: nothing sent yet. */
	check_all("fresh REP", rep, ep_rep, R_IN | R_OUT, 0,
		  "neither readable nor writable");
	check_all("fresh REQ", req, ep_req, R_IN | R_OUT, R_OUT,
		  "may send a request, nothing to read");

	/* B: the request is on its way. */
	tap_ok(sp_send_all(req, "ping", 4, "REQ send"), "REQ sends a request");
	check_all("REP with a request queued", rep, ep_rep, R_IN, R_IN,
		  "is readable");

	/* Level-triggered: the same epoll instance reports it again. */
	ready(rep, ep_rep, M_EPOLL, R_IN, sp_wait_ms());
	memset(&ev, 0, sizeof(ev));
	got = epoll_wait(ep_rep, &ev, 1, sp_wait_ms());
	tap_ok(got == 1 && (ev.events & EPOLLIN),
	       "epoll_wait: a second wait without recv reports EPOLLIN again (level-triggered)");
	{
		char buf[16];
		ssize_t n = recv(rep, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			tap_diag("recv: %s", strerror(errno));
		tap_ok(n == 4 && !memcmp(buf, "ping", 4),
		       "REP recv(MSG_DONTWAIT) after readiness returns the request at once");
	}

	/* C: the REP owes an answer. */
	check_all("REP owing an answer", rep, ep_rep, R_IN | R_OUT, R_OUT,
		  "writable, not readable");
	check_all("REQ awaiting its reply", req, ep_req, R_IN, 0,
		  "not readable yet");

	/* D: the answer is on its way. */
	tap_ok(sp_send_all(rep, "pong", 4, "REP send"), "REP sends the reply");
	check_all("REP after replying", rep, ep_rep, R_IN | R_OUT, 0,
		  "neither readable nor writable");
	check_all("REQ with its reply queued", req, ep_req, R_IN, R_IN,
		  "is readable");
	{
		char buf[16];
		ssize_t n = recv(req, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			tap_diag("recv: %s", strerror(errno));
		tap_ok(n == 4 && !memcmp(buf, "pong", 4),
		       "REQ recv(MSG_DONTWAIT) after readiness returns the reply at once");
	}

	/* E: back to the start for the REQ. */
	check_all("REQ after the exchange", req, ep_req, R_IN | R_OUT, R_OUT,
		  "may send, nothing to read");

	close(ep_req);
	close(ep_rep);
	close(req);
	close(rep);
	return tap_done();
}
