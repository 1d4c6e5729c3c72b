// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark cases, the same for every implementation (bench.h):
 *
 *   bench-IMPL CASE SIZE PORT
 *
 * reqrep        one REQ, one REP in another process; round trips of SIZE
 *               bytes each way, one at a time: p50 and p99 latency.
 * reqrep_many   one REP process; BENCH_CLIENTS (100) REQs, one thread each,
 *               in another process, each with one request in flight:
 *               requests answered per second.
 * pubsub_Nsub   one PUB process sending SIZE-byte messages as fast as it can;
 *               N SUBs, one thread each, in another process: messages the
 *               subscribers received per second, summed over them.  PUB/SUB
 *               is lossy by design (sp, nng and zmq drop what a full
 *               subscriber queue cannot take; tcp blocks instead), so only
 *               what arrives is counted, never what was sent.
 * pubsub_Nsub_batch   the same with send_batch/recv_batch, BATCH messages a
 *               call (sendmmsg/recvmmsg for sp, writev for tcp).
 * pipeline      one PUSH process sending SIZE-byte messages as fast as it
 *               can, one PULL process (one thread) receiving them: messages
 *               per second.  PUSH/PULL never drops (a full PULL blocks the
 *               PUSH), so every message sent arrives; the PULL times
 *               BENCH_MSGS (100000) of them, the same count everywhere.
 * survey_Nresp  one SURVEYOR; N RESPONDENTs, one thread each, in another
 *               process, each answering every survey with SIZE bytes; one
 *               round is a survey sent and all N answers received, one round
 *               at a time: p50 and p99 latency and rounds per second over
 *               BENCH_ROUNDS (2000) rounds.  Surveys accept answers for 10 s,
 *               so only a lost answer ends a round early (and the run fails).
 *               sp and nng only (surveyor_open is NULL elsewhere).
 *
 * Counting cases measure a fixed window of BENCH_SECS seconds (default 5)
 * that starts once every client or subscriber has completed a first message,
 * from counters in shared memory the parent reads at both ends of the window.
 * pipeline and survey_Nresp measure a fixed count instead, after every peer
 * is connected (the first message arrived; surveyor_open waits for all N
 * respondents) and a warm-up of at least 100 messages or rounds and 0.2 s.
 * Each result is one line on stdout:
 *
 *   BENCH {"case": ..., "impl": ..., "size": ..., "metric": ..., "value": ..., "unit": ...}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_THREADS	1000
#define BATCH		64
#define MAX_SAMPLES	200000
#define SETUP_SECS	60	/* for every client or subscriber to get going */

static const char *case_name;
static int in_child;		/* a child of spawn(), not the parent */
static size_t size;
static int port;
static double window;		/* seconds measured */
static double limit;		/* the longest a case may measure, seconds */

/*
 * Shared between the parent and its children: per-thread message counts,
 * and whether the parent is ending the case (children then die quietly of
 * their peers' deaths).
 */
static struct shared {
	volatile int stopping;
	volatile uint64_t counts[MAX_THREADS];
	volatile double t0, t1;	/* pipeline: when the PULL's count began, ended */
	volatile int done;	/* pipeline: t0 and t1 are set */
} *shared;

void bench_die(const char *fmt, ...)
{
	va_list ap;

	if (in_child && shared->stopping)
		exit(1);
	fprintf(stderr, "bench-%s %s %zu: ", bench_impl.name, case_name, size);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void result(const char *metric, double value, const char *unit)
{
	printf("BENCH {\"case\": \"%s\", \"impl\": \"%s\", \"size\": %zu, "
	       "\"metric\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n",
	       case_name, bench_impl.name, size, metric, value, unit);
	fflush(stdout);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		bench_die("out of memory");
	memset(p, 'x', n);
	return p;
}

/* A child died before the parent ended the case: it said why; so do we. */
static void child_died(int sig)
{
	static const char msg[] = "bench: a child process died; no result\n";

	if (!shared->stopping) {
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(1);
	}
}

/* Fork a child that runs @fn(@arg) and never returns; it dies with us. */
static pid_t spawn(void (*fn)(int), int arg)
{
	pid_t pid = fork();

	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		in_child = 1;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(SETUP_SECS + (unsigned int)limit + 60);
		fn(arg);
		_exit(0);
	}
	return pid;
}

