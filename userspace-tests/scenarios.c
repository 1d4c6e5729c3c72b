// SPDX-License-Identifier: GPL-2.0
/*
 * What users build from the new socket types, with processes as they would:
 *
 *  - Pipeline: one PUSH (bound) feeding 8 PULL workers, each its own process
 *    that connects and reports every message id it receives through a pipe
 *    at once.  Once SP_PEERS of the PUSH is 8 it sends 4000 numbered
 *    messages: every one is received exactly once by some worker, and each
 *    worker's share is within 25% of 500.
 *  - Worker killed: the same with 8 new workers, messages sent one per
 *    millisecond, and one worker SIGKILLed mid-run.  A message TCP had taken
 *    for the dead worker's connection may be lost with it, nothing else:
 *    no message is received twice (counting what the dead worker reported
 *    before it died), fewer than 1000 are lost, each of them sent before
 *    the PUSH saw the worker gone (SP_PEERS 7), and every message sent after
 *    that is received by a surviving worker.
 *  - Survey: a SURVEYOR (bound, SP_SURVEY_DEADLINE 1000) and 20 RESPONDENT
 *    processes that connect, 3 of them never answering but staying
 *    connected; one survey once SP_PEERS is 20: exactly 17 answers, one from
 *    each answering process; then poll wakes with POLLIN at the deadline (no
 *    earlier than 900 ms after the send) and recv fails with ETIMEDOUT.
 *  - BUS mesh: 5 nodes, each binding its port and connecting to every node
 *    with a higher index (one connection per pair); once each counts 4
 *    peers, each sends one message and an end marker: each node receives
 *    the 4 others' messages exactly once and nothing from itself.
 *
 * Every child is reaped; the watchdog kills them all on a hang.
 */
#include "sp_patterns.h"

#define PORT_PIPE	29200	/* pipeline */
#define PORT_KILL	29201	/* pipeline with a worker killed */
#define PORT_SURVEY	29202	/* 20 respondents */
#define PORT_MESH	29210	/* .. 29214: the BUS nodes */

#define NWORKERS	8
#define NJOBS		4000
#define MSG_SIZE	64
#define SHARE_SLACK	25	/* percent */
#define KILL_AT		1000	/* the worker dies after this many messages */
#define KILL_MIN	2000	/* messages of the killing run, at least */
#define KILL_AFTER	400	/* and at least this many after the PUSH saw it */
#define KILL_MAX	6000	/* and at most this many */
#define PACE_US		1000
#define LOST_MAX	1000
#define NRESP		20
#define NSILENT		3
#define DEADLINE_MS	1000
#define DEADLINE_MIN	900
#define NNODES		5
#define CHILD_SECS	280

#define PIPE_CHECKS	5
#define KILL_CHECKS	7
#define SURVEY_CHECKS	6
#define MESH_CHECKS	(3 + NNODES)

struct worker {
	pid_t pid;
	int idfd;	/* ids it received, 4 bytes each; -1 at EOF */
	int ctlfd;	/* closed by the parent: stop */
	int count;
	int last;	/* the highest id it reported */
	unsigned char part[4];
	int npart;
};

/* Per message id: which worker got it (-1: none), and duplicates. */
static int who[KILL_MAX];
static int dups;
static int distinct;

/* ---- the PULL worker (child) ---- */

static int pull_worker(int k, int port, int idfd, int ctlfd)
{
	int s = pt_open(SOCK_PULL), bad = 0;
	char buf[MSG_SIZE + 256];
	ssize_t n;

	if (sp_connect4(s, port)) {
		tap_diag("worker %d: connect: %s", k, strerror(errno));
		return 2;
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s, .events = POLLIN },
			{ .fd = ctlfd, .events = POLLIN },
		};
		int stop;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 3;
		}
		stop = p[1].revents != 0;
		/* When told to stop, take what is queued first. */
		while ((n = recv(s, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
			long id = pt_number_of(buf, n, MSG_SIZE);
			uint32_t v = id;

			if (id < 0) {
				if (bad++ < 3)
					tap_diag("worker %d: got %s", k, sp_show(buf, n));
				continue;
			}
			if (write(idfd, &v, sizeof(v)) != sizeof(v))
				return 4;
		}
		if (!sp_is_again(errno) && errno != EINTR) {
			tap_diag("worker %d: recv: %s", k, strerror(errno));
			return 5;
		}
		if (stop)
			return bad ? 6 : 0;
	}
}

