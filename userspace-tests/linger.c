// SPDX-License-Identifier: GPL-2.0
/*
 * Delivery after close() and exit: what a process sent is delivered by the
 * kernel after the process closed its socket and exited, for up to the linger
 * time (SO_LINGER; SP_LINGER_DEFAULT seconds when it is off).
 *
 * - A REQ dials a port where nothing listens, sends, closes and exits; a REP
 *   that binds the port 1.5 s later still gets the request.
 * - The same with SO_LINGER { 1, 0 }: nothing arrives; with SO_LINGER
 *   { 1, 1 } and the REP 3 s late: nothing arrives.
 * - A PUB publishes 200 KiB to a raw subscriber that does not read yet, so
 *   that most of it is still queued in the kernel, closes and exits; the
 *   subscriber then reads every message, in order, and a clean end of stream
 *   (FIN, not a reset).
 * - A REP answers a raw requester that does not read yet with a 512 KiB
 *   reply, closes and exits; the requester then reads the whole reply, intact,
 *   and a clean end of stream.
 */
#include <sys/wait.h>
#include "sp_raw.h"

#define PORT		28000	/* .. 28004 */
#define PUB_MSGS	200
#define PUB_SIZE	1000
#define REPLY_SIZE	(512 * 1024)

static void set_linger(int fd, int on, int secs)
{
	struct linger l = { .l_onoff = on, .l_linger = secs };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		tap_diag("SO_LINGER: %s", strerror(errno));
}

/* Runs @fn in a child; returns its exit status (-1 if it did not exit). */
static int in_child(int (*fn)(int), int arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		tap_is_child = 1;
		_exit(fn(arg));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Child: REQ to PORT + @which (linger per @which), send, close, exit. */
static int req_and_exit(int which)
{
	char msg[32];
	int s = sp_open(SOCK_REQ, 0), n;

	sp_set_int(s, SOL_SP, SP_RECONNECT_IVL_MAX, 200);
	if (which == 1)
		set_linger(s, 1, 0);
	if (which == 2)
		set_linger(s, 1, 1);
	if (sp_connect4(s, PORT + which))
		return 2;
	n = snprintf(msg, sizeof(msg), "linger-%d", which);
	if (send(s, msg, n, 0) != n)
		return 3;
	close(s);
	return 0;
}

/* A REP bound on PORT + @which after @delay_ms; returns what it received. */
static ssize_t late_rep(int which, int delay_ms, int wait_ms, char *buf,
			size_t cap)
{
	int s;
	ssize_t n;

	usleep(delay_ms * 1000);
	s = sp_open(SOCK_REP, 0);
	sp_timeouts(s, wait_ms, wait_ms);
	if (sp_bind4_retry(s, PORT + which, sp_wait_ms())) {
		tap_diag("bind port %d: %s", PORT + which, strerror(errno));
		close(s);
		return -2;
	}
	n = recv(s, buf, cap, 0);
	if (n < 0)
		n = -errno;
	close(s);
	return n;
}

static void request_after_exit(void)
{
	char buf[64];
	ssize_t n;

	tap_ok(in_child(req_and_exit, 0) == 0,
	       "REQ sent, closed and its process exited, no REP anywhere");
	n = late_rep(0, 1500, sp_wait_ms(), buf, sizeof(buf));
	tap_ok(n == 8 && !memcmp(buf, "linger-0", 8),
	       "a REP bound 1.5 s later gets the request (%s)",
	       n >= 0 ? sp_show(buf, n) : sp_errname(-n));

	tap_ok(in_child(req_and_exit, 1) == 0, "REQ with SO_LINGER {1, 0} closed");
	n = late_rep(1, 500, SP_NEVER_MS, buf, sizeof(buf));
	tap_ok(n == -EAGAIN, "SO_LINGER {1, 0}: nothing arrives (%s)",
	       n >= 0 ? sp_show(buf, n) : sp_errname(-n));

	tap_ok(in_child(req_and_exit, 2) == 0, "REQ with SO_LINGER {1, 1} closed");
	n = late_rep(2, 3000, SP_NEVER_MS, buf, sizeof(buf));
	tap_ok(n == -EAGAIN, "SO_LINGER {1, 1}, REP 3 s late: nothing arrives (%s)",
	       n >= 0 ? sp_show(buf, n) : sp_errname(-n));
}

/* After everything, the stream ends with FIN, not a reset. */
static void expect_clean_end(int fd, const char *who)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);

	tap_ok(n == 0, "%s: then a clean end of stream (%s)", who,
	       n == 0 ? "EOF" : n > 0 ? "more data" : strerror(errno));
}

static int pub_go[2];

/* Child: PUB on PORT + 3, "sync" until told to go, then the stream. */
static int pub_and_exit(int unused)
{
	static char msg[PUB_SIZE];
	uint64_t drops = 1;
	socklen_t len = sizeof(drops);
	int s = sp_open(SOCK_PUB, 0), big = 4 << 20, i;
	char c;

	(void)unused;
	setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	if (sp_bind4_retry(s, PORT + 3, sp_wait_ms()))
		return 2;
	fcntl(pub_go[0], F_SETFL, O_NONBLOCK);
	while (read(pub_go[0], &c, 1) != 1) {
		send(s, "sync", 4, 0);
		usleep(10000);
	}
	for (i = 0; i < PUB_MSGS; i++) {
		memcpy(msg, &i, sizeof(i));
		sp_pattern(msg + sizeof(i), sizeof(msg) - sizeof(i), i);
		if (send(s, msg, sizeof(msg), MSG_DONTWAIT) != sizeof(msg))
			return 3;
	}
	if (getsockopt(s, SOL_SP, SP_DROPS, &drops, &len) || drops)
		return 4;
	close(s);
	return 0;
}

