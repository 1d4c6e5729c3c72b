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
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>

#define MAXMSGS		64

static volatile sig_atomic_t stop;
static volatile int peers;	/* updated by nng's pipe callbacks */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)arg;
	if (ev == NNG_PIPE_EV_ADD_POST)
		__atomic_add_fetch(&peers, 1, __ATOMIC_SEQ_CST);
	else if (ev == NNG_PIPE_EV_REM_POST)
		__atomic_sub_fetch(&peers, 1, __ATOMIC_SEQ_CST);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
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
	if (stop)
		return 3;
	return rv == NNG_ETIMEDOUT ? 2 : 1;
}

int main(int argc, char **argv)
{
	int count = 0, timeout = 30, hold = 0, want = 0, opt, rv, i;
	const char *msg[MAXMSGS];
	struct sigaction sa;
	nng_socket s;
	long long end;
	int nmsg = 0;

	while ((opt = getopt(argc, argv, "b:c:P:s:n:t:H:")) != -1) {
		switch (opt) {
		case 'b':
		case 'c':
			break;
		case 'P':
			want = atoi(optarg);
			break;
		case 's':
			if (nmsg == MAXMSGS)
				usage();
			msg[nmsg++] = optarg;
			break;
		case 'n':
			count = atoi(optarg);
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
	if (optind != argc || count < 0 || timeout < 1 || hold < 0 || want < 0)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((rv = nng_bus0_open(&s)))
		return fail("nng_bus0_open", rv);
	if ((rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, on_pipe, NULL)) ||
	    (rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, on_pipe, NULL)))
		return fail("nng_pipe_notify", rv);
	if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout * 1000)) ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, timeout * 1000)))
		return fail("timeouts", rv);
	optind = 0;	/* glibc: start the scan afresh */
	while ((opt = getopt(argc, argv, "b:c:P:s:n:t:H:")) != -1) {
		if (opt == 'b' && (rv = nng_listen(s, optarg, NULL, 0)))
			return fail(optarg, rv);
		if (opt == 'c' &&
		    (rv = nng_dial(s, optarg, NULL, NNG_FLAG_NONBLOCK)))
			return fail(optarg, rv);
	}

	end = now_ms() + timeout * 1000LL;
	while (__atomic_load_n(&peers, __ATOMIC_SEQ_CST) < want) {
		if (stop)
			return 3;
		if (now_ms() >= end) {
			fprintf(stderr, "nng_bus: %d of %d peers\n", peers, want);
			return 2;
		}
		usleep(10000);
	}
	for (i = 0; i < nmsg; i++)
		if ((rv = nng_send(s, (void *)msg[i], strlen(msg[i]), 0)))
			return fail("nng_send", rv);
	for (i = 0; i < count; i++) {
		char *buf;
		size_t len;

		rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC);
		if (rv == NNG_EINTR && !stop) {
			i--;
			continue;
		}
		if (rv)
			return fail("nng_recv", rv);
		if (fwrite(buf, 1, len, stdout) != len || putchar('\n') == EOF ||
		    fflush(stdout))
			return 1;
		nng_free(buf, len);
	}
	end = now_ms() + hold * 1000LL;
	while (!stop && now_ms() < end)
		usleep(20000);
	/* Let what was sent go out before the socket goes. */
	usleep(100000);
	nng_close(s);
	return 0;
}
