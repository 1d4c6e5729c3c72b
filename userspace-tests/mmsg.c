// SPDX-License-Identifier: GPL-2.0
/*
 * Many messages per system call: sendmmsg() on a PUB sends each of its
 * messages as one SP message, and recvmmsg() on a SUB receives them, one
 * message per entry with its own length, in order.
 */
#define _GNU_SOURCE
#include "sp_test.h"
#include "sp_pubsub.h"

#define PORT	26600
#define N	16

int main(void)
{
	struct mmsghdr out[N], in[N];
	struct iovec oiov[N], iiov[N];
	char obuf[N][8], ibuf[N][16];
	int pub, sub, i, got = 0, stray, ordered = 1;
	long long deadline;
	int sent;

	tap_plan(4);
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
	close(sub);
	close(pub);
	return tap_done();
}
