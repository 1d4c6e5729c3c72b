/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmark driver (bench.c) runs the same cases over four
 * implementations of REQ/REP, PUB/SUB, PUSH/PULL and (sp and nng only)
 * SURVEYOR/RESPONDENT, each behind this table of
 * operations: sp (PF_SP sockets), nng, zmq and tcp (plain TCP with SP's
 * 8-byte big-endian length framing, the floor).  One binary per
 * implementation: bench.c linked with impl_NAME.c.
 *
 * Handles are per process and per thread: the driver forks the server or
 * publisher first, then opens everything in the child that uses it, so no
 * library state crosses a fork.
 */
#ifndef SP_BENCH_H
#define SP_BENCH_H

#include <stddef.h>
#include <sys/types.h>

struct bench_impl {
	const char *name;
	/* A REP bound to 127.0.0.1:@port that will serve @nclients REQs. */
	void *(*rep_open)(int port, int nclients);
	/* A REQ connected to 127.0.0.1:@port (retrying until it is up). */
	void *(*req_open)(int port);
	/* A PUB bound to 127.0.0.1:@port for @nsubs subscribers. */
	void *(*pub_open)(int port, int nsubs);
	/* A SUB connected to 127.0.0.1:@port, subscribed to everything. */
	void *(*sub_open)(int port);
	/* A PUSH bound to 127.0.0.1:@port for @npulls PULLs. */
	void *(*push_open)(int port, int npulls);
	/* A PULL connected to 127.0.0.1:@port. */
	void *(*pull_open)(int port);
	/*
	 * Optional (NULL: the implementation has no survey pattern).  A
	 * SURVEYOR bound to 127.0.0.1:@port, returning once @nresp respondents
	 * are connected, whose surveys accept answers for 10 s (so that the
	 * deadline never ends a round that is merely slow).  And a RESPONDENT
	 * connected to 127.0.0.1:@port; send answers the last survey received.
	 */
	void *(*surveyor_open)(int port, int nresp);
	void *(*respondent_open)(int port);
	/*
	 * One message; 0, or -1 on error.  REP answers the last request; PUSH
	 * blocks while no PULL can take it, never drops.
	 */
	int (*send)(void *h, const void *buf, size_t len);
	/* One whole message into @buf; its length, or -1 on error. */
	ssize_t (*recv)(void *h, void *buf, size_t cap);
	/*
	 * Optional, for the _batch cases: @n messages of @len bytes (each a
	 * copy of @buf) in as few system calls as the implementation allows;
	 * messages sent or -1.  And up to @n messages, each into @buf in turn,
	 * blocking for the first only; messages received or -1.
	 */
	int (*send_batch)(void *h, const void *buf, size_t len, int n);
	int (*recv_batch)(void *h, void *buf, size_t cap, int n);
};

/* How long a survey accepts answers, in ms (surveyor_open). */
#define BENCH_SURVEY_MS	10000

extern const struct bench_impl bench_impl;

/* Exit with a message on stderr; for setup failures. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The 8-byte big-endian length header of SP's TCP framing. */
static inline void bench_put_be64(unsigned char *p, unsigned long long v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static inline unsigned long long bench_get_be64(const unsigned char *p)
{
	unsigned long long v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

#endif /* SP_BENCH_H */
