// SPDX-License-Identifier: GPL-2.0
/*
 * sp_req: a PF_SP REQ client for the interop scripts.  It connects to the
 * URL given on the command line with SP_CONNECT (so the server may come up
 * later), sends PAYLOAD as one request (without a trailing NUL), waits up to
 * TIMEOUT seconds (-t, default 30) for the reply and writes the reply, raw,
 * to stdout.  -i sets SP_RESEND_IVL in ms.  Exit 0 on a reply, 2 on a
 * timeout, 1 on any other error.  "sp_req -p" only probes whether PF_SP
 * sockets can be created at all (exit 0 if so), so that scripts can give up
 * at once on a system without the module.
 *
 *	sp_req [-t TIMEOUT] [-i RESEND_MS] URL PAYLOAD
 *	sp_req -p
 */
#define TOOL_NAME	"sp_req"
#include "sp_tool.h"

static void usage(void)
{
	fprintf(stderr, "usage: sp_req [-t TIMEOUT] [-i RESEND_MS] URL PAYLOAD\n"
			"       sp_req -p\n");
	exit(1);
}

int main(int argc, char **argv)
{
	struct tool_opts o = { .timeout = 30 };
	int resend = 0, opt, s;
	const char *payload;
	static char buf[1 << 20];
	ssize_t n;

	while ((opt = getopt(argc, argv, "t:i:p")) != -1) {
		if (tool_opt(&o, opt))
			continue;
		if (opt == 'i')
			resend = atoi(optarg);
		else
			usage();
	}
	if (o.probe)
		tool_probe(argc, SOCK_REQ);
	if (optind != argc - 2 || !tool_opts_ok(&o))
		usage();
	payload = argv[optind + 1];

	s = tool_socket(SOCK_REQ);
	tool_timeouts(s, o.timeout);
	if (resend > 0 && sp_set_int(s, SOL_SP, SP_RESEND_IVL, resend)) {
		fprintf(stderr, "sp_req: SP_RESEND_IVL: %s\n", strerror(errno));
		return 1;
	}
	tool_url(s, SP_CONNECT, argv[optind]);
	if (send(s, payload, strlen(payload), 0) != (ssize_t)strlen(payload)) {
		fprintf(stderr, "sp_req: send: %s\n", strerror(errno));
		return 1;
	}
	n = recv(s, buf, sizeof(buf), 0);
	if (n < 0) {
		fprintf(stderr, "sp_req: recv: %s\n", strerror(errno));
		return sp_is_again(errno) ? 2 : 1;
	}
	if (tool_print(buf, n, 0))
		return 1;
	close(s);
	return 0;
}
