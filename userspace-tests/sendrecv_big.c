// SPDX-License-Identifier: GPL-2.0
/*
 * Large messages and the receive limit.  A 64 KiB and a 900 KiB request (both
 * below the default SP_RCVMAXSIZE of 1 MiB) reach a REP server intact and
 * come back intact (a position-dependent byte pattern catches any lost,
 * doubled or reordered chunk).  A REP with SP_RCVMAXSIZE 1000 does not
 * deliver a 2000-byte request (its recv() times out), keeps working for
 * later, small requests, and drops the TCP connection of a raw SP peer that
 * announces a frame over the limit, also when only the length has arrived.
 */
#include "sp_raw.h"

#define PORT		25000	/* big echo server */
#define PORT_LIMIT	25001	/* REP with a small SP_RCVMAXSIZE */
#define BUFSZ		(4 << 20)
#define LIMIT		1000

static const size_t sizes[] = { 64 << 10, 900 << 10 };

/* Ask for big buffers; root may exceed net.core.[rw]mem_max. */
static void big_buffers(int fd)
{
	int v = BUFSZ;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)))
		tap_diag("SO_SNDBUF: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)))
		tap_diag("SO_RCVBUF: %s", strerror(errno));
}

/* Echo server: check each request's pattern, send it back. */
static int echo_server(void)
{
	char *buf = malloc(BUFSZ);
	int s = sp_open(SOCK_REP, 0);
	size_t i;

	if (!buf)
		return 2;
	big_buffers(s);
	sp_timeouts(s, 2 * sp_wait_ms(), 2 * sp_wait_ms());
	if (sp_bind4(s, PORT)) {
		tap_diag("echo: bind: %s", strerror(errno));
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		ssize_t n = recv(s, buf, BUFSZ, 0), bad;

		if (n < 0) {
			tap_diag("echo: recv: %s", strerror(errno));
			return 3;
		}
		bad = sp_pattern_check(buf, n, 10 + i);
		if ((size_t)n != sizes[i] || bad >= 0) {
			tap_diag("echo: request %zu: %zd bytes (want %zu), first bad byte at %zd",
				 i, n, sizes[i], bad);
			return 4;
		}
		if (!sp_send_all(s, buf, n, "echo reply"))
			return 5;
	}
	/* Linger for the last reply while the parent reads it. */
	sleep(600);
	return 0;
}

