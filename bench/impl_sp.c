// SPDX-License-Identifier: GPL-2.0
/*
 * sp: PF_SP sockets of this module.  The handle is the file descriptor.
 * Batches go through sendmmsg()/recvmmsg().  Sockets discard what is queued
 * when the driver kills them (SO_LINGER {1, 0}), so that no case leaves
 * work behind for the next.  PUSH and SURVEYOR wait with SP_PEERS until
 * all their peers are connected.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* sp.h's comment spells "tcp://" "*:5555", which -Wcomment flags. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include <linux/sp.h>
#pragma GCC diagnostic pop

#include "bench.h"

static int sp_socket(int type, int port, int do_bind)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(PF_SP, type, IPPROTO_TCP);

	if (fd < 0)
		bench_die("socket(PF_SP): %s (is sp.ko loaded?)", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		bench_die("SO_LINGER: %s", strerror(errno));
	if (type == SOCK_SUB && setsockopt(fd, SOL_SP, SP_SUBSCRIBE, "", 0))
		bench_die("SP_SUBSCRIBE: %s", strerror(errno));
	if (do_bind ? bind(fd, (struct sockaddr *)&sin, sizeof(sin)) :
		      connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		bench_die("%s port %d: %s", do_bind ? "bind" : "connect", port, strerror(errno));
	return fd;
}

static void *handle(int fd)
{
	return (void *)(intptr_t)fd;
}

static int fd_of(void *h)
{
	return (int)(intptr_t)h;
}

/* Wait until @fd has @n peers (SP_PEERS), for at most a minute. */
static void sp_wait_peers(int fd, int n)
{
	int peers = 0;
	socklen_t len;

	for (int i = 0; i < 6000; i++) {
		len = sizeof(peers);
		if (getsockopt(fd, SOL_SP, SP_PEERS, &peers, &len))
			bench_die("SP_PEERS: %s", strerror(errno));
		if (peers >= n)
			return;
		usleep(10000);
	}
	bench_die("%d of %d peers connected after 60 s", peers, n);
}

static void *sp_rep_open(int port, int nclients)
{
	return handle(sp_socket(SOCK_REP, port, 1));
}

static void *sp_req_open(int port)
{
	return handle(sp_socket(SOCK_REQ, port, 0));
}

static void *sp_pub_open(int port, int nsubs)
{
	return handle(sp_socket(SOCK_PUB, port, 1));
}

static void *sp_sub_open(int port)
{
	return handle(sp_socket(SOCK_SUB, port, 0));
}

static void *sp_push_open(int port, int npulls)
{
	int fd = sp_socket(SOCK_PUSH, port, 1);

	sp_wait_peers(fd, npulls);
	return handle(fd);
}

static void *sp_pull_open(int port)
{
	return handle(sp_socket(SOCK_PULL, port, 0));
}

static void *sp_surveyor_open(int port, int nresp)
{
	int fd = sp_socket(SOCK_SURVEYOR, port, 1), ms = BENCH_SURVEY_MS;

	if (setsockopt(fd, SOL_SP, SP_SURVEY_DEADLINE, &ms, sizeof(ms)))
		bench_die("SP_SURVEY_DEADLINE: %s", strerror(errno));
	sp_wait_peers(fd, nresp);
	return handle(fd);
}

static void *sp_respondent_open(int port)
{
	return handle(sp_socket(SOCK_RESPONDENT, port, 0));
}

static int sp_send(void *h, const void *buf, size_t len)
{
	return send(fd_of(h), buf, len, 0) < 0 ? -1 : 0;
}

static ssize_t sp_recv(void *h, void *buf, size_t cap)
{
	ssize_t n;

	do
		n = recv(fd_of(h), buf, cap, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

#define MAX_BATCH	1024

/* Up to MAX_BATCH entries of @m, all on the one buffer @iov; returns how many. */
static int fill_batch(struct mmsghdr *m, struct iovec *iov, int n)
{
	if (n > MAX_BATCH)
		n = MAX_BATCH;
	memset(m, 0, n * sizeof(m[0]));
	for (int i = 0; i < n; i++) {
		m[i].msg_hdr.msg_iov = iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	return n;
}

static int sp_send_batch(void *h, const void *buf, size_t len, int n)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct mmsghdr m[MAX_BATCH];

	n = fill_batch(m, &iov, n);
	return sendmmsg(fd_of(h), m, n, 0);
}

static int sp_recv_batch(void *h, void *buf, size_t cap, int n)
{
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct mmsghdr m[MAX_BATCH];
	int r;

	n = fill_batch(m, &iov, n);
	do
		r = recvmmsg(fd_of(h), m, n, MSG_WAITFORONE, NULL);
	while (r < 0 && errno == EINTR);
	return r;
}

const struct bench_impl bench_impl = {
	.name = "sp",
	.rep_open = sp_rep_open,
	.req_open = sp_req_open,
	.pub_open = sp_pub_open,
	.sub_open = sp_sub_open,
	.push_open = sp_push_open,
	.pull_open = sp_pull_open,
	.surveyor_open = sp_surveyor_open,
	.respondent_open = sp_respondent_open,
	.send = sp_send,
	.recv = sp_recv,
	.send_batch = sp_send_batch,
	.recv_batch = sp_recv_batch,
};
