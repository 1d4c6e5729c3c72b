// SPDX-License-Identifier: GPL-2.0
/*
 * sp_cat: a PF_SP endpoint of any type for the interop scripts and for use by
 * hand.  In this order it: opens a socket of TYPE (pair, push, pull,
 * surveyor, respondent, bus, req, rep, pub, sub; a sub subscribes to
 * everything), sets SP_PAIR_VERSION (-V) and SP_SURVEY_DEADLINE (-d, ms) if
 * given, binds (-b) and dials (-c) every URL given with SP_BIND /
 * SP_CONNECT, waits until SP_PEERS is at least PEERS (-P), sends every -s
 * DATA and -f FILE as one message each, in order, then receives COUNT
 * messages (-n) and writes each to stdout followed by a newline.  With -r
 * REPLY (respondent, rep) it answers every message it receives with REPLY.
 * With -E, one more receive after the COUNT messages must fail with
 * ETIMEDOUT (a surveyor's deadline).  With -v it reports SP_PEERS and
 * SP_DROPS on stderr at the end.  It then keeps the socket open for HOLD
 * seconds (-H, default 0) or until SIGTERM/SIGINT, and closes it (close()
 * keeps delivering what was sent).  Every wait is bounded by TIMEOUT seconds
 * (-t, default 30; SO_RCVTIMEO and SO_SNDTIMEO too).
 *
 * Exit status: 0 done; 1 usage or socket error; 2 timed out (peers, a send
 * or a receive); 3 terminated by a signal first; 4 -E and the receive after
 * the last message did not fail with ETIMEDOUT.  "sp_cat -p TYPE" only
 * probes whether PF_SP sockets of TYPE can be created (exit 0 if so).
 *
 *	sp_cat TYPE [-b URL]... [-c URL]... [-V 0|1] [-d MS] [-P PEERS]
 *	       [-s DATA]... [-f FILE]... [-n COUNT] [-r REPLY] [-E] [-v]
 *	       [-t TIMEOUT] [-H HOLD]
 *	sp_cat -p TYPE
 */
#include "sp_test.h"

#define MAXMSGS		64
#define MAXFILE		(1 << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: sp_cat TYPE [-b URL]... [-c URL]... [-V 0|1] [-d MS] [-P PEERS]\n"
			"              [-s DATA]... [-f FILE]... [-n COUNT] [-r REPLY] [-E] [-v]\n"
			"              [-t TIMEOUT] [-H HOLD]\n"
			"       sp_cat -p TYPE\n"
			"TYPE: pair push pull surveyor respondent bus req rep pub sub\n");
	exit(1);
}

static const struct {
	const char *name;
	int type;
} types[] = {
	{ "pair", SOCK_PAIR }, { "push", SOCK_PUSH }, { "pull", SOCK_PULL },
	{ "surveyor", SOCK_SURVEYOR }, { "respondent", SOCK_RESPONDENT },
	{ "bus", SOCK_BUS }, { "req", SOCK_REQ }, { "rep", SOCK_REP },
	{ "pub", SOCK_PUB }, { "sub", SOCK_SUB },
};

static int type_of(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(name, types[i].name))
			return types[i].type;
	fprintf(stderr, "sp_cat: unknown type %s\n", name);
	usage();
	return -1;
}

static char *msg[MAXMSGS];
static size_t msglen[MAXMSGS];
static int nmsg;

static void add_msg(char *buf, size_t len)
{
	if (nmsg == MAXMSGS)
		usage();
	msg[nmsg] = buf;
	msglen[nmsg++] = len;
}

static void add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(MAXFILE);
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, "sp_cat: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	n = fread(buf, 1, MAXFILE, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "sp_cat: %s: unreadable or larger than %d bytes\n",
			path, MAXFILE);
		exit(1);
	}
	fclose(f);
	add_msg(buf, n);
}

static void report(int s)
{
	uint64_t drops = 0;
	socklen_t len = sizeof(drops);
	int peers = -1;

	if (getsockopt(s, SOL_SP, SP_DROPS, &drops, &len))
		fprintf(stderr, "sp_cat: SP_DROPS: %s\n", strerror(errno));
	if (sp_get_int(s, SOL_SP, SP_PEERS, &peers))
		fprintf(stderr, "sp_cat: SP_PEERS: %s\n", strerror(errno));
	fprintf(stderr, "sp_cat: SP_PEERS %d, SP_DROPS %llu\n", peers,
		(unsigned long long)drops);
}

/* Wait until SP_PEERS >= @want; 0 when it is, 2 on timeout, 3 on a signal. */
static int wait_peers(int s, int want, long long end)
{
	int peers = 0;

	for (;;) {
		if (sp_get_int(s, SOL_SP, SP_PEERS, &peers)) {
			fprintf(stderr, "sp_cat: SP_PEERS: %s\n", strerror(errno));
			return 1;
		}
		if (peers >= want)
			return 0;
		if (stop)
			return 3;
		if (tap_now_ms() >= end) {
			fprintf(stderr, "sp_cat: %d of %d peers\n", peers, want);
			return 2;
		}
		usleep(10000);
	}
}

