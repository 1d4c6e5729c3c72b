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
#define TOOL_NAME	"sp_echo"
#include "sp_tool.h"

static void usage(void)
{
	fprintf(stderr, "usage: sp_echo [-n COUNT] [-r REPLY] [-t TIMEOUT] [-H HOLD] URL\n");
	exit(1);
}

int main(int argc, char **argv)
{
	struct tool_opts o = { .count = 1, .timeout = 30, .hold = 10 };
	const char *reply = NULL;
	static char buf[1 << 20];
	int opt, s, i;

	while ((opt = getopt(argc, argv, "n:r:t:H:")) != -1) {
		if (tool_opt(&o, opt))
			continue;
		if (opt == 'r')
			reply = optarg;
		else
			usage();
	}
	if (optind != argc - 1 || o.count < 1 || !tool_opts_ok(&o))
		usage();

	tool_catch_signals();
	s = tool_socket(SOCK_REP);
	tool_timeouts(s, o.timeout);
	tool_url(s, SP_BIND, argv[optind]);
	for (i = 0; i < o.count; i++) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);

		if (n < 0 && tool_stop) {
			fprintf(stderr, "sp_echo: terminated after %d of %d requests\n",
				i, o.count);
			return 3;
		}
		if (n < 0) {
			fprintf(stderr, "sp_echo: recv: %s\n", strerror(errno));
			return sp_is_again(errno) ? 2 : 1;
		}
		if (tool_print(buf, n, 0))
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
	tool_hold(o.hold);
	close(s);
	return 0;
}
