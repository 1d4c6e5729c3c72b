// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel resends a request whose server died.  A REQ with SP_RESEND_IVL
 * set to 1000 ms gets its first request answered by server A (a child
 * process).  Server A receives the second request and is SIGKILLed before
 * answering it.  Server B, a new process, binds the same port; the REQ must
 * then receive server B's answer to the second request, although the
 * application never sent it again: the socket resent it by itself.
 */
#include "sp_test.h"

#define PORT		24800
#define RESEND_MS	1000

/* Server A: answer the first request, take the second, then hang. */
static int server_a(int report_fd)
{
	char buf[64], out[80];
	int s = sp_open(SOCK_REP, 0), n;

	sp_timeouts(s, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4_retry(s, PORT, sp_wait_ms())) {
		tap_diag("server A: bind 127.0.0.1:%d: %s", PORT, strerror(errno));
		return 2;
	}
	for (;;) {
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0) {
			tap_diag("server A: recv: %s", strerror(errno));
			return 3;
		}
		if (n == 5 && !memcmp(buf, "req-2", 5))
			break;
		/* "req-1", or a resend of it if our answer was slow. */
		n = snprintf(out, sizeof(out), "A:%.*s", n, buf);
		if (!sp_send_all(s, out, n, "server A reply"))
			return 4;
	}
	tap_diag("server A: got \"req-2\", will die without answering");
	if (write(report_fd, "g", 1) != 1)
		return 6;
	for (;;)
		pause();	/* until SIGKILL */
}

/* Server B: bind the same port, answer "B:" + the request, hold. */
static int server_b(int hold_fd)
{
	char buf[64], out[80], c;
	int s = sp_open(SOCK_REP, 0), n;

	sp_timeouts(s, 2 * sp_wait_ms(), sp_wait_ms());
	if (sp_bind4_retry(s, PORT, sp_wait_ms())) {
		tap_diag("server B: bind 127.0.0.1:%d: %s", PORT, strerror(errno));
		return 2;
	}
	n = recv(s, buf, sizeof(buf), 0);
	if (n < 0) {
		tap_diag("server B: recv: %s", strerror(errno));
		return 3;
	}
	if (n != 5 || memcmp(buf, "req-2", 5)) {
		tap_diag("server B: got %s, expected \"req-2\"", sp_show(buf, n));
		return 4;
	}
	n = snprintf(out, sizeof(out), "B:%.*s", n, buf);
	if (!sp_send_all(s, out, n, "server B reply"))
		return 5;
	while (read(hold_fd, &c, 1) > 0)
		;
	close(s);
	return 0;
}

int main(void)
{
	int req, rc, ivl = 0, pa[2], pb[2], status;
	pid_t a, b;
	long long t0;

	tap_plan(6);
	tap_watchdog(240);

	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	rc = sp_set_int(req, SOL_SP, SP_RESEND_IVL, RESEND_MS);
	if (rc)
		tap_diag("setsockopt(SP_RESEND_IVL): %s", strerror(errno));
	sp_get_int(req, SOL_SP, SP_RESEND_IVL, &ivl);
	tap_ok(rc == 0 && ivl == RESEND_MS, "REQ accepts SP_RESEND_IVL = %d ms",
	       RESEND_MS);

	if (pipe(pa) || pipe(pb))
		tap_bail("pipe: %s", strerror(errno));
	a = tap_fork(200);
	if (a == 0) {
		close(req);
		close(pa[0]);
		_exit(server_a(pa[1]));
	}
	close(pa[1]);
	if (sp_connect4(req, PORT))
		tap_bail("connect: %s", strerror(errno));

	sp_send_all(req, "req-1", 5, "REQ send");
	tap_ok(sp_expect(req, "A:req-1", 7, "REQ"),
	       "server A answers the first request");

	sp_send_all(req, "req-2", 5, "REQ send");
	rc = sp_wait_byte(pa[0], sp_wait_ms());
	tap_ok(rc == 'g', "server A receives the second request");

	kill(a, SIGKILL);
	rc = waitpid(a, &status, 0);
	tap_forget_child(a);
	tap_ok(rc == a && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "server A is SIGKILLed without answering it");

	t0 = tap_now_ms();
	b = tap_fork(200);
	if (b == 0) {
		close(req);
		close(pa[0]);
		close(pb[1]);
		_exit(server_b(pb[0]));
	}
	close(pb[0]);
	sp_timeo(req, SO_RCVTIMEO, 2 * sp_wait_ms());
	rc = sp_expect(req, "B:req-2", 7, "REQ");
	tap_ok(rc,
	       "REQ gets server B's answer to the second request without sending it again (%lld ms)",
	       tap_now_ms() - t0);
	close(pb[1]);

	rc = tap_wait_child(b, sp_wait_ms());
	if (rc)
		tap_diag("server B exit status %d (%s)", rc,
			 "2 bind, 3 no request, 4 wrong request, 5 reply failed, 98 no socket, 100 watchdog");
	tap_ok(rc == 0, "server B bound the same port and got exactly \"req-2\"");

	close(pa[0]);
	close(req);
	return tap_done();
}
