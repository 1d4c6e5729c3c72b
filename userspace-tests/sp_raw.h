/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A hand-rolled SP/TCP peer on a plain TCP socket, for tests that check the
 * wire format itself: the 8-byte connection header ("\0SP\0", 16-bit protocol
 * id, two zero bytes) and frames of a 64-bit big-endian length plus payload
 * (see wire-protocol.md).  Every read has a timeout (SO_RCVTIMEO), so a peer
 * that says nothing makes the check fail instead of hanging.
 */
#ifndef SP_RAW_H
#define SP_RAW_H

#include <netinet/tcp.h>

#include "sp_test.h"

#define SP_PROTO_REQ	0x30
#define SP_PROTO_REP	0x31
#define SP_PROTO_PUB	0x20
#define SP_PROTO_SUB	0x21

static inline void raw_header(unsigned char h[8], int proto)
{
	h[0] = 0;
	h[1] = 'S';
	h[2] = 'P';
	h[3] = 0;
	h[4] = proto >> 8;
	h[5] = proto & 0xff;
	h[6] = 0;
	h[7] = 0;
}

static inline void raw_put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline uint32_t raw_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static inline void raw_put64(unsigned char *p, uint64_t v)
{
	raw_put32(p, v >> 32);
	raw_put32(p + 4, (uint32_t)v);
}

static inline uint64_t raw_get64(const unsigned char *p)
{
	return (uint64_t)raw_get32(p) << 32 | raw_get32(p + 4);
}

/* Write all of @buf; 0 on success, -1 (errno set) on failure. */
static inline int raw_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Read exactly @len bytes; returns @len, 0 on EOF before anything was read,
 * or -1 (errno set; EAGAIN on timeout) otherwise.
 */
static inline ssize_t raw_read(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			if (!got)
				return 0;
			errno = EPIPE;
			return -1;
		}
		got += n;
	}
	return got;
}

/*
 * A TCP socket with a receive timeout, connected to 127.0.0.1:@port; with
 * @rcvbuf > 0, a receive buffer (hence window) that small.
 */
static inline int raw_connect4_rcvbuf(int port, int timeout_ms, int rcvbuf)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sp_timeo(fd, SO_RCVTIMEO, timeout_ms);
	sp_timeo(fd, SO_SNDTIMEO, timeout_ms);
	sp_addr4(&sin, port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		tap_diag("raw connect to port %d: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A TCP socket with a receive timeout, connected to 127.0.0.1:@port. */
static inline int raw_connect4(int port, int timeout_ms)
{
	return raw_connect4_rcvbuf(port, timeout_ms, 0);
}

/* A plain TCP listener on 127.0.0.1:@port. */
static inline int raw_listen4(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sp_addr4(&sin, port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 8)) {
		tap_diag("raw listen on port %d: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* accept() within @timeout_ms; the new socket gets the same read timeout. */
static inline int raw_accept(int lfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int fd, one = 1;

	if (poll(&pfd, 1, timeout_ms) != 1) {
		tap_diag("raw listener: no connection within %d ms", timeout_ms);
		return -1;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		tap_diag("accept: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sp_timeo(fd, SO_RCVTIMEO, timeout_ms);
	sp_timeo(fd, SO_SNDTIMEO, timeout_ms);
	return fd;
}

/*
 * Send our header for protocol @mine and read the peer's; returns 1 if the
 * peer's header is exactly the one for @theirs, logging what came otherwise.
 */
static inline int raw_handshake(int fd, int mine, int theirs)
{
	unsigned char h[8], want[8];
	ssize_t n;

	raw_header(h, mine);
	if (raw_write(fd, h, 8)) {
		tap_diag("raw: sending header: %s", strerror(errno));
		return 0;
	}
	raw_header(want, theirs);
	n = raw_read(fd, h, 8);
	if (n != 8) {
		tap_diag("raw: reading peer header: %s",
			 n ? strerror(errno) : "connection closed");
		return 0;
	}
	if (memcmp(h, want, 8)) {
		tap_diag("raw: peer header %s, expected %s", sp_show(h, 8),
			 sp_show(want, 8));
		return 0;
	}
	return 1;
}

/* Send one frame: 64-bit length, then @len bytes. */
static inline int raw_send_frame(int fd, const void *buf, size_t len)
{
	unsigned char hdr[8];

	raw_put64(hdr, len);
	if (raw_write(fd, hdr, 8) || raw_write(fd, buf, len)) {
		tap_diag("raw: sending a frame: %s", strerror(errno));
		return 0;
	}
	return 1;
}

/*
 * Receive one frame into @buf (at most @cap bytes); returns its length, or -1
 * (logged) on timeout, EOF, error or a frame larger than @cap.
 */
static inline ssize_t raw_recv_frame(int fd, void *buf, size_t cap,
				     const char *what)
{
	unsigned char hdr[8];
	uint64_t len;
	ssize_t n = raw_read(fd, hdr, 8);

	if (n != 8) {
		tap_diag("%s: no frame: %s", what,
			 n ? strerror(errno) : "connection closed");
		return -1;
	}
	len = raw_get64(hdr);
	if (len > cap) {
		tap_diag("%s: frame of %llu bytes, more than %zu", what,
			 (unsigned long long)len, cap);
		return -1;
	}
	if (len && raw_read(fd, buf, len) != (ssize_t)len) {
		tap_diag("%s: short frame: %s", what, strerror(errno));
		return -1;
	}
	return len;
}

/*
 * Wait up to @ms for the peer to close the connection (EOF or reset),
 * discarding anything it sends first but counting it in *@got (if not NULL).
 * Returns 1 if it did.
 */
static inline int raw_wait_closed_count(int fd, int ms, size_t *got)
{
	long long deadline = tap_now_ms() + ms;
	char buf[4096];

	if (got)
		*got = 0;
	sp_timeo(fd, SO_RCVTIMEO, 200);
	while (tap_now_ms() < deadline) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
			return 1;
		if (n < 0 && !sp_is_again(errno) && errno != EINTR) {
			tap_diag("raw: recv: %s", strerror(errno));
			return 0;
		}
		if (n > 0 && got)
			*got += n;
	}
	return 0;
}

static inline int raw_wait_closed(int fd, int ms)
{
	return raw_wait_closed_count(fd, ms, NULL);
}

/* Close with a reset instead of a FIN (SO_LINGER 0). */
static inline void raw_abort(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * A raw SUB @raw connected to our PUB @pub: publish @tag every 50 ms until it
 * arrives as a frame (so the PUB has the connection), for at most @ms.
 * Frames before it are logged.  Returns 1 once it arrived.
 */
static inline int raw_sub_synced(int pub, int raw, const char *tag, int ms)
{
	long long deadline = tap_now_ms() + ms;
	size_t len = strlen(tag);
	char buf[4096];

	while (tap_now_ms() < deadline) {
		struct pollfd pfd = { .fd = raw, .events = POLLIN };
		ssize_t n;

		send(pub, tag, len, MSG_DONTWAIT);
		if (poll(&pfd, 1, 50) != 1)
			continue;
		n = raw_recv_frame(raw, buf, sizeof(buf), "raw SUB");
		if (n < 0)
			return 0;
		if ((size_t)n == len && !memcmp(buf, tag, len))
			return 1;
		tap_diag("raw SUB: frame %s before %s", sp_show(buf, n), tag);
	}
	return 0;
}

#endif /* SP_RAW_H */
