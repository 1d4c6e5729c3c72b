// SPDX-License-Identifier: GPL-2.0
/*
 * Peers killed and restarted mid-stream lose nothing for REQ/REP: a REQ user
 * sees every request it sent answered exactly once, with its own answer.
 * restart.c covers one REP killed once; here it happens again and again, in
 * every direction:
 *
 * - REP servers (child processes) SIGKILLed every few requests of a stream
 *   of numbered requests and restarted on the same port: one REQ dialing one
 *   REP; one REQ dialing two REPs, killed in turn; two REQs that bind and a
 *   REP that dials them.  Every other kill hits the server that has taken a
 *   request and hangs without answering it (the request must be resent to
 *   the next server); the others come at a random moment, with the request
 *   on its way there or the answer on its way back.  The REQ (SP_RESEND_IVL
 *   200 ms) must get each answer once: all requests complete, no stale or
 *   duplicate reply is ever delivered, and nothing is left queued after the
 *   last one.
 * - REQ clients (child processes) SIGKILLed while the REP keeps running, with
 *   a request taken and not yet answered or with its answer on the way, and
 *   a new client started: the REP's answers to the dead client go nowhere
 *   (send still succeeds), every client sees only its own answers, and each
 *   new client is served.  Once with the REQ dialing a bound REP, once with
 *   the REQ bound and the REP dialing it.
 */
#include <sys/mman.h>

#include "sp_test.h"

#define PORT		27700	/* 27700..27799 */
#define RESEND_MS	200
#define RECONNECT_MAX	100
#define ROUNDS		40	/* requests per REQ when REPs are killed */
#define KILL_EVERY	8
#define GENS		5	/* REQ processes when REQs are killed */
#define PER_GEN		20	/* requests of each REQ process */

#define MAXSOCK		2

/* Open a REQ or REP with the test's timeouts and short backoffs. */
static int sp_peer(int type)
{
	int s = sp_open(type, 0);

	sp_timeouts(s, sp_wait_ms(), sp_wait_ms());
	if (sp_set_int(s, SOL_SP, SP_RECONNECT_IVL_MAX, RECONNECT_MAX) ||
	    (type == SOCK_REQ && sp_set_int(s, SOL_SP, SP_RESEND_IVL, RESEND_MS)))
		tap_bail("setsockopt: %s", strerror(errno));
	return s;
}