/* End the case: kill the children @a and @b (0: none). */
static void reap(pid_t a, pid_t b)
{
	shared->stopping = 1;
	kill(a, SIGKILL);
	if (b)
		kill(b, SIGKILL);
	waitpid(a, NULL, 0);
	if (b)
		waitpid(b, NULL, 0);
}

/*
 * Answer every message on @h, as @who: with the message itself (@echo, a REP) or with
 * @size bytes of it (a RESPONDENT, whose answers the SURVEYOR counts by size).
 */
static void serve(void *h, const char *who, int echo)
{
	size_t cap = size + 4096;
	char *buf = xmalloc(cap);
	ssize_t n;

	for (;;) {
		n = bench_impl.recv(h, buf, cap);
		if (n < 0)
			bench_die("%s recv: %s", who, strerror(errno));
		if (bench_impl.send(h, buf, echo ? (size_t)n : size) < 0)
			bench_die("%s send: %s", who, strerror(errno));
	}
}

/* The REP side of reqrep and reqrep_many: echo every request. */
static void echo_server(int nclients)
{
	serve(bench_impl.rep_open(port, nclients), "REP", 1);
}

static void round_trip(void *h, char *out, char *in, size_t cap)
{
	ssize_t n;

	if (bench_impl.send(h, out, size) < 0)
		bench_die("REQ send: %s", strerror(errno));
	n = bench_impl.recv(h, in, cap);
	if (n != (ssize_t)size)
		bench_die("REQ recv: %zd bytes (%s)", n, n < 0 ? strerror(errno) : "short");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void run_reqrep(void)
{
	pid_t srv = spawn(echo_server, 1);
	size_t cap = size + 4096;
	char *out = xmalloc(size), *in = xmalloc(cap);
	double *rtt = calloc(MAX_SAMPLES, sizeof(*rtt));
	double t0, end;
	void *h;
	int n = 0;

	if (!rtt)
		bench_die("out of memory");
	alarm(SETUP_SECS + (unsigned int)limit + 30);
	h = bench_impl.req_open(port);
	/* Warm up: the connection, caches, the TCP window. */
	round_trip(h, out, in, cap);
	end = now() + 0.2;
	for (int i = 0; i < 100 || now() < end; i++)
		round_trip(h, out, in, cap);

	end = now() + window;
	do {
		t0 = now();
		round_trip(h, out, in, cap);
		rtt[n++] = (now() - t0) * 1e6;
	} while (n < MAX_SAMPLES && t0 < end);
	reap(srv, 0);

	qsort(rtt, n, sizeof(*rtt), cmp_double);
	result("rtt_p50_us", rtt[n / 2], "us");
	result("rtt_p99_us", rtt[(long)n * 99 / 100], "us");
	fprintf(stderr, "bench-%s %s %zu: %d round trips\n", bench_impl.name, case_name, size, n);
}

static void *req_thread(void *arg)
{
	int i = (int)(intptr_t)arg;
	size_t cap = size + 4096;
	char *out = xmalloc(size), *in = xmalloc(cap);
	void *h = bench_impl.req_open(port);

	for (;;) {
		round_trip(h, out, in, cap);
		shared->counts[i]++;
	}
	return NULL;
}

static int batch;		/* pubsub: use send_batch/recv_batch */

static void *sub_thread(void *arg)
{
	int i = (int)(intptr_t)arg;
	size_t cap = size + 4096;
	char *buf = xmalloc(cap);
	void *h = bench_impl.sub_open(port);
	int n;

	for (;;) {
		if (batch)
			n = bench_impl.recv_batch(h, buf, cap, BATCH);
		else
			n = bench_impl.recv(h, buf, cap) < 0 ? -1 : 1;
		if (n < 0)
			bench_die("SUB recv: %s", strerror(errno));
		shared->counts[i] += n;
	}
	return NULL;
}

/* Run @nthreads of @fn in this (child) process, forever. */
static void threads(void *(*fn)(void *), int nthreads)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t, &attr, fn, (void *)(intptr_t)i))
			bench_die("pthread_create failed");
	for (;;)
		pause();
}

static int nthreads;

static void clients(int unused)
{
	threads(req_thread, nthreads);
}

static void subscribers(int unused)
{
	threads(sub_thread, nthreads);
}

