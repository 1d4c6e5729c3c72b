// SPDX-License-Identifier: GPL-2.0
/*
 * The SP paper's PUB/SUB example, and subscription semantics around it.
 *
 * One PUB, bound to two endpoints (bind() and SP_BIND), and eight SUBs: the
 * paper's four, subscribed to "" (everything), "H", "W" and nothing at all,
 * plus one with both "H" and "W", one with the nested prefixes "Hel" and
 * "Hello", one with a binary prefix containing a NUL byte, and one whose
 * only subscription is removed again.  Once every subscriber that can be
 * reached by a message is known to be connected (a marker published until
 * each has it), the PUB publishes in small batches, each followed by a
 * marker, and every subscriber must receive, before that marker, exactly
 * the messages that start with one of its prefixes: each once, whole (topic
 * included), in publishing order, and nothing else.  The test keeps its own
 * model of every subscriber's prefix set, so the expectation is computed,
 * not written out:
 *
 *  - the paper: 100 alternating "Hello"/"World": "" gets all 100, "H" the 50
 *    Hellos, "W" the 50 Worlds, "H"+"W" all 100, "Hel"+"Hello" each Hello
 *    exactly once;
 *  - whole messages with binary payloads, a message exactly as long as a
 *    prefix, shorter than one, differing after a NUL;
 *  - unsubscribing "H" from the "H"+"W" subscriber leaves only Worlds;
 *    subscribing "H" a second time delivers nothing twice;
 *  - an empty message reaches only the "" subscriber;
 *  - the subscriber with no subscription, and the one whose subscription was
 *    removed, receive nothing at all.
 *
 * Then the same in the other direction (two SUBs bind, the PUB connects to
 * both, by sockaddr and by URL) and over IPv6 ([::1], by sockaddr_in6 and
 * by URL; skipped without an IPv6 loopback).
 */
#include "sp_pubsub.h"

#define PORT		25700	/* the PUB bind()s here ... */
#define PORT_URL	25701	/* ... and SP_BINDs here */
#define PORT_REV1	25702	/* reverse direction: SUBs bind, the PUB dials */
#define PORT_REV2	25703
#define PORT6		25704	/* IPv6 */
#define N		100	/* the paper's messages */
#define BATCH		10	/* messages between two markers */
#define MAXPFX		8
#define NV6CHECKS	6	/* checks of the IPv6 part */

struct prefix {
	const char *p;
	size_t len;
};

#define M(s)	{ s, sizeof(s) - 1 }

struct sub {
	const char *name;
	int fd;
	int in_sync;	/* subscribed to a prefix of PS_SYNC: gets the markers */
	int dead;	/* a marker never came: not waited for again */
	int npfx;
	struct prefix pfx[MAXPFX];	/* our model of its subscriptions */
};

static int nfail_setup;		/* subscription calls that failed */

/* Does the model say @s receives @m? */
static int matches(const struct sub *s, const char *m, size_t len)
{
	int i;

	for (i = 0; i < s->npfx; i++)
		if (s->pfx[i].len <= len && !memcmp(m, s->pfx[i].p, s->pfx[i].len))
			return 1;
	return 0;
}

static int model_find(const struct sub *s, const char *p, size_t len)
{
	int i;

	for (i = 0; i < s->npfx; i++)
		if (s->pfx[i].len == len && !memcmp(s->pfx[i].p, p, len))
			return i;
	return -1;
}

/* SP_SUBSCRIBE and the model; a set: subscribing twice is subscribing once. */
static int subscribe(struct sub *s, const char *p, size_t len)
{
	if (ps_subscribe(s->fd, p, len)) {
		tap_diag("%s: SP_SUBSCRIBE %s: %s", s->name, sp_show(p, len),
			 strerror(errno));
		nfail_setup++;
		return 0;
	}
	if (model_find(s, p, len) < 0 && s->npfx < MAXPFX) {
		s->pfx[s->npfx].p = p;
		s->pfx[s->npfx].len = len;
		s->npfx++;
	}
	if (len <= PS_SYNC_LEN && !memcmp(PS_SYNC, p, len))
		s->in_sync = 1;
	return 1;
}

static int unsubscribe(struct sub *s, const char *p, size_t len)
{
	int i = model_find(s, p, len);

	if (ps_unsubscribe(s->fd, p, len)) {
		tap_diag("%s: SP_UNSUBSCRIBE %s: %s", s->name, sp_show(p, len),
			 strerror(errno));
		return 0;
	}
	if (i >= 0)
		s->pfx[i] = s->pfx[--s->npfx];
	s->in_sync = 0;
	for (i = 0; i < s->npfx; i++)
		if (s->pfx[i].len <= PS_SYNC_LEN &&
		    !memcmp(PS_SYNC, s->pfx[i].p, s->pfx[i].len))
			s->in_sync = 1;
	return 1;
}

