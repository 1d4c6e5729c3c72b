// SPDX-License-Identifier: GPL-2.0
/*
 * Subscriptions changing under traffic, and thousands of them.
 *
 * Churn: a child process publishes a steady stream "aD:SEQ" with the topic
 * digit D cycling through 0..9 and SEQ counting up.  Meanwhile a SUB keeps
 * subscribing and unsubscribing, for three seconds, topics "a0".."a9",
 * random binary junk prefixes (0 to 1024 bytes, some of them overlapping the
 * topics) and prefixes it already has, while draining what arrives.  The
 * test keeps the set of prefixes it expects the socket to hold: every
 * SP_SUBSCRIBE must succeed and every SP_UNSUBSCRIBE must succeed exactly
 * when the prefix is in the set and fail with ENOENT otherwise; everything
 * received must be an intact stream message.  Then the SUB settles on
 * exactly {"a3", "a7"} and asks the publisher for markers ("a3:M..."); from
 * the first marker on, only a3 and a7 messages may arrive, in publishing
 * order, and both must.  Last it switches to {"a5"}: after the first a5
 * message nothing else may come.
 *
 * Thousands: a SUB subscribes to the 5000 prefixes "t0000".."t4999"; of
 * "t0000", "t2500" and "t4999" messages exactly those arrive, of "t5000",
 * "t499" (shorter than any prefix) and "u0000" none.  Unsubscribing "t2500"
 * stops it (and a second time gives ENOENT) while "t1234" still arrives;
 * unsubscribing all of them leaves nothing.
 */
#include <fcntl.h>

#include "sp_pubsub.h"

#define PORT		26100	/* the stream publisher (child) */
#define PORT_T		26101	/* the PUB of the thousands part */
#define CHURN_MS	3000
#define MAXSET		200	/* most prefixes the churn holds at once */
#define AFTER		100	/* messages checked after the marker */
#define NT		5000

/* ---- the stream publisher ---- */

static int publisher(int ctl)
{
	int pub = sp_open(SOCK_PUB, 0), marking = 0, fails = 0;
	unsigned long seq = 0;
	char msg[32];

	sp_timeouts(pub, 2000, 2000);
	if (sp_bind4_retry(pub, PORT, sp_wait_ms())) {
		tap_diag("publisher: bind: %s", strerror(errno));
		return 2;
	}
	for (;;) {
		struct pollfd pfd = { .fd = ctl, .events = POLLIN };
		int len;
		char c;

		if (poll(&pfd, 1, 0) == 1) {
			if (read(ctl, &c, 1) != 1)
				break;		/* the parent is done */
			marking = 1;
		}
		if (marking && seq % 10 == 0)
			len = snprintf(msg, sizeof(msg), "a3:M%lu", seq);
		else
			len = snprintf(msg, sizeof(msg), "a%lu:%lu", seq % 10, seq);
		seq++;
		if (send(pub, msg, len, MSG_DONTWAIT) != len && fails++ < 3)
			tap_diag("publisher: send %s: %s", msg, strerror(errno));
		usleep(500);
	}
	tap_diag("publisher: %lu messages, %d sends failed", seq, fails);
	close(pub);
	return fails ? 3 : 0;
}

/* ---- the churning subscriber ---- */

struct pfx {
	size_t len;
	char p[PS_MAX_PREFIX];
};

static struct pfx set[MAXSET];	/* what the socket should hold */
static int nset;
static int calls, wrong;	/* setsockopt calls, and unexpected results */

static int set_find(const char *p, size_t len)
{
	int i;

	for (i = 0; i < nset; i++)
		if (set[i].len == len && !memcmp(set[i].p, p, len))
			return i;
	return -1;
}

/* SP_SUBSCRIBE; must succeed.  Not done when the model is full. */
static void churn_sub(int fd, const char *p, size_t len)
{
	if (nset == MAXSET && set_find(p, len) < 0)
		return;
	calls++;
	if (ps_subscribe(fd, p, len)) {
		if (wrong++ < 5)
			tap_diag("SP_SUBSCRIBE %s: %s", sp_show(p, len),
				 strerror(errno));
		return;
	}
	if (set_find(p, len) < 0) {
		set[nset].len = len;
		memcpy(set[nset].p, p, len);
		nset++;
	}
}

