// SPDX-License-Identifier: GPL-2.0
/*
 * Thousands of clients on one server (the paper: "you could literally throw
 * thousands of clients at this server"): one process opens a REP bound on
 * loopback and NREQ REQ sockets that all connect to it, and sends a request
 * naming its sender on every REQ.  Driven by one epoll loop, the REP answers
 * each request with "ans-" plus the request: the REP must get every request
 * exactly once, and every REQ exactly one reply, its own.  The REQs connect
 * in waves of 100 (SP_SCALE_WAVE), each answered before the next: the
 * listener's backlog is 128, and 2000 dialers at once overflow it.
 *
 * With all NREQ connections up and idle, it reports what they cost: the
 * growth of MemAvailable and Slab (/proc/meminfo) per connection (both ends:
 * two TCP sockets, the REQ's SP socket and the pipes on either side; on the
 * debugging kernel KASAN and lockdep inflate this), checked only against a
 * loose bound; /proc/net/sockstat must count both TCP ends of every
 * connection, and SO_MEMINFO must show nothing held for any socket.  A second
 * round of requests from every tenth REQ over the idle connections is
 * answered the same way, and after close() the TCP sockets go away again.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <linux/sock_diag.h>
#include "sp_test.h"

#define PORT		27500
#define NREQ		2000
#define MAX_CONN_KIB	64	/* sanity bound on memory per idle connection */

struct mem {
	long long avail_kib, slab_kib;
	int tcp_inuse, tcp_orphan, tcp_mem_pages;
};

/* Value of "Key:" in /proc/meminfo (kB), or -1. */
static long long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			v = atoll(line + klen + 1);
	fclose(f);
	return v;
}

/* "TCP: inuse N orphan N tw N alloc N mem N" from /proc/net/sockstat. */
static void sockstat(struct mem *m)
{
	FILE *f = fopen("/proc/net/sockstat", "r");
	char line[256];

	m->tcp_inuse = -1;
	m->tcp_orphan = -1;
	m->tcp_mem_pages = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "TCP:", 4))
			sscanf(line, "TCP: inuse %d orphan %d tw %*d alloc %*d mem %d",
			       &m->tcp_inuse, &m->tcp_orphan, &m->tcp_mem_pages);
	fclose(f);
}

static void measure(struct mem *m)
{
	/* Let deferred frees (RCU, work items) settle first. */
	sleep(1);
	m->avail_kib = meminfo("MemAvailable");
	m->slab_kib = meminfo("Slab");
	sockstat(m);
}

/* rmem_alloc + wmem_alloc of a socket (SO_MEMINFO), or -1. */
static long long held(int fd)
{
	unsigned int mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len))
		return -1;
	return (long long)mem[SK_MEMINFO_RMEM_ALLOC] + mem[SK_MEMINFO_WMEM_ALLOC];
}

static int req[NREQ];
static int asked[NREQ], answered[NREQ];