/* Fork @n workers dialing @port; bails out if a pipe cannot be made. */
static void start_workers(struct worker *w, int n, int port, int push)
{
	int k, i, ids[2], ctl[2];

	for (k = 0; k < n; k++) {
		if (pipe(ids) || pipe(ctl))
			tap_bail("pipe: %s", strerror(errno));
		w[k].pid = tap_fork(CHILD_SECS);
		if (w[k].pid == 0) {
			close(push);
			for (i = 0; i < k; i++) {
				close(w[i].idfd);
				close(w[i].ctlfd);
			}
			close(ids[0]);
			close(ctl[1]);
			_exit(pull_worker(k, port, ids[1], ctl[0]));
		}
		close(ids[1]);
		close(ctl[0]);
		w[k].idfd = ids[0];
		w[k].ctlfd = ctl[1];
		w[k].count = 0;
		w[k].last = -1;
		w[k].npart = 0;
	}
}

static void reset_ids(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(who); i++)
		who[i] = -1;
	dups = 0;
	distinct = 0;
}

/*
 * A fresh round: forget the ids seen, bind @push to @port, fork NWORKERS
 * workers dialing it and wait until they are all its peers; 1 if they are.
 */
static int workers_up(struct worker *w, int push, int port)
{
	reset_ids();
	if (sp_bind4(push, port))
		tap_bail("bind 127.0.0.1:%d: %s", port, strerror(errno));
	start_workers(w, NWORKERS, port, push);
	return pt_wait_peers(push, NWORKERS, "PUSH");
}

static void record(struct worker *w, int k, uint32_t id)
{
	if (id >= ARRAY_SIZE(who)) {
		if (dups++ < 3)
			tap_diag("worker %d reported id %u, never sent", k, id);
		return;
	}
	if (who[id] >= 0) {
		if (dups++ < 5)
			tap_diag("message %u received by worker %d and worker %d",
				 id, who[id], k);
		return;
	}
	who[id] = k;
	distinct++;
	w[k].count++;
	if ((int)id > w[k].last)
		w[k].last = id;
}

/*
 * Read the workers' reports for up to @ms (0: what is there), returning
 * early once @done(w, n, arg) holds.  Returns the number of pipes still open.
 */
static int collect(struct worker *w, int n, int ms,
		   int (*done)(struct worker *, int, int), int arg)
{
	long long deadline = tap_now_ms() + ms;
	struct pollfd p[NWORKERS];
	unsigned char buf[4096];
	int k, open, i;

	for (;;) {
		long long left = deadline - tap_now_ms();

		open = 0;
		for (k = 0; k < n; k++) {
			p[k].fd = w[k].idfd;
			p[k].events = POLLIN;
			p[k].revents = 0;
			open += w[k].idfd >= 0;
		}
		if (!open || (done && done(w, n, arg)))
			return open;
		if (poll(p, n, left > 0 ? (int)left : 0) <= 0) {
			if (left <= 0)
				return open;
			continue;
		}
		for (k = 0; k < n; k++) {
			ssize_t got;

			if (w[k].idfd < 0 || !p[k].revents)
				continue;
			got = read(w[k].idfd, buf, sizeof(buf));
			if (got <= 0) {
				close(w[k].idfd);
				w[k].idfd = -1;
				continue;
			}
			for (i = 0; i < got; i++) {
				w[k].part[w[k].npart++] = buf[i];
				if (w[k].npart == 4) {
					uint32_t id;

					memcpy(&id, w[k].part, 4);
					record(w, k, id);
					w[k].npart = 0;
				}
			}
		}
	}
}

/* Stop the workers still alive, read their last reports, reap them; 1 if all exited 0. */
static int stop_workers(struct worker *w, int n)
{
	int k, clean = 1, rc;

	for (k = 0; k < n; k++) {
		if (w[k].ctlfd >= 0)
			close(w[k].ctlfd);
		w[k].ctlfd = -1;
	}
	collect(w, n, sp_wait_ms(), NULL, 0);
	for (k = 0; k < n; k++) {
		if (w[k].idfd >= 0) {
			close(w[k].idfd);
			w[k].idfd = -1;
		}
		if (w[k].pid <= 0)
			continue;
		rc = tap_wait_child(w[k].pid, sp_wait_ms());
		if (rc) {
			tap_diag("worker %d exited with %d", k, rc);
			clean = 0;
		}
		w[k].pid = 0;
	}
	return clean;
}

static int all_distinct(struct worker *w, int n, int want)
{
	(void)w;
	(void)n;
	return distinct >= want;
}

