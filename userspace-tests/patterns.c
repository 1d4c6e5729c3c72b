// SPDX-License-Identifier: GPL-2.0
/*
 * The contract of PUSH/PULL, PAIR, SURVEYOR/RESPONDENT and BUS, sp to sp:
 *
 *  - Every pair of partner types links up and carries its traffic five
 *    ways: the first type binds (bind(sockaddr_in)) and the second connects,
 *    the other way round, with SP_BIND/SP_CONNECT URL strings, and over
 *    IPv6 [::1] by sockaddr_in6 and by tcp://[::1]:port URLs (skipped if the
 *    guest has no ::1); both ends count one peer (SP_PEERS).
 *  - PUSH/PULL: 100 numbered messages arrive at the one PULL each exactly
 *    once, in order; send on a PULL and recv on a PUSH are EOPNOTSUPP; a PULL
 *    is never writable and is readable while a message is queued; a PUSH
 *    dialing a port where nobody listens takes 10 messages at once and a PULL
 *    bound afterwards gets all 10; with SO_SNDBUF 4096 and no PULL, 1000-byte
 *    MSG_DONTWAIT sends end in EAGAIN and POLLOUT is clear, until a PULL
 *    binds and drains every one of them: then the PUSH is writable again.
 *  - PAIR: SP_PAIR_VERSION is 1 by default, 0 is taken before bind/connect,
 *    2 and -1 are EINVAL, after bind() or connect() EISCONN; two version-0
 *    PAIRs talk both ways; a version-0 and a version-1 PAIR refuse each
 *    other (SP_PEERS stays 0 for 300 ms, nothing arrives); a second PAIR
 *    dialing a bound PAIR that has a peer is refused (the first pair keeps
 *    talking, the bound one keeps SP_PEERS 1 and gets nothing from the
 *    second) until the first closes, then the second is the peer (a message
 *    it sends once it counts a peer arrives; what it sent while refused
 *    arrives at most once); a message sent with no peer and no endpoint is
 *    queued and arrives once the PAIR connects; POLLOUT while a send would
 *    not block, clear once the send buffer is full (EAGAIN).
 *  - SURVEYOR/RESPONDENT: SP_SURVEY_DEADLINE is 1000 by default, 0 and -1
 *    EINVAL; recv before any survey is EPROTO; a survey reaches each of 3
 *    respondents (a bound surveyor with dialing respondents, and a dialing
 *    surveyor with bound ones), their 3 answers arrive, then recv blocks
 *    until the deadline and fails with ETIMEDOUT (or poll wakes with POLLIN
 *    at the deadline and recv says ETIMEDOUT at once), and after it EPROTO;
 *    a respondent's send before any survey and its second answer are
 *    EPROTO; a new survey cancels the old one (an answer to survey 1 sent
 *    after survey 2 is not delivered); a respondent is writable only while
 *    it owes an answer, a surveyor always.
 *  - BUS: A binds, B and C connect; A's message reaches B and C once each,
 *    B's reaches A but not C (nothing forwarded, no echo); all writable.
 *  - SP_MAXTTL: 8 by default on REQ, REP, SURVEYOR, RESPONDENT and PAIR, 1
 *    and 15 taken and read back, 0, 16 and -1 EINVAL; PUB, SUB, PUSH, PULL
 *    and BUS do not have it (ENOPROTOOPT, as every SOL_SP option a type does
 *    not have).
 *  - close() delivers: a PUSH and a PAIR that send 100 messages of 1000 bytes
 *    to a connected peer that is not reading yet and close at once; the peer
 *    gets all 100, in order.
 *  - SO_LINGER { 1, 0 } discards: of a PUSH (PAIR) that dials nowhere, sends
 *    10 and closes with the default linger, and another that does the same
 *    with SO_LINGER { 1, 0 }, a PULL (PAIR) bound afterwards gets all 10 of
 *    the first's and none of the second's.
 *  - SP_RCVMAXSIZE 4096 on a PULL, PAIR and BUS: a message whose frame is
 *    4096 bytes (a PAIR v1's hop count included) arrives intact from an sp
 *    partner; one a byte larger is not delivered, and the link recovers (a
 *    later message arrives).
 */
#include "sp_patterns.h"

#define PORT_LINK	29000	/* .. 29019: 4 kinds x 5 ways of linking */
#define PORT_PP		29020	/* PUSH/PULL contract */
#define PORT_PP_EARLY	29021	/* PUSH sends before the PULL binds */
#define PORT_PP_FULL	29022	/* PUSH with a full send buffer */
#define PORT_PAIR_OPT	29030	/* SP_PAIR_VERSION after bind */
#define PORT_PAIR_NONE	29031	/* SP_PAIR_VERSION after connect (nobody there) */
#define PORT_PAIR_V0	29032	/* two version-0 PAIRs */
#define PORT_PAIR_MIX	29033	/* version 0 against version 1 */
#define PORT_PAIR_TWO	29034	/* a second PAIR dials a taken one */
#define PORT_PAIR_Q	29035	/* PAIR queues before it has a peer */
#define PORT_SURV	29040	/* bound SURVEYOR, 3 dialing RESPONDENTs */
#define PORT_SURV_R	29041	/* .. 29043: 3 bound RESPONDENTs */
#define PORT_SURV_ONE	29044	/* one SURVEYOR, one RESPONDENT */
#define PORT_BUS	29050	/* BUS A */
#define PORT_CLOSE	29060	/* .. 29061: delivery after close (PUSH, PAIR) */
#define PORT_LINGER	29062	/* .. 29063: SO_LINGER { 1, 0 } (PUSH, PAIR) */
#define PORT_RCVMAX	29064	/* .. 29066: SP_RCVMAXSIZE (PULL, PAIR, BUS) */

#define NMSG		100	/* numbered messages in order */
#define NUM_SIZE	64
#define EARLY_MSGS	10
#define FILL_SIZE	1000
#define FILL_MAX	1000	/* sends tried before giving up on EAGAIN */
#define SURVEY_MS	750	/* SP_SURVEY_DEADLINE of the survey rounds */
#define NRESP		3
#define CLOSE_MSGS	100
#define CLOSE_SIZE	1000
#define LINGER_MSGS	10
#define RCVMAX		4096	/* SP_RCVMAXSIZE of the receivers */

