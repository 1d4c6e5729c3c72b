// SPDX-License-Identifier: GPL-2.0
/*
 * A reader asleep in recv() is woken by every message that arrives for it:
 * no wake-up is lost, however a message and the reader's going to sleep
 * interleave.  Each blocking recv below has SO_RCVTIMEO WAKE_MS, far above
 * what a round trip takes even in the debug guest; a recv that returns only
 * when that runs out (or fails with EAGAIN) slept beside its message.
 *
 *  - REQ/REP: 4 REQ threads, 1500 round trips each, against one REP (one
 *    thread: a REP answers the request it received last).  Nothing else
 *    arrives to wake a reader that missed its reply.
 *  - PUSH/PULL with SO_RCVBUF 4096: the PULL's pipe stops reading each time
 *    the buffer is full and starts again as recv makes room; 20000 messages
 *    of 200 bytes arrive, in order, each by a blocking recv.
 *  - 4 threads blocked in recv on one PULL: 4000 messages sent one at a
 *    time reach them all, each taken before a reader's SO_RCVTIMEO could
 *    run out (and one "q" each ends them).
 */
#include <pthread.h>

#include "sp_patterns.h"

#define PORT_REQREP	29900
#define PORT_PIPE	29901
#define PORT_MANY	29902

#define WAKE_MS		5000	/* SO_RCVTIMEO of every blocking recv here */
#define NREQ		4
#define ROUNDS		1500
#define NPIPE		20000
#define PIPE_SIZE	200
#define NREADERS	4
#define NMANY		4000

/* A blocking recv that took WAKE_MS or failed: what a lost wake-up looks like. */
struct slow {
	int n;			/* how many */
	long long worst_ms;	/* the longest recv */
	int err;		/* errno of the first failure, 0 if none */
};

static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;

/* recv with the time it took noted in @s; the result of recv. */
static ssize_t timed_recv(int fd, void *buf, size_t len, struct slow *s)
{
	long long t0 = tap_now_ms(), dt;
	ssize_t n = recv(fd, buf, len, 0);
	int err = errno;

	dt = tap_now_ms() - t0;
	pthread_mutex_lock(&slow_lock);
	if (dt > s->worst_ms)
		s->worst_ms = dt;
	if (n < 0 || dt >= WAKE_MS) {
		s->n++;
		if (n < 0 && !s->err)
			s->err = err;
	}
	pthread_mutex_unlock(&slow_lock);
	errno = err;
	return n;
}

static int open_timed(int type)
{
	int fd = sp_open(type, 0);

	sp_timeouts(fd, WAKE_MS, sp_wait_ms());
	return fd;
}

/* ---- REQ/REP ---- */

static int rep_fd;
static struct slow req_slow;
static int req_done[NREQ], req_bad[NREQ];

static void *rep_thread(void *arg)
{
	char buf[64];
	ssize_t n;

	(void)arg;
	/* Answers each request with itself; "quit" is the last. */
	while ((n = recv(rep_fd, buf, sizeof(buf), 0)) >= 0) {
		if (send(rep_fd, buf, n, 0) != n)
			break;
		if (n == 4 && !memcmp(buf, "quit", 4))
			break;
	}
	return NULL;
}

static void *req_thread(void *arg)
{
	int i = (int)(long)arg, fd = open_timed(SOCK_REQ), r;
	char m[64], buf[64];
	ssize_t n;

	if (sp_connect4(fd, PORT_REQREP)) {
		tap_diag("REQ %d: connect: %s", i, strerror(errno));
		close(fd);
		return NULL;
	}
	for (r = 0; r < ROUNDS; r++) {
		int len = snprintf(m, sizeof(m), "req %d %d", i, r);

		if (send(fd, m, len, 0) != len) {
			tap_diag("REQ %d: send: %s", i, strerror(errno));
			break;
		}
		n = timed_recv(fd, buf, sizeof(buf), &req_slow);
		if (n < 0) {
			tap_diag("REQ %d: round %d: recv: %s", i, r,
				 strerror(errno));
			break;
		}
		if (n != len || memcmp(buf, m, len)) {
			if (!req_bad[i]++)
				tap_diag("REQ %d: round %d: got %s", i, r,
					 sp_show(buf, n));
			break;
		}
		req_done[i]++;
	}
	close(fd);
	return NULL;
}

