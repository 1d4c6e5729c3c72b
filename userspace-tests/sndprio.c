// SPDX-License-Identifier: GPL-2.0
/*
 * Failover by send priority (SP_SNDPRIO), the SP paper's story: a REQ dials
 * server A with priority 1 and server B with priority 2 (each a REP in its own
 * process).  Requests go to A only while A is up, to B while A is down, and
 * to A again once it is back; a request A took when it died is resent to B at
 * once, not after SP_RESEND_IVL (60 s).
 */
#include <sys/wait.h>
#include "sp_test.h"

#define PORT_A		28100
#define PORT_B		28101

/* A REP on @port answering "<name>:<request>"; with @hold, it reports the
 * first request on @report and never answers. */
static int server(char name, int port, int hold, int report)
{
	char buf[64], out[80];
	int s = sp_open(SOCK_REP, 0), n;

	sp_timeouts(s, 600000, sp_wait_ms());
	if (sp_bind4_retry(s, port, sp_wait_ms()))
		return 2;
	for (;;) {
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0)
			return 3;
		if (hold) {
			if (write(report, "h", 1) != 1)
				return 4;
			for (;;)
				pause();
		}
		n = snprintf(out, sizeof(out), "%c:%.*s", name, n, buf);
		if (send(s, out, n, 0) != n)
			return 5;
	}
}

static pid_t start(char name, int port, int hold, int report)
{
	pid_t pid = tap_fork(170);

	if (pid == 0)
		_exit(server(name, port, hold, report));
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* One request; returns the letter of the server that answered, or 0. */
static char ask(int req, int k)
{
	char msg[32], buf[64];
	int n = snprintf(msg, sizeof(msg), "req-%d", k), m;

	if (send(req, msg, n, 0) != n)
		return 0;
	m = recv(req, buf, sizeof(buf), 0);
	if (m != n + 2 || buf[1] != ':' || memcmp(buf + 2, msg, n))
		return 0;
	return buf[0];
}

/* Requests until @want answers (it is connected); returns 1 if it did. */
static int until_answered_by(int req, char want, int *k)
{
	long long deadline = tap_now_ms() + sp_wait_ms();

	while (tap_now_ms() < deadline)
		if (ask(req, (*k)++) == want)
			return 1;
		else
			usleep(50000);
	return 0;
}

/* @n requests; returns how many @want answered. */
static int count_answers(int req, char want, int n, int *k)
{
	int i, got = 0;

	for (i = 0; i < n; i++)
		got += ask(req, (*k)++) == want;
	return got;
}

/* Once @want answers (it is connected), all of @n more requests go to it. */
static void all_to(int req, char want, int n, int *k, const char *when)
{
	int got;

	tap_ok(until_answered_by(req, want, k), "%s: %c answers", when, want);
	got = count_answers(req, want, n, k);
	tap_ok(got == n, "%s: all of %d requests go to %c (%d)", when, n, want,
	       got);
}

int main(void)
{
	int req, k = 0, prio = 0, rep[2], got;
	pid_t a, b;
	long long t0;

	tap_plan(10);
	tap_watchdog(180);

	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	sp_set_int(req, SOL_SP, SP_RECONNECT_IVL_MAX, 200);
	sp_set_int(req, SOL_SP, SP_SNDPRIO, 1);
	if (sp_connect4(req, PORT_A))
		tap_bail("connect A: %s", strerror(errno));
	sp_set_int(req, SOL_SP, SP_SNDPRIO, 2);
	if (sp_connect4(req, PORT_B))
		tap_bail("connect B: %s", strerror(errno));
	got = sp_get_int(req, SOL_SP, SP_SNDPRIO, &prio);
	tap_ok(!got && prio == 2, "SP_SNDPRIO reads back 2 (%d)", prio);

	b = start('B', PORT_B, 0, -1);
	all_to(req, 'B', 5, &k, "A (priority 1) down");
	a = start('A', PORT_A, 0, -1);
	all_to(req, 'A', 20, &k, "A up, B (priority 2) too");
	stop(a);
	got = count_answers(req, 'B', 10, &k);
	tap_ok(got == 10, "A killed: all of 10 requests answered by B (%d)", got);
	a = start('A', PORT_A, 0, -1);
	all_to(req, 'A', 10, &k, "A restarted");
	stop(a);

	/* A holds a request and dies with it. */
	if (pipe(rep))
		tap_bail("pipe: %s", strerror(errno));
	a = start('A', PORT_A, 1, rep[1]);
	got = 0;
	t0 = tap_now_ms() + sp_wait_ms();
	while (!got && tap_now_ms() < t0) {
		char msg[32], buf[64];
		int n = snprintf(msg, sizeof(msg), "req-%d", k++), m;

		if (send(req, msg, n, 0) != n)
			break;
		if (sp_wait_byte(rep[0], 300) == 'h') {
			got = 1;
			stop(a);
			t0 = tap_now_ms();
			m = recv(req, buf, sizeof(buf), 0);
			t0 = tap_now_ms() - t0;
			tap_ok(m == n + 2 && buf[0] == 'B' && !memcmp(buf + 2, msg, n),
			       "the request A held when killed is answered by B (%s)",
			       sp_show(buf, m));
			tap_ok(t0 < 10000,
			       "resent at once, not after SP_RESEND_IVL 60 s (%lld ms)",
			       t0);
		} else if (recv(req, buf, sizeof(buf), 0) < 0) {
			break;
		}
	}
	if (!got) {
		tap_ok(0, "A took a request to hold");
		tap_ok(0, "(skipped: nothing held)");
		stop(a);
	}
	stop(b);
	close(req);
	return tap_failed != 0;
}