#define NWAYS		5
#define LINK_CHECKS	(4 * NWAYS * 2)
#define PP_CHECKS	11
#define PAIR_CHECKS	15
#define SURVEY_CHECKS	20
#define BUS_CHECKS	6
#define TTL_CHECKS	20
#define CLOSE_CHECKS	2
#define LINGER_CHECKS	4
#define RCVMAX_CHECKS	6
#define NCHECKS		(LINK_CHECKS + PP_CHECKS + PAIR_CHECKS + SURVEY_CHECKS + \
			 BUS_CHECKS + TTL_CHECKS + CLOSE_CHECKS + LINGER_CHECKS + \
			 RCVMAX_CHECKS)

/* ---- linking every kind five ways ---- */

static const struct {
	int a, b;
} kinds[] = {
	{ SOCK_PUSH, SOCK_PULL },
	{ SOCK_PAIR, SOCK_PAIR },
	{ SOCK_SURVEYOR, SOCK_RESPONDENT },
	{ SOCK_BUS, SOCK_BUS },
};

/* What the pattern carries between @a (of @type) and @b; 1 if it all arrived. */
static int exchange(int type, int a, int b, const char *tag)
{
	char m1[96], m2[96];
	int ok;

	snprintf(m1, sizeof(m1), "%s: first to second", tag);
	snprintf(m2, sizeof(m2), "%s: second to first", tag);
	ok = pt_send_str(a, m1, tag) && pt_expect_str(b, m1, tag);
	if (ok && type != SOCK_PUSH)
		ok = pt_send_str(b, m2, tag) && pt_expect_str(a, m2, tag);
	return ok;
}

static const char *exchange_name(int type)
{
	switch (type) {
	case SOCK_PUSH:
		return "a message from the PUSH arrives at the PULL";
	case SOCK_SURVEYOR:
		return "a survey arrives and its answer comes back";
	}
	return "messages arrive both ways";
}

/* 2 checks per kind and way. */
static void links(void)
{
	unsigned int k;
	int way;

	static const enum pt_how hows[NWAYS] = {
		PT_ADDR, PT_ADDR, PT_URL, PT_ADDR6, PT_URL6
	};
	int ipv6 = sp_have_ipv6();

	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		for (way = 0; way < NWAYS; way++) {
			enum pt_how how = hows[way];
			int port = PORT_LINK + NWAYS * k + way, ok, a, b;
			int binder, dialer;
			char what[160];

			if (!ipv6 && (how == PT_ADDR6 || how == PT_URL6)) {
				tap_skip("%s over IPv6: the guest has no ::1",
					 sp_type_name(kinds[k].a));
				tap_skip("%s over IPv6: the guest has no ::1",
					 sp_type_name(kinds[k].a));
				continue;
			}
			a = pt_open(kinds[k].a);
			b = pt_open(kinds[k].b);
			binder = way == 1 ? b : a;
			dialer = way == 1 ? a : b;
			/* Answers must not miss a deadline on a slow guest here. */
			if (kinds[k].a == SOCK_SURVEYOR)
				pt_set(a, SP_SURVEY_DEADLINE, sp_wait_ms());
			snprintf(what, sizeof(what), "%s binds, %s connects (%s%s)",
				 sp_type_name(way == 1 ? kinds[k].b : kinds[k].a),
				 sp_type_name(way == 1 ? kinds[k].a : kinds[k].b),
				 pt_how_name(how), way == 1 ? ", reversed" : "");
			ok = pt_link(binder, dialer, port, how, what);
			tap_ok(ok && pt_wait_peers(a, 1, what) &&
			       pt_wait_peers(b, 1, what),
			       "%s, port %d: both ends count one peer", what, port);
			tap_ok(ok && exchange(kinds[k].a, a, b, what), "%s: %s",
			       what, exchange_name(kinds[k].a));
			close(a);
			close(b);
		}
	}
}

/* ---- PUSH/PULL ---- */

