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
#include "sp_test.h"

static void usage(void)
{
	fprintf(stderr, "usage: sp_req [-t TIMEOUT] [-i RESEND_MS] URL PAYLOAD\n"
			"       sp_req -p\n");
	exit(1);
}

int main(int argc, char **argv)
{
	int timeout = 30, resend = 0, probe = 0, opt, s;
	const char *url, *payload;
	static char buf[1 << 20];
	ssize_t n;

	while ((opt = getopt(argc, argv, "t:i:p")) != -1) {
		switch (opt) {
		case 'p':
			probe = 1;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'i':
			resend = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (probe && optind == argc)
		return sp_probe("sp_req", SOCK_REQ);
	if (probe || optind != argc - 2 || timeout < 1)
		usage();
	url = argv[optind];
	payload = argv[optind + 1];

	s = sp_socket(SOCK_REQ, 0);
	if (s < 0) {
		fprintf(stderr, "sp_req: socket(PF_SP, SOCK_REQ): %s\n",
			strerror(errno));
		return 1;
	}
	if (sp_timeo(s, SO_RCVTIMEO, timeout * 1000) ||
	    sp_timeo(s, SO_SNDTIMEO, timeout * 1000)) {
		fprintf(stderr, "sp_req: timeouts: %s\n", strerror(errno));
		return 1;
	}
	if (resend > 0 && sp_set_int(s, SOL_SP, SP_RESEND_IVL, resend)) {
		fprintf(stderr, "sp_req: SP_RESEND_IVL: %s\n", strerror(errno));
		return 1;
	}
	if (sp_url(s, SP_CONNECT, url)) {
		fprintf(stderr, "sp_req: SP_CONNECT %s: %s\n", url,
			strerror(errno));
		return 1;
	}
	if (send(s, payload, strlen(payload), 0) != (ssize_t)strlen(payload)) {
		fprintf(stderr, "sp_req: send: %s\n", strerror(errno));
		return 1;
	}
	n = recv(s, buf, sizeof(buf), 0);
	if (n < 0) {
		fprintf(stderr, "sp_req: recv: %s\n", strerror(errno));
		return sp_is_again(errno) ? 2 : 1;
	}
	if (fwrite(buf, 1, n, stdout) != (size_t)n || fflush(stdout))
		return 1;
	close(s);
	return 0;
}