int main(int argc, char **argv)
{
	int count = 0, timeout = 30, hold = 0, peers = 0, version = -1;
	int deadline = 0, expect_to = 0, verbose = 0, probe = 0, opt, s, i, type;
	const char *reply = NULL;
	static char buf[1 << 20];
	struct sigaction sa;
	long long end;
	ssize_t n;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "-p")) {
		probe = 1;
		argv++;
		argc--;
		if (argc != 2)
			usage();
	}
	type = type_of(argv[1]);
	if (probe)
		return sp_probe("sp_cat", type);
	/* From here on, TYPE stands where getopt() expects the program name. */
	argc--;
	argv++;

	/* Parse everything first; the URLs are used in a second pass. */
	while ((opt = getopt(argc, argv, "b:c:V:d:P:s:f:n:r:Evt:H:")) != -1) {
		switch (opt) {
		case 'b':
		case 'c':
			break;
		case 'V':
			version = atoi(optarg);
			break;
		case 'd':
			deadline = atoi(optarg);
			break;
		case 'P':
			peers = atoi(optarg);
			break;
		case 's':
			add_msg(optarg, strlen(optarg));
			break;
		case 'f':
			add_file(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'r':
			reply = optarg;
			break;
		case 'E':
			expect_to = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'H':
			hold = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || count < 0 || timeout < 1 || hold < 0 || peers < 0)
		usage();

	/* No SA_RESTART: a signal interrupts a blocking call. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	s = sp_socket(type, 0);
	if (s < 0) {
		fprintf(stderr, "sp_cat: socket(PF_SP, %s): %s\n",
			sp_type_name(type), strerror(errno));
		return 1;
	}
	if (sp_timeo(s, SO_RCVTIMEO, timeout * 1000) ||
	    sp_timeo(s, SO_SNDTIMEO, timeout * 1000)) {
		fprintf(stderr, "sp_cat: timeouts: %s\n", strerror(errno));
		return 1;
	}
	if (version >= 0 && sp_set_int(s, SOL_SP, SP_PAIR_VERSION, version)) {
		fprintf(stderr, "sp_cat: SP_PAIR_VERSION %d: %s\n", version,
			strerror(errno));
		return 1;
	}
	if (deadline > 0 && sp_set_int(s, SOL_SP, SP_SURVEY_DEADLINE, deadline)) {
		fprintf(stderr, "sp_cat: SP_SURVEY_DEADLINE %d: %s\n", deadline,
			strerror(errno));
		return 1;
	}
	if (type == SOCK_SUB && setsockopt(s, SOL_SP, SP_SUBSCRIBE, "", 0)) {
		fprintf(stderr, "sp_cat: SP_SUBSCRIBE: %s\n", strerror(errno));
		return 1;
	}
	optind = 0;	/* glibc: start the scan afresh */
	while ((opt = getopt(argc, argv, "b:c:V:d:P:s:f:n:r:Evt:H:")) != -1) {
		if (opt != 'b' && opt != 'c')
			continue;
		if (sp_url(s, opt == 'b' ? SP_BIND : SP_CONNECT, optarg)) {
			fprintf(stderr, "sp_cat: %s %s: %s\n",
				opt == 'b' ? "SP_BIND" : "SP_CONNECT", optarg,
				strerror(errno));
			return 1;
		}
	}

	end = tap_now_ms() + timeout * 1000LL;
	if (peers) {
		int rc = wait_peers(s, peers, end);

		if (rc)
			return rc;
	}
	for (i = 0; i < nmsg; i++) {
		n = send(s, msg[i], msglen[i], 0);
		if (n != (ssize_t)msglen[i]) {
			fprintf(stderr, "sp_cat: send %d of %d: %s\n", i + 1, nmsg,
				n < 0 ? strerror(errno) : "short");
			if (n < 0 && stop)
				return 3;
			return n < 0 && sp_is_again(errno) ? 2 : 1;
		}
	}
	for (i = 0; i < count; i++) {
		long long left = end - tap_now_ms();

		if (left < 1 || sp_timeo(s, SO_RCVTIMEO, left)) {
			fprintf(stderr, "sp_cat: %d of %d messages in %d s\n", i,
				count, timeout);
			return 2;
		}
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0 && stop) {
			fprintf(stderr, "sp_cat: terminated after %d of %d messages\n",
				i, count);
			return 3;
		}
		if (n < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "sp_cat: recv after %d of %d messages: %s\n",
				i, count, strerror(errno));
			return sp_is_again(errno) || errno == ETIMEDOUT ? 2 : 1;
		}
		if (fwrite(buf, 1, n, stdout) != (size_t)n ||
		    putchar('\n') == EOF || fflush(stdout))
			return 1;
		if (reply && send(s, reply, strlen(reply), 0) != (ssize_t)strlen(reply)) {
			fprintf(stderr, "sp_cat: reply %d: %s\n", i + 1,
				strerror(errno));
			return 1;
		}
	}
	if (expect_to) {
		long long t0 = tap_now_ms();

		n = recv(s, buf, sizeof(buf), 0);
		if (n >= 0 || errno != ETIMEDOUT) {
			fprintf(stderr, "sp_cat: the receive after %d messages returned %zd (%s) after %lld ms, not ETIMEDOUT\n",
				count, n, n < 0 ? strerror(errno) : "a message",
				tap_now_ms() - t0);
			if (n >= 0)
				fprintf(stderr, "sp_cat: it was %s\n", sp_show(buf, n));
			return 4;
		}
	}
	if (verbose)
		report(s);
	end = tap_now_ms() + hold * 1000LL;
	while (!stop && tap_now_ms() < end)
		usleep(20000);
	close(s);
	return 0;
}
