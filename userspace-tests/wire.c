// SPDX-License-Identifier: GPL-2.0
/*
 * The SP/TCP wire format, checked byte by byte with a hand-made peer on a
 * plain TCP socket.  Against our REP: its connection header is exactly
 * 00 53 50 00 00 31 00 00; a request's tags (request id, or backtrace plus
 * request id) are stripped before delivery and put back in front of the
 * reply; requests without a final tag, shorter than a tag, or with a 20-hop
 * backtrace are not delivered; a peer with a wrong protocol, a garbage header
 * or non-zero reserved bytes is disconnected.  Against our REQ: its header is
 * exactly 00 53 50 00 00 30 00 00; a request is one frame of a request id
 * with the top bit set plus the payload; with SP_RESEND_IVL 1000 an
 * unanswered request is resent byte for byte; a reply with a wrong id is
 * dropped and the one with the right id delivered; the next request and
 * another socket's first request use other ids.
 */
#include "sp_raw.h"

#define PORT_REP	25100	/* our REP listens here */
#define PORT_RAW	25101	/* our REQ dials the raw listener here */

/* A raw REQ peer connected to our REP, past the header exchange. */
static int raw_req_peer(void)
{
	int fd = raw_connect4(PORT_REP, sp_wait_ms());

	if (fd >= 0 && !raw_handshake(fd, SP_PROTO_REQ, SP_PROTO_REP)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Send a request made of @ntags tags then @body from a fresh raw peer. */
static int raw_request(const uint32_t *tags, int ntags, const char *body)
{
	unsigned char msg[512];
	size_t len = 0;
	int fd = raw_req_peer(), i;

	if (fd < 0)
		return -1;
	for (i = 0; i < ntags; i++, len += 4)
		raw_put32(msg + len, tags[i]);
	memcpy(msg + len, body, strlen(body));
	len += strlen(body);
	if (!raw_send_frame(fd, msg, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Our REP must not deliver anything within SP_NEVER_MS. */
static int rep_gets_nothing(int rep)
{
	char buf[256];
	ssize_t n;

	sp_timeo(rep, SO_RCVTIMEO, SP_NEVER_MS);
	n = recv(rep, buf, sizeof(buf), 0);
	sp_timeo(rep, SO_RCVTIMEO, sp_wait_ms());
	if (n >= 0)
		tap_diag("REP received %s", sp_show(buf, n));
	else if (!sp_is_again(errno))
		tap_diag("REP recv: %s", strerror(errno));
	return n < 0 && sp_is_again(errno);
}

/* Our REP must hang up on a raw peer that sends header @h. */
static int rep_rejects_header(const unsigned char h[8])
{
	int fd = raw_connect4(PORT_REP, sp_wait_ms()), ok;

	if (fd < 0)
		return 0;
	ok = !raw_write(fd, h, 8) && raw_wait_closed(fd, sp_wait_ms());
	close(fd);
	return ok;
}

static void rep_side(void)
{
	static const uint32_t plain[] = { 0x80000123 };
	static const uint32_t trace[] = { 0x00000007, 0x80000456 };
	static const uint32_t no_id[] = { 0x00000001 };
	uint32_t deep[21];
	unsigned char h[8], exp[64], got[256];
	int rep, fd, i;
	ssize_t n;

	rep = sp_open(SOCK_REP, 0);
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(rep, PORT_REP))
		tap_bail("bind 127.0.0.1:%d: %s", PORT_REP, strerror(errno));

	fd = raw_connect4(PORT_REP, sp_wait_ms());
	tap_ok(fd >= 0 && raw_handshake(fd, SP_PROTO_REQ, SP_PROTO_REP),
	       "REP sends the header 00 53 50 00 00 31 00 00");
	if (fd >= 0)
		close(fd);

	/* A plain request: one tag, the request id. */
	fd = raw_request(plain, 1, "Hello");
	tap_ok(fd >= 0 && sp_expect(rep, "Hello", 5, "REP"),
	       "REP delivers [80000123]\"Hello\" as \"Hello\"");
	sp_send_all(rep, "World", 5, "REP reply");
	raw_put32(exp, plain[0]);
	memcpy(exp + 4, "World", 5);
	n = fd >= 0 ? raw_recv_frame(fd, got, sizeof(got), "raw REQ") : -1;
	if (n >= 0 && (n != 9 || memcmp(got, exp, 9)))
		tap_diag("reply frame %s", sp_show(got, n));
	tap_ok(n == 9 && !memcmp(got, exp, 9),
	       "the reply is one frame [80000123]\"World\" on the same connection");
	if (fd >= 0)
		close(fd);

	/* A request that went through a device: backtrace + request id. */
	fd = raw_request(trace, 2, "Hi");
	tap_ok(fd >= 0 && sp_expect(rep, "Hi", 2, "REP"),
	       "REP delivers [00000007][80000456]\"Hi\" as \"Hi\"");
	sp_send_all(rep, "Ok", 2, "REP reply");
	raw_put32(exp, trace[0]);
	raw_put32(exp + 4, trace[1]);
	memcpy(exp + 8, "Ok", 2);
	n = fd >= 0 ? raw_recv_frame(fd, got, sizeof(got), "raw REQ") : -1;
	if (n >= 0 && (n != 10 || memcmp(got, exp, 10)))
		tap_diag("reply frame %s", sp_show(got, n));
	tap_ok(n == 10 && !memcmp(got, exp, 10),
	       "the reply carries the whole backtrace back: [00000007][80000456]\"Ok\"");
	if (fd >= 0)
		close(fd);

	/* Malformed requests are not delivered. */
	fd = raw_request(no_id, 1, "bad");
	tap_ok(fd >= 0 && rep_gets_nothing(rep),
	       "a request whose tags never have the top bit set is dropped");
	if (fd >= 0)
		close(fd);
	fd = raw_request(NULL, 0, "ab");
	tap_ok(fd >= 0 && rep_gets_nothing(rep),
	       "a 2-byte request (shorter than a tag) is dropped");
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 20; i++)
		deep[i] = i + 1;
	deep[20] = 0x80000789;
	fd = raw_request(deep, 21, "loop");
	tap_ok(fd >= 0 && rep_gets_nothing(rep),
	       "a request with a 20-hop backtrace is dropped");
	if (fd >= 0)
		close(fd);

	/* Headers that must be refused. */
	raw_header(h, SP_PROTO_PUB);
	tap_ok(rep_rejects_header(h), "REP hangs up on a PUB (0x20) peer");
	raw_header(h, SP_PROTO_REP);
	tap_ok(rep_rejects_header(h), "REP hangs up on a REP (0x31) peer");
	raw_header(h, SP_PROTO_REQ);
	h[6] = 1;
	tap_ok(rep_rejects_header(h),
	       "REP hangs up on a header with non-zero reserved bytes");
	memcpy(h, "GET / HT", 8);
	tap_ok(rep_rejects_header(h), "REP hangs up on a garbage header");

	/* After all that abuse the REP still serves a good peer. */
	fd = raw_request(plain, 1, "still?");
	tap_ok(fd >= 0 && sp_expect(rep, "still?", 6, "REP"),
	       "REP still delivers a good request afterwards");
	sp_send_all(rep, "yes", 3, "REP reply");
	if (fd >= 0)
		close(fd);
	close(rep);
}

/* Read request frames, skipping resends of @skip_id; returns the length. */
static ssize_t next_request(int fd, unsigned char *buf, size_t cap,
			    uint32_t skip_id)
{
	ssize_t n;

	do {
		n = raw_recv_frame(fd, buf, cap, "raw REP");
	} while (n >= 4 && raw_get32(buf) == skip_id);
	return n;
}

static void req_side(void)
{
	unsigned char first[256], got[256], reply[64];
	int lfd, fd, fd2, req, req2, ok;
	uint32_t id = 0, id2 = 0;
	ssize_t n, n2;

	lfd = raw_listen4(PORT_RAW);
	if (lfd < 0)
		tap_bail("cannot listen on port %d", PORT_RAW);
	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	if (sp_set_int(req, SOL_SP, SP_RESEND_IVL, 1000))
		tap_diag("SP_RESEND_IVL: %s", strerror(errno));
	if (sp_connect4(req, PORT_RAW))
		tap_bail("connect: %s", strerror(errno));
	fd = raw_accept(lfd, sp_wait_ms());
	tap_ok(fd >= 0 && raw_handshake(fd, SP_PROTO_REP, SP_PROTO_REQ),
	       "REQ sends the header 00 53 50 00 00 30 00 00");
	if (fd < 0)
		tap_bail("REQ never connected to the raw listener");

	sp_send_all(req, "Hello", 5, "REQ send");
	n = raw_recv_frame(fd, first, sizeof(first), "raw REP");
	if (n >= 4)
		id = raw_get32(first);
	if (n >= 0 && (n != 9 || !(id & 0x80000000) || memcmp(first + 4, "Hello", 5)))
		tap_diag("request frame %s", sp_show(first, n));
	tap_ok(n == 9 && (id & 0x80000000) && !memcmp(first + 4, "Hello", 5),
	       "a request is one frame: a request id with the top bit set, then \"Hello\" (id %08x)",
	       id);

	n2 = raw_recv_frame(fd, got, sizeof(got), "raw REP");
	tap_ok(n > 0 && n2 == n && !memcmp(got, first, n),
	       "with SP_RESEND_IVL 1000 the unanswered request is resent unchanged");

	/*
	 * A reply with a wrong id, then the right one, on the same stream: the
	 * first message delivered must be the right one.  (No timed-out recv
	 * here: whether that abandons the request is not ours to decide.)
	 */
	raw_put32(reply, id ^ 0x1234);
	memcpy(reply + 4, "Wrong", 5);
	raw_send_frame(fd, reply, 9);
	raw_put32(reply, id);
	memcpy(reply + 4, "World", 5);
	raw_send_frame(fd, reply, 9);
	sp_timeo(req, SO_RCVTIMEO, sp_wait_ms());
	tap_ok(sp_expect(req, "World", 5, "REQ"),
	       "a reply with another request id is dropped, the one with the right id delivered without it");

	sp_send_all(req, "Again", 5, "REQ send");
	n = next_request(fd, got, sizeof(got), id);
	if (n >= 4)
		id2 = raw_get32(got);
	tap_ok(n == 9 && (id2 & 0x80000000) && id2 != id &&
	       !memcmp(got + 4, "Again", 5),
	       "the next request has a new request id (%08x after %08x)", id2, id);
	raw_put32(reply, id2);
	memcpy(reply + 4, "Done", 4);
	raw_send_frame(fd, reply, 8);
	sp_expect(req, "Done", 4, "REQ");

	/* Another socket starts from another id. */
	req2 = sp_open(SOCK_REQ, 0);
	sp_timeouts(req2, sp_wait_ms(), sp_wait_ms());
	ok = !sp_connect4(req2, PORT_RAW);
	fd2 = ok ? raw_accept(lfd, sp_wait_ms()) : -1;
	ok = fd2 >= 0 && raw_handshake(fd2, SP_PROTO_REP, SP_PROTO_REQ) &&
	     sp_send_all(req2, "Other", 5, "REQ send");
	n = ok ? raw_recv_frame(fd2, got, sizeof(got), "raw REP") : -1;
	tap_ok(n == 9 && raw_get32(got) != id && raw_get32(got) != id2,
	       "another REQ socket's first request id differs (%08x)",
	       n >= 4 ? raw_get32(got) : 0);

	if (fd2 >= 0)
		close(fd2);
	close(req2);
	close(fd);
	close(req);
	close(lfd);
}

int main(void)
{
	tap_plan(19);
	tap_watchdog(300);
	rep_side();
	req_side();
	return tap_done();
}