static void open_sub(struct sub *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->fd = sp_open(SOCK_SUB, 0);
	sp_timeouts(s->fd, sp_wait_ms(), sp_wait_ms());
}

/* One check: every subscriber that gets markers is synced with @pub. */
static void sync_subs(int pub, struct sub *subs, int n, const char *what)
{
	int fds[16], k = 0, i, stray, got;
	char tag[32];
	static int round;

	for (i = 0; i < n && k < (int)ARRAY_SIZE(fds); i++)
		if (subs[i].in_sync)
			fds[k++] = subs[i].fd;
	snprintf(tag, sizeof(tag), PS_SYNC "connect-%d", round++);
	got = ps_sync(pub, fds, k, tag, sp_wait_ms(), &stray);
	tap_ok(got == k && !stray,
	       "%s: all %d subscribers connected and received the marker (%d, %d stray)",
	       what, k, got, stray);
}

/*
 * Publish @n messages in batches of BATCH, each batch followed by a marker;
 * after each batch every subscriber that gets markers must have received
 * exactly what its prefixes match.  Checks: one for the sends, one per such
 * subscriber.
 */
static void phase(int pub, struct sub *subs, int nsubs,
		  const struct prefix *msgs, int n, const char *title)
{
	const char *exp[BATCH];
	size_t explen[BATCH];
	int good[16] = { 0 }, cnt[16] = { 0 }, sent = 0, b, i, j;
	static int marker_no;

	for (i = 0; i < nsubs; i++)
		good[i] = !subs[i].dead;
	for (b = 0; b < n; b += BATCH) {
		int end = b + BATCH < n ? b + BATCH : n;
		long long deadline;
		char marker[32];

		for (j = b; j < end; j++) {
			ssize_t r = send(pub, msgs[j].p, msgs[j].len, 0);

			if (r == (ssize_t)msgs[j].len)
				sent++;
			else
				tap_diag("%s: publishing message %d %s: %s", title,
					 j, sp_show(msgs[j].p, msgs[j].len),
					 r < 0 ? strerror(errno) : "short send");
		}
		snprintf(marker, sizeof(marker), PS_SYNC "%d", ++marker_no);
		if (!sp_send_all(pub, marker, strlen(marker), "marker"))
			tap_diag("%s: the marker could not be published", title);
		deadline = tap_now_ms() + sp_wait_ms();
		for (i = 0; i < nsubs; i++) {
			struct sub *s = &subs[i];
			int k = 0, timed_out;
			char what[128];

			if (!s->in_sync || s->dead)
				continue;
			for (j = b; j < end; j++) {
				if (matches(s, msgs[j].p, msgs[j].len)) {
					exp[k] = msgs[j].p;
					explen[k++] = msgs[j].len;
				}
			}
			cnt[i] += k;
			snprintf(what, sizeof(what), "%s: %s, messages %d..%d",
				 title, s->name, b, end - 1);
			if (!ps_expect_seq(s->fd, exp, explen, k, marker, deadline,
					   what, &timed_out))
				good[i] = 0;
			if (timed_out)
				s->dead = 1;
		}
	}
	tap_ok(sent == n, "%s: the PUB publishes all %d messages (%d)", title, n,
	       sent);
	for (i = 0; i < nsubs; i++) {
		if (!subs[i].in_sync)
			continue;
		if (subs[i].dead && !good[i])
			tap_diag("%s: %s is not answering (given up)", title,
				 subs[i].name);
		tap_ok(good[i], "%s: %s gets exactly its %d matching messages, whole, once, in order",
		       title, subs[i].name, cnt[i]);
	}
}

static struct prefix paper[N];

static const struct prefix binary[] = {
	M("Hello, world: the topic is part of the message\0and so is this\xff"),
	M("A\0B"),			/* exactly the binary prefix */
	M("A\0B\xff\x00tail"),
	M("A\0C"),			/* differs after the NUL */
	M("A\0"),			/* shorter than the prefix */
	M("A"),
	M("\0A\0B"),
	M("Help"),
	M("He"),
	M("Hell"),
	M("World\0\x01\x02"),
	M("syn"),
};

static const struct prefix alternating[] = {
	M("Hello"), M("World"), M("Hello"), M("World"), M("Hello"),
	M("World"), M("Hello"), M("World"), M("Hello"), M("World"),
};

static const struct prefix empty[] = { M(""), M("Hello"), M("") };

