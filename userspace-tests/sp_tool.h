/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the command-line helpers of the interop scripts (sp_cat, sp_pub,
 * sp_sub, sp_echo, sp_req and the libnng nng_bus) share: the options that
 * mean the same in every tool that has them, the messages to send (-s, -f),
 * SIGTERM/SIGINT handling, opening a socket and binding or dialling URLs,
 * waiting for peers, receiving COUNT messages against one deadline and
 * writing them to stdout.
 *
 * A tool defines TOOL_NAME (its name in every message on stderr) and
 * usage(), which prints its synopsis on stderr and exits 1, and then
 * includes this header.  The tools' exit statuses follow one convention: 0
 * when done, 1 on a usage or socket error, 2 on a timeout, 3 if SIGTERM or
 * SIGINT came first (sp_cat adds 4 for -E); the helpers below return these
 * or exit 1 themselves.
 */
#ifndef SP_TOOL_H
#define SP_TOOL_H

#ifndef TOOL_NAME
#error "a tool defines TOOL_NAME before it includes this header"
#endif

#include "sp_test.h"

#define TOOL_MAXMSGS	64
#define TOOL_MAXFILE	(1 << 20)

static void usage(void);

/* The options that mean the same in every tool whose getopt string has them. */
struct tool_opts {
	int count;	/* -n COUNT: messages to receive (sp_pub: to send) */
	int timeout;	/* -t TIMEOUT: seconds, bounding every wait */
	int hold;	/* -H HOLD: seconds to keep the socket open at the end */
	int peers;	/* -P PEERS: SP_PEERS to wait for */
	int verbose;	/* -v: report on stderr at the end */
	int probe;	/* -p: only probe, see tool_probe() */
};

/* Messages to send, in the order given: -s DATA, -f FILE, sp_pub's MESSAGEs. */
static char *tool_msg[TOOL_MAXMSGS];
static size_t tool_msglen[TOOL_MAXMSGS];
static int tool_nmsg;

/* Set by SIGTERM and SIGINT. */
static volatile sig_atomic_t tool_stop;

static inline void tool_add_msg(char *buf, size_t len)
{
	if (tool_nmsg == TOOL_MAXMSGS)
		usage();
	tool_msg[tool_nmsg] = buf;
	tool_msglen[tool_nmsg++] = len;
}

/* The contents of @path as one message; exit 1 if it cannot be read. */
static inline void tool_add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(TOOL_MAXFILE);
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, TOOL_NAME ": %s: %s\n", path, strerror(errno));
		exit(1);
	}
	n = fread(buf, 1, TOOL_MAXFILE, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, TOOL_NAME ": %s: unreadable or larger than %d bytes\n",
			path, TOOL_MAXFILE);
		exit(1);
	}
	fclose(f);
	tool_add_msg(buf, n);
}

/* Take @opt (its argument in optarg) if it is a tool_opts one or -f: 1 if so. */
static inline int tool_opt(struct tool_opts *o, int opt)
{
	switch (opt) {
	case 'n':
		o->count = atoi(optarg);
		break;
	case 't':
		o->timeout = atoi(optarg);
		break;
	case 'H':
		o->hold = atoi(optarg);
		break;
	case 'P':
		o->peers = atoi(optarg);
		break;
	case 'v':
		o->verbose = 1;
		break;
	case 'p':
		o->probe = 1;
		break;
	case 'f':
		tool_add_file(optarg);
		break;
	default:
		return 0;
	}
	return 1;
}

/*
 * sp_cat's and nng_bus's -s DATA (a message to send) and -b URL and -c URL
 * (see tool_next_url()): 1 if @opt is one of them.
 */
static inline int tool_peer_opt(int opt)
{
	switch (opt) {
	case 's':
		tool_add_msg(optarg, strlen(optarg));
		return 1;
	case 'b':
	case 'c':
		return 1;
	}
	return 0;
}

/*
 * The -b URL and -c URL options, to bind (listen) or dial in the order given
 * once the socket is up: the next of them on the command line, 'b' or 'c'
 * with the URL in optarg, or -1 after the last.  Set optind to 0 before the
 * first call: glibc then scans afresh.
 */
static inline int tool_next_url(int argc, char **argv, const char *opts)
{
	int opt;

	while ((opt = getopt(argc, argv, opts)) != -1)
		if (opt == 'b' || opt == 'c')
			return opt;
	return -1;
}

/* Are the values of @o in range (COUNT may be 0)? */
static inline int tool_opts_ok(const struct tool_opts *o)
{
	return o->count >= 0 && o->timeout >= 1 && o->hold >= 0 && o->peers >= 0;
}

/*
 * "-p" of sp_pub, sp_sub and sp_req: with no other argument, probe whether
 * PF_SP sockets of @type can be created and exit 0 if so (1 if not); with
 * any, usage().
 */
static inline void tool_probe(int argc, int type)
{
	if (optind != argc)
		usage();
	exit(sp_probe(TOOL_NAME, type));
}