/* 11 checks. */
static void pushpull(void)
{
	int push = pt_open(SOCK_PUSH), pull = pt_open(SOCK_PULL);
	int ok, n, got, r, err;
	long long t0, dt;
	char buf[FILL_SIZE];

	ok = pt_link(pull, push, PORT_PP, PT_ADDR, "PUSH/PULL") &&
	     pt_wait_peers(push, 1, "PUSH") && pt_wait_peers(pull, 1, "PULL");
	n = ok ? pt_send_numbered(push, 0, NMSG, NUM_SIZE, 0, "PUSH") : 0;
	got = n == NMSG ? pt_expect_numbered(pull, 0, NMSG, NUM_SIZE, "PULL") : 0;
	tap_ok(got == NMSG && pt_send_str(push, "end", "PUSH") &&
	       pt_expect_str(pull, "end", "PULL after the numbered messages"),
	       "PUSH sends %d numbered messages: the one PULL receives each exactly once, in order (%d did)",
	       NMSG, got);

	sp_check_err(send(pull, "x", 1, 0), EOPNOTSUPP, EOPNOTSUPP,
		     "send on a PULL");
	sp_check_err(recv(push, buf, sizeof(buf), 0), EOPNOTSUPP, EOPNOTSUPP,
		     "recv on a PUSH");

	r = pt_poll(pull, POLLIN | POLLOUT, PT_SHORT_MS);
	tap_ok(r == 0,
	       "a PULL with nothing queued is neither readable nor writable (poll saw %s)",
	       pt_mask(r));
	pt_send_str(push, "poll me", "PUSH");
	r = pt_poll(pull, POLLIN | POLLOUT, sp_wait_ms());
	tap_ok(r > 0 && (r & (POLLIN | POLLOUT)) == POLLIN &&
	       pt_expect_str(pull, "poll me", "PULL after POLLIN"),
	       "a PULL with a message queued is readable and still not writable (poll saw %s); recv gets it",
	       pt_mask(r));
	close(push);
	close(pull);

	/* Nothing dropped while no PULL exists. */
	push = pt_open(SOCK_PUSH);
	ok = !sp_connect4(push, PORT_PP_EARLY);
	if (!ok)
		tap_diag("connect 127.0.0.1:%d: %s", PORT_PP_EARLY, strerror(errno));
	t0 = tap_now_ms();
	n = ok ? pt_send_numbered(push, 0, EARLY_MSGS, NUM_SIZE, 0, "PUSH, no PULL") : 0;
	dt = tap_now_ms() - t0;
	tap_ok(n == EARLY_MSGS && dt < PT_QUICK_MS,
	       "a PUSH dialing a port where nobody listens takes %d messages at once (%d in %lld ms)",
	       EARLY_MSGS, n, dt);
	pull = pt_open(SOCK_PULL);
	if (sp_bind4(pull, PORT_PP_EARLY))
		tap_diag("bind 127.0.0.1:%d: %s", PORT_PP_EARLY, strerror(errno));
	got = pt_expect_numbered(pull, 0, EARLY_MSGS, NUM_SIZE, "PULL bound late");
	tap_ok(got == EARLY_MSGS && pt_send_str(push, "end", "PUSH") &&
	       pt_expect_str(pull, "end", "PULL bound late, after the 10"),
	       "a PULL that binds afterwards receives all %d, in order, exactly once (%d)",
	       EARLY_MSGS, got);
	close(push);
	close(pull);

	/* Back-pressure: EAGAIN, no POLLOUT, until a PULL drains it. */
	push = pt_open(SOCK_PUSH);
	pt_sndbuf(push, 4096);
	if (sp_connect4(push, PORT_PP_FULL))
		tap_diag("connect 127.0.0.1:%d: %s", PORT_PP_FULL, strerror(errno));
	n = pt_fill(push, FILL_SIZE, FILL_MAX, &err);
	tap_ok(n > 0 && n < FILL_MAX && sp_is_again(err),
	       "a PUSH with SO_SNDBUF 4096 and no PULL takes %d messages of %d bytes with MSG_DONTWAIT, then fails with EAGAIN (%s)",
	       n, FILL_SIZE, err ? sp_errname(err) : "no failure");
	r = pt_poll(push, POLLOUT, PT_SHORT_MS);
	tap_ok(sp_is_again(err) && r == 0,
	       "with its send buffer full the PUSH is not writable (poll saw %s)",
	       pt_mask(r));
	pull = pt_open(SOCK_PULL);
	if (sp_bind4(pull, PORT_PP_FULL))
		tap_diag("bind 127.0.0.1:%d: %s", PORT_PP_FULL, strerror(errno));
	got = n > 0 ? pt_expect_numbered(pull, 0, n, FILL_SIZE, "PULL draining") : 0;
	tap_ok(n > 0 && got == n,
	       "a PULL that binds then receives all %d queued messages, in order (%d)",
	       n, got);
	r = pt_poll(push, POLLOUT, sp_wait_ms());
	pt_numbered(buf, FILL_SIZE, n);
	ok = pt_has(r, POLLOUT) && send(push, buf, FILL_SIZE, MSG_DONTWAIT) == FILL_SIZE;
	if (!ok)
		tap_diag("poll saw %s; send: %s", pt_mask(r), strerror(errno));
	tap_ok(ok && pt_expect_numbered(pull, n, 1, FILL_SIZE, "PULL, after the drain") == 1,
	       "drained, the PUSH is writable again, and a MSG_DONTWAIT send succeeds and arrives");
	close(push);
	close(pull);
}

/* ---- PAIR ---- */

/* Once linked, setting SP_PAIR_VERSION to @val fails with EISCONN; it stays @v. */
static int version_kept(int fd, int val, int v, const char *what)
{
	return pt_set_fails(fd, SP_PAIR_VERSION, val, EISCONN, what) &&
	       pt_get(fd, SP_PAIR_VERSION) == v;
}

/* 5 checks: SP_PAIR_VERSION. */
static void pair_version(void)
{
	int p = pt_open(SOCK_PAIR), q = pt_open(SOCK_PAIR), v, ok;

	v = pt_get(p, SP_PAIR_VERSION);
	tap_ok(v == SP_PAIR_VERSION_DEFAULT,
	       "SP_PAIR_VERSION of a fresh PAIR is %d (%d)", SP_PAIR_VERSION_DEFAULT, v);
	ok = pt_set(p, SP_PAIR_VERSION, 0);
	v = pt_get(p, SP_PAIR_VERSION);
	tap_ok(ok && v == 0,
	       "SP_PAIR_VERSION 0 is taken before bind/connect and reads back 0 (%d)", v);
	ok = pt_set_fails(p, SP_PAIR_VERSION, 2, EINVAL, "SP_PAIR_VERSION 2");
	ok &= pt_set_fails(p, SP_PAIR_VERSION, -1, EINVAL, "SP_PAIR_VERSION -1");
	tap_ok(ok && pt_get(p, SP_PAIR_VERSION) == 0,
	       "SP_PAIR_VERSION 2 and -1: EINVAL, the value stays 0");

	if (sp_bind4(p, PORT_PAIR_OPT))
		tap_diag("bind 127.0.0.1:%d: %s", PORT_PAIR_OPT, strerror(errno));
	tap_ok(version_kept(p, 1, 0, "SP_PAIR_VERSION after bind"),
	       "after bind(), setting SP_PAIR_VERSION fails with EISCONN, the value stays 0");
	if (sp_connect4(q, PORT_PAIR_NONE))
		tap_diag("connect 127.0.0.1:%d: %s", PORT_PAIR_NONE, strerror(errno));
	tap_ok(version_kept(q, 0, 1, "SP_PAIR_VERSION after connect"),
	       "after connect(), setting SP_PAIR_VERSION fails with EISCONN, the value stays 1");
	close(p);
	close(q);
}

