// SPDX-License-Identifier: GPL-2.0
/*
 * SP_PEERS: how many peers a socket has right now.
 *
 *  - The option: 0 on a fresh socket of every type; get-only (setsockopt
 *    gives ENOPROTOOPT); an optlen shorter than an int gives EINVAL.
 *  - What counts is a connection whose SP header exchange has completed: a
 *    TCP connection to a REP that has sent nothing, or half a header, is not
 *    a peer; once it sends the rest of a REQ's header it is one; a peer that
 *    closes stops being one; a connection with a wrong partner's header
 *    (a PUB's, to a REP) is closed and never counted. Both ends count: the
 *    dialing REQ as well as the listening REP, and a REQ connected to two
 *    REPs has two peers.
 *  - PUB/SUB: a PUB with three subscribers has three peers, two once one
 *    of them closes; a SUB's count follows its PUB going away and coming
 *    back (reconnect).
 *  - The slow-joiner rule made safe: a message a PUB sends once SP_PEERS
 *    counts a new subscriber reaches that subscriber, in both directions of
 *    dialing, twenty subscribers in a row.
 */
#include "sp_raw.h"

#define PORT		28200	/* REP for the raw peers */
#define PORT_PUB	28201	/* PUB with three SUBs, then restarted */
#define PORT_REP2	28202	/* the second REP of the two-REP REQ */
#define PORT_JOIN	28203	/* PUB binds, SUBs join one by one */
#define PORT_JOIN_REV	28300	/* .. 28319: SUBs bind, the PUB dials them */
#define JOINERS		20

static int peers(int fd)
{
	int v;

	if (sp_get_int(fd, SOL_SP, SP_PEERS, &v)) {
		tap_diag("getsockopt(SP_PEERS): %s", strerror(errno));
		return -1;
	}
	return v;
}

/* Wait until @fd has exactly @n peers; 1 if it came within the bound. */
static int wait_peers(int fd, int n, const char *what)
{
	long long deadline = tap_now_ms() + sp_wait_ms();
	int v;

	while ((v = peers(fd)) != n && v >= 0 && tap_now_ms() < deadline)
		usleep(5000);
	if (v != n)
		tap_diag("%s: SP_PEERS is %d, waited for %d", what, v, n);
	return v == n;
}

static void option(void)
{
	static const int types[] = { SOCK_REQ, SOCK_REP, SOCK_PUB, SOCK_SUB };
	socklen_t len = 2;
	unsigned int i;
	int fd, v = 1;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		fd = sp_open(types[i], 0);
		tap_ok(peers(fd) == 0, "a fresh %s has 0 peers",
		       sp_type_name(types[i]));
		close(fd);
	}
	fd = sp_open(SOCK_REQ, 0);
	sp_check_err(setsockopt(fd, SOL_SP, SP_PEERS, &v, sizeof(v)),
		     ENOPROTOOPT, ENOPROTOOPT, "setsockopt(SP_PEERS)");
	sp_check_err(getsockopt(fd, SOL_SP, SP_PEERS, &v, &len), EINVAL, EINVAL,
		     "getsockopt(SP_PEERS) with optlen 2");
	close(fd);
}

static void raw_peers(void)
{
	unsigned char h[8];
	int rep = sp_open(SOCK_REP, 0), req = sp_open(SOCK_REQ, 0);
	int rep2 = sp_open(SOCK_REP, 0);
	int silent, half, wrong;

	if (sp_bind4(rep, PORT))
		tap_bail("bind REP: %s", strerror(errno));
	silent = raw_connect4(PORT, sp_wait_ms());
	half = raw_connect4(PORT, sp_wait_ms());
	raw_header(h, SP_PROTO_REQ);
	if (silent < 0 || half < 0 || raw_write(half, h, 4))
		tap_bail("raw connections to the REP failed");
	/* Connected after both, so accepted after both. */
	if (sp_connect4(req, PORT))
		tap_bail("connect REQ: %s", strerror(errno));
	tap_ok(wait_peers(rep, 1, "REP") && wait_peers(req, 1, "REQ"),
	       "a REQ that connects is a peer of the REP, and the REP of it");
	tap_ok(peers(rep) == 1,
	       "connections with no header or half of one are not peers");

	if (raw_write(half, h + 4, 4))
		tap_diag("sending the rest of the header: %s", strerror(errno));
	tap_ok(wait_peers(rep, 2, "REP"),
	       "the half-header connection is a peer once its header is complete");
	close(half);
	tap_ok(wait_peers(rep, 1, "REP"), "a peer that closes is one no more");

	wrong = raw_connect4(PORT, sp_wait_ms());
	raw_header(h, SP_PROTO_PUB);
	if (wrong < 0 || raw_write(wrong, h, 8))
		tap_bail("the wrong partner's connection failed");
	tap_ok(raw_wait_closed(wrong, sp_wait_ms()) && peers(rep) == 1,
	       "a PUB's header closes the connection to a REP, never counted");
	close(wrong);
	close(silent);

	if (sp_bind4(rep2, PORT_REP2) || sp_connect4(req, PORT_REP2))
		tap_bail("second REP: %s", strerror(errno));
	tap_ok(wait_peers(req, 2, "REQ"), "a REQ connected to two REPs has 2 peers");
	close(rep2);
	tap_ok(wait_peers(req, 1, "REQ"), "and 1 once one of them is closed");
	close(req);
	tap_ok(wait_peers(rep, 0, "REP"), "the REP has 0 peers once the REQ closed");
	close(rep);
}

