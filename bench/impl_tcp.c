// SPDX-License-Identifier: GPL-2.0
/*
 * tcp: plain TCP with SP's framing (an 8-byte big-endian length, then the
 * payload) and nothing else, as tight as we can write it: the floor the
 * others are measured against.
 *
 * Sending is one writev() of header and payload per message and connection
 * (a PUB writes to each subscriber in turn, blocking: TCP does not drop; a
 * PUSH to one connection after the other, round-robin); the batched send is
 * one writev() of BATCH frames per connection.  No survey pattern.  Receiving
 * reads as much as the socket has into a per-connection buffer and takes
 * frames from there, reading the rest of a large payload straight into the
 * caller's buffer.  A server with one client just blocks on it; with many it
 * waits in epoll (level-triggered) over non-blocking sockets and answers on
 * the connection the last request came from.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench.h"

#define RBUF	(256 * 1024)
#define MAX_EVENTS	128

struct conn {
	int fd;
	unsigned char *buf;	/* received, not yet taken: buf[head..tail) */
	size_t head, tail;
};

struct tcp {
	struct conn *conns;
	int nconn;
	int pub;		/* send goes to every connection */
	int push;		/* send goes to the next connection in turn */
	int ep;			/* epoll over conns, or -1 with one conn */
	struct conn *last;	/* where send goes otherwise */
	struct epoll_event ev[MAX_EVENTS];
	int nev, iev;		/* events of the last epoll_wait not yet drained */
};

static void conn_init(struct conn *c, int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		bench_die("TCP_NODELAY: %s", strerror(errno));
	c->fd = fd;
	c->head = 0;
	c->tail = 0;
	c->buf = malloc(RBUF);
	if (!c->buf)
		bench_die("out of memory");
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	return sin;
}

static struct tcp *tcp_new(int nconn)
{
	struct tcp *t = calloc(1, sizeof(*t));

	if (t)
		t->conns = calloc(nconn, sizeof(*t->conns));
	if (!t || !t->conns)
		bench_die("out of memory");
	t->nconn = nconn;
	t->ep = -1;
	t->last = t->conns;
	return t;
}

/* Listen on @port and accept @n connections. */
static struct tcp *tcp_accept(int port, int n)
{
	struct sockaddr_in sin = loopback(port);
	struct tcp *t = tcp_new(n);
	int one = 1, lfd, fd;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 1024))
		bench_die("listen on %d: %s", port, strerror(errno));
	for (int i = 0; i < n; i++) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			bench_die("accept: %s", strerror(errno));
		conn_init(&t->conns[i], fd);
	}
	close(lfd);
	return t;
}

static void *tcp_rep_open(int port, int nclients)
{
	struct tcp *t = tcp_accept(port, nclients);

	if (nclients == 1)
		return t;
	t->ep = epoll_create1(0);
	if (t->ep < 0)
		bench_die("epoll_create1: %s", strerror(errno));
	for (int i = 0; i < nclients; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &t->conns[i] };

		fcntl(t->conns[i].fd, F_SETFL, O_NONBLOCK);
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->conns[i].fd, &ev))
			bench_die("epoll_ctl: %s", strerror(errno));
	}
	return t;
}

/* Connect to @port, retrying while nobody listens yet. */
static void *tcp_connect(int port)
{
	struct sockaddr_in sin = loopback(port);
	struct tcp *t = tcp_new(1);
	int fd;

	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			bench_die("socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			break;
		if (errno != ECONNREFUSED)
			bench_die("connect to %d: %s", port, strerror(errno));
		close(fd);
		usleep(10000);
	}
	conn_init(&t->conns[0], fd);
	return t;
}

static void *tcp_pub_open(int port, int nsubs)
{
	struct tcp *t = tcp_accept(port, nsubs);

	t->pub = 1;
	return t;
}

static void *tcp_push_open(int port, int npulls)
{
	struct tcp *t = tcp_accept(port, npulls);

	t->push = 1;
	return t;
}