static void publisher(int nsubs)
{
	void *h = bench_impl.pub_open(port, nsubs);
	char *buf = xmalloc(size);

	for (;;) {
		int r = batch ? bench_impl.send_batch(h, buf, size, BATCH) :
				bench_impl.send(h, buf, size);

		if (r < 0)
			bench_die("PUB send: %s", strerror(errno));
	}
}

static uint64_t total(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < nthreads; i++)
		sum += shared->counts[i];
	return sum;
}

/*
 * Once every thread has counted a first message, count what all of them do
 * in a window; per second.
 */
static double rate(void)
{
	double deadline = now() + SETUP_SECS, t0, t1;
	uint64_t c0, c1;
	int ready;

	do {
		if (now() > deadline)
			return -1;
		usleep(10000);
		ready = 0;
		for (int i = 0; i < nthreads; i++)
			ready += shared->counts[i] > 0;
	} while (ready < nthreads);
	usleep(200000);		/* past the connections' slow start */
	c0 = total();
	t0 = now();
	usleep(window * 1e6);
	c1 = total();
	t1 = now();
	return (c1 - c0) / (t1 - t0);
}

static void run_reqrep_many(void)
{
	const char *env = getenv("BENCH_CLIENTS");
	pid_t srv, cli;
	double r;

	nthreads = env ? atoi(env) : 100;
	if (nthreads < 1 || nthreads > MAX_THREADS)
		bench_die("BENCH_CLIENTS out of range");
	srv = spawn(echo_server, nthreads);
	cli = spawn(clients, 0);
	r = rate();
	reap(cli, srv);
	if (r < 0)
		bench_die("not every client got a reply (within %d s)", SETUP_SECS);
	result("requests_per_s", r, "1/s");
}

static void run_pubsub(int nsubs)
{
	pid_t pub, subs;
	double r;

	if (batch && !(bench_impl.send_batch && bench_impl.recv_batch))
		bench_die("no batched send");
	nthreads = nsubs;
	pub = spawn(publisher, nsubs);
	subs = spawn(subscribers, 0);
	r = rate();
	reap(pub, subs);
	if (r < 0)
		bench_die("not every subscriber received (within %d s)", SETUP_SECS);
	result("msgs_per_s", r, "1/s");
	result("MB_per_s", r * size / 1e6, "MB/s");
}

/* A count from the environment variable @name, @def if unset. */
static long env_count(const char *name, long def, long max)
{
	const char *env = getenv(name);
	long v = env ? atol(env) : def;

	if (v < 1 || v > max)
		bench_die("%s out of range (1..%ld)", name, max);
	return v;
}

static long pipeline_msgs;

static void pusher(int npulls)
{
	void *h = bench_impl.push_open(port, npulls);
	char *buf = xmalloc(size);

	for (;;)
		if (bench_impl.send(h, buf, size) < 0)
			bench_die("PUSH send: %s", strerror(errno));
}

/* The PULL: warm up, then time pipeline_msgs messages into shared->t0/t1. */
static void puller(int unused)
{
	size_t cap = size + 4096;
	char *buf = xmalloc(cap);
	void *h = bench_impl.pull_open(port);
	double end = 0;
	long n;

	for (n = 0; n < 100 || now() < end; n++) {
		if (bench_impl.recv(h, buf, cap) != (ssize_t)size)
			bench_die("PULL recv: %s", strerror(errno));
		if (n == 0)	/* connected: warm up from here */
			end = now() + 0.2;
	}
	shared->t0 = now();
	for (n = 0; n < pipeline_msgs; n++)
		if (bench_impl.recv(h, buf, cap) != (ssize_t)size)
			bench_die("PULL recv: %s", strerror(errno));
	shared->t1 = now();
	shared->done = 1;
	for (;;)
		pause();
}

static void run_pipeline(void)
{
	double deadline = now() + SETUP_SECS + limit, r;
	pid_t push, pull;

	pipeline_msgs = env_count("BENCH_MSGS", 100000, 1L << 30);
	push = spawn(pusher, 1);
	pull = spawn(puller, 0);
	while (!shared->done) {
		if (now() > deadline)
			bench_die("PULL did not receive %ld messages within %.0f s",
				  pipeline_msgs, SETUP_SECS + limit);
		usleep(10000);
	}
	reap(push, pull);
	r = pipeline_msgs / (shared->t1 - shared->t0);
	result("msgs_per_s", r, "1/s");
	result("MB_per_s", r * size / 1e6, "MB/s");
	fprintf(stderr, "bench-%s %s %zu: %ld messages in %.3f s\n", bench_impl.name,
		case_name, size, pipeline_msgs, shared->t1 - shared->t0);
}