/* 2 checks */
static void reqrep(void)
{
	pthread_t rep, req[NREQ];
	int i, q, done = 0, bad = 0;
	char buf[8];

	rep_fd = open_timed(SOCK_REP);
	if (sp_bind4(rep_fd, PORT_REQREP))
		tap_bail("REP: bind: %s", strerror(errno));
	pthread_create(&rep, NULL, rep_thread, NULL);
	for (i = 0; i < NREQ; i++)
		pthread_create(&req[i], NULL, req_thread, (void *)(long)i);
	for (i = 0; i < NREQ; i++) {
		pthread_join(req[i], NULL);
		done += req_done[i];
		bad += req_bad[i];
	}
	tap_ok(done == NREQ * ROUNDS && !bad,
	       "%d REQ threads complete %d round trips each against one REP (%d of %d, %d wrong)",
	       NREQ, ROUNDS, done, NREQ * ROUNDS, bad);
	tap_ok(done == NREQ * ROUNDS && !req_slow.n,
	       "every REQ's blocking recv returned its reply before SO_RCVTIMEO (%d ms) ran out (%d did not%s%s; longest %lld ms)",
	       WAKE_MS, req_slow.n, req_slow.err ? ", first: " : "",
	       req_slow.err ? sp_errname(req_slow.err) : "",
	       req_slow.worst_ms);
	/* "quit" ends the REP thread. */
	q = open_timed(SOCK_REQ);
	if (sp_connect4(q, PORT_REQREP) || send(q, "quit", 4, 0) != 4 ||
	    recv(q, buf, sizeof(buf), 0) != 4)
		tap_bail("quitting the REP thread: %s", strerror(errno));
	close(q);
	pthread_join(rep, NULL);
	close(rep_fd);
}

/* ---- PUSH/PULL, small receive buffer ---- */

static int push_fd;
static int push_sent;

static void *push_thread(void *arg)
{
	char m[PIPE_SIZE];
	int i;

	(void)arg;
	for (i = 0; i < NPIPE; i++) {
		sp_pattern(m, sizeof(m), i);
		if (send(push_fd, m, sizeof(m), 0) != (ssize_t)sizeof(m)) {
			tap_diag("PUSH: send %d: %s", i, strerror(errno));
			break;
		}
		push_sent++;
	}
	return NULL;
}

/* 2 checks */
static void pipeline(void)
{
	int pull = open_timed(SOCK_PULL), got = 0, bad = 0;
	struct slow s = { 0 };
	char buf[PIPE_SIZE + 1];
	pthread_t t;

	push_fd = open_timed(SOCK_PUSH);
	if (setsockopt(pull, SOL_SOCKET, SO_RCVBUF, &(int){ 4096 },
		       sizeof(int)))
		tap_diag("SO_RCVBUF: %s", strerror(errno));
	if (sp_bind4(pull, PORT_PIPE) || sp_connect4(push_fd, PORT_PIPE))
		tap_bail("PULL/PUSH: bind/connect: %s", strerror(errno));
	pthread_create(&t, NULL, push_thread, NULL);
	while (got < NPIPE) {
		ssize_t n = timed_recv(pull, buf, sizeof(buf), &s);

		if (n < 0) {
			tap_diag("PULL: message %d: recv: %s", got,
				 strerror(errno));
			break;
		}
		if (n != PIPE_SIZE || sp_pattern_check(buf, n, got) >= 0) {
			if (!bad++)
				tap_diag("PULL: message %d: %zd bytes, not the one sent",
					 got, n);
			break;
		}
		got++;
	}
	pthread_join(t, NULL);
	tap_ok(got == NPIPE && !bad,
	       "a PULL with SO_RCVBUF 4096 receives all %d messages of %d bytes, in order (%d, %d sent)",
	       NPIPE, PIPE_SIZE, got, push_sent);
	tap_ok(got == NPIPE && !s.n,
	       "each of its blocking recvs returned before SO_RCVTIMEO (%d ms) ran out, though its pipe stopped and started again as the buffer filled and drained (%d did not; longest %lld ms)",
	       WAKE_MS, s.n, s.worst_ms);
	close(push_fd);
	close(pull);
}