/* Write all of @iov, however many calls it takes. */
static int writev_all(int fd, struct iovec *iov, int cnt)
{
	ssize_t n;

	while (cnt > 0) {
		n = writev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}

/* @n frames of @len bytes from @buf, to every target connection. */
static int tcp_send_n(struct tcp *t, const void *buf, size_t len, int n)
{
	unsigned char hdr[8];
	struct iovec iov[2 * 64];

	if (n > 64)
		n = 64;
	bench_put_be64(hdr, len);
	for (int k = 0; k < (t->pub ? t->nconn : 1); k++) {
		struct conn *c = t->pub ? &t->conns[k] : t->last;

		for (int i = 0; i < n; i++) {
			iov[2 * i].iov_base = hdr;
			iov[2 * i].iov_len = 8;
			iov[2 * i + 1].iov_base = (void *)buf;
			iov[2 * i + 1].iov_len = len;
		}
		if (writev_all(c->fd, iov, 2 * n))
			return -1;
	}
	if (t->push && ++t->last == t->conns + t->nconn)
		t->last = t->conns;
	return n;
}

static int tcp_send(void *h, const void *buf, size_t len)
{
	return tcp_send_n(h, buf, len, 1) < 0 ? -1 : 0;
}

static int tcp_send_batch(void *h, const void *buf, size_t len, int n)
{
	return tcp_send_n(h, buf, len, n);
}

/* One read into @c's buffer: bytes read, 0 at EOF, -1 on error (EAGAIN). */
static ssize_t conn_fill(struct conn *c)
{
	ssize_t n;

	if (c->head == c->tail) {
		c->head = 0;
		c->tail = 0;
	} else if (RBUF - c->tail < RBUF / 4) {
		memmove(c->buf, c->buf + c->head, c->tail - c->head);
		c->tail -= c->head;
		c->head = 0;
	}
	do
		n = read(c->fd, c->buf + c->tail, RBUF - c->tail);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		c->tail += n;
	return n;
}

/* A whole frame already in @c's buffer, into @buf: its length, or -1. */
static ssize_t conn_take(struct conn *c, void *buf, size_t cap)
{
	size_t have = c->tail - c->head, len;

	if (have < 8)
		return -1;
	len = bench_get_be64(c->buf + c->head);
	if (have - 8 < len)
		return -1;
	if (len > cap)
		bench_die("a %zu-byte frame", len);
	memcpy(buf, c->buf + c->head + 8, len);
	c->head += 8 + len;
	return len;
}

/* The next frame from @c, blocking. */
static ssize_t conn_recv(struct conn *c, void *buf, size_t cap)
{
	size_t len, got;
	ssize_t n;

	while (c->tail - c->head < 8)
		if (conn_fill(c) <= 0)
			return -1;
	len = bench_get_be64(c->buf + c->head);
	if (len > cap)
		bench_die("a %zu-byte frame", len);
	c->head += 8;
	got = c->tail - c->head < len ? c->tail - c->head : len;
	memcpy(buf, c->buf + c->head, got);
	c->head += got;
	while (got < len) {
		n = read(c->fd, (char *)buf + got, len - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		got += n;
	}
	return len;
}

/* The next request from any client (epoll, non-blocking sockets). */
static ssize_t tcp_recv_any(struct tcp *t, void *buf, size_t cap)
{
	for (;;) {
		while (t->iev < t->nev) {
			struct conn *c = t->ev[t->iev].data.ptr;
			ssize_t n = conn_take(c, buf, cap);

			if (n >= 0) {
				t->last = c;
				return n;
			}
			n = conn_fill(c);
			if (n > 0)
				continue;
			if (n == 0 || errno != EAGAIN)
				epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
			t->iev++;
		}
		t->iev = 0;
		do
			t->nev = epoll_wait(t->ep, t->ev, MAX_EVENTS, -1);
		while (t->nev < 0 && errno == EINTR);
		if (t->nev < 0)
			return -1;
	}
}

static ssize_t tcp_recv(void *h, void *buf, size_t cap)
{
	struct tcp *t = h;

	if (t->ep >= 0)
		return tcp_recv_any(t, buf, cap);
	return conn_recv(t->conns, buf, cap);
}

/* Up to @n frames: the first blocking, then those already buffered. */
static int tcp_recv_batch(void *h, void *buf, size_t cap, int n)
{
	struct tcp *t = h;
	int got = 1;

	if (conn_recv(t->conns, buf, cap) < 0)
		return -1;
	while (got < n && conn_take(t->conns, buf, cap) >= 0)
		got++;
	return got;
}

const struct bench_impl bench_impl = {
	.name = "tcp",
	.rep_open = tcp_rep_open,
	.req_open = tcp_connect,
	.pub_open = tcp_pub_open,
	.sub_open = tcp_connect,
	.push_open = tcp_push_open,
	.pull_open = tcp_connect,
	.send = tcp_send,
	.recv = tcp_recv,
	.send_batch = tcp_send_batch,
	.recv_batch = tcp_recv_batch,
};