/* 5 checks. */
static void pipeline(void)
{
	struct worker w[NWORKERS];
	int push = pt_open(SOCK_PUSH), ok, sent, k, fair = 1, lo, hi, clean;
	char shares[NWORKERS * 8 + 1], *o = shares;

	ok = workers_up(w, push, PORT_PIPE);
	tap_ok(ok, "%d PULL workers (processes) connect to the bound PUSH: SP_PEERS %d",
	       NWORKERS, NWORKERS);
	sent = ok ? pt_send_numbered(push, 0, NJOBS, MSG_SIZE, 0, "PUSH") : 0;
	tap_ok(sent == NJOBS, "the PUSH sends %d numbered messages of %d bytes (%d)",
	       NJOBS, MSG_SIZE, sent);
	collect(w, NWORKERS, 2 * sp_wait_ms(), all_distinct, sent);
	clean = stop_workers(w, NWORKERS);
	tap_ok(sent == NJOBS && distinct == NJOBS && !dups,
	       "every one of the %d messages is received exactly once, by some worker (%d distinct, %d duplicates)",
	       NJOBS, distinct, dups);
	lo = NJOBS / NWORKERS * (100 - SHARE_SLACK) / 100;
	hi = NJOBS / NWORKERS * (100 + SHARE_SLACK) / 100;
	for (k = 0; k < NWORKERS; k++) {
		fair &= w[k].count >= lo && w[k].count <= hi;
		o += sprintf(o, " %d", w[k].count);
	}
	tap_ok(distinct == NJOBS && fair,
	       "each worker's share is within %d%% of %d (%d..%d):%s", SHARE_SLACK,
	       NJOBS / NWORKERS, lo, hi, shares);
	tap_ok(clean, "all %d workers exit cleanly", NWORKERS);
	close(push);
}

/* Every id in [from, to) is seen, and every survivor reported one >= from. */
static int settled_from;
static int settled(struct worker *w, int n, int to)
{
	int i, k;

	for (i = settled_from; i < to; i++)
		if (who[i] < 0)
			return 0;
	for (k = 1; k < n; k++)	/* worker 0 is the one killed */
		if (w[k].idfd >= 0 && w[k].last < settled_from)
			return 0;
	return 1;
}

/* 7 checks. */
static void worker_killed(void)
{
	struct worker w[NWORKERS];
	int push = pt_open(SOCK_PUSH), ok, sent, boundary = -1, killed = 0, i;
	int lost = 0, lost_after_kill = 0, missing = 0, by_dead = 0;
	int clean, v, gone;
	char buf[MSG_SIZE];

	ok = workers_up(w, push, PORT_KILL);
	tap_ok(ok, "%d new PULL workers connect to another PUSH: SP_PEERS %d",
	       NWORKERS, NWORKERS);

	for (sent = 0; ok && sent < KILL_MAX; sent++) {
		if (sent >= KILL_MIN && boundary >= 0 && sent - boundary >= KILL_AFTER)
			break;
		pt_numbered(buf, MSG_SIZE, sent);
		if (send(push, buf, MSG_SIZE, 0) != MSG_SIZE) {
			tap_diag("send of message %d: %s", sent, strerror(errno));
			break;
		}
		if (sent + 1 == KILL_AT) {
			collect(w, NWORKERS, 0, NULL, 0);
			tap_diag("killing worker 0 (pid %d) after %d messages; it reported %d",
				 (int)w[0].pid, KILL_AT, w[0].count);
			tap_kill_child(w[0].pid);
			w[0].pid = 0;
			killed = KILL_AT;
		}
		if (killed && boundary < 0 && pt_peers(push) == NWORKERS - 1)
			boundary = sent + 1;
		collect(w, NWORKERS, 0, NULL, 0);
		usleep(PACE_US);
	}
	tap_ok(ok && killed && sent >= KILL_MIN,
	       "the PUSH sends %d numbered messages one per ms, worker 0 SIGKILLed after %d",
	       sent, killed);
	if (boundary < 0 && killed) {
		v = pt_wait_peers(push, NWORKERS - 1, "PUSH after the kill");
		boundary = sent;
		if (!v)
			boundary = -1;
	}
	tap_ok(boundary >= 0,
	       "the PUSH counts %d peers once the worker is dead (seen %d messages after the kill)",
	       NWORKERS - 1, boundary - killed);
	gone = boundary >= 0;
	if (!gone)
		boundary = sent;

	/* Worker 0 is reaped: stop_workers() waits for the other 7. */
	settled_from = boundary;
	collect(w, NWORKERS, killed ? 2 * sp_wait_ms() : 0, settled, sent);
	clean = stop_workers(w, NWORKERS);

	for (i = 0; i < sent; i++) {
		if (who[i] >= 0)
			continue;
		if (i >= boundary) {
			if (missing++ < 5)
				tap_diag("message %d, sent after the PUSH saw the worker gone, is missing",
					 i);
			continue;
		}
		lost++;
		if (i >= killed)
			lost_after_kill++;
	}
	for (i = boundary; i < sent; i++)
		by_dead += who[i] == 0;
	tap_diag("worker 0 got %d before it died; %d lost, %d of them sent after the kill",
		 w[0].count, lost, lost_after_kill);
	tap_ok(killed && !dups,
	       "no message is received twice, counting what the killed worker got (%d duplicates)",
	       dups);
	tap_ok(killed && gone && lost < LOST_MAX,
	       "fewer than %d messages are lost with the killed worker's connection (%d), all sent before the PUSH saw it gone",
	       LOST_MAX, lost);
	tap_ok(gone && sent > boundary && !missing && !by_dead,
	       "every message sent after the PUSH saw the worker gone (%d) is received by a surviving worker (%d missing)",
	       sent - boundary, missing);
	tap_ok(clean, "the %d surviving workers exit cleanly", NWORKERS - 1);
	close(push);
}