/* Bind @s to every port in @ports, or dial them all; 0 or -1 (logged). */
static int sp_attach(int s, const int *ports, int n, int dial)
{
	int i;

	for (i = 0; i < n; i++) {
		if (dial ? sp_connect4(s, ports[i]) :
			   sp_bind4_retry(s, ports[i], sp_wait_ms())) {
			tap_diag("%s 127.0.0.1:%d: %s", dial ? "connect" : "bind",
				 ports[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * Rounds at which a server hangs: every other kill round.  Whichever server
 * takes such a round's request first claims it in shared memory and hangs;
 * the copy the REQ resends elsewhere is answered.  Which of two servers gets
 * a request depends on the order their connections completed, so the victim
 * of such a kill is the one that hung.
 */
static int *hang_claims;	/* ROUNDS flags, shared with the servers */

static int hang_round(int num)
{
	return num >= 0 && num < ROUNDS && num % KILL_EVERY == KILL_EVERY / 2 &&
	       num / KILL_EVERY % 2 == 0;
}

/*
 * A REP server, generation @gen: answers "<request>" with
 * "ans:<request>|<gen>" until killed.  The first request of a hang round
 * (see hang_claims) is taken and not answered: the server reports 'h' on
 * @report_fd and waits to die.
 * Exit 2: no socket endpoint, 3: recv failed, 4: send failed.
 */
static int rep_server(const int *ports, int n, int dial, int gen, int report_fd)
{
	char buf[128], out[160];
	int s = sp_peer(SOCK_REP), num, len;

	sp_timeo(s, SO_RCVTIMEO, 4 * sp_wait_ms());
	if (sp_attach(s, ports, n, dial))
		return 2;
	for (;;) {
		len = recv(s, buf, sizeof(buf) - 1, 0);
		if (len < 0) {
			tap_diag("server %d: recv: %s", gen, strerror(errno));
			return 3;
		}
		buf[len] = 0;
		if (sscanf(buf, "%*[^-]-%d", &num) == 1 && hang_round(num) &&
		    !__atomic_exchange_n(&hang_claims[num], 1, __ATOMIC_SEQ_CST)) {
			if (write(report_fd, "h", 1) != 1)
				return 4;
			for (;;)
				pause();
		}
		len = snprintf(out, sizeof(out), "ans:%s|%d", buf, gen);
		if (!sp_send_all(s, out, len, "server reply"))
			return 4;
	}
}

struct server {
	pid_t pid;
	int gen, report;	/* the read end of its pipe */
};

static void start_server(struct server *srv, const int *ports, int n, int dial,
			 int gen, const int *keep, int nkeep)
{
	int p[2], i;

	if (pipe(p))
		tap_bail("pipe: %s", strerror(errno));
	srv->gen = gen;
	srv->report = p[0];
	srv->pid = tap_fork(600);
	if (srv->pid == 0) {
		for (i = 0; i < nkeep; i++)
			close(keep[i]);
		close(p[0]);
		_exit(rep_server(ports, n, dial, gen, p[1]));
	}
	close(p[1]);
}

/* SIGKILL a server; 1 if it was still running (it did not die by itself). */
static int kill_server(struct server *srv)
{
	int status;

	if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
		tap_forget_child(srv->pid);
		tap_diag("server %d had already exited with status %d", srv->gen,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		close(srv->report);
		return 0;
	}
	tap_kill_child(srv->pid);
	close(srv->report);
	return 1;
}

/* Which of @n servers reported a hang within @ms; -1 if none did. */
static int wait_hang(struct server *srv, int n, int ms)
{
	struct pollfd pfd[MAXSOCK];
	unsigned char c;
	int k;

	for (k = 0; k < n; k++)
		pfd[k] = (struct pollfd){ .fd = srv[k].report, .events = POLLIN };
	if (poll(pfd, n, ms) < 1)
		return -1;
	for (k = 0; k < n; k++)
		if ((pfd[k].revents & POLLIN) && read(srv[k].report, &c, 1) == 1 && c == 'h')
			return k;
	return -1;
}

/*
 * REP servers killed mid-stream.  @nreq REQs in this process and @nsrv REP
 * servers, one port each on the listening side: the REPs bind and the REQs
 * dial (@rep_dials 0), or the REQs bind and the REPs dial (1).
 */
static void reps_killed(const char *what, int nreq, int nsrv, int rep_dials, int base)
{
	struct server srv[MAXSOCK];
	int req[MAXSOCK], ports[MAXSOCK], gens_seen[64] = { 0 };
	int i, r, k, gen = 0, kills = 0, hung = 0, right = 0, wrong = 0, alive = 1;
	int nports = rep_dials ? nreq : nsrv, gens = 0, leftover = 0;
	long long t0 = tap_now_ms();
	char buf[256], exp[64];

	tap_diag("%s", what);
	for (i = 0; i < nports; i++)
		ports[i] = base + i;
	for (r = 0; r < nreq; r++) {
		req[r] = sp_peer(SOCK_REQ);
		if (rep_dials ? sp_attach(req[r], &ports[r], 1, 0) :
				sp_attach(req[r], ports, nports, 1))
			tap_bail("REQ endpoint");
	}
	/*
	 * Kill number k comes at round KILL_EVERY * k + KILL_EVERY / 2; for even
	 * k it hits the server that hung on that round's request, otherwise
	 * server k % nsrv at a random moment.
	 */
	memset(hang_claims, 0, ROUNDS * sizeof(*hang_claims));
	for (k = 0; k < nsrv; k++)
		start_server(&srv[k], rep_dials ? ports : &ports[k],
			     rep_dials ? nports : 1, rep_dials, gen++, req, nreq);

	for (i = 0; i < ROUNDS; i++) {
		for (r = 0; r < nreq; r++) {
			int len = snprintf(buf, sizeof(buf), "r%d-%d", r, i);

			if (!sp_send_all(req[r], buf, len, "REQ send"))
				wrong++;
		}
		if (i % KILL_EVERY == KILL_EVERY / 2) {
			struct server *victim = &srv[kills % nsrv];

			if (hang_round(i)) {
				int h = wait_hang(srv, nsrv, sp_wait_ms());

				if (h >= 0) {
					victim = &srv[h];
					hung++;
				} else {
					tap_diag("no server hung on request %d", i);
				}
			} else {
				usleep(rand() % 40000);
			}
			alive &= kill_server(victim);
			start_server(victim, rep_dials ? ports : &ports[victim - srv],
				     rep_dials ? nports : 1, rep_dials, gen++, req, nreq);
			kills++;
		}
		for (r = 0; r < nreq; r++) {
			ssize_t n = recv(req[r], buf, sizeof(buf) - 1, 0);
			int elen = snprintf(exp, sizeof(exp), "ans:r%d-%d|", r, i);
			int g;

			if (n < 0) {
				tap_diag("REQ %d request %d: recv: %s", r, i, strerror(errno));
				wrong++;
				continue;
			}
			buf[n] = 0;
			if (n > elen && !memcmp(buf, exp, elen) &&
			    sscanf(buf + elen, "%d", &g) == 1 && g >= 0 && g < gen) {
				right++;
				if (g < (int)ARRAY_SIZE(gens_seen))
					gens_seen[g]++;
			} else {
				tap_diag("REQ %d request %d: got %s", r, i, sp_show(buf, n));
				wrong++;
			}
		}
	}
	for (r = 0; r < nreq; r++) {
		ssize_t n = recv(req[r], buf, sizeof(buf), MSG_DONTWAIT);

		if (n >= 0 || errno != EPROTO) {
			tap_diag("REQ %d after the last reply: %s", r,
				 n >= 0 ? sp_show(buf, n) : sp_errname(errno));
			leftover++;
		}
	}
	for (k = 0; k < nsrv; k++)
		alive &= kill_server(&srv[k]);
	for (r = 0; r < nreq; r++)
		close(req[r]);
	for (k = 0; k < gen && k < (int)ARRAY_SIZE(gens_seen); k++)
		gens += gens_seen[k] > 0;
	tap_diag("%d kills (%d with a request taken and unanswered), %d of %d server generations answered, %lld ms",
		 kills, hung, gens, gen, tap_now_ms() - t0);

	tap_ok(right == nreq * ROUNDS && !wrong,
	       "%s: all %d requests answered, each with its own answer (%d wrong or missing)",
	       what, nreq * ROUNDS, wrong);
	tap_ok(!leftover, "%s: no stale or duplicate reply is left after the last one",
	       what);
	tap_ok(alive && kills == ROUNDS / KILL_EVERY && hung >= 1 &&
	       gens >= (nsrv == 1 ? gen : kills / 2 + 1),
	       "%s: %d servers SIGKILLed mid-stream (%d holding an unanswered request) and restarted; the restarted ones answered",
	       what, kills, hung);
}

/*
 * A REQ client process, generation @gen: PER_GEN requests "g<gen>-<i>", each
 * reply must be "ans:g<gen>-<i>"; reports 'k' per right reply, 'x' for a
 * wrong one (and exits 4), exits 3 on a failed recv, 0 when done.
 */
static int req_client(int port, int binds, int gen, int report_fd)
{
	char buf[128], exp[64], msg[64];
	int s = sp_peer(SOCK_REQ), i;

	if (sp_attach(s, &port, 1, !binds))
		return 2;
	for (i = 0; i < PER_GEN; i++) {
		int len = snprintf(msg, sizeof(msg), "g%d-%d", gen, i);
		int elen = snprintf(exp, sizeof(exp), "ans:%s", msg);
		ssize_t n;

		if (!sp_send_all(s, msg, len, "client send"))
			return 3;
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0) {
			tap_diag("client %d request %d: recv: %s", gen, i, strerror(errno));
			return 3;
		}
		if (n != elen || memcmp(buf, exp, elen)) {
			tap_diag("client %d request %d: got %s", gen, i, sp_show(buf, n));
			if (write(report_fd, "x", 1) != 1)
				return 4;
			return 4;
		}
		if (write(report_fd, "k", 1) != 1)
			return 4;
	}
	close(s);
	return 0;
}

/* Count a client's reports until it has gone (EOF) or @ms pass. */
static void drain(int fd, int ms, int *good, int *bad)
{
	int c;

	while ((c = sp_wait_byte(fd, ms)) >= 0) {
		*good += c == 'k';
		*bad += c != 'k';
	}
	close(fd);
}

/*
 * REQ clients killed while the REP (here) keeps running.  Client generation g
 * (all but the last) is killed at its request kill_at = 4 + 3g: with the
 * request taken and not yet answered (even kill_at; the REP answers after
 * the client is dead) or just after the REP answered it (odd kill_at).
 */
static void reqs_killed(const char *what, int req_binds, int port)
{
	int rep = sp_peer(SOCK_REP), g, bad = 0, wrong = 0, send_fail = 0;
	int last_rc = -1, short_gens = 0;
	long long t0 = tap_now_ms();
	uint64_t drops = 0;
	socklen_t dlen = sizeof(drops);

	tap_diag("%s", what);
	if (sp_attach(rep, &port, 1, req_binds))
		tap_bail("REP endpoint");
	for (g = 0; g < GENS; g++) {
		int p[2], kill_at = g < GENS - 1 ? 4 + 3 * g : -1, good = 0;
		pid_t pid;

		if (pipe(p))
			tap_bail("pipe: %s", strerror(errno));
		pid = tap_fork(600);
		if (pid == 0) {
			close(rep);
			close(p[0]);
			_exit(req_client(port, req_binds, g, p[1]));
		}
		close(p[1]);
		for (;;) {
			char buf[128], out[160];
			ssize_t n = recv(rep, buf, sizeof(buf) - 1, 0);
			int rg, ri, len, killed = 0;

			if (n < 0) {
				tap_diag("REP recv: %s", strerror(errno));
				break;
			}
			buf[n] = 0;
			if (sscanf(buf, "g%d-%d", &rg, &ri) != 2) {
				tap_diag("REP got %s", sp_show(buf, n));
				bad++;
				continue;
			}
			if (rg == g && ri == kill_at && kill_at % 2 == 0) {
				/* Taken; the client dies before its answer. */
				tap_kill_child(pid);
				killed = 1;
			}
			len = snprintf(out, sizeof(out), "ans:%s", buf);
			if (send(rep, out, len, 0) != len) {
				tap_diag("REP send to client %d: %s", rg, strerror(errno));
				send_fail++;
			}
			if (rg == g && ri == kill_at) {
				if (!killed)
					tap_kill_child(pid);
				break;
			}
			if (rg == g && ri == PER_GEN - 1)
				break;
		}
		if (kill_at < 0)
			last_rc = tap_wait_child(pid, sp_wait_ms());
		drain(p[0], sp_wait_ms(), &good, &wrong);
		/* All answers up to the kill; with odd kill_at maybe that one too. */
		if (kill_at < 0 ? good != PER_GEN :
		    good != kill_at && !(kill_at % 2 && good == kill_at + 1)) {
			tap_diag("client %d got %d answers (killed at request %d)", g,
				 good, kill_at);
			short_gens++;
		}
	}
	if (getsockopt(rep, SOL_SP, SP_DROPS, &drops, &dlen))
		tap_diag("SP_DROPS: %s", strerror(errno));
	close(rep);
	tap_diag("%d clients, %d killed, %lld ms; SP_DROPS %llu", GENS, GENS - 1,
		 tap_now_ms() - t0, (unsigned long long)drops);

	tap_ok(!bad && !wrong, "%s: every client gets only its own answers", what);
	tap_ok(!short_gens && last_rc == 0,
	       "%s: each killed client had every answer up to its kill, each new one is served, the last all %d",
	       what, PER_GEN);
	tap_ok(!send_fail, "%s: the REP's answers to a killed client are sent without error",
	       what);
}

int main(void)
{
	const int base = PORT;

	tap_plan(15);
	tap_watchdog(600);
	srand(4);
	hang_claims = mmap(NULL, ROUNDS * sizeof(*hang_claims), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (hang_claims == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));

	reps_killed("one REQ dials one REP, the REP is killed and restarted",
		    1, 1, 0, base);
	reps_killed("one REQ dials two REPs, killed and restarted in turn",
		    1, 2, 0, base + 10);
	reps_killed("two REQs bind, one REP dials them, killed and restarted",
		    2, 1, 1, base + 20);
	reqs_killed("a REQ dials a REP and is killed and restarted", 0, base + 30);
	reqs_killed("a REQ binds, the REP dials it; the REQ is killed and restarted",
		    1, base + 40);
	return tap_done();
}
