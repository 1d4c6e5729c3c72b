// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-message semantics, as for datagrams.  A 100-byte message received
 * into a 10-byte buffer returns 10 bytes (its start), recvmsg() sets
 * MSG_TRUNC in msg_flags, and the rest is discarded: the next recv() returns
 * the next message whole.  recv() with the MSG_TRUNC flag returns the real
 * length (100).  sendmsg() gathers its iovecs into one message (in both
 * directions), and write()/read() send and receive one whole message.
 */
#include <sys/uio.h>

#include "sp_test.h"

#define PORT	24600
#define BIG	100
#define SMALL	10

static ssize_t recvmsg_into(int fd, void *buf, size_t len, int *flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(fd, &msg, 0);

	*flags = msg.msg_flags;
	if (n < 0)
		tap_diag("recvmsg: %s", strerror(errno));
	return n;
}

static ssize_t sendmsg3(int fd, const char *a, const char *b, const char *c)
{
	struct iovec iov[3] = {
		{ .iov_base = (void *)a, .iov_len = strlen(a) },
		{ .iov_base = (void *)b, .iov_len = strlen(b) },
		{ .iov_base = (void *)c, .iov_len = strlen(c) },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };
	ssize_t n = sendmsg(fd, &msg, 0);

	if (n < 0)
		tap_diag("sendmsg: %s", strerror(errno));
	return n;
}

int main(void)
{
	char big[BIG], buf[256];
	int req, rep, flags = 0;
	ssize_t n;

	tap_plan(10);
	tap_watchdog(180);

	rep = sp_open(SOCK_REP, 0);
	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(rep, PORT))
		tap_bail("bind 127.0.0.1:%d: %s", PORT, strerror(errno));
	if (sp_connect4(req, PORT))
		tap_bail("connect: %s", strerror(errno));

	/* 1: a 100-byte request into a 10-byte buffer. */
	sp_pattern(big, BIG, 1);
	sp_send_all(req, big, BIG, "REQ send");
	memset(buf, 0, sizeof(buf));
	n = recvmsg_into(rep, buf, SMALL, &flags);
	tap_ok(n == SMALL, "recvmsg of a %d-byte message into %d bytes returns %d (%zd)",
	       BIG, SMALL, SMALL, n);
	tap_ok(n >= 0 && (flags & MSG_TRUNC),
	       "... and sets MSG_TRUNC in msg_flags (0x%x)", flags);
	tap_ok(n == SMALL && sp_pattern_check(buf, SMALL, 1) < 0 && !buf[SMALL],
	       "... and delivers the first %d bytes only", SMALL);

	/* 2: a 100-byte reply, received with the MSG_TRUNC flag. */
	sp_pattern(big, BIG, 2);
	sp_send_all(rep, big, BIG, "REP reply");
	memset(buf, 0, sizeof(buf));
	n = recv(req, buf, SMALL, MSG_TRUNC);
	if (n < 0)
		tap_diag("recv: %s", strerror(errno));
	tap_ok(n == BIG, "recv(MSG_TRUNC) into %d bytes returns the real length %d (%zd)",
	       SMALL, BIG, n);
	tap_ok(n >= 0 && sp_pattern_check(buf, SMALL, 2) < 0 && !buf[SMALL],
	       "... and fills only the %d-byte buffer with the message's start",
	       SMALL);

	/* 3: the rest of the truncated message was discarded. */
	sp_send_all(req, "second", 6, "REQ send");
	memset(buf, 0, sizeof(buf));
	flags = -1;
	n = recvmsg_into(rep, buf, sizeof(buf), &flags);
	tap_ok(n == 6 && !memcmp(buf, "second", 6) && !(flags & MSG_TRUNC),
	       "the next recvmsg returns the next message whole, without MSG_TRUNC (got %s, flags 0x%x)",
	       sp_show(buf, n), flags);

	/* 4: gather on send, both directions. */
	n = sendmsg3(rep, "Wor", "ld", "!!");
	tap_ok(n == 7 && sp_expect(req, "World!!", 7, "REQ"),
	       "REP sendmsg with 3 iovecs sends one 7-byte message");
	n = sendmsg3(req, "one-", "two-", "three");
	tap_ok(n == 13 && sp_expect(rep, "one-two-three", 13, "REP"),
	       "REQ sendmsg with 3 iovecs sends one 13-byte message");

	/* 5: write() and read(). */
	n = write(rep, "via-write", 9);
	if (n < 0)
		tap_diag("write: %s", strerror(errno));
	memset(buf, 0, sizeof(buf));
	{
		ssize_t r = read(req, buf, sizeof(buf));

		tap_ok(n == 9 && r == 9 && !memcmp(buf, "via-write", 9),
		       "write() sends one message and read() returns it whole (%s)",
		       sp_show(buf, r));
	}
	sp_pattern(big, BIG, 3);
	n = write(req, big, BIG);
	memset(buf, 0, sizeof(buf));
	{
		ssize_t r = read(rep, buf, SMALL);

		tap_ok(n == BIG && r == SMALL && sp_pattern_check(buf, SMALL, 3) < 0,
		       "read() into a short buffer returns its start (%zd of %zd)",
		       r, n);
	}

	close(req);
	close(rep);
	return tap_done();
}