/* The REP answers every request waiting with "ans-" + the request. */
static int serve(int rep, int round)
{
	char buf[128], out[160];
	int wrong = 0, r, j;
	ssize_t len;

	while ((len = recv(rep, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >= 0) {
		buf[len] = 0;
		if (sscanf(buf, "req-%d-%d", &r, &j) == 2 && r == round &&
		    j >= 0 && j < NREQ) {
			asked[j]++;
		} else {
			tap_diag("REP got %s in round %d", sp_show(buf, len), round);
			wrong++;
		}
		len = snprintf(out, sizeof(out), "ans-%s", buf);
		if (send(rep, out, len, MSG_DONTWAIT) != len)
			tap_diag("REP send of %s: %s", sp_show(out, len), strerror(errno));
	}
	if (!sp_is_again(errno))
		tap_diag("REP recv: %s", strerror(errno));
	return wrong;
}

/*
 * Part of a round: REQs lo, lo + stride, ... below hi send
 * "req-<round>-<i>"; the REP answers; each REQ checks its reply.  Returns
 * the number of wrong messages (either side); counts in asked[]/answered[].
 */
static int round_trip(int rep, int ep, int round, int lo, int hi, int stride)
{
	struct epoll_event ev[256];
	char buf[128], exp[64];
	int i, want = 0, replies = 0, wrong = 0;
	long long deadline = tap_now_ms() + 3LL * sp_wait_ms();

	for (i = lo; i < hi; i += stride) {
		int len = snprintf(buf, sizeof(buf), "req-%d-%d", round, i);

		if (send(req[i], buf, len, MSG_DONTWAIT) == len)
			want++;
		else
			tap_diag("REQ %d: send: %s", i, strerror(errno));
	}
	while (replies < want && tap_now_ms() < deadline) {
		int n = epoll_wait(ep, ev, ARRAY_SIZE(ev), 1000), e;

		if (n < 0 && errno != EINTR)
			tap_bail("epoll_wait: %s", strerror(errno));
		for (e = 0; e < n; e++) {
			int k = ev[e].data.u32, elen;
			ssize_t len;

			if (k == NREQ) {
				wrong += serve(rep, round);
				continue;
			}
			len = recv(req[k], buf, sizeof(buf), MSG_DONTWAIT);
			if (len < 0) {
				if (!sp_is_again(errno))
					tap_diag("REQ %d recv: %s", k, strerror(errno));
				continue;
			}
			elen = snprintf(exp, sizeof(exp), "ans-req-%d-%d", round, k);
			if (len == elen && !memcmp(buf, exp, elen)) {
				answered[k]++;
			} else {
				tap_diag("REQ %d got %s, expected %s", k, sp_show(buf, len),
					 sp_show(exp, elen));
				wrong++;
			}
			replies++;
		}
	}
	return wrong;
}

/* Checks of one round: every request arrived once, every reply once. */
static void check_round(int wrong, int round, int stride, long long ms)
{
	int i, n = 0, once = 0, other = 0, replied = 0;

	for (i = 0; i < NREQ; i++) {
		if (i % stride) {
			other += asked[i] || answered[i];
			continue;
		}
		n++;
		once += asked[i] == 1;
		other += asked[i] > 1;
		replied += answered[i] == 1;
	}
	tap_diag("round %d: %d of %d requests arrived once, %d unexpected; %d REQs answered; %lld ms",
		 round, once, n, other, replied, ms);
	tap_ok(once == n && !other && !wrong,
	       "round %d: the REP gets each of the %d requests exactly once", round, n);
	tap_ok(replied == n && !wrong,
	       "round %d: each of the %d REQs gets exactly one reply, its own", round, n);
}

/* Open and connect REQs lo..hi-1; the number that failed. */
static int open_reqs(int ep, int lo, int hi)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int i, failed = 0;

	for (i = lo; i < hi; i++) {
		req[i] = sp_socket(SOCK_REQ, SOCK_NONBLOCK);
		if (req[i] < 0)
			tap_bail("REQ %d: socket: %s", i, strerror(errno));
		/* No resends: a request that arrives twice is a bug. */
		if (sp_set_int(req[i], SOL_SP, SP_RESEND_IVL, 3600 * 1000) ||
		    sp_connect4(req[i], PORT)) {
			tap_diag("REQ %d: SP_RESEND_IVL or connect: %s", i, strerror(errno));
			failed++;
		}
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, req[i], &ev))
			tap_bail("epoll_ctl: %s", strerror(errno));
	}
	return failed;
}

static void net_counters(void)
{
	if (system("nstat -asz | grep -E 'ListenOverflows|ReqQFullDoCookies|EstabResets|AbortOnClose' | tr -s ' ' | sed 's/^/# /'"))
		tap_diag("(nstat not available)");
}

