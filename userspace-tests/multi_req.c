// SPDX-License-Identifier: GPL-2.0
/*
 * Many REQ clients on one REP server: ten client processes each connect to
 * the same REP socket and, all at the same moment, send a series of requests
 * that name the client and the round.  The server answers every request with
 * "echo:" plus the request, so each client can check that every reply it got
 * is the answer to its own request: the REP socket must route each reply
 * back to the pipe the request came from (the backtrace), never to another
 * client, and must not lose requests that queue up while it is busy.
 */
#include "sp_test.h"

#define PORT		24300
#define NCLIENTS	10
#define ROUNDS		5

/* One client: exit 0 if every reply matched its own request. */
static int client(int k, int go_fd)
{
	char msg[64], exp[80], c;
	int s = sp_open(SOCK_REQ, 0), j;

	sp_timeouts(s, sp_wait_ms(), sp_wait_ms());
	if (sp_connect4(s, PORT)) {
		tap_diag("client %d: connect: %s", k, strerror(errno));
		return 2;
	}
	/* Start all together, so the server has requests from many pipes queued. */
	while (read(go_fd, &c, 1) > 0)
		;
	for (j = 0; j < ROUNDS; j++) {
		int len = snprintf(msg, sizeof(msg), "client-%d-msg-%d", k, j);
		int elen = snprintf(exp, sizeof(exp), "echo:%s", msg);
		char what[32];

		snprintf(what, sizeof(what), "client %d round %d", k, j);
		if (!sp_send_all(s, msg, len, what))
			return 3;
		if (!sp_expect(s, exp, elen, what))
			return 4;
	}
	close(s);
	return 0;
}

int main(void)
{
	int rep, k, rc, served = 0, go[2];
	pid_t pid[NCLIENTS];
	char buf[256], out[300];
	ssize_t n;

	tap_plan(2 + NCLIENTS);
	tap_watchdog(300);

	rep = sp_open(SOCK_REP, 0);
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	rc = sp_bind4(rep, PORT);
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	tap_ok(rc == 0, "REP binds 127.0.0.1:%d", PORT);

	if (pipe(go))
		tap_bail("pipe: %s", strerror(errno));
	for (k = 0; k < NCLIENTS; k++) {
		pid[k] = tap_fork(280);
		if (pid[k] == 0) {
			close(rep);
			close(go[1]);
			_exit(client(k, go[0]));
		}
	}
	close(go[0]);
	close(go[1]);	/* go! */

	while (served < NCLIENTS * ROUNDS) {
		n = recv(rep, buf, sizeof(buf), 0);
		if (n < 0) {
			tap_diag("REP recv after %d requests: %s", served,
				 strerror(errno));
			break;
		}
		n = snprintf(out, sizeof(out), "echo:%.*s", (int)n, buf);
		if (!sp_send_all(rep, out, n, "REP reply"))
			break;
		served++;
	}
	tap_ok(served == NCLIENTS * ROUNDS,
	       "REP received and answered all %d requests of %d clients (%d)",
	       NCLIENTS * ROUNDS, NCLIENTS, served);

	for (k = 0; k < NCLIENTS; k++) {
		rc = tap_wait_child(pid[k], sp_wait_ms());
		if (rc)
			tap_diag("client %d exit status %d (%s)", k, rc,
				 "2 connect, 3 send, 4 wrong/missing reply, 98 no socket, 100 watchdog");
		tap_ok(rc == 0, "client %d got the answers to its own %d requests",
		       k, ROUNDS);
	}

	close(rep);
	return tap_done();
}