int main(void)
{
	char *buf = malloc(BUFSZ), *msg = malloc(BUFSZ);
	unsigned char h[16];
	int req, rep, raw, rc, ivl = 5000, limit = LIMIT, raw_ok = 0;
	pid_t pid;
	size_t i;
	ssize_t n;

	if (!buf || !msg)
		tap_bail("out of memory");
	tap_plan(12);
	tap_watchdog(300);

	/* Round trips through an echo server process. */
	req = sp_open(SOCK_REQ, 0);
	big_buffers(req);
	sp_timeouts(req, 2 * sp_wait_ms(), 2 * sp_wait_ms());
	pid = tap_fork(280);
	if (pid == 0) {
		close(req);
		_exit(echo_server());
	}
	if (sp_connect4(req, PORT))
		tap_bail("connect: %s", strerror(errno));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		ssize_t bad;

		sp_pattern(msg, sizes[i], 10 + i);
		n = send(req, msg, sizes[i], 0);
		if (n < 0)
			tap_diag("send: %s", strerror(errno));
		tap_ok(n == (ssize_t)sizes[i], "send of a %zu KiB request returns %zu",
		       sizes[i] >> 10, sizes[i]);
		memset(buf, 0, sizes[i]);
		n = recv(req, buf, BUFSZ, 0);
		if (n < 0)
			tap_diag("recv: %s", strerror(errno));
		bad = n > 0 ? sp_pattern_check(buf, n, 10 + i) : 0;
		if (bad >= 0 && n > 0)
			tap_diag("first wrong byte at offset %zd", bad);
		tap_ok(n == (ssize_t)sizes[i] && bad < 0,
		       "the %zu KiB message comes back intact (%zd bytes)",
		       sizes[i] >> 10, n);
	}
	if (waitpid(pid, &rc, WNOHANG) == pid) {
		tap_forget_child(pid);
		tap_ok(0, "echo server saw both requests intact (exit status %d)",
		       WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
	} else {
		tap_ok(1, "echo server saw both requests intact");
		tap_kill_child(pid);
	}
	close(req);

	/* The receive limit. */
	rep = sp_open(SOCK_REP, 0);
	req = sp_open(SOCK_REQ, 0);
	rc = sp_set_int(rep, SOL_SP, SP_RCVMAXSIZE, limit);
	if (rc)
		tap_diag("setsockopt(SP_RCVMAXSIZE): %s", strerror(errno));
	tap_ok(rc == 0, "REP accepts SP_RCVMAXSIZE = %d", limit);
	if (sp_bind4(rep, PORT_LIMIT))
		tap_bail("bind: %s", strerror(errno));
	sp_timeouts(rep, SP_NEVER_MS, sp_wait_ms());
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	if (sp_set_int(req, SOL_SP, SP_RESEND_IVL, ivl))
		tap_diag("setsockopt(SP_RESEND_IVL): %s", strerror(errno));
	if (sp_connect4(req, PORT_LIMIT))
		tap_bail("connect: %s", strerror(errno));
	sp_pattern(msg, 2 * LIMIT, 3);
	sp_send_all(req, msg, 2 * LIMIT, "REQ send");
	n = recv(rep, buf, BUFSZ, 0);
	if (n >= 0)
		tap_diag("REP received %zd bytes", n);
	tap_ok(n < 0 && sp_is_again(errno),
	       "a %d-byte request to a REP with SP_RCVMAXSIZE %d is not delivered",
	       2 * LIMIT, LIMIT);

	sp_timeo(rep, SO_RCVTIMEO, sp_wait_ms());
	sp_send_all(req, "small", 5, "REQ send");
	tap_ok(sp_expect(rep, "small", 5, "REP"),
	       "the REP still receives a later small request");
	sp_send_all(rep, "fine", 4, "REP reply");
	tap_ok(sp_expect(req, "fine", 4, "REQ"), "... and its reply arrives");
	close(req);

	/* A raw peer announcing a frame over the limit: the REP hangs up. */
	raw = raw_connect4(PORT_LIMIT, sp_wait_ms());
	rc = raw >= 0 && raw_handshake(raw, SP_PROTO_REQ, SP_PROTO_REP);
	raw_ok += rc;
	if (rc) {
		raw_put32((unsigned char *)msg, 0x80000001);
		/*
		 * The REP may hang up as soon as it has read the length, before
		 * the rest is written: a reset while sending is that hang-up.
		 */
		if (!raw_send_frame(raw, msg, 2 * LIMIT))
			rc = errno == ECONNRESET || errno == EPIPE;
	}
	tap_ok(rc && raw_wait_closed(raw, sp_wait_ms()),
	       "the REP closes the connection of a raw peer sending a %d-byte frame",
	       2 * LIMIT);
	if (raw >= 0)
		close(raw);

	raw = raw_connect4(PORT_LIMIT, sp_wait_ms());
	rc = raw >= 0 && raw_handshake(raw, SP_PROTO_REQ, SP_PROTO_REP);
	raw_ok += rc;
	if (rc) {
		raw_put64(h, 1ULL << 40);	/* 1 TiB, and nothing follows */
		rc = !raw_write(raw, h, 8);
	}
	tap_ok(rc && raw_wait_closed(raw, sp_wait_ms()),
	       "... and of one that only announces a 1 TiB frame");
	if (raw >= 0)
		close(raw);

	sp_timeo(rep, SO_RCVTIMEO, SP_NEVER_MS);
	n = recv(rep, buf, BUFSZ, 0);
	tap_ok(raw_ok == 2 && n < 0 && sp_is_again(errno),
	       "nothing from the oversized frames reaches the REP (%zd)", n);

	close(rep);
	free(buf);
	free(msg);
	return tap_done();
}
