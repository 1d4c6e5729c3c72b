// SPDX-License-Identifier: GPL-2.0
/*
 * PUB/SUB on the wire, checked with a hand-made peer on a plain TCP socket.
 *
 * Against our PUB: its connection header is exactly 00 53 50 00 00 20 00 00;
 * a raw SUB that never sends a subscription (there is no such thing on the
 * wire: filtering happens in the subscriber) gets every message as a frame
 * of a 64-bit big-endian length and the payload, byte for byte, the empty
 * message too; a peer announcing REQ is disconnected.
 *
 * Against our SUB, which dials a raw listener: its header is exactly
 * 00 53 50 00 00 21 00 00 and it sends nothing after it; of the frames the
 * raw PUB sends, exactly those matching its prefixes are delivered, whole;
 * a frame announcing more than SP_RCVMAXSIZE (default 1 MiB) makes it drop
 * the connection, and it dials again.
 */
#include "sp_raw.h"
#include "sp_pubsub.h"

#define PORT_PUB	26200	/* our PUB listens here */
#define PORT_RAW	26201	/* our SUB dials the raw listener here */

/* Read frames from @fd until one equals @marker; compare the others. */
static int raw_expect_frames(int fd, const char *const *exp,
			     const size_t *explen, int nexp, const char *marker)
{
	static char buf[PS_BUF];
	int k = 0, bad = 0;

	for (;;) {
		ssize_t n = raw_recv_frame(fd, buf, sizeof(buf), "raw SUB");

		if (n < 0)
			return 0;
		if ((size_t)n == strlen(marker) && !memcmp(buf, marker, n))
			break;
		if (ps_is_sync(buf, n))
			continue;
		if (k >= nexp || (size_t)n != explen[k] || memcmp(buf, exp[k], n)) {
			tap_diag("raw SUB: frame %d is %s, expected %s", k,
				 sp_show(buf, n),
				 k < nexp ? sp_show(exp[k], explen[k]) : "none");
			bad = 1;
		}
		k++;
	}
	if (k < nexp)
		tap_diag("raw SUB: only %d of %d frames", k, nexp);
	return !bad && k == nexp;
}

static void against_pub(void)
{
	static const char bin[] = "\0binary\xff\0payload";
	static const char *const msgs[] = { "Hello", "World", "", bin };
	static const size_t lens[] = { 5, 5, 0, sizeof(bin) - 1 };
	int pub, raw, rc, i, ok;
	unsigned char h[8];

	pub = sp_open(SOCK_PUB, 0);
	sp_timeouts(pub, sp_wait_ms(), sp_wait_ms());
	rc = sp_bind4(pub, PORT_PUB);
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	tap_ok(rc == 0, "PUB binds 127.0.0.1:%d", PORT_PUB);

	raw = raw_connect4(PORT_PUB, sp_wait_ms());
	tap_ok(raw >= 0 && raw_handshake(raw, SP_PROTO_SUB, SP_PROTO_PUB),
	       "our PUB answers a raw SUB with exactly 00 53 50 00 00 20 00 00");
	if (raw < 0)
		tap_bail("no raw connection to the PUB");

	/* Until the PUB has the pipe, publish a marker; read it as a frame. */
	ok = raw_sub_synced(pub, raw, PS_SYNC "raw", sp_wait_ms());
	for (i = 0; ok && i < (int)ARRAY_SIZE(msgs); i++)
		ok = sp_send_all(pub, msgs[i], lens[i], "PUB");
	ok = ok && sp_send_all(pub, PS_SYNC "end", strlen(PS_SYNC "end"), "PUB");
	tap_ok(ok && raw_expect_frames(raw, msgs, lens, ARRAY_SIZE(msgs),
				       PS_SYNC "end"),
	       "a raw SUB that never subscribed gets every message, empty and binary too, as exact frames");
	close(raw);

	/* A REQ is not a partner of a PUB. */
	raw = raw_connect4(PORT_PUB, sp_wait_ms());
	raw_header(h, SP_PROTO_REQ);
	tap_ok(raw >= 0 && !raw_write(raw, h, 8) &&
	       raw_wait_closed(raw, sp_wait_ms()),
	       "our PUB disconnects a peer that announces REQ");
	if (raw >= 0)
		close(raw);
	close(pub);
}

