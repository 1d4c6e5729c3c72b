// SPDX-License-Identifier: GPL-2.0
/*
 * A slow subscriber loses messages; nobody else does, and the publisher never
 * waits for it.
 *
 * One PUB, one fast SUB (a child process that reads all the time, with a
 * 4 MiB SO_RCVBUF so its own buffer is never the limit) and one slow SUB
 * (SO_RCVBUF 4096, not read at all during the burst), both subscribed to
 * everything.  The PUB's SO_SNDBUF is 128 KiB, which also sizes each
 * subscriber connection's TCP send buffer and queue.  After both are
 * connected the PUB publishes 1 KiB messages (a sequence number and a
 * pattern) with MSG_DONTWAIT, in rounds of 250, until at least 500 are out
 * and SP_DROPS has risen (or 16000 are out: the slow subscriber's own TCP
 * receive buffer, sized by its SP_RCVMAXSIZE of 2 KiB, holds some before it
 * pushes back).  Then it publishes an "end" marker every 50 ms while the
 * slow SUB drains.
 *
 * "Fast" means keeping up: the publisher stays at most AHEAD messages (well
 * inside one subscriber queue) ahead of what the fast SUB has received, which
 * it reports through shared memory.  A publisher that outruns the transmit
 * path itself (on a loaded 2-CPU guest a tight send loop can) fills every
 * subscriber's queue and loses messages for all of them, by design and as
 * libzmq's and nng's do at their queue limits; that is not what this test is
 * about, and asserting it away would be asserting on timing.
 *
 * Checks:
 *  - no send fails or would block (EAGAIN), the PUB never waits;
 *  - SP_DROPS rose during the burst;
 *  - the fast SUB receives every message, in order, intact;
 *  - the slow SUB receives some of them but not all, in increasing order,
 *    intact, and then the end marker (it still works);
 *  - SP_DROPS counts exactly the copies that did not arrive: what the fast
 *    and the slow subscriber missed together.
 * How long the burst took, the longest send and the drops per round are
 * reported as diagnostics only: timing is not asserted on a slow guest.
 */
#include <sys/mman.h>

#include "sp_pubsub.h"

#define PORT		25900
#define MSG		1024
#define MIN_MSGS	500
#define MAX_MSGS	16000
#define ROUND		250
#define FAST_RCVBUF	(4 << 20)
/* Sizes each subscriber connection's TCP send buffer and queue too (README). */
#define PUB_SNDBUF	(128 * 1024)
#define SLOW_RCVBUF	4096
#define END		PS_SYNC "end"
#define SYNC		PS_SYNC "slow"
#define GO		PS_SYNC "go"
/* How far the publisher may be ahead of the fast SUB: 64 KiB of a 256 KiB queue. */
#define AHEAD		64

/* What the fast subscriber reports to the parent. */
struct fast_result {
	int count;	/* burst messages received */
	int missing;	/* skipped over in the sequence */
	int bad;	/* out of order, repeated, damaged or of the wrong length */
	int ended;	/* saw the end marker */
};

static void make_msg(char *buf, uint32_t i)
{
	buf[0] = 'B';
	buf[1] = i >> 24;
	buf[2] = i >> 16;
	buf[3] = i >> 8;
	buf[4] = i;
	sp_pattern(buf + 5, MSG - 5, i);
}

/* Index of a burst message, or -1 if @buf is not an intact one. */
static long msg_index(const char *buf, ssize_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	uint32_t i;

	if (len != MSG || p[0] != 'B')
		return -1;
	i = (uint32_t)p[1] << 24 | p[2] << 16 | p[3] << 8 | p[4];
	if (i >= MAX_MSGS || sp_pattern_check(buf + 5, MSG - 5, i) >= 0)
		return -1;
	return i;
}