enum { S_NONE, S_ALL, S_H, S_W, S_HW, S_NEST, S_BIN, S_GONE, NSUBS };

static void forward(void)
{
	struct sub subs[NSUBS];
	struct sockaddr_in sin;
	char url[64];
	int pub, rc, i, nconn = 0;

	pub = sp_open(SOCK_PUB, 0);
	sp_timeouts(pub, sp_wait_ms(), sp_wait_ms());
	rc = sp_bind4(pub, PORT);
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	tap_ok(rc == 0, "PUB binds 127.0.0.1:%d", PORT);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", PORT_URL);
	rc = sp_url(pub, SP_BIND, url);
	if (rc)
		tap_diag("SP_BIND: %s", strerror(errno));
	tap_ok(rc == 0, "PUB also binds %s with SP_BIND", url);

	/* The one that never subscribes connects first, so it has the longest. */
	open_sub(&subs[S_NONE], "SUB{} (no subscription)");
	open_sub(&subs[S_ALL], "SUB{\"\"}");
	open_sub(&subs[S_H], "SUB{\"H\"}");
	open_sub(&subs[S_W], "SUB{\"W\"}");
	open_sub(&subs[S_HW], "SUB{\"H\",\"W\"}");
	open_sub(&subs[S_NEST], "SUB{\"Hel\",\"Hello\"}");
	open_sub(&subs[S_BIN], "SUB{\"A\\0B\"}");
	open_sub(&subs[S_GONE], "SUB{} (unsubscribed)");
	/* Half by sockaddr, half by URL, over both endpoints of the PUB. */
	for (i = 0; i < NSUBS; i++) {
		int port = i & 2 ? PORT_URL : PORT;

		if (i & 1) {
			snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
			rc = sp_url(subs[i].fd, SP_CONNECT, url);
		} else {
			sp_addr4(&sin, port);
			rc = connect(subs[i].fd, (struct sockaddr *)&sin, sizeof(sin));
		}
		if (rc)
			tap_diag("%s: connect to port %d: %s", subs[i].name, port,
				 strerror(errno));
		else
			nconn++;
	}
	tap_ok(nconn == NSUBS, "%d SUBs connect to the PUB's two endpoints (%d)",
	       NSUBS, nconn);

	subscribe(&subs[S_ALL], "", 0);
	subscribe(&subs[S_H], "H", 1);
	subscribe(&subs[S_W], "W", 1);
	subscribe(&subs[S_HW], "H", 1);
	subscribe(&subs[S_HW], "W", 1);
	subscribe(&subs[S_NEST], "Hel", 3);
	subscribe(&subs[S_NEST], "Hello", 5);
	subscribe(&subs[S_BIN], "A\0B", 3);
	for (i = S_H; i < NSUBS; i++)
		subscribe(&subs[i], PS_SYNC, PS_SYNC_LEN);
	tap_ok(nfail_setup == 0, "every SP_SUBSCRIBE succeeds, the binary one with a NUL too (%d failed)",
	       nfail_setup);

	sync_subs(pub, subs, NSUBS, "forward");
	/* Empty its queue (markers from the sync may follow) before it unsubscribes. */
	rc = sp_send_all(pub, PS_SYNC "gone", strlen(PS_SYNC "gone"), "PUB") &&
	     ps_expect_seq(subs[S_GONE].fd, NULL, NULL, 0, PS_SYNC "gone",
			   tap_now_ms() + sp_wait_ms(), subs[S_GONE].name, &i) &&
	     unsubscribe(&subs[S_GONE], PS_SYNC, PS_SYNC_LEN);
	tap_ok(rc, "a SUB drained up to a marker unsubscribes its only prefix");

	for (i = 0; i < N; i++) {
		paper[i].p = i % 2 ? "World" : "Hello";
		paper[i].len = 5;
	}
	phase(pub, subs, NSUBS, paper, N, "paper: 100 Hello/World");
	phase(pub, subs, NSUBS, binary, ARRAY_SIZE(binary), "binary");

	tap_ok(unsubscribe(&subs[S_HW], "H", 1),
	       "SP_UNSUBSCRIBE \"H\" on the \"H\"+\"W\" subscriber succeeds");
	subs[S_HW].name = "SUB{\"W\"} (\"H\" removed)";
	tap_ok(subscribe(&subs[S_H], "H", 1),
	       "SP_SUBSCRIBE \"H\" a second time succeeds");
	phase(pub, subs, NSUBS, alternating, ARRAY_SIZE(alternating),
	      "after (un)subscribing");
	phase(pub, subs, NSUBS, empty, ARRAY_SIZE(empty), "empty message");

	tap_ok(ps_expect_nothing(subs[S_NONE].fd, 500, subs[S_NONE].name),
	       "the SUB that never subscribed received nothing at all");
	tap_ok(ps_expect_nothing(subs[S_GONE].fd, 500, subs[S_GONE].name),
	       "the SUB whose only prefix was removed received nothing after that");

	for (i = 0; i < NSUBS; i++)
		close(subs[i].fd);
	close(pub);
}