static void *respondent_thread(void *arg)
{
	serve(bench_impl.respondent_open(port), "RESPONDENT", 0);
	return NULL;
}

static void respondents(int unused)
{
	threads(respondent_thread, nthreads);
}

/* One survey and all @nresp answers. */
static void survey_round(void *h, int nresp, char *out, char *in, size_t cap)
{
	ssize_t n;

	if (bench_impl.send(h, out, size) < 0)
		bench_die("SURVEYOR send: %s", strerror(errno));
	for (int i = 0; i < nresp; i++) {
		n = bench_impl.recv(h, in, cap);
		if (n != (ssize_t)size)
			bench_die("SURVEYOR recv, answer %d of %d: %zd bytes (%s)", i + 1, nresp,
				  n, n < 0 ? strerror(errno) : "short");
	}
}

static void run_survey(int nresp)
{
	size_t cap = size + 4096;
	char *out = xmalloc(size), *in = xmalloc(cap);
	long rounds = env_count("BENCH_ROUNDS", 2000, MAX_SAMPLES);
	double *rtt = calloc(rounds, sizeof(*rtt));
	double t0, t1, start, end;
	pid_t resp;
	void *h;

	if (!bench_impl.surveyor_open || !bench_impl.respondent_open)
		bench_die("no survey pattern");
	if (!rtt)
		bench_die("out of memory");
	nthreads = nresp;
	resp = spawn(respondents, 0);
	alarm(SETUP_SECS + (unsigned int)limit + 30);
	h = bench_impl.surveyor_open(port, nresp);	/* all nresp connected */
	/* Warm up: the connections, caches, the TCP windows. */
	survey_round(h, nresp, out, in, cap);
	end = now() + 0.2;
	for (int i = 0; i < 100 || now() < end; i++)
		survey_round(h, nresp, out, in, cap);

	start = now();
	for (long i = 0; i < rounds; i++) {
		t0 = now();
		survey_round(h, nresp, out, in, cap);
		t1 = now();
		rtt[i] = (t1 - t0) * 1e6;
	}
	end = now();
	reap(resp, 0);

	qsort(rtt, rounds, sizeof(*rtt), cmp_double);
	result("rtt_p50_us", rtt[rounds / 2], "us");
	result("rtt_p99_us", rtt[rounds * 99 / 100], "us");
	result("rounds_per_s", rounds / (end - start), "1/s");
	fprintf(stderr, "bench-%s %s %zu: %ld rounds in %.3f s\n", bench_impl.name, case_name,
		size, rounds, end - start);
}

int main(int argc, char **argv)
{
	const char *env = getenv("BENCH_SECS");
	int nsubs, nresp, len = 0;
	char tail[16] = "";

	if (argc != 4) {
		fprintf(stderr, "usage: %s CASE SIZE PORT\n", argv[0]);
		return 2;
	}
	case_name = argv[1];
	size = strtoul(argv[2], NULL, 0);
	port = atoi(argv[3]);
	window = env ? atof(env) : 5;
	if (window <= 0)
		window = 5;
	limit = window;
	if (size < 1 || size > (1 << 20))
		bench_die("size out of range");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, child_died);

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		bench_die("mmap: %s", strerror(errno));

	if (!strcmp(case_name, "reqrep")) {
		run_reqrep();
	} else if (!strcmp(case_name, "reqrep_many")) {
		run_reqrep_many();
	} else if (!strcmp(case_name, "pipeline")) {
		limit = 300;	/* a count, not a window: room for slow ones */
		run_pipeline();
	} else if (sscanf(case_name, "survey_%dresp%n", &nresp, &len) == 1 &&
		   len == (int)strlen(case_name) && nresp >= 1 && nresp <= MAX_THREADS) {
		limit = 300;
		run_survey(nresp);
	} else if (sscanf(case_name, "pubsub_%dsub%15s", &nsubs, tail) >= 1 &&
		 nsubs >= 1 && nsubs <= MAX_THREADS &&
		 (!*tail || !strcmp(tail, "_batch"))) {
		batch = !!*tail;
		run_pubsub(nsubs);
	} else {
		bench_die("unknown case");
	}
	return 0;
}
