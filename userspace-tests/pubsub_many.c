// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-out: 100 SUB sockets on one PUB.  All subscribe to everything and
 * connect, half by connect() and half by SP_CONNECT; once every one of them
 * has received a marker (so all 100 connections are up), the PUB publishes
 * 20 numbered messages and a final marker, and every subscriber must receive
 * exactly those 20, in order, before the marker.  Then half of the
 * subscribers close, the PUB publishes 20 more, and each of the 50 still
 * open must again get all 20: subscribers going away do not disturb the
 * others.  SP_DROPS is reported as a diagnostic.
 */
#include "sp_pubsub.h"

#define PORT	26000
#define NSUBS	100
#define NMSGS	20

/* Publish NMSGS messages "round R message I" and a marker; 1 if all sent. */
static int publish(int pub, int round, char msgs[NMSGS][32],
		   const char *exp[NMSGS], size_t explen[NMSGS], char *marker)
{
	int i, ok = 1;

	for (i = 0; i < NMSGS; i++) {
		explen[i] = snprintf(msgs[i], 32, "round %d message %02d", round, i);
		exp[i] = msgs[i];
		ok &= sp_send_all(pub, msgs[i], explen[i], "PUB");
	}
	sprintf(marker, PS_SYNC "round-%d", round);
	ok &= sp_send_all(pub, marker, strlen(marker), "PUB marker");
	return ok;
}

/* How many of the open subscribers got exactly the round. */
static int collect(const int *subs, int round, const char *const *exp,
		   const size_t *explen, const char *marker)
{
	long long deadline = tap_now_ms() + 2LL * sp_wait_ms();
	int i, good = 0, timed_out;
	char what[64];

	for (i = 0; i < NSUBS; i++) {
		if (subs[i] < 0)
			continue;
		snprintf(what, sizeof(what), "round %d: SUB %d", round, i);
		if (ps_expect_seq(subs[i], exp, explen, NMSGS, marker, deadline,
				  what, &timed_out))
			good++;
	}
	return good;
}

int main(void)
{
	static char msgs[NMSGS][32];
	const char *exp[NMSGS];
	size_t explen[NMSGS];
	int pub, subs[NSUBS], i, rc, nfail = 0, stray, got, nopen;
	char url[64], marker[32];
	uint64_t drops;

	tap_plan(8);
	tap_watchdog(300);

	pub = sp_open(SOCK_PUB, 0);
	sp_timeouts(pub, sp_wait_ms(), sp_wait_ms());
	rc = sp_bind4(pub, PORT);
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	tap_ok(rc == 0, "PUB binds 127.0.0.1:%d", PORT);

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", PORT);
	for (i = 0; i < NSUBS; i++) {
		subs[i] = sp_open(SOCK_SUB, 0);
		sp_timeouts(subs[i], sp_wait_ms(), sp_wait_ms());
		rc = ps_subscribe(subs[i], "", 0);
		if (!rc)
			rc = i % 2 ? sp_url(subs[i], SP_CONNECT, url)
				   : sp_connect4(subs[i], PORT);
		if (rc && nfail++ < 3)
			tap_diag("SUB %d: subscribe/connect: %s", i, strerror(errno));
	}
	tap_ok(nfail == 0, "%d SUBs subscribe to \"\" and connect (%d failed)",
	       NSUBS, nfail);

	got = ps_sync(pub, subs, NSUBS, PS_SYNC "connected", 3 * sp_wait_ms(),
		      &stray);
	tap_ok(got == NSUBS && !stray,
	       "all %d subscribers are connected and received the marker (%d, %d stray)",
	       NSUBS, got, stray);

	tap_ok(publish(pub, 1, msgs, exp, explen, marker),
	       "PUB publishes %d messages and a marker", NMSGS);
	got = collect(subs, 1, exp, explen, marker);
	tap_ok(got == NSUBS, "every one of the %d subscribers gets all %d messages in order (%d do)",
	       NSUBS, NMSGS, got);

	for (i = 0; i < NSUBS; i += 2) {
		close(subs[i]);
		subs[i] = -1;
	}
	nopen = NSUBS / 2;
	tap_ok(publish(pub, 2, msgs, exp, explen, marker),
	       "after %d subscribers closed, PUB publishes %d more", NSUBS - nopen,
	       NMSGS);
	got = collect(subs, 2, exp, explen, marker);
	tap_ok(got == nopen, "each of the %d still open gets all %d in order (%d do)",
	       nopen, NMSGS, got);

	/* The PUB survives its subscribers. */
	for (i = 0; i < NSUBS; i++)
		if (subs[i] >= 0)
			close(subs[i]);
	rc = ps_drops(pub, &drops);
	if (rc)
		tap_diag("getsockopt(SP_DROPS): %s", strerror(errno));
	else
		tap_diag("SP_DROPS: %llu", (unsigned long long)drops);
	tap_ok(sp_send_all(pub, "nobody left", 11, "PUB"),
	       "PUB still publishes after all subscribers are gone");
	close(pub);
	return tap_done();
}
