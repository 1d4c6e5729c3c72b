// SPDX-License-Identifier: GPL-2.0
/*
 * zmq: libzmq (Debian's libzmq3-dev) REQ/REP, PUB/SUB and PUSH/PULL over
 * tcp://, one context per process (one I/O thread, the default), default
 * options (high-water marks of 1000 messages: a PUB drops for a subscriber
 * past it, a PUSH blocks).  libzmq batches on its own, inside its I/O
 * thread, so it has no separate batched variant.  libzmq has no survey
 * pattern (not even among its draft sockets).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "bench.h"

static void *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_init(void)
{
	ctx = zmq_ctx_new();
	if (!ctx)
		bench_die("zmq_ctx_new: %s", zmq_strerror(errno));
}

static void *zq_open(int type, int port, int do_bind)
{
	char url[64];
	void *s;

	pthread_once(&ctx_once, ctx_init);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	s = zmq_socket(ctx, type);
	if (!s)
		bench_die("zmq_socket: %s", zmq_strerror(errno));
	if (type == ZMQ_SUB && zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0))
		bench_die("ZMQ_SUBSCRIBE: %s", zmq_strerror(errno));
	if (do_bind ? zmq_bind(s, url) : zmq_connect(s, url))
		bench_die("%s: %s", url, zmq_strerror(errno));
	return s;
}

static void *zq_rep_open(int port, int nclients)
{
	return zq_open(ZMQ_REP, port, 1);
}

static void *zq_req_open(int port)
{
	return zq_open(ZMQ_REQ, port, 0);
}

static void *zq_pub_open(int port, int nsubs)
{
	return zq_open(ZMQ_PUB, port, 1);
}

static void *zq_sub_open(int port)
{
	return zq_open(ZMQ_SUB, port, 0);
}

static void *zq_push_open(int port, int npulls)
{
	return zq_open(ZMQ_PUSH, port, 1);
}

static void *zq_pull_open(int port)
{
	return zq_open(ZMQ_PULL, port, 0);
}

static int zq_send(void *h, const void *buf, size_t len)
{
	int rv;

	do
		rv = zmq_send(h, buf, len, 0);
	while (rv < 0 && errno == EINTR);
	return rv < 0 ? -1 : 0;
}

static ssize_t zq_recv(void *h, void *buf, size_t cap)
{
	int rv;

	do
		rv = zmq_recv(h, buf, cap, 0);
	while (rv < 0 && errno == EINTR);
	return rv;
}

const struct bench_impl bench_impl = {
	.name = "zmq",
	.rep_open = zq_rep_open,
	.req_open = zq_req_open,
	.pub_open = zq_pub_open,
	.sub_open = zq_sub_open,
	.push_open = zq_push_open,
	.pull_open = zq_pull_open,
	.send = zq_send,
	.recv = zq_recv,
};
