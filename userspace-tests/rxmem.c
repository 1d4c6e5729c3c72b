// SPDX-License-Identifier: GPL-2.0
/*
 * Large messages half-received from many peers are bounded across all of
 * them, not only per connection.  A message above 2 KiB is read out of TCP
 * into pages of its own as its bytes arrive; until it is complete those pages
 * count as TCP memory (/proc/net/sockstat's "TCP mem", in pages), so that
 * tcp_mem bounds them as it bounds TCP's own buffers.
 *
 *  - Sixteen raw REQ peers each send 768 KiB of a 1 MiB request to a REP
 *    that does not read: TCP mem rises by about what they sent.
 *  - Eight of them send the rest: the REP receives the whole requests,
 *    intact, and TCP mem falls by about their share.
 *  - With tcp_mem's hard limit set below what the other eight hold, one
 *    more peer's partial request gets its connection closed.
 *  - tcp_mem restored and the peers gone (reset), TCP mem is back where it
 *    started: nothing is left charged.  A REQ is answered afterwards.
 * TCP itself counts its memory per CPU and folds it into the figure sockstat
 * shows only in steps of net.core.mem_pcpu_rsv pages, so every reading may be
 * off by up to that much per CPU: each check allows twice that ("noise").
 * Needs root (tcp_mem); the guest runs the tests as root.
 */
#include "sp_raw.h"

#define PORT		27800
#define NPEERS		16
#define NDONE		8		/* of them, complete their requests */
#define BIG		(1 << 20)	/* the REP's default SP_RCVMAXSIZE */
#define PART		(768 << 10)
#define PART_PAGES	(PART / 4096)
#define SLACK_PAGES	64
#define TCP_MEM		"/proc/sys/net/ipv4/tcp_mem"

static char big[BIG];
/* tcp_mem as found, restored however the test ends (but a watchdog kill). */
static long limits[3];
static int lowered;

/* /proc/net/sockstat's "TCP ... mem N": pages charged to TCP; -1 if unread. */
static long tcp_mem_pages(void)
{
	char line[256];
	long mem = -1;
	FILE *f = fopen("/proc/net/sockstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " mem ");

		if (!strncmp(line, "TCP:", 4) && p)
			mem = strtol(p + 5, NULL, 10);
	}
	fclose(f);
	return mem;
}

/* Waits up to the test's wait for TCP mem to satisfy @ok; the last value. */
static long tcp_mem_until(int (*ok)(long mem, long want), long want)
{
	long long deadline = tap_now_ms() + sp_wait_ms();
	long mem;

	while (!ok(mem = tcp_mem_pages(), want) && tap_now_ms() < deadline)
		usleep(20000);
	return mem;
}

static int at_least(long mem, long want)
{
	return mem >= want;
}

static int at_most(long mem, long want)
{
	return mem >= 0 && mem <= want;
}

/* How far apart two readings of TCP mem may be without anything changing. */
static long noise_pages(void)
{
	long rsv = 256, cpus = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f = fopen("/proc/sys/net/core/mem_pcpu_rsv", "r");

	if (f) {
		if (fscanf(f, "%ld", &rsv) != 1)
			rsv = 256;
		fclose(f);
	}
	return 2 * (cpus > 0 ? cpus : 1) * rsv;
}

static int read_tcp_mem(long v[3])
{
	FILE *f = fopen(TCP_MEM, "r");
	int n = f ? fscanf(f, "%ld %ld %ld", &v[0], &v[1], &v[2]) : 0;

	if (f)
		fclose(f);
	return n == 3 ? 0 : -1;
}

static int write_tcp_mem(const long v[3])
{
	FILE *f = fopen(TCP_MEM, "w");
	int rc;

	if (!f)
		return -1;
	rc = fprintf(f, "%ld %ld %ld\n", v[0], v[1], v[2]) < 0;
	return fclose(f) || rc ? -1 : 0;
}

static void restore_tcp_mem(void)
{
	if (lowered && !write_tcp_mem(limits))
		lowered = 0;
}

/*
 * Sends up to @len bytes of @buf without blocking for more than @ms in all;
 * stops early if the connection fails.  Returns what was sent.
 */
static size_t send_for(int fd, const char *buf, size_t len, int ms)
{
	long long deadline = tap_now_ms() + ms;
	size_t sent = 0;

	while (sent < len && tap_now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0)
			sent += n;
		else if (n < 0 && (sp_is_again(errno) || errno == EINTR))
			poll(&pfd, 1, 100);
		else
			break;
	}
	return sent;
}