/* 2 checks: version 0 with version 0, and with version 1. */
static void pair_v0(void)
{
	int a = pt_open(SOCK_PAIR), b = pt_open(SOCK_PAIR), ok, bad = 0, arrived = 0;
	long long t0;
	char buf[64];

	ok = pt_set(a, SP_PAIR_VERSION, 0) && pt_set(b, SP_PAIR_VERSION, 0) &&
	     pt_link(a, b, PORT_PAIR_V0, PT_ADDR, "PAIR v0") &&
	     pt_wait_peers(a, 1, "PAIR v0 a") && pt_wait_peers(b, 1, "PAIR v0 b");
	tap_ok(ok && exchange(SOCK_PAIR, a, b, "PAIR v0"),
	       "two version-0 PAIRs connect and exchange messages both ways");
	close(a);
	close(b);

	/* Version 0 binds, version 1 dials: the headers do not match. */
	a = pt_open(SOCK_PAIR);
	b = pt_open(SOCK_PAIR);
	ok = pt_set(a, SP_PAIR_VERSION, 0) &&
	     pt_link(a, b, PORT_PAIR_MIX, PT_ADDR, "PAIR v0 and v1") &&
	     pt_send_str(b, "mismatch", "PAIR v1");
	t0 = tap_now_ms();
	while (tap_now_ms() - t0 < PT_SHORT_MS) {
		int pa = pt_peers(a), pb = pt_peers(b);

		if ((pa || pb) && !bad++)
			tap_diag("SP_PEERS: v0 %d, v1 %d", pa, pb);
		if (pt_ready(a, POLLIN, 5)) {
			ssize_t n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);

			if (n >= 0 && !arrived++)
				tap_diag("the v0 PAIR received %s", sp_show(buf, n));
		}
	}
	tap_ok(ok && !bad && !arrived,
	       "a version-0 and a version-1 PAIR refuse each other: SP_PEERS stays 0 on both for %d ms, nothing arrives",
	       PT_SHORT_MS);
	close(a);
	close(b);
}

/* Read what @b has until @marker (or nothing for @ms); count by kind. */
static int drain_until(int b, const char *marker, int ms, int *refused,
		       int *fresh, int *stray)
{
	char buf[128];
	ssize_t n;

	while ((n = pt_recv_ms(b, buf, sizeof(buf) - 1, ms)) >= 0) {
		buf[n] = '\0';
		if (marker && !strcmp(buf, marker))
			return 1;
		if (!strcmp(buf, "p2 refused"))
			(*refused)++;
		else if (!strncmp(buf, "p2 new ", 7))
			(*fresh)++;
		else if ((*stray)++ < 3)
			tap_diag("the bound PAIR received %s", sp_show(buf, n));
		if (!marker && *fresh)
			return 1;
	}
	return 0;
}

/* 4 checks: a second PAIR is refused while the first is there. */
static void pair_second(void)
{
	int b = pt_open(SOCK_PAIR), p1 = pt_open(SOCK_PAIR), p2 = pt_open(SOCK_PAIR);
	int ok, good, rounds = 0, stray = 0, badpeers = 0, refused = 0, fresh = 0;
	int stray2 = 0, tries = 0, v;
	long long t0, deadline;
	char m[64], buf[64];

	ok = pt_link(b, p1, PORT_PAIR_TWO, PT_ADDR, "PAIR") &&
	     pt_wait_peers(b, 1, "bound PAIR") && pt_wait_peers(p1, 1, "first PAIR");
	if (ok && sp_connect4(p2, PORT_PAIR_TWO)) {
		tap_diag("second PAIR: connect: %s", strerror(errno));
		ok = 0;
	}
	/* Queued by the second PAIR, which has no peer. */
	ok = ok && pt_send_str(p2, "p2 refused", "second PAIR");

	good = ok;
	t0 = tap_now_ms();
	while (good && (!rounds || tap_now_ms() - t0 < PT_SHORT_MS)) {
		ssize_t n;

		snprintf(m, sizeof(m), "p1 %d", rounds);
		good = pt_send_str(p1, m, "first PAIR");
		while (good) {
			n = recv(b, buf, sizeof(buf) - 1, 0);
			if (n < 0) {
				tap_diag("bound PAIR: recv: %s (SP_PEERS: bound %d, first %d, second %d)",
					 strerror(errno), pt_peers(b), pt_peers(p1), pt_peers(p2));
				good = 0;
				break;
			}
			buf[n] = '\0';
			if (!strcmp(buf, m))
				break;
			if (stray++ < 3)
				tap_diag("bound PAIR received %s", sp_show(buf, n));
		}
		snprintf(m, sizeof(m), "b %d", rounds);
		good = good && pt_send_str(b, m, "bound PAIR") &&
		       pt_expect_str(p1, m, "first PAIR");
		v = pt_peers(b);
		if (v != 1 && !badpeers++)
			tap_diag("round %d: the bound PAIR's SP_PEERS is %d", rounds, v);
		rounds += good;
	}
	while (pt_poll(b, POLLIN, 0) > 0 &&
	       recv(b, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		stray++;
	tap_ok(good,
	       "with a second PAIR dialing the bound PAIR, the first pair keeps exchanging messages (%d round trips in %d ms)",
	       rounds, PT_SHORT_MS);
	tap_ok(good && !stray && !badpeers,
	       "the bound PAIR keeps SP_PEERS 1 and gets none of the second PAIR's messages (%d stray, %d bad counts)",
	       stray, badpeers);

	/* The first goes: the second is the peer, perhaps after a retry. */
	close(p1);
	deadline = tap_now_ms() + sp_wait_ms();
	while (good && !fresh && tap_now_ms() < deadline) {
		if (pt_peers(p2) != 1) {
			usleep(5000);
			continue;
		}
		snprintf(m, sizeof(m), "p2 new %d", tries++);
		if (!pt_send_str(p2, m, "second PAIR"))
			break;
		drain_until(b, NULL, 200, &refused, &fresh, &stray2);
	}
	v = pt_peers(b);
	tap_ok(fresh && v == 1 && pt_send_str(b, "to p2", "bound PAIR") &&
	       pt_expect_str(p2, "to p2", "second PAIR"),
	       "once the first PAIR closes the second is the peer: what it sends then arrives (%d sent), and what the bound PAIR sends reaches it (SP_PEERS %d)",
	       tries, v);
	ok = fresh && pt_send_str(p2, "p2 last", "second PAIR") &&
	     drain_until(b, "p2 last", sp_wait_ms(), &refused, &fresh, &stray2);
	tap_ok(ok && refused <= 1 && !stray2,
	       "what the second PAIR sent while refused arrived at most once (%d times), nothing else came",
	       refused);
	close(b);
	close(p2);
}

/* 4 checks: queued while there is no peer; POLLOUT. */
static void pair_queue(void)
{
	int a = pt_open(SOCK_PAIR), b = pt_open(SOCK_PAIR), c, ok, n, err, r0, r1;
	long long t0 = tap_now_ms(), dt;

	ok = pt_send_str(a, "early", "PAIR with no peer");
	dt = tap_now_ms() - t0;
	tap_ok(ok && dt < PT_QUICK_MS,
	       "a PAIR with no endpoint and no peer takes a message at once (queued, %lld ms)",
	       dt);
	ok = pt_link(b, a, PORT_PAIR_Q, PT_ADDR, "PAIR queue");
	tap_ok(ok && pt_expect_str(b, "early", "PAIR bound later"),
	       "once it connects to a PAIR, the queued message arrives there");
	r0 = pt_poll(a, POLLOUT, sp_wait_ms());
	tap_ok(pt_has(r0, POLLOUT),
	       "a PAIR with a peer and room to send is writable (poll saw %s)",
	       pt_mask(r0));
	close(a);
	close(b);

	c = pt_open(SOCK_PAIR);
	pt_sndbuf(c, 4096);
	r0 = pt_poll(c, POLLOUT, sp_wait_ms());
	n = pt_fill(c, FILL_SIZE, FILL_MAX, &err);
	r1 = pt_poll(c, POLLOUT, PT_SHORT_MS);
	tap_ok(pt_has(r0, POLLOUT) && n > 0 && sp_is_again(err) && r1 == 0,
	       "a PAIR with no peer is writable (%s) until its 4096-byte send buffer is full: after %d messages of %d bytes, EAGAIN (%s) and no POLLOUT (%s)",
	       pt_mask(r0), n, FILL_SIZE, err ? sp_errname(err) : "none",
	       pt_mask(r1));
	pt_discard_on_close(c);
	close(c);
}

/* ---- SURVEYOR/RESPONDENT ---- */

/* The 3 answers "answer K" on @s, one each; 1 if exactly so (else logs). */
static int three_answers(int s, const char *what)
{
	char buf[64], exp[32];
	int seen = 0, i, k, bad = 0;

	for (i = 0; i < NRESP; i++) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);

		if (n < 0) {
			tap_diag("%s: answer %d: recv: %s", what, i, strerror(errno));
			return 0;
		}
		buf[n] = '\0';
		for (k = 0; k < NRESP; k++) {
			snprintf(exp, sizeof(exp), "answer %d", k);
			if (!strcmp(buf, exp))
				break;
		}
		if (k == NRESP || (seen & (1 << k))) {
			tap_diag("%s: unexpected answer %s", what, sp_show(buf, n));
			bad++;
			continue;
		}
		seen |= 1 << k;
	}
	return !bad && seen == (1 << NRESP) - 1;
}

