// SPDX-License-Identifier: GPL-2.0
/*
 * sp_sub: a PF_SP SUB for the interop scripts and for use by hand.  It dials
 * every URL given (SP_CONNECT; with -b it binds them with SP_BIND instead),
 * subscribes to every -s PREFIX (a string) and every -x HEX (a prefix given
 * in hexadecimal, so it may hold any byte), and writes the first COUNT
 * messages it receives (-n, default 1) to stdout: raw and unseparated, or
 * each followed by a newline with -l.  Without -s or -x it subscribes to
 * nothing and so receives nothing.  Exit 0 after COUNT messages; 2 if they
 * did not all arrive within TIMEOUT seconds (-t, default 30); 3 if
 * terminated by SIGTERM/SIGINT first; 1 on a usage or socket error.
 * "sp_sub -p" only probes whether PF_SP SUB sockets can be created.
 *
 *	sp_sub [-b] [-l] [-n COUNT] [-t TIMEOUT] [-s PREFIX]... [-x HEX]... URL...
 *	sp_sub -p
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
	fprintf(stderr, "usage: sp_sub [-b] [-l] [-n COUNT] [-t TIMEOUT] [-s PREFIX]... [-x HEX]... URL...\n"
			"       sp_sub -p\n");
	exit(1);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void subscribe(int s, const char *p, size_t len)
{
	if (setsockopt(s, SOL_SP, SP_SUBSCRIBE, p, len)) {
		fprintf(stderr, "sp_sub: SP_SUBSCRIBE: %s\n", strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int count = 1, timeout = 30, bind_ = 0, lines = 0, probe = 0, opt, s, i;
	static char buf[1 << 20];
	struct sigaction sa;
	long long end;

	/* Parse everything first; subscriptions need the socket. */
	while ((opt = getopt(argc, argv, "blpn:t:s:x:")) != -1) {
		switch (opt) {
		case 'b':
			bind_ = 1;
			break;
		case 'l':
			lines = 1;
			break;
		case 'p':
			probe = 1;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 's':
		case 'x':
			break;
		default:
			usage();
		}
	}
	if (probe && optind == argc)
		return sp_probe("sp_sub", SOCK_SUB);
	if (probe || optind >= argc || count < 1 || timeout < 1)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: interrupts recv() */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	s = sp_socket(SOCK_SUB, 0);
	if (s < 0) {
		fprintf(stderr, "sp_sub: socket(PF_SP, SOCK_SUB): %s\n",
			strerror(errno));
		return 1;
	}
	optind = 0;	/* glibc: start the scan afresh */
	while ((opt = getopt(argc, argv, "blpn:t:s:x:")) != -1) {
		size_t n = 0, len = strlen(optarg ? optarg : "");

		if (opt == 's') {
			subscribe(s, optarg, len);
		} else if (opt == 'x') {
			if (len % 2)
				usage();
			for (n = 0; n < len / 2; n++) {
				int hi = hexval(optarg[2 * n]), lo = hexval(optarg[2 * n + 1]);

				if (hi < 0 || lo < 0)
					usage();
				buf[n] = hi << 4 | lo;
			}
			subscribe(s, buf, n);
		}
	}
	for (i = optind; i < argc; i++) {
		if (sp_url(s, bind_ ? SP_BIND : SP_CONNECT, argv[i])) {
			fprintf(stderr, "sp_sub: %s %s: %s\n",
				bind_ ? "SP_BIND" : "SP_CONNECT", argv[i],
				strerror(errno));
			return 1;
		}
	}
	end = tap_now_ms() + timeout * 1000LL;
	for (i = 0; i < count; i++) {
		long long left = end - tap_now_ms();
		ssize_t n;

		if (left < 1 || sp_timeo(s, SO_RCVTIMEO, left)) {
			fprintf(stderr, "sp_sub: %d of %d messages in %d s\n", i,
				count, timeout);
			return 2;
		}
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0 && stop) {
			fprintf(stderr, "sp_sub: terminated after %d of %d messages\n",
				i, count);
			return 3;
		}
		if (n < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "sp_sub: recv after %d of %d messages: %s\n",
				i, count, strerror(errno));
			return sp_is_again(errno) ? 2 : 1;
		}
		if (fwrite(buf, 1, n, stdout) != (size_t)n ||
		    (lines && putchar('\n') == EOF) || fflush(stdout))
			return 1;
	}
	close(s);
	return 0;
}
