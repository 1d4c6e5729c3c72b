// SPDX-License-Identifier: GPL-2.0
/*
 * nng: libnng (Debian's libnng-dev) REQ0/REP0 and PUB0/SUB0 over tcp://,
 * used as its documentation shows: nng_send()/nng_recv() with the caller's
 * buffers, default options.  nng has no batching API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "bench.h"

static void check(int rv, const char *what)
{
	if (rv)
		bench_die("%s: %s", what, nng_strerror(rv));
}

static void *nn_open(int (*open)(nng_socket *), int port, int do_listen, int sub)
{
	nng_socket *s = malloc(sizeof(*s));
	char url[64];

	if (!s)
		bench_die("out of memory");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	check(open(s), "open");
	if (sub)
		check(nng_socket_set(*s, NNG_OPT_SUB_SUBSCRIBE, "", 0), "subscribe");
	if (do_listen)
		check(nng_listen(*s, url, NULL, 0), url);
	else	/* in the background, redialing until the peer is up */
		check(nng_dial(*s, url, NULL, NNG_FLAG_NONBLOCK), url);
	return s;
}

static void *nn_rep_open(int port, int nclients)
{
	return nn_open(nng_rep0_open, port, 1, 0);
}

static void *nn_req_open(int port)
{
	return nn_open(nng_req0_open, port, 0, 0);
}

static void *nn_pub_open(int port, int nsubs)
{
	return nn_open(nng_pub0_open, port, 1, 0);
}

static void *nn_sub_open(int port)
{
	return nn_open(nng_sub0_open, port, 0, 1);
}

static int nn_send(void *h, const void *buf, size_t len)
{
	int rv = nng_send(*(nng_socket *)h, (void *)buf, len, 0);

	if (rv)
		bench_die("nng_send: %s", nng_strerror(rv));
	return 0;
}

static ssize_t nn_recv(void *h, void *buf, size_t cap)
{
	size_t n = cap;
	int rv = nng_recv(*(nng_socket *)h, buf, &n, 0);

	if (rv)
		bench_die("nng_recv: %s", nng_strerror(rv));
	return n;
}

const struct bench_impl bench_impl = {
	.name = "nng",
	.rep_open = nn_rep_open,
	.req_open = nn_req_open,
	.pub_open = nn_pub_open,
	.sub_open = nn_sub_open,
	.send = nn_send,
	.recv = nn_recv,
};