/* SP_UNSUBSCRIBE; must succeed iff @p is in the set, else ENOENT. */
static void churn_unsub(int fd, const char *p, size_t len)
{
	int i = set_find(p, len), rc, err;

	calls++;
	rc = ps_unsubscribe(fd, p, len);
	err = errno;
	if (i >= 0 ? rc != 0 : !(rc < 0 && err == ENOENT)) {
		if (wrong++ < 5)
			tap_diag("SP_UNSUBSCRIBE %s (%s): %s", sp_show(p, len),
				 i >= 0 ? "subscribed" : "not subscribed",
				 rc ? strerror(err) : "succeeded");
	}
	if (i >= 0) {
		set[i] = set[nset - 1];
		nset--;
	}
}

static size_t junk(char *p)
{
	int r = rand() % 100;
	size_t len, i;

	if (r < 3)
		len = 0;
	else if (r < 6)
		len = PS_MAX_PREFIX;
	else
		len = 1 + rand() % 40;
	for (i = 0; i < len; i++)
		p[i] = rand();
	if (r >= 50 && len >= 2) {	/* overlapping the topics */
		p[0] = 'a';
		p[1] = '0' + rand() % 10;
	}
	return len;
}

/*
 * A stream message "aD:SEQ" (returns 1, D in *topic) or a marker "a3:MSEQ"
 * (returns 2); 0 if malformed.
 */
static int parse(const char *buf, ssize_t len, int *topic, unsigned long *seq)
{
	char tmp[32], *end;
	int kind = 1;
	const char *num;

	if (len < 4 || len >= (ssize_t)sizeof(tmp) || buf[0] != 'a' ||
	    buf[1] < '0' || buf[1] > '9' || buf[2] != ':')
		return 0;
	memcpy(tmp, buf, len);
	tmp[len] = 0;
	num = tmp + 3;
	if (*num == 'M') {
		if (buf[1] != '3')
			return 0;
		kind = 2;
		num++;
	}
	if (*num < '0' || *num > '9')
		return 0;
	*seq = strtoul(num, &end, 10);
	if (*end)
		return 0;
	*topic = buf[1] - '0';
	if (kind == 1 && *seq % 10 != (unsigned long)*topic)
		return 0;
	return kind;
}