/* The SURVEYOR @s has the NRESP respondents as peers and each has it; 1 if so. */
static int all_linked(int s, const int *r)
{
	int k, ok = pt_wait_peers(s, NRESP, "SURVEYOR");

	for (k = 0; k < NRESP; k++)
		ok = ok && pt_wait_peers(r[k], 1, "RESPONDENT");
	return ok;
}

/* The SURVEYOR @s sends the survey @q; how many respondents received it. */
static int survey_reaches(int s, const int *r, const char *q)
{
	int k, got = 0;

	if (!pt_send_str(s, q, "SURVEYOR"))
		return 0;
	for (k = 0; k < NRESP; k++)
		got += pt_expect_str(r[k], q, "RESPONDENT");
	return got;
}

static int answer_all(const int *r)
{
	char a[32];
	int k, ok = 1;

	for (k = 0; k < NRESP; k++) {
		snprintf(a, sizeof(a), "answer %d", k);
		ok &= pt_send_str(r[k], a, "RESPONDENT");
	}
	return ok;
}

/* 1 check: every respondent answers, the SURVEYOR @s gets each answer. */
static void each_answers(int s, const int *r, const char *what)
{
	tap_ok(answer_all(r) && three_answers(s, what),
	       "each answers; the SURVEYOR receives the %d answers, one from each",
	       NRESP);
}

/* Every respondent's send fails with EPROTO. */
static int all_eproto(const int *r, const char *what)
{
	int k, ok = 1;

	for (k = 0; k < NRESP; k++)
		ok &= pt_fails(send(r[k], "x", 1, 0), EPROTO, what);
	return ok;
}

/* 10 checks: options, and a bound SURVEYOR with 3 dialing RESPONDENTs. */
static void survey_bound(void)
{
	int s = pt_open(SOCK_SURVEYOR), r[NRESP], v, ok, k, err, got;
	long long t0, dt;
	char buf[64];

	v = pt_get(s, SP_SURVEY_DEADLINE);
	tap_ok(v == SP_SURVEY_DEADLINE_DEFAULT,
	       "SP_SURVEY_DEADLINE of a fresh SURVEYOR is %d (%d)",
	       SP_SURVEY_DEADLINE_DEFAULT, v);
	ok = pt_set_fails(s, SP_SURVEY_DEADLINE, 0, EINVAL, "SP_SURVEY_DEADLINE 0");
	ok &= pt_set_fails(s, SP_SURVEY_DEADLINE, -1, EINVAL,
			   "SP_SURVEY_DEADLINE -1");
	tap_ok(ok && pt_get(s, SP_SURVEY_DEADLINE) == SP_SURVEY_DEADLINE_DEFAULT,
	       "SP_SURVEY_DEADLINE 0 and -1: EINVAL, the value unchanged");
	ok = pt_set(s, SP_SURVEY_DEADLINE, SURVEY_MS);
	v = pt_get(s, SP_SURVEY_DEADLINE);
	tap_ok(ok && v == SURVEY_MS, "SP_SURVEY_DEADLINE %d is taken and reads back (%d)",
	       SURVEY_MS, v);
	sp_check_err(recv(s, buf, sizeof(buf), 0), EPROTO, EPROTO,
		     "recv on a SURVEYOR before any survey");

	ok = !sp_bind4(s, PORT_SURV);
	if (!ok)
		tap_diag("bind 127.0.0.1:%d: %s", PORT_SURV, strerror(errno));
	for (k = 0; k < NRESP; k++) {
		r[k] = pt_open(SOCK_RESPONDENT);
		if (sp_connect4(r[k], PORT_SURV)) {
			tap_diag("RESPONDENT %d: connect: %s", k, strerror(errno));
			ok = 0;
		}
	}
	ok = ok && all_linked(s, r);

	tap_ok(all_eproto(r, "send on a RESPONDENT before any survey"),
	       "send on a RESPONDENT before any survey fails with EPROTO (all %d)",
	       NRESP);
	t0 = tap_now_ms();
	got = ok ? survey_reaches(s, r, "survey 1") : 0;
	tap_ok(got == NRESP,
	       "a survey from the bound SURVEYOR reaches each of the %d RESPONDENTs that connected (%d)",
	       NRESP, got);
	each_answers(s, r, "bound SURVEYOR");
	tap_ok(all_eproto(r, "second answer"),
	       "a RESPONDENT answers at most once: a second send fails with EPROTO (all %d)",
	       NRESP);
	err = pt_recv_fails(s, 0);
	dt = tap_now_ms() - t0;
	tap_ok(err == ETIMEDOUT && dt >= SURVEY_MS - PT_TIMER_SLACK_MS,
	       "the next recv blocks until the deadline (%lld ms after the survey, deadline %d) and fails with ETIMEDOUT (%s)",
	       dt, SURVEY_MS, pt_failed_with(err));
	sp_check_err(recv(s, buf, sizeof(buf), 0), EPROTO, EPROTO,
		     "recv on a SURVEYOR after its survey's ETIMEDOUT");
	for (k = 0; k < NRESP; k++)
		close(r[k]);
	close(s);
}

