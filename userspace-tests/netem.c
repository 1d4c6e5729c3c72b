// SPDX-License-Identifier: GPL-2.0
/*
 * A bad network: two network namespaces linked by a veth pair whose both
 * ends run netem with 5% loss, 20 ms +- 10 ms delay and reordering.  SP
 * rides on TCP, so the user must see none of it:
 *
 * - REQ/REP: four REQs in namespace a each send a stream of numbered
 *   requests of varying size (up to 20 KB, many segments) to a REP in
 *   namespace b, with SP_RESEND_IVL 250 ms so that some requests are resent
 *   while TCP is still retransmitting: every request gets its own reply,
 *   byte for byte, exactly once; duplicates the REP answered never reach
 *   the user, and nothing is left queued at the end.
 * - PUB/SUB: a PUB in a (SO_SNDBUF 4 MiB) publishes a numbered sequence
 *   of messages of varying size to a SUB in b: all arrive, whole and in
 *   order, without a gap, and SP_DROPS stays 0.
 *
 * netem's own counters must show that packets were really dropped both ways
 * and TCP that it retransmitted.  Needs root, iproute2 and sch_netem.
 */
#define _GNU_SOURCE
#include <sched.h>
#include "sp_pubsub.h"

#define PORT		27600	/* 27600..27601, in the namespaces */
#define NS_A		"sp-netem-a"
#define NS_B		"sp-netem-b"
#define ADDR_A		"10.213.0.1"
#define ADDR_B		"10.213.0.2"
#define NETEM		"delay 20ms 10ms reorder 25% 50% loss 5%"
#define NREQ		4
#define PER_REQ		40
#define MAXREQ		20000
#define NPUB		2000
#define MAXPUB		1500
#define RESEND_MS	250

static int home_ns = -1;

static void enter_ns(const char *ns)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		tap_bail("setns %s: %s", ns, strerror(errno));
	close(fd);
}

static void leave_ns(void)
{
	if (setns(home_ns, CLONE_NEWNET))
		tap_bail("setns back: %s", strerror(errno));
}

/* An SP socket of @type that lives in namespace @ns. */
static int sp_open_in(const char *ns, int type)
{
	int s;

	enter_ns(ns);
	s = sp_open(type, 0);
	leave_ns();
	return s;
}

static void teardown(void)
{
	/* Fails harmlessly when there is nothing to delete. */
	int rc = system("ip netns del " NS_A " 2>/dev/null; ip netns del " NS_B " 2>/dev/null");

	(void)rc;
}

/* The request size of request @i of REQ @k: 1 byte to MAXREQ. */
static size_t req_len(int k, int i)
{
	return 1 + ((size_t)(k * PER_REQ + i) * 7919) % MAXREQ;
}

/* REP in namespace b: answer "ans:" + request; one byte per request on @report. */
static int rep_server(int report)
{
	static char buf[MAXREQ + 64], out[MAXREQ + 64];
	int s;

	enter_ns(NS_B);
	s = sp_open(SOCK_REP, 0);
	sp_timeouts(s, 3 * sp_wait_ms(), sp_wait_ms());
	if (sp_url(s, SP_BIND, "tcp://" ADDR_B ":27600")) {
		tap_diag("REP bind: %s", strerror(errno));
		return 2;
	}
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);

		if (n < 0) {
			tap_diag("REP recv: %s", strerror(errno));
			return 3;
		}
		memcpy(out, "ans:", 4);
		memcpy(out + 4, buf, n);
		if (!sp_send_all(s, out, n + 4, "REP reply") || write(report, "r", 1) != 1)
			return 4;
	}
}

/* Build request @i of REQ @k: "q<k>-<i>:" then a pattern. */
static size_t make_req(char *buf, int k, int i)
{
	size_t len = req_len(k, i);
	int h = snprintf(buf, 32, "q%d-%d:", k, i);

	sp_pattern(buf + h, len > (size_t)h ? len - h : 0, k * PER_REQ + i);
	return len > (size_t)h ? len : (size_t)h;
}

