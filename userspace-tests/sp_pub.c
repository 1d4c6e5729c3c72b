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
	fprintf(stderr, "usage: sp_pub [-c] [-v] [-i INTERVAL_MS] [-n COUNT] [-t TIMEOUT] [-f FILE]... URL [MESSAGE...]\n"
			"       sp_pub -p\n");
	exit(1);
}

static char *msg[MAXMSGS];
static size_t msglen[MAXMSGS];
static int nmsg;

static void add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(MAXFILE);
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, "sp_pub: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	n = fread(buf, 1, MAXFILE, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "sp_pub: %s: unreadable or larger than %d bytes\n",
			path, MAXFILE);
		exit(1);
	}
	fclose(f);
	if (nmsg == MAXMSGS)
		usage();
	msg[nmsg] = buf;
	msglen[nmsg++] = n;
}

int main(int argc, char **argv)
{
	int interval = 100, count = 0, timeout = 30, dial = 0, verbose = 0;
	int probe = 0, opt, s, i, sent = 0;
	const char *url;
	struct sigaction sa;
	long long end;
	uint64_t drops = 0;
	socklen_t len = sizeof(drops);

	while ((opt = getopt(argc, argv, "cvpi:n:t:f:")) != -1) {
		switch (opt) {
		case 'c':
			dial = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'p':
			probe = 1;
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'f':
			add_file(optarg);
			break;
		default:
			usage();
		}
	}
	if (probe && optind == argc)
		return sp_probe("sp_pub", SOCK_PUB);
	if (probe || optind >= argc || interval < 0 || count < 0 || timeout < 1)
		usage();
	url = argv[optind++];
	for (; optind < argc; optind++) {
		if (nmsg == MAXMSGS)
			usage();
		msg[nmsg] = argv[optind];
		msglen[nmsg++] = strlen(argv[optind]);
	}
	if (!nmsg)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	s = sp_socket(SOCK_PUB, 0);
	if (s < 0) {
		fprintf(stderr, "sp_pub: socket(PF_SP, SOCK_PUB): %s\n",
			strerror(errno));
		return 1;
	}
	if (sp_url(s, dial ? SP_CONNECT : SP_BIND, url)) {
		fprintf(stderr, "sp_pub: %s %s: %s\n",
			dial ? "SP_CONNECT" : "SP_BIND", url, strerror(errno));
		return 1;
	}
	end = tap_now_ms() + timeout * 1000LL;
	for (i = 0; !stop && (!count || sent < count) && tap_now_ms() < end;
	     i = (i + 1) % nmsg) {
		if (send(s, msg[i], msglen[i], MSG_DONTWAIT) != (ssize_t)msglen[i]) {
			fprintf(stderr, "sp_pub: send: %s\n", strerror(errno));
			return 1;
		}
		sent++;
		if (interval && !stop)
			usleep(interval * 1000);
	}
	if (verbose) {
		if (getsockopt(s, SOL_SP, SP_DROPS, &drops, &len))
			fprintf(stderr, "sp_pub: SP_DROPS: %s\n", strerror(errno));
		fprintf(stderr, "sp_pub: %d messages published, SP_DROPS %llu\n",
			sent, (unsigned long long)drops);
	}
	close(s);
	return 0;
}