static void pubsub_peers(void)
{
	int pub = sp_open(SOCK_PUB, 0), subs[3], i, ok = 1;

	if (sp_bind4(pub, PORT_PUB))
		tap_bail("bind PUB: %s", strerror(errno));
	for (i = 0; i < 3; i++) {
		subs[i] = sp_open(SOCK_SUB, 0);
		if (sp_connect4(subs[i], PORT_PUB))
			tap_bail("connect SUB: %s", strerror(errno));
	}
	tap_ok(wait_peers(pub, 3, "PUB"), "a PUB with three subscribers has 3 peers");
	for (i = 0; i < 3; i++)
		ok &= wait_peers(subs[i], 1, "SUB");
	tap_ok(ok, "each subscriber has 1 peer");
	close(subs[2]);
	tap_ok(wait_peers(pub, 2, "PUB"), "2 once one subscriber closed");

	close(pub);
	tap_ok(wait_peers(subs[0], 0, "SUB"), "a SUB has 0 peers once its PUB is gone");
	pub = sp_open(SOCK_PUB, 0);
	if (sp_bind4_retry(pub, PORT_PUB, sp_wait_ms()))
		tap_bail("bind the second PUB: %s", strerror(errno));
	tap_ok(wait_peers(subs[0], 1, "SUB") && wait_peers(pub, 2, "PUB"),
	       "and 1 again once a PUB is back on that port (the SUB redials)");
	close(subs[0]);
	close(subs[1]);
	close(pub);
}

/*
 * @n subscribers join @pub one by one (each dialing @port, or with @rev the
 * PUB dialing each of them); as soon as SP_PEERS counts the new one, the PUB
 * publishes one message, which the new subscriber must receive first.
 */
static int joiners(int pub, int port, int rev, int n)
{
	int subs[JOINERS], i, ok = 1;
	char msg[32];

	for (i = 0; i < n && ok; i++) {
		subs[i] = sp_open(SOCK_SUB, 0);
		sp_timeouts(subs[i], sp_wait_ms(), sp_wait_ms());
		if (setsockopt(subs[i], SOL_SP, SP_SUBSCRIBE, "", 0) ||
		    (rev ? sp_bind4(subs[i], port + i) || sp_connect4(pub, port + i) :
			   sp_connect4(subs[i], port)))
			tap_bail("subscriber %d: %s", i, strerror(errno));
		ok = wait_peers(pub, i + 1, "PUB");
		snprintf(msg, sizeof(msg), "first for %d", i);
		ok = ok && sp_send_all(pub, msg, strlen(msg), "publish") &&
		     sp_expect(subs[i], msg, strlen(msg), msg);
	}
	while (i--)
		close(subs[i]);
	return ok;
}

static void slow_joiners(void)
{
	int pub = sp_open(SOCK_PUB, 0);

	if (sp_bind4(pub, PORT_JOIN))
		tap_bail("bind PUB: %s", strerror(errno));
	tap_ok(joiners(pub, PORT_JOIN, 0, JOINERS),
	       "%d SUBs dial a PUB one by one: what the PUB sends once SP_PEERS counts one reaches it",
	       JOINERS);
	close(pub);

	pub = sp_open(SOCK_PUB, 0);
	tap_ok(joiners(pub, PORT_JOIN_REV, 1, JOINERS),
	       "the same with the PUB dialing %d listening SUBs", JOINERS);
	close(pub);
}

int main(void)
{
	tap_watchdog(240);
	tap_plan(4 + 2 + 8 + 5 + 2);
	option();
	raw_peers();
	pubsub_peers();
	slow_joiners();
	return tap_done();
}