/* 4 checks: a SURVEYOR dialing 3 bound RESPONDENTs; POLLIN at the deadline. */
static void survey_dialing(void)
{
	int s = pt_open(SOCK_SURVEYOR), r[NRESP], ok, k, got, rv, e;
	long long t0, dt;

	ok = pt_set(s, SP_SURVEY_DEADLINE, SURVEY_MS);
	for (k = 0; k < NRESP; k++) {
		r[k] = pt_open(SOCK_RESPONDENT);
		if (sp_bind4(r[k], PORT_SURV_R + k) || sp_connect4(s, PORT_SURV_R + k)) {
			tap_diag("RESPONDENT %d, port %d: bind/connect: %s", k,
				 PORT_SURV_R + k, strerror(errno));
			ok = 0;
		}
	}
	ok = ok && all_linked(s, r);
	t0 = tap_now_ms();
	got = ok ? survey_reaches(s, r, "survey 2") : 0;
	tap_ok(got == NRESP,
	       "a survey from a SURVEYOR that dialed %d bound RESPONDENTs reaches each of them (%d)",
	       NRESP, got);
	each_answers(s, r, "dialing SURVEYOR");
	rv = pt_poll(s, POLLIN, SURVEY_MS + sp_wait_ms());
	dt = tap_now_ms() - t0;
	tap_ok(pt_has(rv, POLLIN) && dt >= SURVEY_MS - PT_TIMER_SLACK_MS,
	       "with the answers read, poll wakes the SURVEYOR with POLLIN when the survey ends (%lld ms after it, deadline %d; saw %s)",
	       dt, SURVEY_MS, pt_mask(rv));
	e = pt_recv_fails(s, MSG_DONTWAIT);
	tap_ok(e == ETIMEDOUT, "recv then fails with ETIMEDOUT at once (%s)",
	       pt_failed_with(e));
	for (k = 0; k < NRESP; k++)
		close(r[k]);
	close(s);
}

/* 6 checks: a new survey cancels the old; POLLOUT of both. */
static void survey_cancel(void)
{
	int s = pt_open(SOCK_SURVEYOR), r = pt_open(SOCK_RESPONDENT), ok, rv, sout, e;
	int err;

	ok = pt_set(s, SP_SURVEY_DEADLINE, SURVEY_MS) &&
	     pt_link(s, r, PORT_SURV_ONE, PT_ADDR, "SURVEYOR/RESPONDENT") &&
	     pt_wait_peers(s, 1, "SURVEYOR") && pt_wait_peers(r, 1, "RESPONDENT");
	sout = pt_ready(s, POLLOUT, sp_wait_ms());

	rv = pt_poll(r, POLLOUT, PT_SHORT_MS);
	tap_ok(ok && rv == 0,
	       "a RESPONDENT with no survey to answer is not writable (poll saw %s)",
	       pt_mask(rv));
	ok = ok && pt_send_str(s, "question 1", "SURVEYOR");
	sout &= pt_ready(s, POLLOUT, sp_wait_ms());
	e = ok && pt_expect_str(r, "question 1", "RESPONDENT");
	rv = pt_poll(r, POLLOUT, sp_wait_ms());
	tap_ok(e && pt_has(rv, POLLOUT),
	       "once it has received a survey, the RESPONDENT is writable (poll saw %s)",
	       pt_mask(rv));

	/* Survey 2 goes out before the answer to survey 1. */
	ok = e && pt_send_str(s, "question 2", "SURVEYOR");
	sout &= pt_ready(s, POLLOUT, sp_wait_ms());
	ok = ok && pt_send_str(r, "answer 1", "RESPONDENT, late answer to survey 1");
	rv = pt_poll(r, POLLOUT, PT_SHORT_MS);
	tap_ok(ok && rv == 0,
	       "after answering, the RESPONDENT is not writable until it receives the next survey (poll saw %s)",
	       pt_mask(rv));
	ok = ok && pt_expect_str(r, "question 2", "RESPONDENT") &&
	     pt_send_str(r, "answer 2", "RESPONDENT");
	tap_ok(ok && pt_expect_str(s, "answer 2", "SURVEYOR"),
	       "a new survey cancels the old: the answer to survey 1, sent after survey 2, is not delivered; the SURVEYOR's first message is the answer to survey 2");
	err = pt_recv_fails(s, 0);
	tap_ok(err == ETIMEDOUT,
	       "nor later: the next recv fails with ETIMEDOUT at the deadline (%s)",
	       pt_failed_with(err));
	sout &= pt_ready(s, POLLOUT, sp_wait_ms());
	tap_ok(sout,
	       "the SURVEYOR is writable throughout: before a survey, during one, after its deadline");
	close(r);
	close(s);
}