static inline void tool_on_signal(int sig)
{
	(void)sig;
	tool_stop = 1;
}

/*
 * SIGTERM and SIGINT set tool_stop; no SA_RESTART: they interrupt a blocking
 * call.
 */
static inline void tool_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tool_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/*
 * Wait until @peers_of(@arg) is at least @want: 0 when it is, 1 if it fails
 * (returns < 0, having said why), 2 at @end (tap_now_ms()), 3 on a signal.
 */
static inline int tool_wait_peers(int (*peers_of)(void *arg), void *arg,
				  int want, long long end)
{
	int peers;

	for (;;) {
		peers = peers_of(arg);
		if (peers < 0)
			return 1;
		if (peers >= want)
			return 0;
		if (tool_stop)
			return 3;
		if (tap_now_ms() >= end) {
			fprintf(stderr, TOOL_NAME ": %d of %d peers\n", peers, want);
			return 2;
		}
		usleep(10000);
	}
}

/* Keep going for @secs seconds, or until a signal. */
static inline void tool_hold(int secs)
{
	long long end = tap_now_ms() + secs * 1000LL;

	while (!tool_stop && tap_now_ms() < end)
		usleep(20000);
}

/* Write a message to stdout, raw, then a newline if @newline: 0, or 1 on error. */
static inline int tool_print(const void *buf, size_t len, int newline)
{
	return fwrite(buf, 1, len, stdout) != len ||
	       (newline && putchar('\n') == EOF) || fflush(stdout);
}

/* A PF_SP socket of @type, or exit 1. */
static inline int tool_socket(int type)
{
	int s = sp_socket(type, 0);

	if (s < 0) {
		fprintf(stderr, TOOL_NAME ": socket(PF_SP, %s): %s\n",
			sp_type_name(type), strerror(errno));
		exit(1);
	}
	return s;
}

/* SO_RCVTIMEO and SO_SNDTIMEO of @secs seconds, or exit 1. */
static inline void tool_timeouts(int s, int secs)
{
	if (sp_timeo(s, SO_RCVTIMEO, secs * 1000) ||
	    sp_timeo(s, SO_SNDTIMEO, secs * 1000)) {
		fprintf(stderr, TOOL_NAME ": timeouts: %s\n", strerror(errno));
		exit(1);
	}
}

/* Bind (@opt SP_BIND) or dial (SP_CONNECT) @url, or exit 1. */
static inline void tool_url(int s, int opt, const char *url)
{
	if (sp_url(s, opt, url)) {
		fprintf(stderr, TOOL_NAME ": %s %s: %s\n",
			opt == SP_BIND ? "SP_BIND" : "SP_CONNECT", url,
			strerror(errno));
		exit(1);
	}
}

/* SP_PEERS of the socket *@arg (for tool_wait_peers()), or -1 (said why). */
static inline int tool_sp_peers(void *arg)
{
	int peers;

	if (sp_get_int(*(int *)arg, SOL_SP, SP_PEERS, &peers)) {
		fprintf(stderr, TOOL_NAME ": SP_PEERS: %s\n", strerror(errno));
		return -1;
	}
	return peers;
}

/* SP_DROPS of @s, or 0 if it cannot be read (said why). */
static inline unsigned long long tool_drops(int s)
{
	uint64_t drops = 0;
	socklen_t len = sizeof(drops);

	if (getsockopt(s, SOL_SP, SP_DROPS, &drops, &len))
		fprintf(stderr, TOOL_NAME ": SP_DROPS: %s\n", strerror(errno));
	return drops;
}

/*
 * Receive message @i (from 0) of @o->count into @buf before @end
 * (tap_now_ms()), with SO_RCVTIMEO set to the time left; an EINTR without a
 * signal of ours is retried.  Returns the message's length, or minus the exit
 * status, said why: -2 out of time (or SO_RCVTIMEO, or a SURVEYOR's
 * ETIMEDOUT), -3 terminated, -1 another error.
 */
static inline ssize_t tool_recv(int s, char *buf, size_t size, int i,
				const struct tool_opts *o, long long end)
{
	ssize_t n;

	do {
		long long left = end - tap_now_ms();

		if (left < 1 || sp_timeo(s, SO_RCVTIMEO, left)) {
			fprintf(stderr, TOOL_NAME ": %d of %d messages in %d s\n",
				i, o->count, o->timeout);
			return -2;
		}
		n = recv(s, buf, size, 0);
		if (n < 0 && tool_stop) {
			fprintf(stderr, TOOL_NAME ": terminated after %d of %d messages\n",
				i, o->count);
			return -3;
		}
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;

		fprintf(stderr, TOOL_NAME ": recv after %d of %d messages: %s\n",
			i, o->count, strerror(err));
		return sp_is_again(err) || err == ETIMEDOUT ? -2 : -1;
	}
	return n;
}

#endif /* SP_TOOL_H */