/* ---- survey ---- */

static int respondent_child(int k, int ctlfd)
{
	int s = sp_open(SOCK_RESPONDENT, 0);
	char buf[64], ans[32];
	ssize_t n;

	sp_timeouts(s, 3 * sp_wait_ms(), sp_wait_ms());
	if (sp_connect4(s, PORT_SURVEY)) {
		tap_diag("respondent %d: connect: %s", k, strerror(errno));
		return 2;
	}
	n = recv(s, buf, sizeof(buf), 0);
	if (n != 6 || memcmp(buf, "survey", 6)) {
		tap_diag("respondent %d: got %s (%s)", k, sp_show(buf, n),
			 n < 0 ? strerror(errno) : "not the survey");
		return 3;
	}
	if (k >= NSILENT) {
		n = snprintf(ans, sizeof(ans), "child %02d", k);
		if (!sp_send_all(s, ans, n, "respondent"))
			return 4;
	}
	/* Stay connected until the parent is done. */
	while ((n = read(ctlfd, buf, sizeof(buf))) != 0)
		if (n < 0 && errno != EINTR)
			return 5;
	close(s);
	return 0;
}

/* 6 checks. */
static void survey20(void)
{
	int s = pt_open(SOCK_SURVEYOR), ctl[2], k, i, got = 0, bad = 0, rv, peers, e;
	int clean = 1, rc, seen[NRESP] = { 0 };
	pid_t pid[NRESP];
	long long t0, dt;
	char buf[64];
	ssize_t n;

	if (!pt_set(s, SP_SURVEY_DEADLINE, DEADLINE_MS) || sp_bind4(s, PORT_SURVEY))
		tap_bail("SURVEYOR setup on port %d: %s", PORT_SURVEY, strerror(errno));
	if (pipe(ctl))
		tap_bail("pipe: %s", strerror(errno));
	for (k = 0; k < NRESP; k++) {
		pid[k] = tap_fork(CHILD_SECS);
		if (pid[k] == 0) {
			close(s);
			close(ctl[1]);
			_exit(respondent_child(k, ctl[0]));
		}
	}
	close(ctl[0]);
	tap_ok(pt_wait_peers(s, NRESP, "SURVEYOR"),
	       "%d RESPONDENT processes connect to the SURVEYOR: SP_PEERS %d", NRESP,
	       NRESP);
	t0 = tap_now_ms();
	tap_ok(pt_send_str(s, "survey", "SURVEYOR"), "the SURVEYOR sends one survey");
	for (i = 0; i < NRESP - NSILENT; i++) {
		n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			tap_diag("answer %d: recv: %s", i, strerror(errno));
			break;
		}
		buf[n] = '\0';
		if (sscanf(buf, "child %d", &k) != 1 || k < NSILENT || k >= NRESP ||
		    seen[k]++) {
			if (bad++ < 3)
				tap_diag("unexpected answer %s", sp_show(buf, n));
			continue;
		}
		got++;
	}
	tap_ok(got == NRESP - NSILENT && !bad,
	       "it receives one answer from each of the %d answering processes (%d, %d unexpected)",
	       NRESP - NSILENT, got, bad);
	rv = pt_poll(s, POLLIN, DEADLINE_MS + sp_wait_ms());
	dt = tap_now_ms() - t0;
	tap_ok(pt_has(rv, POLLIN) && dt >= DEADLINE_MIN,
	       "poll then wakes it with POLLIN when the survey ends, %lld ms after the send (at least %d; saw %s)",
	       dt, DEADLINE_MIN, pt_mask(rv));
	e = pt_recv_fails(s, MSG_DONTWAIT);
	tap_ok(e == ETIMEDOUT,
	       "the next recv fails with ETIMEDOUT: no answer from the %d silent ones (%s)",
	       NSILENT, pt_failed_with(e));
	peers = pt_peers(s);
	close(ctl[1]);
	for (k = 0; k < NRESP; k++) {
		rc = tap_wait_child(pid[k], sp_wait_ms());
		if (rc) {
			tap_diag("respondent %d exited with %d", k, rc);
			clean = 0;
		}
	}
	tap_ok(clean && peers == NRESP,
	       "all %d received the survey, the silent ones stayed connected (SP_PEERS %d) and all exit cleanly",
	       NRESP, peers);
	close(s);
}