/* SUBs bind, the PUB connects to them: 6 checks. */
static void reverse(void)
{
	struct sub subs[2];
	struct sockaddr_in sin;
	char url[64];
	int pub, rc, ok, failed = nfail_setup;

	open_sub(&subs[0], "binding SUB{\"\"}");
	open_sub(&subs[1], "binding SUB{\"W\"}");
	rc = sp_bind4(subs[0].fd, PORT_REV1);
	if (rc)
		tap_diag("bind: %s", strerror(errno));
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", PORT_REV2);
	ok = rc == 0;
	rc = sp_url(subs[1].fd, SP_BIND, url);
	if (rc)
		tap_diag("SP_BIND: %s", strerror(errno));
	tap_ok(ok && rc == 0, "two SUBs listen, on 127.0.0.1:%d by bind() and %s",
	       PORT_REV1, url);
	subscribe(&subs[0], "", 0);
	subscribe(&subs[1], "W", 1);
	subscribe(&subs[1], PS_SYNC, PS_SYNC_LEN);

	pub = sp_open(SOCK_PUB, 0);
	sp_timeouts(pub, sp_wait_ms(), sp_wait_ms());
	sp_addr4(&sin, PORT_REV1);
	rc = connect(pub, (struct sockaddr *)&sin, sizeof(sin));
	if (rc)
		tap_diag("connect: %s", strerror(errno));
	ok = rc == 0;
	rc = sp_url(pub, SP_CONNECT, url);
	if (rc)
		tap_diag("SP_CONNECT: %s", strerror(errno));
	tap_ok(ok && rc == 0 && nfail_setup == failed,
	       "a PUB dials both, by connect() and SP_CONNECT");
	sync_subs(pub, subs, 2, "reverse");
	phase(pub, subs, 2, alternating, ARRAY_SIZE(alternating),
	      "PUB dials SUBs");
	close(pub);
	close(subs[0].fd);
	close(subs[1].fd);
}

/* IPv6: NV6CHECKS checks. */
static void ipv6(void)
{
	struct sub subs[2];
	struct sockaddr_in6 sin6;
	char url[64];
	int pub, rc, ok, failed = nfail_setup;

	if (!sp_have_ipv6()) {
		for (rc = 0; rc < NV6CHECKS; rc++)
			tap_skip("no IPv6 loopback address ::1 in this system");
		return;
	}
	pub = sp_open(SOCK_PUB, 0);
	sp_timeouts(pub, sp_wait_ms(), sp_wait_ms());
	snprintf(url, sizeof(url), "tcp://[::1]:%d", PORT6);
	rc = sp_url(pub, SP_BIND, url);
	if (rc)
		tap_diag("SP_BIND: %s", strerror(errno));
	tap_ok(rc == 0, "PUB binds %s", url);

	open_sub(&subs[0], "IPv6 SUB{\"\"}");
	open_sub(&subs[1], "IPv6 SUB{\"H\"}");
	sp_addr6(&sin6, PORT6);
	rc = connect(subs[0].fd, (struct sockaddr *)&sin6, sizeof(sin6));
	if (rc)
		tap_diag("connect: %s", strerror(errno));
	ok = rc == 0;
	rc = sp_url(subs[1].fd, SP_CONNECT, url);
	if (rc)
		tap_diag("SP_CONNECT: %s", strerror(errno));
	subscribe(&subs[0], "", 0);
	subscribe(&subs[1], "H", 1);
	subscribe(&subs[1], PS_SYNC, PS_SYNC_LEN);
	tap_ok(ok && rc == 0 && nfail_setup == failed,
	       "two SUBs connect to it, by sockaddr_in6 and by URL");
	sync_subs(pub, subs, 2, "IPv6");
	phase(pub, subs, 2, alternating, ARRAY_SIZE(alternating), "IPv6");
	close(pub);
	close(subs[0].fd);
	close(subs[1].fd);
}

int main(void)
{
	/* forward 6 + 4 phases (7 each) + 2 + 2; reverse 6; IPv6 6 */
	tap_plan(6 + 4 * 7 + 2 + 2 + 6 + NV6CHECKS);
	tap_watchdog(300);

	forward();
	reverse();
	ipv6();
	return tap_done();
}