/* ---- several readers on one socket ---- */

static int many_fd;
static int many_got[NREADERS];
static volatile int many_total;

static void *reader_thread(void *arg)
{
	int i = (int)(long)arg;
	char buf[64];

	/*
	 * "m" is counted, "q" ends the thread.  A reader may well wait out
	 * SO_RCVTIMEO while the others take every message: it goes on.
	 */
	for (;;) {
		ssize_t n = recv(many_fd, buf, sizeof(buf), 0);

		if (n < 0 && sp_is_again(errno))
			continue;
		if (n < 0) {
			tap_diag("reader %d: recv: %s", i, strerror(errno));
			break;
		}
		if (n == 1 && buf[0] == 'q')
			break;
		many_got[i]++;
		__atomic_add_fetch(&many_total, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* 2 checks */
static void readers(void)
{
	int push = open_timed(SOCK_PUSH), i, total = 0, sent = 0, stalls = 0;
	long long worst = 0;
	pthread_t t[NREADERS];

	many_fd = open_timed(SOCK_PULL);
	if (sp_bind4(many_fd, PORT_MANY) || sp_connect4(push, PORT_MANY))
		tap_bail("PULL/PUSH: bind/connect: %s", strerror(errno));
	pt_wait_peers(push, 1, "PUSH");
	for (i = 0; i < NREADERS; i++)
		pthread_create(&t[i], NULL, reader_thread, (void *)(long)i);
	for (i = 0; i < NMANY; i++) {
		/*
		 * One at a time: each arrives while the readers wait.  One
		 * left queued beside sleeping readers is taken only when a
		 * reader's SO_RCVTIMEO runs out: WAKE_MS or more after.
		 */
		long long t0 = tap_now_ms(), deadline = t0 + sp_wait_ms(), dt;

		if (send(push, "m", 1, 0) != 1) {
			tap_diag("PUSH: send %d: %s", i, strerror(errno));
			break;
		}
		sent++;
		while (__atomic_load_n(&many_total, __ATOMIC_SEQ_CST) < sent &&
		       tap_now_ms() < deadline)
			sched_yield();
		dt = tap_now_ms() - t0;
		if (dt > worst)
			worst = dt;
		if (dt >= WAKE_MS && !stalls++)
			tap_diag("message %d was taken after %lld ms", i, dt);
		if (__atomic_load_n(&many_total, __ATOMIC_SEQ_CST) < sent) {
			tap_diag("message %d was not received", i);
			break;
		}
	}
	for (i = 0; i < NREADERS; i++)
		if (send(push, "q", 1, 0) != 1)
			tap_diag("PUSH: send q: %s", strerror(errno));
	for (i = 0; i < NREADERS; i++) {
		pthread_join(t[i], NULL);
		total += many_got[i];
	}
	tap_ok(total == NMANY && sent == NMANY,
	       "%d threads blocked in recv on one PULL receive all %d messages sent one at a time (%d received)",
	       NREADERS, NMANY, total);
	tap_ok(total == NMANY && !stalls,
	       "each was taken before a reader's SO_RCVTIMEO (%d ms) could run out (%d were not; longest %lld ms)",
	       WAKE_MS, stalls, worst);
	close(push);
	close(many_fd);
}

int main(void)
{
	tap_plan(6);
	tap_watchdog(600);
	reqrep();
	pipeline();
	readers();
	return tap_done();
}