/* ---- BUS mesh ---- */

/* 3 + NNODES checks. */
static void mesh(void)
{
	int node[NNODES], i, j, ok = 1, all = 1, sent = 1;
	char m[32];

	for (i = 0; i < NNODES; i++) {
		node[i] = pt_open(SOCK_BUS);
		if (sp_bind4(node[i], PORT_MESH + i)) {
			tap_diag("node %d: bind 127.0.0.1:%d: %s", i, PORT_MESH + i,
				 strerror(errno));
			ok = 0;
		}
	}
	for (i = 0; i < NNODES; i++)
		for (j = i + 1; j < NNODES; j++)
			if (sp_connect4(node[i], PORT_MESH + j)) {
				tap_diag("node %d: connect to node %d: %s", i, j,
					 strerror(errno));
				ok = 0;
			}
	tap_ok(ok,
	       "%d BUS nodes each bind a port and connect to every node with a higher index (%d connections)",
	       NNODES, NNODES * (NNODES - 1) / 2);
	for (i = 0; i < NNODES; i++) {
		snprintf(m, sizeof(m), "BUS node %d", i);
		all &= pt_wait_peers(node[i], NNODES - 1, m);
	}
	tap_ok(all, "every node counts %d peers", NNODES - 1);
	for (i = 0; i < NNODES; i++) {
		snprintf(m, sizeof(m), "node %d", i);
		sent &= pt_send_str(node[i], m, "BUS node");
		snprintf(m, sizeof(m), "end %d", i);
		sent &= pt_send_str(node[i], m, "BUS node");
	}
	tap_ok(sent, "each node sends one message, then an end marker");

	for (i = 0; i < NNODES; i++) {
		long long deadline = tap_now_ms() + sp_wait_ms();
		int msgs[NNODES] = { 0 }, ends[NNODES] = { 0 }, nends = 0, bad = 0;
		int good = 1;
		char buf[64];

		/* Each connection keeps order: a node's end follows its message. */
		while (nends < NNODES - 1) {
			long long left = deadline - tap_now_ms();
			ssize_t n = pt_recv_ms(node[i], buf, sizeof(buf) - 1,
					       left > 0 ? (int)left : 0);
			int from;

			if (n < 0) {
				tap_diag("node %d: %d of %d end markers, then: %s", i,
					 nends, NNODES - 1, strerror(errno));
				good = 0;
				break;
			}
			buf[n] = '\0';
			if (sscanf(buf, "node %d", &from) == 1 && from >= 0 &&
			    from < NNODES && !strchr(buf + 5, ' ')) {
				msgs[from]++;
			} else if (sscanf(buf, "end %d", &from) == 1 && from >= 0 &&
				   from < NNODES) {
				if (!ends[from]++ && from != i)
					nends++;
			} else if (bad++ < 3) {
				tap_diag("node %d received %s", i, sp_show(buf, n));
			}
		}
		for (j = 0; j < NNODES; j++) {
			int want = j != i;

			if (msgs[j] != want || ends[j] != want) {
				if (good)
					tap_diag("node %d: from node %d: %d messages, %d ends",
						 i, j, msgs[j], ends[j]);
				good = 0;
			}
		}
		tap_ok(good && !bad,
		       "node %d receives each of the other %d messages exactly once, nothing from itself",
		       i, NNODES - 1);
	}
	for (i = 0; i < NNODES; i++)
		close(node[i]);
}

int main(void)
{
	tap_plan(PIPE_CHECKS + KILL_CHECKS + SURVEY_CHECKS + MESH_CHECKS);
	tap_watchdog(300);

	pipeline();
	worker_killed();
	survey20();
	mesh();
	return tap_done();
}
