// SPDX-License-Identifier: GPL-2.0
/*
 * nng_bus: an nng BUS peer for interop_patterns_nng.sh.  nngcat (nng-utils
 * 1.5.2) has no --bus, so this is the nng side of the BUS checks, built on
 * libnng (libnng-dev; link with -lnng).  It takes the same options as
 * sp_cat's bus: it listens on (-b) and dials (-c, asynchronously, so nng
 * retries until the peer is up) every URL given, waits until PEERS
 * connections are up (-P; counted with nng_pipe_notify()), sends every -s
 * DATA as one message, in order, receives COUNT messages (-n) and writes
 * each to stdout followed by a newline, then keeps the socket open for HOLD
 * seconds (-H, default 0) or until SIGTERM/SIGINT.  Every wait is bounded by
 * TIMEOUT seconds (-t, default 30).  Exit 0 when done; 1 on a usage or nng
 * error; 2 on a timeout; 3 if terminated by a signal first.
 *
 *	nng_bus [-b URL]... [-c URL]... [-P PEERS] [-s DATA]... [-n COUNT]
 *		[-t TIMEOUT] [-H HOLD]
 */
#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>

#define TOOL_NAME	"nng_bus"
#include "sp_tool.h"

#define OPTS	"b:c:P:s:n:t:H:"

static volatile int peers;	/* updated by nng's pipe callbacks */

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)arg;
	if (ev == NNG_PIPE_EV_ADD_POST)
		__atomic_add_fetch(&peers, 1, __ATOMIC_SEQ_CST);
	else if (ev == NNG_PIPE_EV_REM_POST)
		__atomic_sub_fetch(&peers, 1, __ATOMIC_SEQ_CST);
}

/* The connections up (for tool_wait_peers()). */
static int peers_up(void *arg)
{
	(void)arg;
	return __atomic_load_n(&peers, __ATOMIC_SEQ_CST);
}

static void usage(void)
{
	fprintf(stderr, "usage: nng_bus [-b URL]... [-c URL]... [-P PEERS] [-s DATA]... [-n COUNT]\n"
			"               [-t TIMEOUT] [-H HOLD]\n");
	exit(1);
}

static int fail(const char *what, int rv)
{
	fprintf(stderr, "nng_bus: %s: %s\n", what, nng_strerror(rv));
	if (tool_stop)
		return 3;
	return rv == NNG_ETIMEDOUT ? 2 : 1;
}

int main(int argc, char **argv)
{
	struct tool_opts o = { .timeout = 30 };
	int opt, rv, i;
	nng_socket s;

	while ((opt = getopt(argc, argv, OPTS)) != -1)
		if (!tool_opt(&o, opt) && !tool_peer_opt(opt))
			usage();
	if (optind != argc || !tool_opts_ok(&o))
		usage();

	tool_catch_signals();
	if ((rv = nng_bus0_open(&s)))
		return fail("nng_bus0_open", rv);
	if ((rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, on_pipe, NULL)) ||
	    (rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, on_pipe, NULL)))
		return fail("nng_pipe_notify", rv);
	if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, o.timeout * 1000)) ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, o.timeout * 1000)))
		return fail("timeouts", rv);
	optind = 0;	/* glibc: start the scan afresh */
	while ((opt = tool_next_url(argc, argv, OPTS)) != -1) {
		if (opt == 'b')
			rv = nng_listen(s, optarg, NULL, 0);
		else
			rv = nng_dial(s, optarg, NULL, NNG_FLAG_NONBLOCK);
		if (rv)
			return fail(optarg, rv);
	}

	rv = tool_wait_peers(peers_up, NULL, o.peers,
			     tap_now_ms() + o.timeout * 1000LL);
	if (rv)
		return rv;
	for (i = 0; i < tool_nmsg; i++)
		if ((rv = nng_send(s, tool_msg[i], tool_msglen[i], 0)))
			return fail("nng_send", rv);
	for (i = 0; i < o.count; i++) {
		char *buf;
		size_t len;

		rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC);
		if (rv == NNG_EINTR && !tool_stop) {
			i--;
			continue;
		}
		if (rv)
			return fail("nng_recv", rv);
		if (tool_print(buf, len, 1))
			return 1;
		nng_free(buf, len);
	}
	tool_hold(o.hold);
	/* Let what was sent go out before the socket goes. */
	usleep(100000);
	nng_close(s);
	return 0;
}
