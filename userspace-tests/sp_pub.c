// SPDX-License-Identifier: GPL-2.0
/*
 * sp_pub: a PF_SP PUB for the interop scripts and for use by hand.  It binds
 * the URL (SP_BIND; with -c it dials it with SP_CONNECT instead) and
 * publishes the MESSAGEs given on the command line, each as one message
 * without a trailing NUL, and the contents of each -f FILE as one message,
 * round and round, one every INTERVAL ms (-i, default 100), until COUNT
 * messages are out (-n; default 0: no limit), TIMEOUT seconds have passed
 * (-t, default 30) or SIGTERM/SIGINT arrives.  Sends use MSG_DONTWAIT: a
 * PUB never blocks, so any failure is an error.  With -v it reports on
 * stderr how many messages it published and SP_DROPS.  Exit 0 when done;
 * 1 on a usage or socket error.  "sp_pub -p" only probes whether PF_SP PUB
 * sockets can be created (exit 0 if so).
 *
 *	sp_pub [-c] [-v] [-i INTERVAL_MS] [-n COUNT] [-t TIMEOUT] [-f FILE]... URL [MESSAGE...]
 *	sp_pub -p
 */
#define TOOL_NAME	"sp_pub"
#include "sp_tool.h"

static void usage(void)
{
	fprintf(stderr, "usage: sp_pub [-c] [-v] [-i INTERVAL_MS] [-n COUNT] [-t TIMEOUT] [-f FILE]... URL [MESSAGE...]\n"
			"       sp_pub -p\n");
	exit(1);
}

int main(int argc, char **argv)
{
	struct tool_opts o = { .timeout = 30 };
	int interval = 100, dial = 0, opt, s, i, sent = 0;
	const char *url;
	long long end;

	while ((opt = getopt(argc, argv, "cvpi:n:t:f:")) != -1) {
		if (tool_opt(&o, opt))
			continue;
		switch (opt) {
		case 'c':
			dial = 1;
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (o.probe)
		tool_probe(argc, SOCK_PUB);
	if (optind >= argc || interval < 0 || !tool_opts_ok(&o))
		usage();
	url = argv[optind++];
	for (; optind < argc; optind++)
		tool_add_msg(argv[optind], strlen(argv[optind]));
	if (!tool_nmsg)
		usage();

	tool_catch_signals();
	s = tool_socket(SOCK_PUB);
	tool_url(s, dial ? SP_CONNECT : SP_BIND, url);
	end = tap_now_ms() + o.timeout * 1000LL;
	for (i = 0; !tool_stop && (!o.count || sent < o.count) &&
	     tap_now_ms() < end; i = (i + 1) % tool_nmsg) {
		if (send(s, tool_msg[i], tool_msglen[i], MSG_DONTWAIT) !=
		    (ssize_t)tool_msglen[i]) {
			fprintf(stderr, "sp_pub: send: %s\n", strerror(errno));
			return 1;
		}
		sent++;
		if (interval && !tool_stop)
			usleep(interval * 1000);
	}
	if (o.verbose) {
		unsigned long long drops = tool_drops(s);

		fprintf(stderr, "sp_pub: %d messages published, SP_DROPS %llu\n",
			sent, drops);
	}
	close(s);
	return 0;
}