int main(void)
{
	struct rlimit rl = { NREQ + 64, NREQ + 64 };
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = NREQ };
	struct mem m0, m1, m2;
	int rep, ep, i, wave, rc, failed = 0, wrong = 0, busy = 0;
	long long t0, per_avail, per_slab, deadline;
	const char *env = getenv("SP_SCALE_WAVE");

	tap_plan(10);
	tap_watchdog(900);
	/*
	 * Connect in waves below the listener's backlog (128): 2000 dialers at
	 * once overflow it, and on a slow machine SP handshakes then time out
	 * and dial again (SP_SCALE_WAVE=2000 does that).
	 */
	wave = env && atoi(env) > 0 ? atoi(env) : 100;

	rc = setrlimit(RLIMIT_NOFILE, &rl);
	if (rc)
		tap_diag("setrlimit(RLIMIT_NOFILE, %d): %s", NREQ + 64, strerror(errno));
	tap_ok(rc == 0, "RLIMIT_NOFILE raised to %d", NREQ + 64);

	measure(&m0);
	rep = sp_open(SOCK_REP, SOCK_NONBLOCK);
	if (sp_bind4(rep, PORT))
		tap_bail("bind 127.0.0.1:%d: %s", PORT, strerror(errno));
	ep = epoll_create1(0);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, rep, &ev))
		tap_bail("epoll: %s", strerror(errno));

	/* Round 1, wave by wave: each REQ's reply shows it is connected. */
	t0 = tap_now_ms();
	for (i = 0; i < NREQ; i += wave) {
		int hi = i + wave < NREQ ? i + wave : NREQ;

		failed += open_reqs(ep, i, hi);
		wrong += round_trip(rep, ep, 1, i, hi, 1);
	}
	tap_ok(!failed, "%d REQ sockets connected to one REP in waves of %d", NREQ, wave);
	check_round(wrong, 1, 1, tap_now_ms() - t0);
	net_counters();

	/* All connected and idle now. */
	measure(&m1);
	per_avail = (m0.avail_kib - m1.avail_kib) * 1024 / NREQ;
	per_slab = (m1.slab_kib - m0.slab_kib) * 1024 / NREQ;
	tap_diag("%d idle connections: MemAvailable -%lld KiB, Slab +%lld KiB; TCP inuse %d -> %d (orphans %d), mem %d -> %d pages",
		 NREQ, m0.avail_kib - m1.avail_kib, m1.slab_kib - m0.slab_kib,
		 m0.tcp_inuse, m1.tcp_inuse, m1.tcp_orphan, m0.tcp_mem_pages,
		 m1.tcp_mem_pages);
	tap_diag("memory per idle connection (both ends): %lld bytes of MemAvailable, %lld bytes of Slab",
		 per_avail, per_slab);
	tap_ok(m0.avail_kib > 0 && per_avail < MAX_CONN_KIB * 1024 &&
	       per_slab < MAX_CONN_KIB * 1024,
	       "an idle connection costs less than %d KiB", MAX_CONN_KIB);
	tap_ok(m1.tcp_inuse - m0.tcp_inuse >= 2 * NREQ,
	       "sockstat counts both TCP ends of all %d connections (%d more in use, %d orphans)",
	       NREQ, m1.tcp_inuse - m0.tcp_inuse, m1.tcp_orphan);

	for (i = 0; i < NREQ; i++)
		if (held(req[i]) != 0 && !busy++)
			tap_diag("REQ %d: SO_MEMINFO rmem+wmem %lld", i, held(req[i]));
	tap_ok(held(rep) == 0 && !busy,
	       "SO_MEMINFO: idle REP and %d REQs hold nothing (REP %lld, %d REQs not 0)",
	       NREQ, held(rep), busy);

	/* The idle connections still carry requests: every tenth REQ asks again. */
	memset(asked, 0, sizeof(asked));
	memset(answered, 0, sizeof(answered));
	t0 = tap_now_ms();
	wrong = round_trip(rep, ep, 2, 0, NREQ, 10);
	check_round(wrong, 2, 10, tap_now_ms() - t0);

	t0 = tap_now_ms();
	for (i = 0; i < NREQ; i++)
		close(req[i]);
	close(rep);
	close(ep);
	tap_diag("closing %d REQs and the REP: %lld ms", NREQ, tap_now_ms() - t0);
	/*
	 * Closed sockets deliver what they hold for up to the linger time
	 * (SP_LINGER_DEFAULT); these hold nothing.  Orphans (closed, still
	 * sending their FIN) belong to TCP, not to us.
	 */
	t0 = tap_now_ms();
	deadline = t0 + SP_LINGER_DEFAULT * 1000LL + sp_wait_ms();
	do {
		measure(&m2);
	} while (m2.tcp_inuse - m2.tcp_orphan > m0.tcp_inuse && tap_now_ms() < deadline);
	tap_ok(m2.tcp_inuse - m2.tcp_orphan <= m0.tcp_inuse,
	       "after close() no TCP socket is held (in use %d, orphans %d, before %d; %lld ms)",
	       m2.tcp_inuse, m2.tcp_orphan, m0.tcp_inuse, tap_now_ms() - t0);
	return tap_done();
}
