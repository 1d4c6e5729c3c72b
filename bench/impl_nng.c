// SPDX-License-Identifier: GPL-2.0
/*
 * nng: libnng (Debian's libnng-dev) REQ0/REP0, PUB0/SUB0, PUSH0/PULL0 and
 * SURVEYOR0/RESPONDENT0 over tcp://, used as its documentation shows:
 * nng_send()/nng_recv() with the caller's buffers, default options but the
 * surveyor's survey time (BENCH_SURVEY_MS).  The surveyor counts its pipes
 * with nng_pipe_notify() to wait for every respondent.  nng has no batching
 * API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/protocol/survey0/respond.h>
#include <nng/protocol/survey0/survey.h>

#include "bench.h"

static void check(int rv, const char *what)
{
	if (rv)
		bench_die("%s: %s", what, nng_strerror(rv));
}

/* The surveyor's connected pipes (one surveyor per process). */
static int nn_peers;

static void nn_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	__atomic_add_fetch(&nn_peers, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1, __ATOMIC_SEQ_CST);
}

static void nn_sub_setup(nng_socket s)
{
	check(nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0), "subscribe");
}

static void nn_surveyor_setup(nng_socket s)
{
	check(nng_socket_set_ms(s, NNG_OPT_SURVEYOR_SURVEYTIME, BENCH_SURVEY_MS), "survey time");
	check(nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, nn_pipe_event, NULL), "pipe notify");
	check(nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, nn_pipe_event, NULL), "pipe notify");
}

/* A socket of @open; @setup (if any) before it listens or dials. */
static void *nn_open(int (*open)(nng_socket *), int port, int do_listen,
		     void (*setup)(nng_socket))
{
	nng_socket *s = malloc(sizeof(*s));
	char url[64];

	if (!s)
		bench_die("out of memory");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	check(open(s), "open");
	if (setup)
		setup(*s);
	if (do_listen)
		check(nng_listen(*s, url, NULL, 0), url);
	else	/* in the background, redialing until the peer is up */
		check(nng_dial(*s, url, NULL, NNG_FLAG_NONBLOCK), url);
	return s;
}

static void *nn_rep_open(int port, int nclients)
{
	return nn_open(nng_rep0_open, port, 1, NULL);
}

static void *nn_req_open(int port)
{
	return nn_open(nng_req0_open, port, 0, NULL);
}

static void *nn_pub_open(int port, int nsubs)
{
	return nn_open(nng_pub0_open, port, 1, NULL);
}

static void *nn_sub_open(int port)
{
	return nn_open(nng_sub0_open, port, 0, nn_sub_setup);
}

static void *nn_push_open(int port, int npulls)
{
	return nn_open(nng_push0_open, port, 1, NULL);
}

static void *nn_pull_open(int port)
{
	return nn_open(nng_pull0_open, port, 0, NULL);
}

static void *nn_surveyor_open(int port, int nresp)
{
	void *s = nn_open(nng_surveyor0_open, port, 1, nn_surveyor_setup);
	int peers = 0;

	for (int i = 0; i < 6000; i++) {
		peers = __atomic_load_n(&nn_peers, __ATOMIC_SEQ_CST);
		if (peers >= nresp)
			return s;
		usleep(10000);
	}
	bench_die("%d of %d respondents connected after 60 s", peers, nresp);
}

static void *nn_respondent_open(int port)
{
	return nn_open(nng_respondent0_open, port, 0, NULL);
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
	.push_open = nn_push_open,
	.pull_open = nn_pull_open,
	.surveyor_open = nn_surveyor_open,
	.respondent_open = nn_respondent_open,
	.send = nn_send,
	.recv = nn_recv,
};