static void reqrep(void)
{
	static char msg[MAXREQ + 64], buf[MAXREQ + 256];
	int req[NREQ], next[NREQ], k, done = 0, right = 0, wrong = 0, leftover = 0;
	int rp[2], seen = 0;
	struct pollfd pfd[NREQ];
	long long t0 = tap_now_ms(), deadline = t0 + 6LL * sp_wait_ms();
	pid_t rep;

	if (pipe(rp))
		tap_bail("pipe: %s", strerror(errno));
	rep = tap_fork(600);
	if (rep == 0) {
		close(rp[0]);
		_exit(rep_server(rp[1]));
	}
	close(rp[1]);

	for (k = 0; k < NREQ; k++) {
		req[k] = sp_open_in(NS_A, SOCK_REQ);
		if (sp_set_int(req[k], SOL_SP, SP_RESEND_IVL, RESEND_MS) ||
		    sp_url(req[k], SP_CONNECT, "tcp://" ADDR_B ":27600"))
			tap_bail("REQ setup: %s", strerror(errno));
		next[k] = 0;
		pfd[k].fd = req[k];
		pfd[k].events = POLLIN;
		if (!sp_send_all(req[k], msg, make_req(msg, k, 0), "REQ send"))
			wrong++;
	}
	while (done < NREQ && tap_now_ms() < deadline) {
		if (poll(pfd, NREQ, 1000) < 0)
			tap_bail("poll: %s", strerror(errno));
		for (k = 0; k < NREQ; k++) {
			ssize_t n;
			size_t len;

			if (!(pfd[k].revents & POLLIN))
				continue;
			n = recv(req[k], buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0) {
				tap_diag("REQ %d recv: %s", k, strerror(errno));
				wrong++;
				continue;
			}
			len = make_req(msg, k, next[k]);
			if ((size_t)n == len + 4 && !memcmp(buf, "ans:", 4) &&
			    !memcmp(buf + 4, msg, len)) {
				right++;
			} else {
				tap_diag("REQ %d request %d: got %s", k, next[k], sp_show(buf, n));
				wrong++;
			}
			if (++next[k] == PER_REQ) {
				pfd[k].events = 0;
				done++;
				continue;
			}
			if (!sp_send_all(req[k], msg, make_req(msg, k, next[k]), "REQ send"))
				wrong++;
		}
	}
	/* A late duplicate of a reply must not show up. */
	usleep(2 * RESEND_MS * 1000);
	for (k = 0; k < NREQ; k++) {
		ssize_t n = recv(req[k], buf, sizeof(buf), MSG_DONTWAIT);

		if (n >= 0 || errno != EPROTO) {
			tap_diag("REQ %d after its last reply: %s", k,
				 n >= 0 ? sp_show(buf, n) : sp_errname(errno));
			leftover++;
		}
		close(req[k]);
	}
	tap_kill_child(rep);
	while (sp_wait_byte(rp[0], 0) == 'r')
		seen++;
	close(rp[0]);
	tap_diag("REQ/REP: %d requests in %lld ms; the REP saw %d (%d resent copies)",
		 NREQ * PER_REQ, tap_now_ms() - t0, seen, seen - NREQ * PER_REQ);
	tap_ok(right == NREQ * PER_REQ && !wrong,
	       "%d REQs x %d requests of 1 byte to 20 KB over the lossy link: each gets its own reply, intact (%d right, %d wrong or missing)",
	       NREQ, PER_REQ, right, wrong + NREQ * PER_REQ - right);
	tap_ok(!leftover && seen >= NREQ * PER_REQ,
	       "no duplicate reply reaches the user, though the REP answered %d copies",
	       seen);
}

static size_t pub_len(int i)
{
	return 16 + ((size_t)i * 613) % MAXPUB;
}

/* SUB in namespace b: sync, then NPUB messages "seq:<i>:" + pattern in order, then "end". */
static int sub_client(int report)
{
	static char buf[MAXPUB + 256], exp[MAXPUB + 64];
	int s, i, synced = 0;

	enter_ns(NS_B);
	s = sp_open(SOCK_SUB, 0);
	sp_timeouts(s, 3 * sp_wait_ms(), sp_wait_ms());
	if (sp_set_int(s, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20) ||
	    ps_subscribe(s, "", 0) || sp_url(s, SP_CONNECT, "tcp://" ADDR_A ":27601")) {
		tap_diag("SUB setup: %s", strerror(errno));
		return 2;
	}
	for (i = 0; i <= NPUB;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		size_t len;
		int h;

		if (n < 0) {
			tap_diag("SUB: recv after %d messages: %s", i, strerror(errno));
			return 3;
		}
		if (ps_is_sync(buf, n)) {
			if (!synced++ && write(report, "s", 1) != 1)
				return 5;
			continue;
		}
		if (i == NPUB) {
			if (n == 3 && !memcmp(buf, "end", 3))
				break;
			tap_diag("SUB: after %d messages got %s, not \"end\"", i, sp_show(buf, n));
			return 4;
		}
		len = pub_len(i);
		h = snprintf(exp, 32, "seq:%d:", i);
		sp_pattern(exp + h, len - h, i);
		if ((size_t)n != len || memcmp(buf, exp, len)) {
			tap_diag("SUB: message %d: got %s, expected %s", i, sp_show(buf, n),
				 sp_show(exp, len));
			return 4;
		}
		i++;
	}
	close(s);
	return 0;
}

