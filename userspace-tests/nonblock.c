// SPDX-License-Identifier: GPL-2.0
/*
 * Non-blocking operation.  SOCK_NONBLOCK at socket() time, O_NONBLOCK set
 * with fcntl() and MSG_DONTWAIT per call each make a recv() with nothing to
 * receive fail with EAGAIN at once, although SO_RCVTIMEO would let a blocking
 * call wait 10 s; clearing O_NONBLOCK makes recv() block again.  SOCK_CLOEXEC
 * sets FD_CLOEXEC.  A non-blocking REQ queues a request with no server, its
 * recv() says EAGAIN while the reply is outstanding, and a complete exchange
 * works with non-blocking calls on both sides.
 */
#include "sp_test.h"

#define PORT		24700
#define BLOCK_MS	10000	/* SO_RCVTIMEO: what a wrongly blocking call costs */
#define QUICK_MS	2000	/* "at once" on a slow emulated guest */

/* recv() with @flags on @fd must fail with EAGAIN within QUICK_MS. */
static void check_again(int fd, int flags, const char *what)
{
	long long t0 = tap_now_ms(), dt;
	char buf[64];
	ssize_t n;
	int err;

	n = recv(fd, buf, sizeof(buf), flags);
	err = errno;
	dt = tap_now_ms() - t0;
	if (n >= 0)
		tap_diag("recv returned %s", sp_show(buf, n));
	else if (!sp_is_again(err))
		tap_diag("recv: errno %d (%s)", err, strerror(err));
	tap_ok(n < 0 && sp_is_again(err) && dt < QUICK_MS,
	       "%s: recv with nothing to receive fails with EAGAIN at once (%lld ms)",
	       what, dt);
}

/* Poll-free wait for a message with MSG_DONTWAIT; returns its length. */
static ssize_t recv_spin(int fd, void *buf, size_t len)
{
	long long deadline = tap_now_ms() + sp_wait_ms();
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n >= 0 || !sp_is_again(errno) || tap_now_ms() > deadline)
			break;
		usleep(10000);
	}
	if (n < 0)
		tap_diag("recv: %s", strerror(errno));
	return n;
}

int main(void)
{
	int rep_nb, rep, req, fl;
	long long t0, dt;
	char buf[64];
	ssize_t n;

	tap_plan(11);
	tap_watchdog(180);

	/* SOCK_NONBLOCK */
	rep_nb = sp_open(SOCK_REP, SOCK_NONBLOCK | SOCK_CLOEXEC);
	sp_timeouts(rep_nb, BLOCK_MS, BLOCK_MS);
	fl = fcntl(rep_nb, F_GETFL);
	tap_ok(fl >= 0 && (fl & O_NONBLOCK),
	       "socket(SOCK_REP | SOCK_NONBLOCK) has O_NONBLOCK set");
	fl = fcntl(rep_nb, F_GETFD);
	tap_ok(fl >= 0 && (fl & FD_CLOEXEC),
	       "socket(SOCK_REP | SOCK_CLOEXEC) has FD_CLOEXEC set");
	check_again(rep_nb, 0, "SOCK_NONBLOCK REP");

	/* O_NONBLOCK through fcntl(), and back. */
	rep = sp_open(SOCK_REP, 0);
	sp_timeouts(rep, BLOCK_MS, BLOCK_MS);
	fl = fcntl(rep, F_GETFL);
	if (fl < 0 || fcntl(rep, F_SETFL, fl | O_NONBLOCK))
		tap_diag("fcntl: %s", strerror(errno));
	check_again(rep, 0, "REP with O_NONBLOCK from fcntl()");
	fcntl(rep, F_SETFL, fl & ~O_NONBLOCK);
	sp_timeo(rep, SO_RCVTIMEO, 1000);
	t0 = tap_now_ms();
	n = recv(rep, buf, sizeof(buf), 0);
	dt = tap_now_ms() - t0;
	tap_ok(n < 0 && sp_is_again(errno) && dt >= 950,
	       "after clearing O_NONBLOCK recv blocks again until SO_RCVTIMEO (%lld ms)",
	       dt);
	sp_timeo(rep, SO_RCVTIMEO, BLOCK_MS);

	/* MSG_DONTWAIT on a blocking socket. */
	check_again(rep, MSG_DONTWAIT, "blocking REP with MSG_DONTWAIT");

	/* A non-blocking REQ before the server exists. */
	req = sp_open(SOCK_REQ, SOCK_NONBLOCK);
	sp_timeouts(req, BLOCK_MS, BLOCK_MS);
	if (sp_connect4(req, PORT))
		tap_diag("connect: %s", strerror(errno));
	t0 = tap_now_ms();
	n = send(req, "nb-request", 10, 0);
	dt = tap_now_ms() - t0;
	if (n < 0)
		tap_diag("send: %s", strerror(errno));
	tap_ok(n == 10 && dt < QUICK_MS,
	       "non-blocking REQ queues a request with no server (%lld ms)", dt);
	check_again(req, 0, "non-blocking REQ awaiting its reply");

	/* The whole exchange with non-blocking calls. */
	if (sp_bind4(rep_nb, PORT))
		tap_diag("bind 127.0.0.1:%d: %s", PORT, strerror(errno));
	memset(buf, 0, sizeof(buf));
	n = recv_spin(rep_nb, buf, sizeof(buf));
	tap_ok(n == 10 && !memcmp(buf, "nb-request", 10),
	       "non-blocking REP receives the queued request (%s)",
	       sp_show(buf, n));
	n = send(rep_nb, "nb-reply", 8, MSG_DONTWAIT);
	if (n < 0)
		tap_diag("send: %s", strerror(errno));
	tap_ok(n == 8, "non-blocking REP sends its reply at once");
	memset(buf, 0, sizeof(buf));
	n = recv_spin(req, buf, sizeof(buf));
	tap_ok(n == 8 && !memcmp(buf, "nb-reply", 8),
	       "non-blocking REQ receives the reply (%s)", sp_show(buf, n));

	close(req);
	close(rep);
	close(rep_nb);
	return tap_done();
}