/* ---- BUS ---- */

/* 6 checks. */
static void bus(void)
{
	int a = pt_open(SOCK_BUS), b = pt_open(SOCK_BUS), c = pt_open(SOCK_BUS);
	int ok, ra, rb, rc;

	ok = !sp_bind4(a, PORT_BUS);
	if (!ok)
		tap_diag("bind 127.0.0.1:%d: %s", PORT_BUS, strerror(errno));
	if (sp_connect4(b, PORT_BUS) || sp_connect4(c, PORT_BUS)) {
		tap_diag("connect: %s", strerror(errno));
		ok = 0;
	}
	tap_ok(ok && pt_wait_peers(a, 2, "BUS A") && pt_wait_peers(b, 1, "BUS B") &&
	       pt_wait_peers(c, 1, "BUS C"),
	       "BUS A binds, B and C connect: A counts 2 peers, B and C one each");
	ok = pt_send_str(a, "a1", "BUS A");
	tap_ok(ok & pt_expect_str(b, "a1", "BUS B") & pt_expect_str(c, "a1", "BUS C"),
	       "a message from A reaches B and C");
	tap_ok(pt_send_str(b, "b1", "BUS B") && pt_expect_str(a, "b1", "BUS A"),
	       "a message from B reaches A");
	ok = pt_send_str(a, "a2", "BUS A");
	tap_ok(ok && pt_expect_str(c, "a2", "BUS C, after B's message"),
	       "C's next message is A's second, not B's: a BUS forwards nothing");
	tap_ok(ok && pt_expect_str(b, "a2", "BUS B, after its own message"),
	       "B's next message is A's second too: no echo of its own, no second copy of A's first");
	ra = pt_poll(a, POLLOUT, sp_wait_ms());
	rb = pt_poll(b, POLLOUT, sp_wait_ms());
	rc = pt_poll(c, POLLOUT, sp_wait_ms());
	tap_ok(pt_has(ra, POLLOUT) && pt_has(rb, POLLOUT) && pt_has(rc, POLLOUT),
	       "all three BUS sockets are writable (%s, %s, %s)", pt_mask(ra),
	       pt_mask(rb), pt_mask(rc));
	close(a);
	close(b);
	close(c);
}

/* ---- SP_MAXTTL ---- */

/* 20 checks. */
static void maxttl(void)
{
	static const int has[] = { SOCK_REQ, SOCK_REP, SOCK_SURVEYOR,
				   SOCK_RESPONDENT, SOCK_PAIR };
	static const int hasnt[] = { SOCK_PUB, SOCK_SUB, SOCK_PUSH, SOCK_PULL,
				     SOCK_BUS };
	unsigned int i;
	int fd, v, ok;

	for (i = 0; i < ARRAY_SIZE(has); i++) {
		const char *name = sp_type_name(has[i]);

		fd = sp_open(has[i], 0);
		v = pt_get(fd, SP_MAXTTL);
		tap_ok(v == SP_MAXTTL_DEFAULT, "%s: SP_MAXTTL is %d by default (%d)",
		       name, SP_MAXTTL_DEFAULT, v);
		ok = pt_set(fd, SP_MAXTTL, 1) && pt_get(fd, SP_MAXTTL) == 1 &&
		     pt_set(fd, SP_MAXTTL, SP_MAXTTL_MAX) &&
		     pt_get(fd, SP_MAXTTL) == SP_MAXTTL_MAX;
		tap_ok(ok, "%s: SP_MAXTTL 1 and %d are taken and read back", name,
		       SP_MAXTTL_MAX);
		ok = pt_set_fails(fd, SP_MAXTTL, 0, EINVAL, "SP_MAXTTL 0");
		ok &= pt_set_fails(fd, SP_MAXTTL, SP_MAXTTL_MAX + 1, EINVAL,
				   "SP_MAXTTL 16");
		ok &= pt_set_fails(fd, SP_MAXTTL, -1, EINVAL, "SP_MAXTTL -1");
		v = pt_get(fd, SP_MAXTTL);
		tap_ok(ok && v == SP_MAXTTL_MAX,
		       "%s: SP_MAXTTL 0, %d and -1: EINVAL, the value unchanged (%d)",
		       name, SP_MAXTTL_MAX + 1, v);
		close(fd);
	}
	for (i = 0; i < ARRAY_SIZE(hasnt); i++) {
		fd = sp_open(hasnt[i], 0);
		ok = pt_set_fails(fd, SP_MAXTTL, 8, ENOPROTOOPT,
				  "setsockopt(SP_MAXTTL)");
		ok &= pt_fails(sp_get_int(fd, SOL_SP, SP_MAXTTL, &v), ENOPROTOOPT,
			       "getsockopt(SP_MAXTTL)");
		tap_ok(ok, "%s has no SP_MAXTTL: setsockopt and getsockopt fail with ENOPROTOOPT",
		       sp_type_name(hasnt[i]));
		close(fd);
	}
}

/* ---- delivery after close ---- */

/* 1 check: @type (PUSH or PAIR) sends to its partner, closes at once. */
static void close_delivery(int type, int port)
{
	int rx = pt_open(type == SOCK_PUSH ? SOCK_PULL : SOCK_PAIR);
	int tx = pt_open(type), ok, n, got;

	ok = pt_link(rx, tx, port, PT_ADDR, "close delivery") &&
	     pt_wait_peers(rx, 1, "receiver") && pt_wait_peers(tx, 1, "sender");
	n = ok ? pt_send_numbered(tx, 0, CLOSE_MSGS, CLOSE_SIZE, 0, "sender") : 0;
	close(tx);
	got = n == CLOSE_MSGS ?
	      pt_expect_numbered(rx, 0, CLOSE_MSGS, CLOSE_SIZE, "after close") : 0;
	tap_ok(got == CLOSE_MSGS,
	       "a %s sends %d messages of %d bytes to a connected peer and closes at once: all arrive, in order (%d)",
	       sp_type_name(type), CLOSE_MSGS, CLOSE_SIZE, got);
	close(rx);
}

/* ---- SO_LINGER { 1, 0 } ---- */