static void pubsub(void)
{
	static char msg[MAXPUB + 64];
	int pub, sp[2], i, rc, failed = 0;
	long long t0, deadline, bytes = 0;
	uint64_t drops = 1;
	pid_t sub;

	pub = sp_open_in(NS_A, SOCK_PUB);
	if (sp_set_int(pub, SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20) ||
	    sp_url(pub, SP_BIND, "tcp://" ADDR_A ":27601"))
		tap_bail("PUB setup: %s", strerror(errno));
	if (pipe(sp))
		tap_bail("pipe: %s", strerror(errno));
	sub = tap_fork(600);
	if (sub == 0) {
		close(sp[0]);
		close(pub);
		_exit(sub_client(sp[1]));
	}
	close(sp[1]);

	/* The SUB is connected once it has a marker. */
	t0 = tap_now_ms();
	deadline = t0 + sp_wait_ms();
	do {
		if (send(pub, PS_SYNC "netem", PS_SYNC_LEN + 5, MSG_DONTWAIT) < 0)
			failed++;
	} while (sp_wait_byte(sp[0], PS_SYNC_IVL_MS) != 's' && tap_now_ms() < deadline);
	tap_diag("SUB connected after %lld ms", tap_now_ms() - t0);

	t0 = tap_now_ms();
	for (i = 0; i < NPUB; i++) {
		size_t len = pub_len(i);
		int h = snprintf(msg, 32, "seq:%d:", i);

		sp_pattern(msg + h, len - h, i);
		if (send(pub, msg, len, MSG_DONTWAIT) != (ssize_t)len)
			failed++;
		bytes += len;
	}
	if (send(pub, "end", 3, MSG_DONTWAIT) != 3)
		failed++;
	rc = tap_wait_child(sub, 6 * sp_wait_ms());
	if (ps_drops(pub, &drops))
		tap_diag("SP_DROPS: %s", strerror(errno));
	tap_diag("PUB/SUB: %d messages (%lld KiB) in %lld ms, SP_DROPS %llu", NPUB,
		 bytes >> 10, tap_now_ms() - t0,
		 (unsigned long long)drops);
	close(sp[0]);
	close(pub);
	tap_ok(rc == 0 && !failed,
	       "the SUB gets all %d messages over the lossy link, whole, in order, no gap (exit %d: 3 missing, 4 wrong)",
	       NPUB, rc);
	tap_ok(drops == 0, "the PUB dropped nothing (SP_DROPS %llu)", (unsigned long long)drops);
}

/* "dropped N" of the netem qdisc on @dev in @ns, or -1. */
static long netem_dropped(const char *ns, const char *dev)
{
	char cmd[128], line[512];
	long v = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "tc -n %s -s qdisc show dev %s", ns, dev);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "dropped ");

		if (p && v < 0)
			v = atol(p + 8);
	}
	pclose(f);
	return v;
}

/* TCP's RetransSegs in namespace @ns (/proc/net/snmp follows the netns). */
static long retrans(const char *ns)
{
	char names[1024], vals[1024], *n, *v, *sn, *sv;
	long r = -1;
	FILE *f;

	enter_ns(ns);
	f = fopen("/proc/self/net/snmp", "r");
	leave_ns();
	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(names, "Tcp:", 4))
			continue;
		for (n = strtok_r(names, " \n", &sn), v = strtok_r(vals, " \n", &sv);
		     n && v; n = strtok_r(NULL, " \n", &sn), v = strtok_r(NULL, " \n", &sv))
			if (!strcmp(n, "RetransSegs"))
				r = atol(v);
	}
	fclose(f);
	return r;
}

int main(void)
{
	long da, db, ra, rb;
	int rc;

	tap_plan(6);
	tap_watchdog(300);
	home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_ns < 0)
		tap_bail("/proc/self/ns/net: %s", strerror(errno));

	teardown();
	rc = system("ip netns add " NS_A " && ip netns add " NS_B " &&"
		    " ip link add va netns " NS_A " type veth peer name vb netns " NS_B " &&"
		    " ip -n " NS_A " addr add " ADDR_A "/24 dev va &&"
		    " ip -n " NS_B " addr add " ADDR_B "/24 dev vb &&"
		    " ip -n " NS_A " link set va up && ip -n " NS_B " link set vb up &&"
		    " tc -n " NS_A " qdisc add dev va root netem " NETEM " &&"
		    " tc -n " NS_B " qdisc add dev vb root netem " NETEM);
	tap_ok(rc == 0, "namespaces %s and %s linked by a veth, netem on both ends: %s",
	       NS_A, NS_B, NETEM);
	if (rc) {
		teardown();
		tap_bail("cannot set up the namespaces (root, iproute2, sch_netem?)");
	}
	atexit(teardown);

	reqrep();
	pubsub();

	da = netem_dropped(NS_A, "va");
	db = netem_dropped(NS_B, "vb");
	ra = retrans(NS_A);
	rb = retrans(NS_B);
	tap_ok(da > 0 && db > 0 && ra > 0 && rb > 0,
	       "the link was lossy: netem dropped %ld packets a->b and %ld b->a; TCP retransmitted %ld and %ld segments",
	       da, db, ra, rb);
	return tap_done();
}
