// SPDX-License-Identifier: GPL-2.0
/*
 * The receive buffer bounds what the kernel holds for a socket: eight REQ
 * clients each send a 16 KiB request to a REP whose SO_RCVBUF is small and
 * which does not read.  What the REP socket holds (SO_MEMINFO's rmem_alloc)
 * must stay within SO_RCVBUF plus one message, the rest waiting in TCP with
 * its peers pushed back; as the REP then reads, the paused connections
 * resume and every request arrives and is answered.
 */
#include <linux/sock_diag.h>
#include "sp_test.h"

#define PORT		25600
#define NCLIENTS	8
#define MSG		(16 * 1024)

int main(void)
{
	static char buf[2 * MSG], msg[MSG];
	unsigned int mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);
	int rep, req[NCLIENTS], k, got = 0, answered = 0, seen[NCLIENTS] = { 0 };

	tap_plan(5);
	tap_watchdog(300);

	rep = sp_open(SOCK_REP, 0);
	tap_ok(sp_set_int(rep, SOL_SOCKET, SO_RCVBUF, 8192) == 0, "SO_RCVBUF set to 8 KiB");
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(rep, PORT))
		tap_bail("bind: %s", strerror(errno));

	for (k = 0; k < NCLIENTS; k++) {
		req[k] = sp_open(SOCK_REQ, 0);
		sp_timeouts(req[k], sp_wait_ms(), sp_wait_ms());
		if (sp_connect4(req[k], PORT))
			tap_bail("connect: %s", strerror(errno));
		sp_pattern(msg, MSG, k);
		msg[0] = (char)k;
		if (!sp_send_all(req[k], msg, MSG, "REQ send"))
			tap_bail("send failed");
	}

	/* Let everything that can arrive arrive. */
	{
		struct pollfd pfd = { .fd = rep, .events = POLLIN };

		if (poll(&pfd, 1, sp_wait_ms()) != 1)
			tap_diag("nothing arrived in time");
	}
	sleep(3);
	if (getsockopt(rep, SOL_SOCKET, SO_MEMINFO, mem, &len))
		tap_bail("SO_MEMINFO: %s", strerror(errno));
	tap_diag("rmem_alloc %u, rcvbuf %u", mem[SK_MEMINFO_RMEM_ALLOC], mem[SK_MEMINFO_RCVBUF]);
	tap_ok(mem[SK_MEMINFO_RMEM_ALLOC] > 0, "requests are queued on the REP");
	tap_ok(mem[SK_MEMINFO_RMEM_ALLOC] < mem[SK_MEMINFO_RCVBUF] + 4 * MSG &&
	       mem[SK_MEMINFO_RMEM_ALLOC] < NCLIENTS * MSG,
	       "the REP holds at most SO_RCVBUF plus a message, not all %d requests",
	       NCLIENTS);

	for (k = 0; k < NCLIENTS; k++) {
		ssize_t n = recv(rep, buf, sizeof(buf), 0);
		unsigned int who;

		if (n != MSG) {
			tap_diag("recv %d: %zd (%s)", k, n, n < 0 ? strerror(errno) : "short");
			break;
		}
		who = (unsigned char)buf[0];
		if (who < NCLIENTS && !seen[who]) {
			seen[who] = 1;
			got++;
		}
		if (send(rep, buf, 1, 0) == 1)
			answered++;
	}
	tap_ok(got == NCLIENTS, "all %d requests arrive as the REP reads (%d did)",
	       NCLIENTS, got);
	for (k = 0; k < NCLIENTS; k++) {
		char r;

		if (recv(req[k], &r, 1, 0) == 1 && r == (char)k)
			answered--;
		close(req[k]);
	}
	tap_ok(answered == 0, "every client gets its own answer");
	close(rep);
	return tap_done();
}
