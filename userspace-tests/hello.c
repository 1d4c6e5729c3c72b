// SPDX-License-Identifier: GPL-2.0
/*
 * The SP paper's Hello World, in the order that only a message socket allows:
 * the REQ client starts before any server exists.  connect() to a port where
 * nobody listens must return 0 at once, and send() of "Hello" (6 bytes with
 * the NUL) must succeed at once because the message is queued.  Only then
 * does a REP server (a child process) bind the port; it must receive exactly
 * "Hello\0" and answer "World\0", and the client must receive exactly that
 * reply.
 */
#include "sp_test.h"

#define PORT		24100
#define QUICK_MS	5000	/* "at once", allowing for a slow emulated guest */

/* The REP server: exit 0 if it got "Hello\0" and sent "World\0". */
static int rep_server(int hold_fd)
{
	char c;
	int s = sp_open(SOCK_REP, 0);

	sp_timeouts(s, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(s, PORT)) {
		tap_diag("rep: bind 127.0.0.1:%d: %s", PORT, strerror(errno));
		return 2;
	}
	if (!sp_expect(s, "Hello", 6, "rep: request"))
		return 3;
	if (!sp_send_all(s, "World", 6, "rep: reply"))
		return 4;
	/* Stay up until the client has its answer (the parent closes the pipe). */
	while (read(hold_fd, &c, 1) > 0)
		;
	close(s);
	return 0;
}

int main(void)
{
	int req, rc, hold[2];
	long long t0, dt;
	ssize_t n;
	pid_t pid;

	tap_plan(4);
	tap_watchdog(120);

	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(req, sp_wait_ms(), QUICK_MS);

	t0 = tap_now_ms();
	rc = sp_connect4(req, PORT);
	dt = tap_now_ms() - t0;
	if (rc)
		tap_diag("connect: %s", strerror(errno));
	tap_ok(rc == 0 && dt < QUICK_MS,
	       "connect() to 127.0.0.1:%d with no server returns 0 at once (%lld ms)",
	       PORT, dt);

	t0 = tap_now_ms();
	n = send(req, "Hello", 6, 0);
	dt = tap_now_ms() - t0;
	if (n < 0)
		tap_diag("send: %s", strerror(errno));
	tap_ok(n == 6 && dt < QUICK_MS,
	       "send(\"Hello\", 6) with no server is queued and returns 6 at once (%lld ms)",
	       dt);

	if (pipe(hold))
		tap_bail("pipe: %s", strerror(errno));
	pid = tap_fork(90);
	if (pid == 0) {
		close(hold[1]);
		close(req);
		_exit(rep_server(hold[0]));
	}
	close(hold[0]);

	tap_ok(sp_expect(req, "World", 6, "req: reply"),
	       "REQ receives exactly \"World\\0\" from the late REP server");
	close(hold[1]);

	rc = tap_wait_child(pid, sp_wait_ms());
	if (rc)
		tap_diag("rep server exit status %d (%s)", rc,
			 "2 bind, 3 wrong request, 4 reply failed, 98 no socket, 100 watchdog");
	tap_ok(rc == 0,
	       "REP server bound after the send, received exactly \"Hello\\0\" and replied");

	close(req);
	return tap_done();
}