/* A raw REQ peer that has sent the first @part bytes of a @BIG-byte request. */
static int partial_peer(size_t part)
{
	unsigned char hdr[8];
	int fd = raw_connect4(PORT, sp_wait_ms());

	if (fd < 0 || !raw_handshake(fd, SP_PROTO_REQ, SP_PROTO_REP)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	raw_put64(hdr, BIG);
	if (raw_write(fd, hdr, 8) || raw_write(fd, big, part)) {
		tap_diag("peer: sending %zu bytes of a request: %s", part, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	static char buf[BIG];
	long mem0, mem, low[3], noise = noise_pages(), want;
	int rep, req, fd[NPEERS], last, i, ok, intact;
	ssize_t n;

	tap_plan(7);
	tap_watchdog(300);

	rep = sp_open(SOCK_REP, 0);
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(rep, PORT))
		tap_bail("bind: %s", strerror(errno));
	if (read_tcp_mem(limits))
		tap_bail("%s: %s", TCP_MEM, strerror(errno));
	atexit(restore_tcp_mem);
	/* A request: its id (high bit set), then a pattern. */
	raw_put32((unsigned char *)big, 0x80000001u);
	sp_pattern(big + 4, BIG - 4, 7);

	mem0 = tcp_mem_pages();
	ok = mem0 >= 0;
	for (i = 0; i < NPEERS; i++)
		ok &= (fd[i] = partial_peer(PART)) >= 0;
	tap_ok(ok, "%d raw REQ peers each send %d KiB of a 1 MiB request", NPEERS, PART >> 10);

	want = NPEERS * PART_PAGES - noise;
	mem = tcp_mem_until(at_least, mem0 + want);
	tap_diag("TCP mem %ld pages before, %ld with the partial requests (noise %ld)",
		 mem0, mem, noise);
	tap_ok(mem - mem0 >= want, "the partial requests count as TCP memory: +%ld pages (>= %ld)",
	       mem - mem0, want);

	ok = 1;
	for (i = 0; i < NDONE; i++)
		ok &= !raw_write(fd[i], big + PART, BIG - PART);
	intact = 0;
	for (i = 0; i < NDONE; i++) {
		n = recv(rep, buf, sizeof(buf), 0);
		intact += n == BIG - 4 && !memcmp(buf, big + 4, BIG - 4);
	}
	tap_ok(ok && intact == NDONE,
	       "%d peers send the rest: the REP receives their whole requests, intact (%d)",
	       NDONE, intact);
	{
		long before = mem;

		want = NDONE * PART_PAGES - noise;
		mem = tcp_mem_until(at_most, before - want);
		tap_ok(before - mem >= want,
		       "complete, they no longer count as TCP memory: -%ld pages (>= %ld)",
		       before - mem, want);
	}

	/*
	 * Well below what the other partial requests hold: one more cannot
	 * fit.  This starves all TCP of the guest, so it is kept short: every
	 * step of it is bounded in time.
	 */
	low[0] = low[1] = low[2] = mem - noise - SLACK_PAGES > 16 ?
				   mem - noise - SLACK_PAGES : 16;
	lowered = 1;
	if (write_tcp_mem(low))
		tap_bail("writing %s: %s", TCP_MEM, strerror(errno));
	last = raw_connect4(PORT, 5000);
	ok = last >= 0 && raw_handshake(last, SP_PROTO_REQ, SP_PROTO_REP);
	if (ok) {
		size_t sent;
		int closed;

		raw_put64((unsigned char *)buf, BIG);
		memcpy(buf + 8, big, PART);
		/* Sends fail once the REP closed: what matters is the close. */
		sent = send_for(last, buf, 8 + PART, 10000);
		closed = raw_wait_closed(last, 5000);
		ok = closed;
		tap_diag("tcp_mem %ld pages, TCP mem %ld: %zu bytes sent, the peer was %s",
			 low[2], tcp_mem_pages(), sent, closed ? "closed" : "not closed");
	}
	restore_tcp_mem();
	if (lowered)
		tap_bail("restoring %s: %s", TCP_MEM, strerror(errno));
	tap_ok(ok, "past tcp_mem's hard limit one more partial request's connection is closed");
	if (last >= 0)
		close(last);

	for (i = 0; i < NPEERS; i++)
		if (fd[i] >= 0)
			raw_abort(fd[i]);
	mem = tcp_mem_until(at_most, mem0 + noise);
	tap_ok(mem <= mem0 + noise,
	       "the peers gone, TCP mem is back where it started (%ld, was %ld)", mem, mem0);

	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	ok = !sp_connect4(req, PORT) && sp_send_all(req, "ping", 4, "REQ") &&
	     sp_expect(rep, "ping", 4, "REP") && sp_send_all(rep, "pong", 4, "REP") &&
	     sp_expect(req, "pong", 4, "REQ");
	tap_ok(ok, "a REQ is answered afterwards");
	close(req);
	close(rep);
	return tap_done();
}