static int set_rcvbuf(int fd, int bytes, int force, const char *what)
{
	int v;

	if (force && !sp_set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes))
		return 0;
	if (force)
		tap_diag("%s: SO_RCVBUFFORCE: %s, trying SO_RCVBUF", what,
			 strerror(errno));
	if (sp_set_int(fd, SOL_SOCKET, SO_RCVBUF, bytes)) {
		tap_diag("%s: SO_RCVBUF %d: %s", what, bytes, strerror(errno));
		return -1;
	}
	if (!sp_get_int(fd, SOL_SOCKET, SO_RCVBUF, &v))
		tap_diag("%s: SO_RCVBUF is %d", what, v);
	return 0;
}

/* Burst messages the fast SUB has received up to: the highest index + 1. */
static long *fast_next;

/* The fast subscriber: reads everything until the end marker. */
static int fast_child(int res_fd)
{
	struct fast_result r = { 0 };
	static char buf[2 * MSG];
	int s = sp_open(SOCK_SUB, 0), synced = 0;
	long next = 0;

	set_rcvbuf(s, FAST_RCVBUF, 1, "fast SUB");
	sp_timeouts(s, sp_wait_ms(), sp_wait_ms());
	if (ps_subscribe(s, "", 0) || sp_connect4(s, PORT)) {
		tap_diag("fast SUB: subscribe/connect: %s", strerror(errno));
		return 2;
	}
	for (;;) {
		ssize_t len = recv(s, buf, sizeof(buf), 0);
		long i;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0) {
			tap_diag("fast SUB: recv after %d messages: %s", r.count,
				 strerror(errno));
			break;
		}
		if (len == (ssize_t)strlen(END) && !memcmp(buf, END, len)) {
			r.ended = 1;
			break;
		}
		if (ps_is_sync(buf, len)) {
			if (!synced && len == (ssize_t)strlen(SYNC) &&
			    !memcmp(buf, SYNC, len)) {
				synced = 1;
				if (write(res_fd, "S", 1) != 1)
					return 3;
			}
			continue;
		}
		i = msg_index(buf, len);
		if (i < next) {
			if (!r.bad++)
				tap_diag("fast SUB: after index %ld got %s (index %ld)",
					 next - 1, sp_show(buf, len), i);
		} else {
			if (i > next && !r.missing)
				tap_diag("fast SUB: index %ld follows %ld", i, next - 1);
			r.missing += i - next;
			next = i + 1;
			__atomic_store_n(fast_next, next, __ATOMIC_RELEASE);
		}
		r.count++;
	}
	if (write(res_fd, &r, sizeof(r)) != sizeof(r))
		return 3;
	close(s);
	return 0;
}

/*
 * Waits until the fast SUB has received every burst message below @index;
 * false (said) if it does not within the test's wait.
 */
static int wait_for_fast(long index)
{
	long long deadline = tap_now_ms() + sp_wait_ms();

	while (__atomic_load_n(fast_next, __ATOMIC_ACQUIRE) < index) {
		if (tap_now_ms() > deadline) {
			tap_diag("the fast SUB is stuck below index %ld",
				 __atomic_load_n(fast_next, __ATOMIC_ACQUIRE));
			return 0;
		}
		usleep(100);
	}
	return 1;
}