static void pub_flush_after_exit(void)
{
	static char buf[PUB_SIZE];
	int fd, rc, i, got = 0, bad = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pub_go))
		tap_bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		tap_is_child = 1;
		_exit(pub_and_exit(0));
	}
	fd = -1;
	for (i = 0; i < 100 && fd < 0; i++) {
		usleep(50000);
		fd = raw_connect4_rcvbuf(PORT + 3, sp_wait_ms(), 4096);
	}
	if (fd < 0 || !raw_handshake(fd, SP_PROTO_SUB, SP_PROTO_PUB))
		tap_bail("raw SUB could not connect to the PUB");
	do {
		n = raw_recv_frame(fd, buf, sizeof(buf), "raw SUB");
	} while (n >= 0 && !(n == 4 && !memcmp(buf, "sync", 4)));
	if (write(pub_go[1], "g", 1) != 1 || waitpid(pid, &rc, 0) != pid)
		tap_bail("PUB child lost");
	tap_ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	       "PUB published %d x %d B without drops, closed, exited before "
	       "the subscriber read (status %d)", PUB_MSGS, PUB_SIZE, rc);
	for (;;) {
		n = raw_recv_frame(fd, buf, sizeof(buf), "raw SUB");
		if (n < 0)
			break;
		if (n == 4 && !memcmp(buf, "sync", 4))
			continue;
		memcpy(&i, buf, sizeof(i));
		if (n != PUB_SIZE || i != got ||
		    sp_pattern_check(buf + sizeof(i), n - sizeof(i), i) >= 0)
			bad++;
		if (++got == PUB_MSGS)
			break;
	}
	tap_ok(got == PUB_MSGS && !bad,
	       "after the exit, the subscriber reads all %d messages in order "
	       "(%d read, %d wrong)", PUB_MSGS, got, bad);
	expect_clean_end(fd, "raw SUB");
	close(fd);
}

/* Child: REP on PORT + 4 answering one request with REPLY_SIZE bytes. */
static int rep_and_exit(int unused)
{
	static char reply[REPLY_SIZE];
	char req[64];
	int s = sp_open(SOCK_REP, 0), big = 4 << 20;

	(void)unused;
	setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	sp_timeouts(s, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4_retry(s, PORT + 4, sp_wait_ms()))
		return 2;
	if (recv(s, req, sizeof(req), 0) != 5)
		return 3;
	sp_pattern(reply, sizeof(reply), 7);
	if (send(s, reply, sizeof(reply), 0) != sizeof(reply))
		return 4;
	close(s);
	return 0;
}

static void rep_flush_after_exit(void)
{
	static char buf[REPLY_SIZE + 4];
	unsigned char req[9];
	int fd = -1, rc, i;
	ssize_t n;
	pid_t pid = fork();

	if (pid == 0) {
		tap_is_child = 1;
		_exit(rep_and_exit(0));
	}
	for (i = 0; i < 100 && fd < 0; i++) {
		usleep(50000);
		fd = raw_connect4_rcvbuf(PORT + 4, sp_wait_ms(), 4096);
	}
	if (fd < 0 || !raw_handshake(fd, SP_PROTO_REQ, SP_PROTO_REP))
		tap_bail("raw REQ could not connect to the REP");
	raw_put32(req, 0x80000001u);
	memcpy(req + 4, "hello", 5);
	if (!raw_send_frame(fd, req, sizeof(req)))
		tap_bail("raw REQ could not send");
	if (waitpid(pid, &rc, 0) != pid)
		tap_bail("REP child lost");
	tap_ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	       "REP answered with %d KiB, closed, exited before the requester "
	       "read (status %d)", REPLY_SIZE / 1024, rc);
	n = raw_recv_frame(fd, buf, sizeof(buf), "raw REQ");
	tap_ok(n == REPLY_SIZE + 4 && raw_get32((unsigned char *)buf) == 0x80000001u &&
	       sp_pattern_check(buf + 4, REPLY_SIZE, 7) < 0,
	       "after the exit, the requester reads the whole reply, intact (%zd B)",
	       n);
	expect_clean_end(fd, "raw REQ");
	close(fd);
}

int main(void)
{
	struct linger l;
	socklen_t len = sizeof(l);
	int s;

	tap_plan(13);
	tap_watchdog(120);
	signal(SIGPIPE, SIG_IGN);

	s = sp_open(SOCK_REQ, 0);
	tap_ok(!getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &len) && !l.l_onoff &&
	       SP_LINGER_DEFAULT >= 10,
	       "SO_LINGER off by default: delivery for SP_LINGER_DEFAULT = %d s",
	       SP_LINGER_DEFAULT);
	close(s);

	request_after_exit();
	pub_flush_after_exit();
	rep_flush_after_exit();
	return tap_failed != 0;
}
