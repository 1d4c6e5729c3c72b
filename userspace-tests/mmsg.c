// SPDX-License-Identifier: GPL-2.0
/*
 * Many messages per system call: sendmmsg() on a PUB sends each of its
 * messages as one SP message, and recvmmsg() on a SUB receives them, one
 * message per entry with its own length, in order.  The PUB hands them to TCP
 * together: 2000 messages sent by sendmmsg() 50 at a time, which go out
 * coalesced, all arrive whole and in order.  MSG_MORE holds messages until a
 * send without it, which delivers them all, in order.
 */
#define _GNU_SOURCE
#include "sp_test.h"
#include "sp_pubsub.h"

#define PORT	26600
#define N	16

/* 2000 messages by sendmmsg() in batches of 50; all arrive, in order. */
static void batches(int pub, int sub)
{
	static struct mmsghdr out[50];
	static struct iovec iov[50];
	static char msg[2000][8];
	char buf[16];
	int i, k, sent = 0, got = 0, bad = 0, big = 8 << 20;
	uint64_t drops = 0;
	ssize_t n;

	setsockopt(sub, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	for (i = 0; i < 2000; i += 50) {
		for (k = 0; k < 50; k++) {
			snprintf(msg[i + k], sizeof(msg[0]), "b%04d", i + k);
			iov[k].iov_base = msg[i + k];
			iov[k].iov_len = 5;
			memset(&out[k], 0, sizeof(out[k]));
			out[k].msg_hdr.msg_iov = &iov[k];
			out[k].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(pub, out, 50, 0);
		sent += n > 0 ? n : 0;
	}
	ps_drops(pub, &drops);
	tap_ok(sent == 2000 && drops == 0,
	       "2000 messages sent by sendmmsg, 50 a call, none dropped (%d, %llu)",
	       sent, (unsigned long long)drops);
	sp_timeo(sub, SO_RCVTIMEO, sp_wait_ms());
	while (got < 2000 && (n = recv(sub, buf, sizeof(buf), 0)) >= 0) {
		if (ps_is_sync(buf, n))
			continue;
		bad += n != 5 || memcmp(buf, msg[got], 5);
		got++;
	}
	tap_ok(got == 2000 && !bad, "the subscriber gets all 2000, in order (%d, %d wrong)",
	       got, bad);
}

/* MSG_MORE: held until a send without it. */
static void more(int pub, int sub)
{
	static const char *const exp[] = { "M0", "M1", "M2", "M3", "M4", "end" };
	static const size_t len[] = { 2, 2, 2, 2, 2, 3 };
	int i, ok = 1, timed_out;

	for (i = 0; i < 5; i++)
		ok &= send(pub, exp[i], 2, MSG_MORE) == 2;
	tap_ok(ok && ps_expect_nothing(sub, 500, "after MSG_MORE"),
	       "5 messages sent with MSG_MORE are held");
	send(pub, "end", 3, 0);
	tap_ok(ps_expect_seq(sub, exp, len, 5, "end", tap_now_ms() + sp_wait_ms(),
			     "SUB", &timed_out),
	       "a send without MSG_MORE delivers them, in order, then itself");
}

int main(void)
{
	struct mmsghdr out[N], in[N];
	struct iovec oiov[N], iiov[N];
	char obuf[N][8], ibuf[N][16];
	int pub, sub, i, got = 0, stray, ordered = 1;
	long long deadline;
	int sent;

	tap_plan(8);
	tap_watchdog(300);

	pub = sp_open(SOCK_PUB, 0);
	sub = sp_open(SOCK_SUB, 0);
	if (sp_bind4(pub, PORT) || sp_connect4(sub, PORT) || ps_subscribe(sub, "", 0))
		tap_bail("setup: %s", strerror(errno));
	tap_ok(ps_sync(pub, &sub, 1, PS_SYNC "mmsg", sp_wait_ms(), &stray) == 1,
	       "the subscriber is connected");

	memset(out, 0, sizeof(out));
	for (i = 0; i < N; i++) {
		snprintf(obuf[i], sizeof(obuf[i]), "m%02d", i);
		oiov[i].iov_base = obuf[i];
		oiov[i].iov_len = 3;
		out[i].msg_hdr.msg_iov = &oiov[i];
		out[i].msg_hdr.msg_iovlen = 1;
	}
	sent = sendmmsg(pub, out, N, 0);
	tap_ok(sent == N, "sendmmsg sends %d messages in one call (%d)", N, sent);

	/* Markers of the sync may still trail in: they are skipped. */
	memset(in, 0, sizeof(in));
	deadline = tap_now_ms() + sp_wait_ms();
	while (got < N && tap_now_ms() < deadline) {
		struct timespec ts = { .tv_sec = 1 };
		int n, k;

		for (i = 0; i < N; i++) {
			iiov[i].iov_base = ibuf[i];
			iiov[i].iov_len = sizeof(ibuf[i]);
			in[i].msg_hdr.msg_iov = &iiov[i];
			in[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(sub, in, N - got, MSG_WAITFORONE, &ts);
		if (n < 0) {
			if (!sp_is_again(errno) && errno != EINTR)
				break;
			continue;
		}
		for (k = 0; k < n; k++) {
			if (ps_is_sync(ibuf[k], in[k].msg_len))
				continue;
			if (in[k].msg_len != 3 || memcmp(ibuf[k], obuf[got], 3))
				ordered = 0;
			got++;
		}
	}
	tap_ok(got == N, "recvmmsg receives all %d (%d)", N, got);
	tap_ok(got == N && ordered, "one message per entry, whole and in order");
	batches(pub, sub);
	more(pub, sub);
	close(sub);
	close(pub);
	return tap_done();
}