int main(void)
{
	static char msg[MSG], buf[2 * MSG];
	struct fast_result fr = { 0 };
	int pub, slow, rc, res[2], fast_synced = 0, slow_synced = 0;
	int sent = 0, fails = 0, slow_count = 0, slow_bad = 0, slow_end = 0;
	int fast_done = 0, timed_out, st;
	long slow_last = -1;
	long long t0, t_send, max_send = 0, burst_ms, deadline, next;
	uint64_t d0 = 0, d1 = 0, dround, lost;
	pid_t pid;

	tap_plan(8);
	tap_watchdog(300);

	pub = sp_open(SOCK_PUB, 0);
	sp_timeouts(pub, sp_wait_ms(), sp_wait_ms());
	slow = sp_open(SOCK_SUB, 0);
	sp_timeouts(slow, sp_wait_ms(), sp_wait_ms());
	if (sp_set_int(pub, SOL_SOCKET, SO_SNDBUF, PUB_SNDBUF))
		tap_diag("SO_SNDBUF: %s", strerror(errno));
	rc = sp_bind4(pub, PORT);
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	/* Its connection's TCP receive buffer is sized from SP_RCVMAXSIZE (README). */
	if (sp_set_int(slow, SOL_SP, SP_RCVMAXSIZE, 2 * MSG))
		tap_diag("SP_RCVMAXSIZE: %s", strerror(errno));
	rc = rc || set_rcvbuf(slow, SLOW_RCVBUF, 0, "slow SUB") ||
	     !ps_sub_str(slow, "", "slow SUB") || sp_connect4(slow, PORT);
	tap_ok(rc == 0, "PUB binds 127.0.0.1:%d; a SUB with SO_RCVBUF %d subscribes and connects",
	       PORT, SLOW_RCVBUF);

	fast_next = mmap(NULL, sizeof(*fast_next), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fast_next == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	if (pipe(res))
		tap_bail("pipe: %s", strerror(errno));
	pid = tap_fork(280);
	if (pid == 0) {
		close(res[0]);
		close(pub);
		close(slow);
		_exit(fast_child(res[1]));
	}
	close(res[1]);

	/* Both connected: the fast one says so through the pipe. */
	deadline = tap_now_ms() + sp_wait_ms();
	while ((!fast_synced || !slow_synced) && tap_now_ms() < deadline) {
		ssize_t len;

		if (send(pub, SYNC, strlen(SYNC), MSG_DONTWAIT) < 0)
			tap_diag("publishing the sync marker: %s", strerror(errno));
		if (!fast_synced) {
			struct pollfd pfd = { .fd = res[0], .events = POLLIN };
			char c;

			if (poll(&pfd, 1, PS_SYNC_IVL_MS) == 1) {
				if (read(res[0], &c, 1) != 1 || c != 'S')
					break;	/* the child gave up or died */
				fast_synced = 1;
			}
		} else {
			usleep(PS_SYNC_IVL_MS * 1000);
		}
		while ((len = recv(slow, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
			if (len == (ssize_t)strlen(SYNC) && !memcmp(buf, SYNC, len))
				slow_synced = 1;
	}
	/* Now empty the slow SUB's queue: everything up to one more marker. */
	rc = slow_synced && sp_send_all(pub, GO, strlen(GO), "PUB") &&
	     ps_expect_seq(slow, NULL, NULL, 0, GO, tap_now_ms() + sp_wait_ms(),
			   "slow SUB", &timed_out);
	tap_ok(fast_synced && rc, "both subscribers are connected (fast %s, slow %s)",
	       fast_synced ? "yes" : "no", slow_synced ? "yes" : "no");
	if (!fast_synced || !rc)
		tap_bail("the subscribers are not connected, nothing to measure");

	if (ps_drops(pub, &d0))
		tap_diag("getsockopt(SP_DROPS): %s", strerror(errno));
	tap_diag("SP_DROPS before the burst: %llu", (unsigned long long)d0);

	/* The burst: as fast as the fast SUB reads, no send ever waiting. */
	t0 = tap_now_ms();
	for (;;) {
		ssize_t n;

		if (!wait_for_fast(sent - AHEAD))
			break;
		make_msg(msg, sent);
		t_send = tap_now_ms();
		n = send(pub, msg, MSG, MSG_DONTWAIT);
		t_send = tap_now_ms() - t_send;
		if (t_send > max_send)
			max_send = t_send;
		if (n != MSG && fails++ < 3)
			tap_diag("send %d: %s", sent,
				 n < 0 ? strerror(errno) : "short");
		sent++;
		if (sent % ROUND)
			continue;
		if (ps_drops(pub, &dround)) {
			tap_diag("getsockopt(SP_DROPS): %s", strerror(errno));
			break;
		}
		tap_diag("%d sent, SP_DROPS %llu", sent,
			 (unsigned long long)(dround - d0));
		if ((sent >= MIN_MSGS && dround > d0) || sent >= MAX_MSGS)
			break;
	}
	burst_ms = tap_now_ms() - t0;
	tap_diag("burst: %d messages of %d bytes in %lld ms, longest send %lld ms",
		 sent, MSG, burst_ms, max_send);
	tap_ok(fails == 0, "all %d sends with MSG_DONTWAIT succeed at once, none would block (%d failed)",
	       sent, fails);

	/* Drops are decided as messages are published; give any lag a second. */
	sleep(1);
	if (ps_drops(pub, &d1))
		tap_diag("getsockopt(SP_DROPS): %s", strerror(errno));
	tap_ok(d1 > d0, "SP_DROPS rose during the burst (%llu)",
	       (unsigned long long)(d1 - d0));

	/* The end marker until both saw it; meanwhile the slow SUB drains. */
	deadline = tap_now_ms() + 3LL * sp_wait_ms();
	next = 0;
	while ((!slow_end || !fast_done) && tap_now_ms() < deadline) {
		ssize_t len;
		int busy = 0;

		if (tap_now_ms() >= next) {
			send(pub, END, strlen(END), MSG_DONTWAIT);
			next = tap_now_ms() + 50;
		}
		while (!slow_end &&
		       (len = recv(slow, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
			long i = msg_index(buf, len);

			busy = 1;
			if (len == (ssize_t)strlen(END) && !memcmp(buf, END, len)) {
				slow_end = 1;
			} else if (ps_is_sync(buf, len)) {
				continue;
			} else {
				if (i <= slow_last) {
					if (!slow_bad++)
						tap_diag("slow SUB: after index %ld got %s (index %ld)",
							 slow_last, sp_show(buf, len), i);
				} else {
					slow_last = i;
				}
				slow_count++;
			}
		}
		if (!fast_done) {
			struct pollfd pfd = { .fd = res[0], .events = POLLIN };

			if (poll(&pfd, 1, busy ? 0 : 10) == 1) {
				if (read(res[0], &fr, sizeof(fr)) != sizeof(fr))
					tap_diag("fast SUB: no result");
				fast_done = 1;
			}
		} else if (!busy) {
			usleep(10000);
		}
	}
	st = tap_wait_child(pid, sp_wait_ms());
	if (st)
		tap_diag("fast SUB exit status %d (2 subscribe/connect, 3 pipe, 98 no socket, 100 watchdog)",
			 st);
	tap_diag("fast SUB: %d received, %d missing, %d out of order or damaged, end marker %s",
		 fr.count, fr.missing, fr.bad, fr.ended ? "seen" : "not seen");
	tap_ok(st == 0 && fr.ended && fr.count == sent && !fr.missing && !fr.bad,
	       "the fast SUB receives all %d messages, in order, intact (%d)",
	       sent, fr.count);
	tap_diag("slow SUB: %d received, %d out of order or damaged, end marker %s",
		 slow_count, slow_bad, slow_end ? "seen" : "not seen");
	tap_ok(slow_count > 0 && slow_count < sent && !slow_bad,
	       "the slow SUB receives some but not all (%d of %d), in order, intact",
	       slow_count, sent);
	tap_ok(slow_end, "the slow SUB, drained, receives the end marker again");
	lost = (uint64_t)(sent - fr.count) + (uint64_t)(sent - slow_count);
	tap_ok(d1 - d0 == lost,
	       "SP_DROPS counts exactly the copies that never arrived (%llu, missed %llu)",
	       (unsigned long long)(d1 - d0), (unsigned long long)lost);

	close(slow);
	close(pub);
	return tap_done();
}