/*
 * 2 checks: two @type sockets dial @port, where nobody listens yet, send
 * LINGER_MSGS each and close, one with the default linger ("keep"), one
 * with SO_LINGER { 1, 0 } ("drop"); a receiver bound afterwards gets all of
 * the first's and, by the time they are in, none of the second's.
 */
static void linger_discard(int type, int port)
{
	int keep = pt_open(type), drop = pt_open(type), rx, kept = 0, dropped = 0;
	int other = 0, sent = 0, i;
	char m[32], buf[64];
	ssize_t n;

	if (sp_connect4(keep, port) || sp_connect4(drop, port))
		tap_diag("%s: connect: %s", sp_type_name(type), strerror(errno));
	for (i = 0; i < LINGER_MSGS; i++) {
		snprintf(m, sizeof(m), "keep %d", i);
		sent += pt_send_str(keep, m, "default linger");
		snprintf(m, sizeof(m), "drop %d", i);
		sent += pt_send_str(drop, m, "SO_LINGER { 1, 0 }");
	}
	pt_discard_on_close(drop);
	close(drop);
	close(keep);

	rx = pt_open(type == SOCK_PUSH ? SOCK_PULL : SOCK_PAIR);
	if (sp_bind4(rx, port))
		tap_diag("receiver: bind: %s", strerror(errno));
	/* Until all of "keep" is in, then PT_SHORT_MS more for any "drop". */
	while ((n = pt_recv_ms(rx, buf, sizeof(buf) - 1,
			       kept < LINGER_MSGS ? sp_wait_ms() : PT_SHORT_MS)) >= 0) {
		buf[n] = '\0';
		if (!strncmp(buf, "keep ", 5) && atoi(buf + 5) == kept)
			kept++;
		else if (!strncmp(buf, "drop ", 5))
			dropped++;
		else if (!other++)
			tap_diag("the receiver got %s", sp_show(buf, n));
	}
	if (kept < LINGER_MSGS)
		tap_diag("the receiver has SP_PEERS %d", pt_peers(rx));
	tap_ok(sent == 2 * LINGER_MSGS && kept == LINGER_MSGS && !other,
	       "a %s with nobody listening sends %d messages and closes with the default linger: a receiver bound afterwards gets them all, in order (%d)",
	       sp_type_name(type), LINGER_MSGS, kept);
	tap_ok(sent == 2 * LINGER_MSGS && kept == LINGER_MSGS && !dropped,
	       "one that closes with SO_LINGER { 1, 0 } discards its %d: none of them arrives (%d did)",
	       LINGER_MSGS, dropped);
	close(rx);
}

/* ---- SP_RCVMAXSIZE ---- */

/*
 * 2 checks: a receiver of @type (PULL, PAIR, BUS) with SP_RCVMAXSIZE RCVMAX
 * gets a message whose frame is exactly RCVMAX bytes (the body and, on a
 * PAIR v1, the 4-byte hop count) from its sp partner; one a byte larger is
 * not delivered (the receiver closes that connection), and the sender,
 * reconnected, gets a later message through.
 */
static void rcvmax(int type, int port)
{
	int peer = type == SOCK_PULL ? SOCK_PUSH : type;
	int rx = pt_open(type), tx = pt_open(peer), max = RCVMAX;
	int ok, whole = 0, over = 0, probes = 0, through = 0;
	static char big[RCVMAX + 2], buf[RCVMAX + 64];
	long long deadline;
	ssize_t n;

	if (type == SOCK_PAIR)
		max -= 4;	/* the hop count */
	ok = pt_set(rx, SP_RCVMAXSIZE, RCVMAX) &&
	     pt_link(rx, tx, port, PT_ADDR, "SP_RCVMAXSIZE") &&
	     pt_wait_peers(rx, 1, "receiver") && pt_wait_peers(tx, 1, "sender");
	sp_pattern(big, sizeof(big), 7);
	if (ok && sp_send_all(tx, big, max, "sender")) {
		n = pt_recv_ms(rx, buf, sizeof(buf), sp_wait_ms());
		whole = n == max && sp_pattern_check(buf, n, 7) < 0;
		if (!whole)
			tap_diag("the receiver got %zd bytes", n);
	}
	tap_ok(whole,
	       "a %s with SP_RCVMAXSIZE %d receives a message of %d bytes (a frame of %d) from a %s, intact",
	       sp_type_name(type), RCVMAX, max, RCVMAX, sp_type_name(peer));

	/* Then one byte more, and small probes until one gets through. */
	ok = ok && sp_send_all(tx, big, max + 1, "sender");
	deadline = tap_now_ms() + sp_wait_ms();
	while (ok && !through && tap_now_ms() < deadline) {
		char m[32];

		if (pt_peers(tx) == 1) {
			snprintf(m, sizeof(m), "probe %d", probes++);
			if (!pt_send_str(tx, m, "sender"))
				break;
		}
		while (!through &&
		       (n = pt_recv_ms(rx, buf, sizeof(buf), PT_SHORT_MS)) >= 0) {
			if (n > max)
				over++;
			else if (n > 6 && !memcmp(buf, "probe ", 6))
				through = 1;
		}
	}
	tap_ok(ok && through && !over,
	       "one of %d bytes is not delivered (%d were), and a message sent after it gets through (after %d probes)",
	       max + 1, over, probes);
	close(tx);
	close(rx);
}

int main(void)
{
	tap_plan(NCHECKS);
	tap_watchdog(300);

	links();
	pushpull();
	pair_version();
	pair_v0();
	pair_second();
	pair_queue();
	survey_bound();
	survey_dialing();
	survey_cancel();
	bus();
	maxttl();
	close_delivery(SOCK_PUSH, PORT_CLOSE);
	close_delivery(SOCK_PAIR, PORT_CLOSE + 1);
	linger_discard(SOCK_PUSH, PORT_LINGER);
	linger_discard(SOCK_PAIR, PORT_LINGER + 1);
	rcvmax(SOCK_PULL, PORT_RCVMAX);
	rcvmax(SOCK_PAIR, PORT_RCVMAX + 1);
	rcvmax(SOCK_BUS, PORT_RCVMAX + 2);
	return tap_done();
}
