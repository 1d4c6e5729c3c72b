/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the PUB/SUB tests: subscribing, making sure subscribers
 * are connected before counting (PUB/SUB is lossy by design: what a PUB
 * publishes before a subscriber's connection is up never reaches it), and
 * checking that a subscriber received exactly an expected sequence up to a
 * marker message.
 *
 * Synchronisation uses marker messages that start with PS_SYNC ("sync:"):
 * every subscriber that takes part is subscribed to PS_SYNC (or to a prefix
 * of it, such as "").  ps_sync() publishes one marker repeatedly until every
 * subscriber has seen it; later, ps_expect_seq() reads up to a fresh marker
 * published once after the messages under test, so over one connection
 * (which keeps order) everything published before that marker has arrived
 * when it does, and nothing unexpected can hide behind a timeout.  Markers
 * of earlier rounds that are still queued are skipped.
 *
 * Every wait is bounded: a misbehaving module makes a check fail, never hang.
 */
#ifndef SP_PUBSUB_H
#define SP_PUBSUB_H

#include "sp_test.h"

#define PS_MAX_PREFIX	1024		/* the longest prefix SP_SUBSCRIBE takes */
#define PS_SYNC		"sync:"		/* every marker starts with this */
#define PS_SYNC_LEN	(sizeof(PS_SYNC) - 1)
#define PS_BUF		(64 * 1024)	/* receive buffer of the helpers */
#define PS_SYNC_IVL_MS	50		/* ps_sync(): publish the marker this often */

/* setsockopt(SOL_SP, SP_SUBSCRIBE / SP_UNSUBSCRIBE); raw results. */
static inline int ps_subscribe(int fd, const void *prefix, size_t len)
{
	return setsockopt(fd, SOL_SP, SP_SUBSCRIBE, prefix, len);
}

static inline int ps_unsubscribe(int fd, const void *prefix, size_t len)
{
	return setsockopt(fd, SOL_SP, SP_UNSUBSCRIBE, prefix, len);
}

/* Subscribe to a string prefix; 1 on success, else logs and returns 0. */
static inline int ps_sub_str(int fd, const char *prefix, const char *what)
{
	if (!ps_subscribe(fd, prefix, strlen(prefix)))
		return 1;
	tap_diag("%s: SP_SUBSCRIBE %s: %s", what, sp_show(prefix, strlen(prefix)),
		 strerror(errno));
	return 0;
}

/* Does @msg start with PS_SYNC? */
static inline int ps_is_sync(const void *msg, ssize_t len)
{
	return len >= (ssize_t)PS_SYNC_LEN && !memcmp(msg, PS_SYNC, PS_SYNC_LEN);
}

/* getsockopt(SOL_SP, SP_DROPS) into *drops; raw result, optlen checked. */
static inline int ps_drops(int pub, uint64_t *drops)
{
	socklen_t len = sizeof(*drops);
	int rc;

	*drops = 0;
	rc = getsockopt(pub, SOL_SP, SP_DROPS, drops, &len);
	if (!rc && len != sizeof(*drops)) {
		tap_diag("getsockopt(SP_DROPS) returned optlen %u, not 8",
			 (unsigned int)len);
		errno = EMSGSIZE;
		return -1;
	}
	return rc;
}

/*
 * Make sure the @n subscribers in @subs are connected to @pub: publish @tag
 * (which must start with PS_SYNC) every PS_SYNC_IVL_MS until each of them
 * has received it, for at most @ms.  Subscribers are read with MSG_DONTWAIT
 * only.  Older markers are skipped; any other message is logged and counted
 * in *@stray (nothing else is being published meanwhile).  Returns how many
 * subscribers saw @tag; the others are named in diagnostics.
 */
static inline int ps_sync(int pub, const int *subs, int n, const char *tag,
			  int ms, int *stray)
{
	long long t0 = tap_now_ms(), deadline = t0 + ms;
	size_t tlen = strlen(tag);
	char *buf = malloc(PS_BUF);
	char *got = calloc(n > 0 ? n : 1, 1);
	int synced = 0, sent = 0, send_err = 0, i;

	if (!buf || !got)
		tap_bail("out of memory");
	*stray = 0;
	while (synced < n && tap_now_ms() < deadline) {
		if (send(pub, tag, tlen, MSG_DONTWAIT) == (ssize_t)tlen)
			sent++;
		else if (!send_err++)
			tap_diag("sync: publishing %s: %s", tag, strerror(errno));
		usleep(PS_SYNC_IVL_MS * 1000);
		for (i = 0; i < n; i++) {
			ssize_t len;

			if (got[i] == 2)
				continue;
			while ((len = recv(subs[i], buf, PS_BUF, MSG_DONTWAIT)) >= 0) {
				if ((size_t)len == tlen && !memcmp(buf, tag, tlen)) {
					if (!got[i]) {
						got[i] = 1;
						synced++;
					}
				} else if (!ps_is_sync(buf, len)) {
					if ((*stray)++ < 5)
						tap_diag("sync: subscriber %d got a stray %s",
							 i, sp_show(buf, len));
				}
			}
			if (!sp_is_again(errno) && errno != EINTR && !got[i]) {
				tap_diag("sync: recv on subscriber %d: %s", i,
					 strerror(errno));
				got[i] = 2;	/* broken: stop asking it */
			}
		}
	}
	for (i = 0; i < n; i++)
		if (got[i] != 1)
			tap_diag("sync: subscriber %d never received %s", i, tag);
	tap_diag("sync %s: %d of %d subscribers in %lld ms, %d markers published",
		 tag, synced, n, tap_now_ms() - t0, sent);
	free(got);
	free(buf);
	return synced;
}

/*
 * Receive on @sub up to the message @marker, skipping older markers; every
 * other message must be, in order, exactly the @nexp messages @exp[i] of
 * @explen[i] bytes.  Reads until the marker even after a mismatch, so the
 * stream stays aligned for the next round.  Waits until @deadline (on the
 * tap_now_ms() clock, at least 1 ms per recv; SO_RCVTIMEO is restored
 * afterwards).  Returns 1 on an exact match,
 * 0 (logged, naming @what) otherwise; *@timed_out tells whether the marker
 * never came.
 */
static inline int ps_expect_seq(int sub, const char *const *exp,
				const size_t *explen, int nexp,
				const char *marker, long long deadline,
				const char *what, int *timed_out)
{
	size_t mlen = strlen(marker);
	char *buf = malloc(PS_BUF);
	int k = 0, bad = 0, extra = 0;
	struct timeval saved;
	socklen_t slen = sizeof(saved);

	if (!buf)
		tap_bail("out of memory");
	if (getsockopt(sub, SOL_SOCKET, SO_RCVTIMEO, &saved, &slen))
		slen = 0;
	*timed_out = 0;
	for (;;) {
		long long left = deadline - tap_now_ms();
		ssize_t len;

		sp_timeo(sub, SO_RCVTIMEO, left > 1 ? (int)left : 1);
		len = recv(sub, buf, PS_BUF, 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			tap_diag("%s: no %s after %d of %d expected messages: %s",
				 what, marker, k, nexp, strerror(errno));
			*timed_out = 1;
			bad = 1;
			break;
		}
		if ((size_t)len == mlen && !memcmp(buf, marker, mlen))
			break;
		if (ps_is_sync(buf, len))
			continue;
		if (k >= nexp) {
			if (extra++ < 3)
				tap_diag("%s: unexpected extra message %s", what,
					 sp_show(buf, len));
			bad = 1;
			continue;
		}
		if ((size_t)len != explen[k] || memcmp(buf, exp[k], len)) {
			if (!bad)
				tap_diag("%s: message %d is %s, expected %s", what,
					 k, sp_show(buf, len),
					 sp_show(exp[k], explen[k]));
			bad = 1;
		}
		k++;
	}
	if (!*timed_out && k < nexp) {
		tap_diag("%s: only %d of %d expected messages before %s", what,
			 k, nexp, marker);
		bad = 1;
	}
	if (extra)
		tap_diag("%s: %d messages more than the %d expected", what,
			 extra, nexp);
	if (slen)	/* the caller's receive timeout again */
		setsockopt(sub, SOL_SOCKET, SO_RCVTIMEO, &saved, slen);
	free(buf);
	return !bad;
}

/*
 * Nothing at all must be queued on @sub: after waiting @ms, recv with
 * MSG_DONTWAIT must give EAGAIN.  Returns 1 if so; logs what came otherwise.
 */
static inline int ps_expect_nothing(int sub, int ms, const char *what)
{
	char buf[256];
	ssize_t len;
	int n = 0;

	usleep(ms * 1000);
	while ((len = recv(sub, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		if (n++ < 3)
			tap_diag("%s: received %s", what, sp_show(buf, len));
	}
	if (!sp_is_again(errno)) {
		tap_diag("%s: recv(MSG_DONTWAIT): %s", what, strerror(errno));
		return 0;
	}
	if (n)
		tap_diag("%s: %d messages in all", what, n);
	return n == 0;
}

#endif /* SP_PUBSUB_H */
