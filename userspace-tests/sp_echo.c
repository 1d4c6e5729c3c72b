// SPDX-License-Identifier: GPL-2.0
/*
 * sp_echo: a PF_SP REP server for the interop scripts.  It binds the URL
 * given on the command line with SP_BIND, answers COUNT requests (default 1)
 * with a fixed reply (-r) or with the request itself, and writes every
 * request it receives, raw and unseparated, to stdout so that the caller can
 * check the exact bytes.  After the last reply it keeps the socket open until
 * SIGTERM/SIGINT or for HOLD seconds (-H, default 10), so the reply is not at
 * the mercy of close()'s lingering.  Exit 0 on success; 1 on a usage or
 * socket error, 2 if a request did not arrive within TIMEOUT seconds (-t,
 * default 30), 3 if terminated before answering COUNT requests.
 *
 *	sp_echo [-n COUNT] [-r REPLY] [-t TIMEOUT] [-H HOLD] URL
 */
#include "sp_test.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: sp_echo [-n COUNT] [-r REPLY] [-t TIMEOUT] [-H HOLD] URL\n");
	exit(1);
}

int main(int argc, char **argv)
{
	int count = 1, timeout = 30, hold = 10, opt, s, i;
	const char *reply = NULL, *url;
	struct sigaction sa;
	static char buf[1 << 20];
	long long end;

	while ((opt = getopt(argc, argv, "n:r:t:H:")) != -1) {
		switch (opt) {
		case 'n':
			count = atoi(optarg);
			break;
		case 'r':
			reply = optarg;
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
	if (optind != argc - 1 || count < 1 || timeout < 1 || hold < 0)
		usage();
	url = argv[optind];

	/* No SA_RESTART: a signal interrupts a blocking recv(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	s = sp_socket(SOCK_REP, 0);
	if (s < 0) {
		fprintf(stderr, "sp_echo: socket(PF_SP, SOCK_REP): %s\n",
			strerror(errno));
		return 1;
	}
	if (sp_timeo(s, SO_RCVTIMEO, timeout * 1000) ||
	    sp_timeo(s, SO_SNDTIMEO, timeout * 1000)) {
		fprintf(stderr, "sp_echo: timeouts: %s\n", strerror(errno));
		return 1;
	}
	if (sp_url(s, SP_BIND, url)) {
		fprintf(stderr, "sp_echo: SP_BIND %s: %s\n", url, strerror(errno));
		return 1;
	}
	for (i = 0; i < count; i++) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);

		if (n < 0 && stop) {
			fprintf(stderr, "sp_echo: terminated after %d of %d requests\n",
				i, count);
			return 3;
		}
		if (n < 0) {
			fprintf(stderr, "sp_echo: recv: %s\n", strerror(errno));
			return sp_is_again(errno) ? 2 : 1;
		}
		if (fwrite(buf, 1, n, stdout) != (size_t)n || fflush(stdout))
			return 1;
		if (reply)
			n = send(s, reply, strlen(reply), 0);
		else
			n = send(s, buf, n, 0);
		if (n < 0) {
			fprintf(stderr, "sp_echo: send: %s\n", strerror(errno));
			return 1;
		}
	}
	end = tap_now_ms() + hold * 1000LL;
	while (!stop && tap_now_ms() < end)
		usleep(20000);
	close(s);
	return 0;
}