static void against_sub(void)
{
	static const char *const frames[] = {
		"Hello", "World", "Hx", "", "H", "h", "Hello\0with a NUL",
	};
	static const size_t flen[] = { 5, 5, 2, 0, 1, 1, 16 };
	static const char *const exp[] = { "Hello", "Hx", "H", "Hello\0with a NUL" };
	static const size_t explen[] = { 5, 2, 1, 16 };
	unsigned char hdr[8];
	int lfd, sub, raw, i, ok, to;
	char c;

	lfd = raw_listen4(PORT_RAW);
	if (lfd < 0)
		tap_bail("cannot listen on %d", PORT_RAW);
	sub = sp_open(SOCK_SUB, 0);
	sp_timeouts(sub, sp_wait_ms(), 2000);
	if (!ps_sub_str(sub, "H", "SUB") || !ps_sub_str(sub, PS_SYNC, "SUB") ||
	    sp_connect4(sub, PORT_RAW))
		tap_diag("SUB setup: %s", strerror(errno));
	raw = raw_accept(lfd, sp_wait_ms());
	tap_ok(raw >= 0 && raw_handshake(raw, SP_PROTO_PUB, SP_PROTO_SUB),
	       "our SUB sends exactly 00 53 50 00 00 21 00 00 to a raw PUB");
	if (raw < 0)
		tap_bail("our SUB did not dial");

	ok = 1;
	for (i = 0; ok && i < (int)ARRAY_SIZE(frames); i++)
		ok = raw_send_frame(raw, frames[i], flen[i]);
	ok = ok && raw_send_frame(raw, PS_SYNC "1", strlen(PS_SYNC "1"));
	tap_ok(ok && ps_expect_seq(sub, exp, explen, ARRAY_SIZE(exp), PS_SYNC "1",
				   tap_now_ms() + sp_wait_ms(), "SUB", &to),
	       "of the raw PUB's frames, exactly those starting with \"H\" are delivered, whole");

	sp_timeo(raw, SO_RCVTIMEO, 1000);
	i = recv(raw, &c, 1, 0);
	if (i >= 0)
		tap_diag("our SUB sent %s", i ? sp_show(&c, 1) : "EOF");
	tap_ok(i < 0 && sp_is_again(errno), "our SUB sends nothing after its header");

	/* A frame over SP_RCVMAXSIZE: the SUB hangs up, then dials again. */
	raw_put64(hdr, 2 * SP_RCVMAXSIZE_DEFAULT);
	tap_ok(!raw_write(raw, hdr, 8) && raw_wait_closed(raw, sp_wait_ms()),
	       "a frame announcing 2 MiB (over SP_RCVMAXSIZE) makes our SUB drop the connection");
	close(raw);
	raw = raw_accept(lfd, sp_wait_ms());
	ok = raw >= 0 && raw_handshake(raw, SP_PROTO_PUB, SP_PROTO_SUB) &&
	     raw_send_frame(raw, "Hello again", 11) &&
	     raw_send_frame(raw, PS_SYNC "2", strlen(PS_SYNC "2"));
	{
		const char *again = "Hello again";
		size_t alen = 11;

		tap_ok(ok && ps_expect_seq(sub, &again, &alen, 1, PS_SYNC "2",
					   tap_now_ms() + sp_wait_ms(), "SUB", &to),
		       "our SUB dials again and receives on the new connection");
	}
	if (raw >= 0)
		close(raw);
	close(sub);
	close(lfd);
}

int main(void)
{
	tap_plan(9);
	tap_watchdog(180);

	against_pub();
	against_sub();
	return tap_done();
}
