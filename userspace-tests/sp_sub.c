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
#define TOOL_NAME	"sp_sub"
#include "sp_tool.h"

#define OPTS	"blpn:t:s:x:"

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
	struct tool_opts o = { .count = 1, .timeout = 30 };
	int bind_ = 0, lines = 0, opt, s, i;
	static char buf[1 << 20];
	long long end;

	/* Parse everything first; subscriptions need the socket. */
	while ((opt = getopt(argc, argv, OPTS)) != -1) {
		if (tool_opt(&o, opt))
			continue;
		switch (opt) {
		case 'b':
			bind_ = 1;
			break;
		case 'l':
			lines = 1;
			break;
		case 's':
		case 'x':
			break;
		default:
			usage();
		}
	}
	if (o.probe)
		tool_probe(argc, SOCK_SUB);
	if (optind >= argc || o.count < 1 || !tool_opts_ok(&o))
		usage();

	tool_catch_signals();
	s = tool_socket(SOCK_SUB);
	optind = 0;	/* glibc: start the scan afresh */
	while ((opt = getopt(argc, argv, OPTS)) != -1) {
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
	for (i = optind; i < argc; i++)
		tool_url(s, bind_ ? SP_BIND : SP_CONNECT, argv[i]);
	end = tap_now_ms() + o.timeout * 1000LL;
	for (i = 0; i < o.count; i++) {
		ssize_t n = tool_recv(s, buf, sizeof(buf), i, &o, end);

		if (n < 0)
			return -n;
		if (tool_print(buf, n, lines))
			return 1;
	}
	close(s);
	return 0;
}
