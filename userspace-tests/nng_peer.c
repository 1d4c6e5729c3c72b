// SPDX-License-Identifier: GPL-2.0
/*
 * nng_peer: an nng BUS or SURVEYOR for interop_patterns_nng.sh, built on
 * libnng (libnng-dev; link with -lnng), where nngcat (nng-utils 1.5.2) does
 * not serve:
 *  - it has no --bus;
 *  - its --surveyor0 with --interval can hang for good: a receive still
 *    waiting when nng 1.5.2's survey timer fires never returns (seen with an
 *    nngcat RESPONDENT as with ours, a few rounds in a hundred, and nearly
 *    always once the interval exceeds the survey time), so nngcat sends no
 *    survey again.  Here every receive times out (RECVTIMEO) before the
 *    survey does, and the survey goes out only once a respondent is up.
 * It takes sp_cat's options: it listens on (-b) and dials (-c,
 * asynchronously, so nng retries until the peer is up) every URL given,
 * waits until PEERS connections are up (-P; counted with nng_pipe_notify()),
 * sends every -s DATA as one message (a survey), in order, receives COUNT
 * messages (-n; answers) and writes each to stdout followed by a newline;
 * with -E one more receive must then time out within a second (else what it
 * got is written too and the exit status is 4).  Then it keeps the socket
 * open for HOLD seconds (-H, default 0) or until SIGTERM/SIGINT.  Every wait
 * is bounded by TIMEOUT seconds (-t, default 30).  Exit 0 when done; 1 on a
 * usage or nng error; 2 on a timeout; 3 if terminated by a signal first.
 *
 *	nng_peer bus|surveyor [-b URL]... [-c URL]... [-P PEERS] [-s DATA]...
 *		[-n COUNT] [-E] [-t TIMEOUT] [-H HOLD]
 */
#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>
#include <nng/protocol/survey0/survey.h>

#define TOOL_NAME	"nng_peer"
#include "sp_tool.h"

#define OPTS	"b:c:P:s:n:Et:H:"

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
	fprintf(stderr, "usage: nng_peer bus|surveyor [-b URL]... [-c URL]... [-P PEERS] [-s DATA]...\n"
			"                [-n COUNT] [-E] [-t TIMEOUT] [-H HOLD]\n");
	exit(1);
}

static int fail(const char *what, int rv)
{
	fprintf(stderr, "nng_peer: %s: %s\n", what, nng_strerror(rv));
	if (tool_stop)
		return 3;
	return rv == NNG_ETIMEDOUT ? 2 : 1;
}

/* One message into a buffer nng allocates; retried on a stray EINTR. */
static int recv_one(nng_socket s, char **buf, size_t *len)
{
	int rv;

	do
		rv = nng_recv(s, buf, len, NNG_FLAG_ALLOC);
	while (rv == NNG_EINTR && !tool_stop);
	return rv;
}

int main(int argc, char **argv)
{
	struct tool_opts o = { .timeout = 30 };
	int expect_end = 0, surveyor, opt, rv, i;
	nng_socket s;
	char *buf;
	size_t len;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "bus"))
		surveyor = 0;
	else if (!strcmp(argv[1], "surveyor"))
		surveyor = 1;
	else
		usage();
	/* From here on, the type stands where getopt() expects the program name. */
	argc--;
	argv++;
	while ((opt = getopt(argc, argv, OPTS)) != -1) {
		if (tool_opt(&o, opt) || tool_peer_opt(opt))
			continue;
		if (opt != 'E')
			usage();
		expect_end = 1;
	}
	if (optind != argc || !tool_opts_ok(&o))
		usage();

	tool_catch_signals();
	rv = surveyor ? nng_surveyor0_open(&s) : nng_bus0_open(&s);
	if (rv)
		return fail("open", rv);
	if ((rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, on_pipe, NULL)) ||
	    (rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, on_pipe, NULL)))
		return fail("nng_pipe_notify", rv);
	if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, o.timeout * 1000)) ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, o.timeout * 1000)))
		return fail("timeouts", rv);
	/* The survey outlives every receive (see above). */
	if (surveyor &&
	    (rv = nng_socket_set_ms(s, NNG_OPT_SURVEYOR_SURVEYTIME, (o.timeout + 5) * 1000)))
		return fail("NNG_OPT_SURVEYOR_SURVEYTIME", rv);
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
		if ((rv = recv_one(s, &buf, &len)))
			return fail("nng_recv", rv);
		if (tool_print(buf, len, 1))
			return 1;
		nng_free(buf, len);
	}
	if (expect_end) {
		if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1000)))
			return fail("NNG_OPT_RECVTIMEO", rv);
		rv = recv_one(s, &buf, &len);
		if (rv == 0) {
			fprintf(stderr, "nng_peer: a message after %d\n", o.count);
			tool_print(buf, len, 1);
			return 4;
		}
		if (rv != NNG_ETIMEDOUT)
			return fail("nng_recv", rv);
	}
	tool_hold(o.hold);
	/* Let what was sent go out before the socket goes. */
	usleep(100000);
	nng_close(s);
	return 0;
}
