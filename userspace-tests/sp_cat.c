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
#define TOOL_NAME	"sp_cat"
#include "sp_tool.h"

#define OPTS	"b:c:V:d:P:s:f:n:r:Evt:H:"

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

static void report(int s)
{
	unsigned long long drops = tool_drops(s);
	int peers = -1;

	if (sp_get_int(s, SOL_SP, SP_PEERS, &peers))
		fprintf(stderr, "sp_cat: SP_PEERS: %s\n", strerror(errno));
	fprintf(stderr, "sp_cat: SP_PEERS %d, SP_DROPS %llu\n", peers, drops);
}

/* Set the int SOL_SP option @opt (called @name) to @val, or exit 1. */
static void set_opt(int s, int opt, const char *name, int val)
{
	if (sp_set_int(s, SOL_SP, opt, val)) {
		fprintf(stderr, "sp_cat: %s %d: %s\n", name, val, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct tool_opts o = { .timeout = 30 };
	int version = -1, deadline = 0, expect_to = 0, probe = 0, opt, s, i, type;
	const char *reply = NULL;
	static char buf[1 << 20];
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
	while ((opt = getopt(argc, argv, OPTS)) != -1) {
		if (tool_opt(&o, opt) || tool_peer_opt(opt))
			continue;
		switch (opt) {
		case 'V':
			version = atoi(optarg);
			break;
		case 'd':
			deadline = atoi(optarg);
			break;
		case 'r':
			reply = optarg;
			break;
		case 'E':
			expect_to = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !tool_opts_ok(&o))
		usage();

	tool_catch_signals();
	s = tool_socket(type);
	tool_timeouts(s, o.timeout);
	if (version >= 0)
		set_opt(s, SP_PAIR_VERSION, "SP_PAIR_VERSION", version);
	if (deadline > 0)
		set_opt(s, SP_SURVEY_DEADLINE, "SP_SURVEY_DEADLINE", deadline);
	if (type == SOCK_SUB && setsockopt(s, SOL_SP, SP_SUBSCRIBE, "", 0)) {
		fprintf(stderr, "sp_cat: SP_SUBSCRIBE: %s\n", strerror(errno));
		return 1;
	}
	optind = 0;	/* glibc: start the scan afresh */
	while ((opt = tool_next_url(argc, argv, OPTS)) != -1)
		tool_url(s, opt == 'b' ? SP_BIND : SP_CONNECT, optarg);

	end = tap_now_ms() + o.timeout * 1000LL;
	if (o.peers) {
		int rc = tool_wait_peers(tool_sp_peers, &s, o.peers, end);

		if (rc)
			return rc;
	}
	for (i = 0; i < tool_nmsg; i++) {
		n = send(s, tool_msg[i], tool_msglen[i], 0);
		if (n != (ssize_t)tool_msglen[i]) {
			fprintf(stderr, "sp_cat: send %d of %d: %s\n", i + 1,
				tool_nmsg, n < 0 ? strerror(errno) : "short");
			if (n < 0 && tool_stop)
				return 3;
			return n < 0 && sp_is_again(errno) ? 2 : 1;
		}
	}
	for (i = 0; i < o.count; i++) {
		n = tool_recv(s, buf, sizeof(buf), i, &o, end);
		if (n < 0)
			return -n;
		if (tool_print(buf, n, 1))
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
				o.count, n, n < 0 ? strerror(errno) : "a message",
				tap_now_ms() - t0);
			if (n >= 0)
				fprintf(stderr, "sp_cat: it was %s\n", sp_show(buf, n));
			return 4;
		}
	}
	if (o.verbose)
		report(s);
	tool_hold(o.hold);
	close(s);
	return 0;
}
