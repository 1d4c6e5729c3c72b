// SPDX-License-Identifier: GPL-2.0
/*
 * One REQ socket in front of several REP servers: the REQ connect()s to three
 * ports, each served by its own REP process, and sends many requests one
 * after the other.  Every request must get exactly its own answer (each
 * server replies "repK:" followed by the request, so a lost, duplicated or
 * misrouted reply shows), the requests must be load-balanced so that every
 * server answers some of them, and no server may die on the way.
 */
#include "sp_test.h"

#define PORT		24200
#define NSERVERS	3
#define NREQ		30

/* Answer requests forever with "rep<k>:" + request; the parent kills us. */
static int rep_server(int k, int ready_fd)
{
	char buf[256], out[300];
	int s = sp_open(SOCK_REP, 0);
	ssize_t n;

	sp_timeouts(s, 600 * 1000, sp_wait_ms());
	if (sp_bind4(s, PORT + k)) {
		tap_diag("rep%d: bind 127.0.0.1:%d: %s", k, PORT + k,
			 strerror(errno));
		return 2;
	}
	if (write(ready_fd, "r", 1) != 1)
		return 2;
	for (;;) {
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0) {
			tap_diag("rep%d: recv: %s", k, strerror(errno));
			return 3;
		}
		n = snprintf(out, sizeof(out), "rep%d:%.*s", k, (int)n, buf);
		if (!sp_send_all(s, out, n, "rep reply"))
			return 4;
	}
}

/* Wait until @n children wrote their ready byte to @fd. */
static int wait_ready(int fd, int n)
{
	long long deadline = tap_now_ms() + sp_wait_ms();

	while (n > 0) {
		int left = deadline - tap_now_ms();

		if (left <= 0 || sp_wait_byte(fd, left) < 0)
			return 0;
		n--;
	}
	return 1;
}

int main(void)
{
	int req, k, i, rc, answered = 0, bad = 0, conn_ok = 1;
	int count[NSERVERS] = { 0 }, alive = 0, ready[2];
	pid_t pid[NSERVERS];
	char msg[64], buf[256], *colon;
	ssize_t n;

	tap_plan(4 + NSERVERS);
	tap_watchdog(240);

	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());

	if (pipe(ready))
		tap_bail("pipe: %s", strerror(errno));
	for (k = 0; k < NSERVERS; k++) {
		pid[k] = tap_fork(220);
		if (pid[k] == 0) {
			close(req);
			close(ready[0]);
			_exit(rep_server(k, ready[1]));
		}
	}
	close(ready[1]);
	if (!wait_ready(ready[0], NSERVERS))
		tap_diag("not all REP servers reported a successful bind");

	for (k = 0; k < NSERVERS; k++) {
		if (sp_connect4(req, PORT + k)) {
			tap_diag("connect to port %d: %s", PORT + k,
				 strerror(errno));
			conn_ok = 0;
		}
	}
	tap_ok(conn_ok, "one REQ socket connect()s to %d ports", NSERVERS);

	/* Give every dialer time to connect, so all peers can take requests. */
	sleep(2);

	for (i = 0; i < NREQ; i++) {
		int len = snprintf(msg, sizeof(msg), "request-%d", i);

		if (!sp_send_all(req, msg, len, "req")) {
			bad++;
			continue;
		}
		n = recv(req, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			tap_diag("request %d: recv: %s", i, strerror(errno));
			bad++;
			if (sp_is_again(errno))
				break;	/* stop waiting 20 s per request */
			continue;
		}
		buf[n] = '\0';
		colon = strchr(buf, ':');
		if (sscanf(buf, "rep%d:", &k) != 1 || k < 0 || k >= NSERVERS ||
		    !colon || strcmp(colon + 1, msg)) {
			tap_diag("request %d: unexpected reply %s", i,
				 sp_show(buf, n));
			bad++;
			continue;
		}
		count[k]++;
		answered++;
	}
	tap_diag("answers per server: %d %d %d", count[0], count[1], count[2]);
	tap_ok(answered == NREQ && !bad,
	       "all %d sequential requests got their own answer (%d did)",
	       NREQ, answered);
	for (k = 0; k < NSERVERS; k++)
		tap_ok(count[k] > 0,
		       "server %d (port %d) answered some requests (%d)",
		       k, PORT + k, count[k]);

	i = 0;
	for (k = 0; k < NSERVERS; k++)
		i += count[k] <= NREQ / 2;
	tap_ok(answered && i == NSERVERS,
	       "no server took more than half of the requests (round-robin)");

	for (k = 0; k < NSERVERS; k++) {
		int status = 0;

		rc = waitpid(pid[k], &status, WNOHANG);
		if (rc == 0) {
			alive++;
			continue;
		}
		tap_forget_child(pid[k]);
		tap_diag("server %d exited early (wait status 0x%x)", k, status);
	}
	tap_ok(alive == NSERVERS, "all %d REP servers are still running",
	       NSERVERS);

	close(req);
	return tap_done();
}