/* Drain @fd without waiting; counts messages and malformed ones. */
static void drain(int fd, int *got, int *bad)
{
	static char buf[PS_BUF];
	unsigned long seq;
	ssize_t len;
	int topic;

	while ((len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		(*got)++;
		if (parse(buf, len, &topic, &seq) != 1 && (*bad)++ < 3)
			tap_diag("churn: received %s", sp_show(buf, len));
	}
}

static void churn(void)
{
	static char buf[PS_BUF], jp[PS_MAX_PREFIX];
	int ctl[2], sub, i, rc, got = 0, bad = 0, ops = 0, n3 = 0, n7 = 0;
	int marked = 0, only = 1, st;
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	unsigned long seq, last = 0;
	long long t0, deadline;
	char topic_s[3] = "a0";
	size_t len;
	ssize_t n;
	pid_t pid;
	int topic;

	sub = sp_open(SOCK_SUB, 0);
	signal(SIGPIPE, SIG_IGN);	/* a dead publisher must not kill us */
	if (pipe(ctl))
		tap_bail("pipe: %s", strerror(errno));
	pid = tap_fork(280);
	if (pid == 0) {
		close(ctl[1]);
		close(sub);
		_exit(publisher(ctl[0]));
	}
	close(ctl[0]);

	sp_timeouts(sub, sp_wait_ms(), 2000);
	rc = sp_connect4(sub, PORT);
	if (rc)
		tap_diag("connect: %s", strerror(errno));
	churn_sub(sub, "a0", 2);
	n = rc ? -1 : recv(sub, buf, sizeof(buf), 0);
	if (n < 0)
		tap_diag("waiting for the stream: %s", strerror(errno));
	tap_ok(n >= 0 && parse(buf, n, &topic, &seq) == 1 && topic == 0,
	       "a SUB subscribed to \"a0\" receives the stream (%s)",
	       sp_show(buf, n));

	srand(seed);
	tap_diag("churn: random seed %u", seed);
	t0 = tap_now_ms();
	while (tap_now_ms() - t0 < CHURN_MS) {
		topic_s[1] = '0' + rand() % 10;
		switch (rand() % 6) {
		case 0:
			churn_sub(sub, topic_s, 2);
			break;
		case 1:
			churn_unsub(sub, topic_s, 2);
			break;
		case 2:
			len = junk(jp);
			churn_sub(sub, jp, len);
			break;
		case 3:
			if (nset) {
				i = rand() % nset;
				memcpy(jp, set[i].p, set[i].len);
				churn_unsub(sub, jp, set[i].len);
			}
			break;
		case 4:
			len = junk(jp);
			churn_unsub(sub, jp, len);
			break;
		case 5:	/* again: a set, nothing changes */
			if (nset) {
				i = rand() % nset;
				memcpy(jp, set[i].p, set[i].len);
				churn_sub(sub, jp, set[i].len);
			}
			break;
		}
		if (++ops % 16 == 0) {
			drain(sub, &got, &bad);
			usleep(1000);
		}
	}
	drain(sub, &got, &bad);
	tap_diag("churn: %d calls in %lld ms, %d prefixes held at the end, %d messages received",
		 calls, tap_now_ms() - t0, nset, got);
	tap_ok(wrong == 0, "%d SP_SUBSCRIBE/SP_UNSUBSCRIBE calls under traffic return what the prefix set predicts (%d did not)",
	       calls, wrong);
	tap_ok(bad == 0, "all %d messages received during the churn are intact stream messages (%d not)",
	       got, bad);

	/* Settle on exactly {a3, a7}. */
	wrong = 0;
	while (nset) {
		memcpy(jp, set[0].p, set[0].len);
		churn_unsub(sub, jp, set[0].len);
	}
	churn_sub(sub, "a3", 2);
	churn_sub(sub, "a7", 2);
	tap_ok(wrong == 0 && nset == 2,
	       "settling on {\"a3\", \"a7\"}: every call succeeds");
	if (write(ctl[1], "M", 1) != 1)
		tap_bail("pipe to the publisher: %s", strerror(errno));

	/* Up to the first marker anything goes (published before settling). */
	deadline = tap_now_ms() + 2LL * sp_wait_ms();
	while (!marked && tap_now_ms() < deadline) {
		n = recv(sub, buf, sizeof(buf), 0);
		if (n < 0 && errno != EINTR) {
			tap_diag("waiting for a marker: %s", strerror(errno));
			break;
		}
		if (n >= 0 && parse(buf, n, &topic, &seq) == 2) {
			marked = 1;
			last = seq;
		}
	}
	tap_ok(marked, "the publisher's marker arrives");
	for (i = 0; marked && i < AFTER; i++) {
		int kind;

		n = recv(sub, buf, sizeof(buf), 0);
		if (n < 0) {
			tap_diag("after the marker, message %d: %s", i, strerror(errno));
			only = 0;
			break;
		}
		kind = parse(buf, n, &topic, &seq);
		if (!kind || (topic != 3 && topic != 7) || seq <= last) {
			if (only)
				tap_diag("after the marker (seq %lu) got %s", last,
					 sp_show(buf, n));
			only = 0;
		}
		last = seq;
		if (kind == 1 && topic == 3)
			n3++;
		if (kind == 1 && topic == 7)
			n7++;
	}
	tap_ok(marked && only, "from the marker on, %d messages are all a3 or a7, in publishing order",
	       AFTER);
	tap_ok(n3 > 0 && n7 > 0, "both a3 (%d) and a7 (%d) arrive", n3, n7);

	/* Switch to {a5}. */
	wrong = 0;
	churn_unsub(sub, "a3", 2);
	churn_unsub(sub, "a3", 2);	/* ENOENT */
	churn_unsub(sub, "a7", 2);
	churn_sub(sub, "a5", 2);
	tap_ok(wrong == 0, "switching to {\"a5\"}: unsubscribe, ENOENT the second time, subscribe");
	only = 1;
	marked = 0;	/* seen the first a5 */
	for (i = 0; i < 50 && only;) {
		n = recv(sub, buf, sizeof(buf), 0);
		if (n < 0) {
			tap_diag("after switching: %s", strerror(errno));
			only = 0;
			break;
		}
		rc = parse(buf, n, &topic, &seq);
		if (rc == 1 && topic == 5) {
			marked = 1;
			i++;
		} else if (marked || !rc || (topic != 3 && topic != 7)) {
			tap_diag("after switching to a5 got %s%s", sp_show(buf, n),
				 marked ? " after an a5" : "");
			only = 0;
		}
	}
	tap_ok(only && i == 50, "after switching to {\"a5\"}, from the first a5 on 50 messages are all a5");

	close(ctl[1]);		/* the publisher stops */
	st = tap_wait_child(pid, sp_wait_ms());
	if (st)
		tap_diag("publisher exit status %d (2 bind, 3 send failed, 98 no socket, 100 watchdog)",
			 st);
	tap_ok(st == 0, "the publisher published the whole time, no send failed");
	close(sub);
}

/* ---- thousands of subscriptions ---- */

static void thousands(void)
{
	static const char *const batch1[] = {
		"t0000 first", "t5000 not subscribed", "t2500 middle", "t499",
		"u0000", "t4999 last", "t 000", "t4999",
	};
	static const char *const exp1[] = {
		"t0000 first", "t2500 middle", "t4999 last", "t4999",
	};
	static const char *const batch2[] = { "t2500 again", "t1234 still" };
	static const char *const batch3[] = { "t0000 gone", "t4999 gone", "t1234" };
	size_t explen[4];
	char p[8];
	int pub, sub, i, fails = 0, stray, synced, to;
	long long t0;

	pub = sp_open(SOCK_PUB, 0);
	sp_timeouts(pub, sp_wait_ms(), sp_wait_ms());
	sub = sp_open(SOCK_SUB, 0);
	sp_timeouts(sub, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(pub, PORT_T) || sp_connect4(sub, PORT_T))
		tap_diag("bind/connect: %s", strerror(errno));

	t0 = tap_now_ms();
	for (i = 0; i < NT; i++) {
		snprintf(p, sizeof(p), "t%04d", i);
		if (ps_subscribe(sub, p, 5) && fails++ < 3)
			tap_diag("SP_SUBSCRIBE %s: %s", p, strerror(errno));
	}
	tap_diag("%d subscriptions in %lld ms", NT, tap_now_ms() - t0);
	tap_ok(fails == 0 && ps_sub_str(sub, PS_SYNC, "SUB"),
	       "%d SP_SUBSCRIBEs of \"t0000\"..\"t4999\" succeed (%d failed)", NT,
	       fails);
	synced = ps_sync(pub, &sub, 1, PS_SYNC "thousands", sp_wait_ms(), &stray);
	tap_ok(synced == 1 && !stray, "the SUB is connected");

	for (i = 0; i < (int)ARRAY_SIZE(batch1); i++)
		sp_send_all(pub, batch1[i], strlen(batch1[i]), "PUB");
	sp_send_all(pub, PS_SYNC "t1", strlen(PS_SYNC "t1"), "PUB");
	for (i = 0; i < 4; i++)
		explen[i] = strlen(exp1[i]);
	tap_ok(ps_expect_seq(sub, exp1, explen, 4, PS_SYNC "t1",
			     tap_now_ms() + sp_wait_ms(), "thousands 1", &to),
	       "t0000, t2500 and t4999 arrive; t5000, t499 (too short), u0000 do not");

	i = ps_unsubscribe(sub, "t2500", 5) == 0;
	if (!i)
		tap_diag("SP_UNSUBSCRIBE t2500: %s", strerror(errno));
	tap_ok(i && ps_unsubscribe(sub, "t2500", 5) < 0 && errno == ENOENT,
	       "SP_UNSUBSCRIBE \"t2500\" succeeds, a second time gives ENOENT");
	for (i = 0; i < (int)ARRAY_SIZE(batch2); i++)
		sp_send_all(pub, batch2[i], strlen(batch2[i]), "PUB");
	sp_send_all(pub, PS_SYNC "t2", strlen(PS_SYNC "t2"), "PUB");
	explen[0] = strlen(batch2[1]);
	tap_ok(ps_expect_seq(sub, &batch2[1], explen, 1, PS_SYNC "t2",
			     tap_now_ms() + sp_wait_ms(), "thousands 2", &to),
	       "then t2500 no longer arrives, t1234 still does");

	fails = 0;
	t0 = tap_now_ms();
	for (i = 0; i < NT; i++) {
		if (i == 2500)
			continue;
		snprintf(p, sizeof(p), "t%04d", i);
		if (ps_unsubscribe(sub, p, 5) && fails++ < 3)
			tap_diag("SP_UNSUBSCRIBE %s: %s", p, strerror(errno));
	}
	tap_diag("%d unsubscriptions in %lld ms", NT - 1, tap_now_ms() - t0);
	tap_ok(fails == 0, "the other %d SP_UNSUBSCRIBEs succeed (%d failed)",
	       NT - 1, fails);
	for (i = 0; i < (int)ARRAY_SIZE(batch3); i++)
		sp_send_all(pub, batch3[i], strlen(batch3[i]), "PUB");
	sp_send_all(pub, PS_SYNC "t3", strlen(PS_SYNC "t3"), "PUB");
	tap_ok(ps_expect_seq(sub, NULL, NULL, 0, PS_SYNC "t3",
			     tap_now_ms() + sp_wait_ms(), "thousands 3", &to),
	       "then none of them arrives");
	close(sub);
	close(pub);
}

int main(void)
{
	tap_plan(17);
	tap_watchdog(300);

	churn();
	thousands();
	return tap_done();
}
