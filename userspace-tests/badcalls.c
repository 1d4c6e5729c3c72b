// SPDX-License-Identifier: GPL-2.0
/*
 * Bad calls get clear errnos, and a call that fails changes nothing.  What
 * state.c (types, protocols, families, short addresses, malformed URLs,
 * unknown options) and pubsub_errors.c (pattern operations, SUB options)
 * check is not repeated here.
 *
 *  - Every int option of SOL_SP (SP_RESEND_IVL, SP_RECONNECT_IVL,
 *    SP_RECONNECT_IVL_MAX, SP_RCVMAXSIZE, SP_SNDPRIO): setsockopt with optlen
 *    0, 1 or 3 and with values out of range (negative intervals, an interval
 *    of 0 for SP_RESEND_IVL, SP_RCVMAXSIZE below -1, SP_SNDPRIO 0 and 17)
 *    gives EINVAL and leaves the value as it was; a NULL optval gives EFAULT;
 *    the boundary values are taken and read back; getsockopt needs the whole
 *    int (optlen 0, 3 or negative: EINVAL, never a truncated number), NULL
 *    optval or optlen give EFAULT, and a longer optlen comes back as 4.
 *    SP_DROPS the same with 8 bytes, and it cannot be set (ENOPROTOOPT).
 *    SP_RESEND_IVL on anything but a REQ, getsockopt of the set-only options
 *    and options of other levels (IPPROTO_TCP, IPPROTO_IP) give ENOPROTOOPT.
 *  - SP_BIND/SP_CONNECT: a NULL or unmapped URL pointer gives EFAULT; 256
 *    bytes (a URL and NUL padding) are taken, 257 are EINVAL.  SP_SUBSCRIBE:
 *    NULL with length 0 is the empty prefix, NULL or unmapped with a length
 *    is EFAULT.
 *  - bind()/connect(): NULL or unmapped addresses give EFAULT, lengths 0, 1,
 *    above sockaddr_storage or negative EINVAL, AF_UNSPEC EAFNOSUPPORT, a
 *    sockaddr_in padded to sockaddr_storage works; TCP's own errors come
 *    through (EADDRNOTAVAIL for an address that is not local).
 *  - listen() succeeds before and after bind(), whatever the backlog;
 *    accept(), shutdown() and socketpair() are EOPNOTSUPP, mmap() ENODEV,
 *    getpeername() ENOTCONN.
 *  - send/recv: MSG_OOB is EOPNOTSUPP; more than IOV_MAX iovecs EMSGSIZE (the
 *    core's check), IOV_MAX one-byte iovecs one 1024-byte message; NULL or
 *    unmapped buffers and iovec arrays EFAULT, an iov_len above SSIZE_MAX
 *    EINVAL, a message above 1 GiB (one iovec or several) EMSGSIZE, while a
 *    64 MiB one is taken; none of these failed sends
 *    starts a request (recv then is the state error EPROTO), and a REP whose
 *    reply failed with EFAULT still answers; recv into NULL gives EFAULT,
 *    recv(NULL, 0, MSG_PEEK | MSG_TRUNC) the message's length.  Afterwards
 *    the same sockets still carry a normal exchange.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "sp_test.h"

#define PORT		27200	/* the REQ/REP pair */
#define PORT_URL	27201	/* the 256-byte SP_BIND */
#define PORT_PAD	27202	/* bind with a sockaddr_storage-sized address */

/* An address no process has mapped (below mmap_min_addr), hidden from the compiler. */
static void *volatile bad_ptr = (void *)16;
#define BAD_PTR		(bad_ptr)
#define ONE_GIB		(1UL << 30)
/* Far more than any one skb can hold, far less than the 1 GiB limit. */
#define HUGE_MSG	(64UL << 20)

struct int_opt {
	int opt;
	const char *name;
	int type;		/* a socket type that has the option */
	int bad[3];
	int nbad;
	int good[3];
	int ngood;
};

static const struct int_opt int_opts[] = {
	{ SP_RESEND_IVL, "SP_RESEND_IVL", SOCK_REQ,
	  { 0, -1, INT_MIN }, 3, { 1, INT_MAX }, 2 },
	{ SP_RECONNECT_IVL, "SP_RECONNECT_IVL", SOCK_REQ,
	  { -1, INT_MIN }, 2, { 0, INT_MAX }, 2 },
	{ SP_RECONNECT_IVL_MAX, "SP_RECONNECT_IVL_MAX", SOCK_SUB,
	  { -1, INT_MIN }, 2, { 0, INT_MAX }, 2 },
	{ SP_RCVMAXSIZE, "SP_RCVMAXSIZE", SOCK_REP,
	  { -2, INT_MIN }, 2, { -1, 0, INT_MAX }, 3 },
	{ SP_SNDPRIO, "SP_SNDPRIO", SOCK_PUB,
	  { 0, 17, -1 }, 3, { 1, 16 }, 2 },
};

#define CHECKS_PER_OPT	7
#define NCHECKS		(CHECKS_PER_OPT * ARRAY_SIZE(int_opts) + 35)

/* A call that must fail with @e; logs otherwise; returns 1 if it did. */
static int fails(long rc, int e, const char *what)
{
	int err = errno;

	if (rc >= 0) {
		tap_diag("%s: returned %ld", what, rc);
		return 0;
	}
	if (err != e) {
		tap_diag("%s: errno %d (%s), not %s", what, err, strerror(err),
			 sp_errname(e));
		return 0;
	}
	return 1;
}

static int get_int(int fd, int opt)
{
	int v = INT_MIN + 7;

	if (sp_get_int(fd, SOL_SP, opt, &v))
		tap_diag("getsockopt(%d): %s", opt, strerror(errno));
	return v;
}

static void check_int_opt(const struct int_opt *o)
{
	static const socklen_t short_lens[] = { 0, 1, 3 };
	int fd = sp_open(o->type, 0), before, v, ok, i;
	char what[128], buf[16];
	socklen_t len;

	before = get_int(fd, o->opt);
	v = before;
	ok = 1;
	for (i = 0; i < (int)ARRAY_SIZE(short_lens); i++) {
		snprintf(what, sizeof(what), "setsockopt(%s) optlen %u", o->name,
			 (unsigned int)short_lens[i]);
		ok &= fails(setsockopt(fd, SOL_SP, o->opt, &v, short_lens[i]),
			    EINVAL, what);
	}
	tap_ok(ok && get_int(fd, o->opt) == before,
	       "setsockopt(%s) with optlen 0, 1, 3: EINVAL, value unchanged",
	       o->name);

	snprintf(what, sizeof(what), "setsockopt(%s, NULL, 4)", o->name);
	tap_ok(fails(setsockopt(fd, SOL_SP, o->opt, NULL, sizeof(int)), EFAULT,
		     what) && get_int(fd, o->opt) == before,
	       "setsockopt(%s) with a NULL optval: EFAULT", o->name);

	ok = 1;
	for (i = 0; i < o->nbad; i++) {
		snprintf(what, sizeof(what), "setsockopt(%s, %d)", o->name,
			 o->bad[i]);
		ok &= fails(sp_set_int(fd, SOL_SP, o->opt, o->bad[i]), EINVAL,
			    what);
	}
	v = get_int(fd, o->opt);
	if (v != before)
		tap_diag("%s is %d after the refused values, was %d", o->name, v,
			 before);
	tap_ok(ok && v == before,
	       "setsockopt(%s) out of range (%d, %d%s): EINVAL, value unchanged",
	       o->name, o->bad[0], o->bad[1], o->nbad > 2 ? ", ..." : "");

	ok = 1;
	for (i = 0; i < o->ngood; i++) {
		if (sp_set_int(fd, SOL_SP, o->opt, o->good[i])) {
			tap_diag("setsockopt(%s, %d): %s", o->name, o->good[i],
				 strerror(errno));
			ok = 0;
		} else if ((v = get_int(fd, o->opt)) != o->good[i]) {
			tap_diag("%s reads back %d after %d", o->name, v,
				 o->good[i]);
			ok = 0;
		}
	}
	tap_ok(ok, "setsockopt(%s) takes its boundary values (%d, %d%s) and reads them back",
	       o->name, o->good[0], o->good[1], o->ngood > 2 ? ", ..." : "");
	sp_set_int(fd, SOL_SP, o->opt, before);

	ok = 1;
	for (i = 0; i < (int)ARRAY_SIZE(short_lens); i++) {
		len = short_lens[i];
		snprintf(what, sizeof(what), "getsockopt(%s) optlen %u", o->name,
			 (unsigned int)len);
		ok &= fails(getsockopt(fd, SOL_SP, o->opt, buf, &len), EINVAL,
			    what);
	}
	len = (socklen_t)-1;
	ok &= fails(getsockopt(fd, SOL_SP, o->opt, buf, &len), EINVAL,
		    "getsockopt optlen -1");
	tap_ok(ok, "getsockopt(%s) with optlen 0, 1, 3, -1: EINVAL", o->name);

	len = sizeof(int);
	ok = fails(getsockopt(fd, SOL_SP, o->opt, NULL, &len), EFAULT,
		   "getsockopt(NULL optval)");
	ok &= fails(getsockopt(fd, SOL_SP, o->opt, buf, NULL), EFAULT,
		    "getsockopt(NULL optlen)");
	ok &= fails(getsockopt(fd, SOL_SP, o->opt, buf, BAD_PTR), EFAULT,
		    "getsockopt(unmapped optlen)");
	tap_ok(ok, "getsockopt(%s) with a NULL optval, NULL or unmapped optlen: EFAULT",
	       o->name);

	len = sizeof(buf);
	memset(buf, 0x5a, sizeof(buf));
	ok = !getsockopt(fd, SOL_SP, o->opt, buf, &len);
	memcpy(&v, buf, sizeof(v));
	if (!ok || len != sizeof(int) || v != before)
		tap_diag("getsockopt(%s) optlen 16: rc %d, optlen %u, value %d",
			 o->name, ok ? 0 : -1, (unsigned int)len, v);
	tap_ok(ok && len == sizeof(int) && v == before &&
	       (unsigned char)buf[sizeof(int)] == 0x5a,
	       "getsockopt(%s) with optlen 16 gives the int and optlen 4",
	       o->name);
	close(fd);
}

static void check_drops(void)
{
	unsigned char buf[16];
	uint64_t v = 0;
	socklen_t len;
	int fd = sp_open(SOCK_REP, 0), ok;

	tap_ok(fails(setsockopt(fd, SOL_SP, SP_DROPS, &v, sizeof(v)),
		     ENOPROTOOPT, "setsockopt(SP_DROPS)"),
	       "SP_DROPS cannot be set: ENOPROTOOPT");
	len = 7;
	ok = fails(getsockopt(fd, SOL_SP, SP_DROPS, buf, &len), EINVAL,
		   "getsockopt(SP_DROPS) optlen 7");
	len = 8;
	ok &= fails(getsockopt(fd, SOL_SP, SP_DROPS, NULL, &len), EFAULT,
		    "getsockopt(SP_DROPS, NULL)");
	len = sizeof(buf);
	memset(buf, 0x5a, sizeof(buf));
	if (getsockopt(fd, SOL_SP, SP_DROPS, buf, &len) || len != 8) {
		tap_diag("getsockopt(SP_DROPS) optlen 16: %s, optlen %u",
			 strerror(errno), (unsigned int)len);
		ok = 0;
	}
	memcpy(&v, buf, sizeof(v));
	tap_ok(ok && v == 0 && buf[8] == 0x5a,
	       "getsockopt(SP_DROPS): optlen 7 EINVAL, NULL EFAULT, 16 gives 8 bytes of 0");
	close(fd);
}

/* ENOPROTOOPT for options that do not exist where they are asked. */
static void check_wrong_options(void)
{
	static const int others[] = { SOCK_REP, SOCK_PUB, SOCK_SUB };
	static const int set_only[] = { SP_BIND, SP_CONNECT, SP_SUBSCRIBE,
					SP_UNSUBSCRIBE };
	int fd, ok = 1, v = 1000;
	socklen_t len;
	char buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(others); i++) {
		fd = sp_open(others[i], 0);
		ok &= fails(sp_set_int(fd, SOL_SP, SP_RESEND_IVL, 1000),
			    ENOPROTOOPT, sp_type_name(others[i]));
		ok &= fails(sp_get_int(fd, SOL_SP, SP_RESEND_IVL, &v),
			    ENOPROTOOPT, sp_type_name(others[i]));
		close(fd);
	}
	tap_ok(ok, "SP_RESEND_IVL on REP, PUB and SUB: ENOPROTOOPT, set and get");

	fd = sp_open(SOCK_SUB, 0);
	ok = 1;
	for (i = 0; i < ARRAY_SIZE(set_only); i++) {
		len = sizeof(buf);
		snprintf(buf, sizeof(buf), "getsockopt(SOL_SP, %d)", set_only[i]);
		ok &= fails(getsockopt(fd, SOL_SP, set_only[i], buf, &len),
			    ENOPROTOOPT, buf);
	}
	tap_ok(ok, "getsockopt of the set-only SP_BIND, SP_CONNECT, SP_(UN)SUBSCRIBE: ENOPROTOOPT");

	v = 1;
	len = sizeof(v);
	ok = fails(setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &v,
			      sizeof(v)), ENOPROTOOPT, "setsockopt(TCP_NODELAY)");
	ok &= fails(getsockopt(fd, IPPROTO_IP, 2 /* IP_TTL */, &v, &len),
		    ENOPROTOOPT, "getsockopt(IP_TTL)");
	ok &= fails(setsockopt(fd, SOL_SP, -1, &v, sizeof(v)), ENOPROTOOPT,
		    "setsockopt(SOL_SP, -1)");
	tap_ok(ok, "options of IPPROTO_TCP, IPPROTO_IP and SOL_SP option -1: ENOPROTOOPT");

	tap_ok(fails(setsockopt(fd, SOL_SP, SP_SNDPRIO, &v, (socklen_t)-1),
		     EINVAL, "setsockopt optlen -1"),
	       "setsockopt with optlen -1: EINVAL");
	close(fd);
}

static void check_url_options(void)
{
	char url[300];
	int fd = sp_open(SOCK_REP, 0), ok;
	int sub = sp_open(SOCK_SUB, 0);

	ok = fails(setsockopt(fd, SOL_SP, SP_BIND, NULL, 20), EFAULT,
		   "SP_BIND NULL");
	ok &= fails(setsockopt(fd, SOL_SP, SP_BIND, BAD_PTR, 20), EFAULT,
		    "SP_BIND unmapped");
	ok &= fails(setsockopt(fd, SOL_SP, SP_CONNECT, NULL, 20), EFAULT,
		    "SP_CONNECT NULL");
	tap_ok(ok, "SP_BIND/SP_CONNECT with a NULL or unmapped URL: EFAULT");

	memset(url, 0, sizeof(url));
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", PORT_URL);
	ok = fails(setsockopt(fd, SOL_SP, SP_BIND, url, 257), EINVAL,
		   "SP_BIND optlen 257");
	if (setsockopt(fd, SOL_SP, SP_BIND, url, 256)) {
		tap_diag("SP_BIND optlen 256: %s", strerror(errno));
		ok = 0;
	}
	tap_ok(ok, "SP_BIND takes a URL padded with NULs to 256 bytes, 257 is EINVAL");

	ok = !setsockopt(sub, SOL_SP, SP_SUBSCRIBE, NULL, 0) &&
	     !setsockopt(sub, SOL_SP, SP_UNSUBSCRIBE, NULL, 0);
	if (!ok)
		tap_diag("SP_(UN)SUBSCRIBE NULL, 0: %s", strerror(errno));
	ok &= fails(setsockopt(sub, SOL_SP, SP_SUBSCRIBE, NULL, 5), EFAULT,
		    "SP_SUBSCRIBE NULL, 5");
	ok &= fails(setsockopt(sub, SOL_SP, SP_SUBSCRIBE, BAD_PTR, 1), EFAULT,
		    "SP_SUBSCRIBE unmapped");
	/* Nothing was subscribed by the failed calls. */
	ok &= fails(setsockopt(sub, SOL_SP, SP_UNSUBSCRIBE, "", 0), ENOENT,
		    "SP_UNSUBSCRIBE \"\" after the failed calls");
	tap_ok(ok, "SP_SUBSCRIBE: NULL with length 0 is the empty prefix, NULL or unmapped with a length EFAULT and subscribes nothing");
	close(sub);
	close(fd);
}

static void check_addresses(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len;
	int fd = sp_open(SOCK_REP, 0), ok;

	ok = fails(bind(fd, NULL, sizeof(*sin)), EFAULT, "bind(NULL)");
	ok &= fails(bind(fd, BAD_PTR, sizeof(*sin)), EFAULT, "bind(unmapped)");
	ok &= fails(connect(fd, NULL, sizeof(*sin)), EFAULT, "connect(NULL)");
	ok &= fails(connect(fd, BAD_PTR, sizeof(*sin)), EFAULT,
		    "connect(unmapped)");
	tap_ok(ok, "bind()/connect() with a NULL or unmapped address: EFAULT");

	memset(&ss, 0, sizeof(ss));
	sp_addr4(sin, 0);
	ok = 1;
	for (len = 0; len < 2; len++) {
		ok &= fails(bind(fd, (struct sockaddr *)&ss, len), EINVAL,
			    "bind, short length");
		ok &= fails(connect(fd, (struct sockaddr *)&ss, len), EINVAL,
			    "connect, short length");
	}
	ok &= fails(bind(fd, (struct sockaddr *)&ss, sizeof(ss) + 1), EINVAL,
		    "bind, length 129");
	ok &= fails(connect(fd, (struct sockaddr *)&ss, (socklen_t)-1), EINVAL,
		    "connect, length -1");
	tap_ok(ok, "bind()/connect() with address length 0, 1, 129, -1: EINVAL");

	sin->sin_family = AF_UNSPEC;
	ok = fails(bind(fd, (struct sockaddr *)&ss, sizeof(*sin)), EAFNOSUPPORT,
		   "bind(AF_UNSPEC)");
	ok &= fails(connect(fd, (struct sockaddr *)&ss, sizeof(*sin)),
		    EAFNOSUPPORT, "connect(AF_UNSPEC)");
	tap_ok(ok, "bind()/connect() with AF_UNSPEC: EAFNOSUPPORT (there is no disconnect)");

	sp_addr4(sin, 0);
	sin->sin_addr.s_addr = htonl(0xc0000201);	/* 192.0.2.1, TEST-NET-1 */
	tap_ok(fails(bind(fd, (struct sockaddr *)&ss, sizeof(*sin)),
		     EADDRNOTAVAIL, "bind(192.0.2.1)"),
	       "bind() to an address that is not local: TCP's EADDRNOTAVAIL");

	sp_addr4(sin, PORT_PAD);
	ok = !bind(fd, (struct sockaddr *)&ss, sizeof(ss));
	if (!ok)
		tap_diag("bind with length %zu: %s", sizeof(ss), strerror(errno));
	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	ok = ok && !getsockname(fd, (struct sockaddr *)&ss, &len);
	tap_ok(ok && len == sizeof(*sin) && sin->sin_family == AF_INET &&
	       ntohs(sin->sin_port) == PORT_PAD,
	       "bind() with a sockaddr_in padded to sockaddr_storage works; getsockname() gives %zu bytes",
	       sizeof(*sin));
	close(fd);
}

static void check_calls(void)
{
	int fd = sp_open(SOCK_REP, 0), sv[2], ok;
	void *p;

	ok = !listen(fd, 5);
	ok = ok && !sp_bind4(fd, 0);
	ok = ok && !listen(fd, -1) && !listen(fd, 0) && !listen(fd, INT_MAX);
	if (!ok)
		tap_diag("listen/bind: %s", strerror(errno));
	tap_ok(ok, "listen() succeeds before and after bind(), with backlogs -1, 0 and INT_MAX");

	ok = fails(accept(fd, NULL, NULL), EOPNOTSUPP, "accept");
	ok &= fails(accept4(fd, NULL, NULL, SOCK_NONBLOCK), EOPNOTSUPP,
		    "accept4");
	tap_ok(ok, "accept() and accept4(): EOPNOTSUPP");

	ok = fails(shutdown(fd, SHUT_RD), EOPNOTSUPP, "shutdown(SHUT_RD)");
	ok &= fails(shutdown(fd, SHUT_WR), EOPNOTSUPP, "shutdown(SHUT_WR)");
	ok &= fails(shutdown(fd, SHUT_RDWR), EOPNOTSUPP, "shutdown(SHUT_RDWR)");
	tap_ok(ok, "shutdown(): EOPNOTSUPP");

	tap_ok(fails(socketpair(PF_SP, SOCK_REQ, 0, sv), EOPNOTSUPP,
		     "socketpair"), "socketpair(PF_SP): EOPNOTSUPP");

	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	tap_ok(p == MAP_FAILED && fails(-1, ENODEV, "mmap"),
	       "mmap() of an SP socket: ENODEV");
	if (p != MAP_FAILED)
		munmap(p, 4096);

	tap_ok(fails(getpeername(fd, (struct sockaddr *)&(struct sockaddr_storage){ 0 },
				 &(socklen_t){ sizeof(struct sockaddr_storage) }),
		     ENOTCONN, "getpeername"),
	       "getpeername(): ENOTCONN (an SP socket has no one peer)");
	close(fd);
}

static ssize_t send_iov(int fd, struct iovec *iov, size_t n)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };

	return sendmsg(fd, &mh, 0);
}

/* Send and receive one message on a connected REQ/REP pair. */
static int exchange(int req, int rep, const char *q, const char *a)
{
	return sp_send_all(req, q, strlen(q), "REQ") &&
	       sp_expect(rep, q, strlen(q), "REP") &&
	       sp_send_all(rep, a, strlen(a), "REP") &&
	       sp_expect(req, a, strlen(a), "REQ");
}

static void check_send_recv(void)
{
	static struct iovec many[IOV_MAX + 1];
	static char bytes[IOV_MAX], got[2 * IOV_MAX];
	struct iovec iov[2];
	static char low[64];
	char small[64];
	int req, rep, pub, sub, big, ok, i;
	ssize_t n;
	void *huge;

	rep = sp_open(SOCK_REP, 0);
	req = sp_open(SOCK_REQ, 0);
	sp_timeouts(rep, sp_wait_ms(), sp_wait_ms());
	sp_timeouts(req, sp_wait_ms(), sp_wait_ms());
	if (sp_bind4(rep, PORT) || sp_connect4(req, PORT))
		tap_bail("bind/connect %d: %s", PORT, strerror(errno));
	tap_ok(exchange(req, rep, "first", "reply"), "a REQ/REP pair works");

	pub = sp_open(SOCK_PUB, 0);
	sub = sp_open(SOCK_SUB, 0);
	ok = fails(send(req, "x", 1, MSG_OOB), EOPNOTSUPP, "REQ send(MSG_OOB)");
	ok &= fails(send(pub, "x", 1, MSG_OOB), EOPNOTSUPP, "PUB send(MSG_OOB)");
	tap_ok(ok, "send(MSG_OOB) on REQ and PUB: EOPNOTSUPP");
	ok = fails(recv(rep, small, sizeof(small), MSG_OOB | MSG_DONTWAIT),
		   EOPNOTSUPP, "REP recv(MSG_OOB)");
	ok &= fails(recv(sub, small, sizeof(small), MSG_OOB | MSG_DONTWAIT),
		    EOPNOTSUPP, "SUB recv(MSG_OOB)");
	tap_ok(ok, "recv(MSG_OOB) on REP and SUB: EOPNOTSUPP");
	close(pub);
	close(sub);

	/* IOV_MAX one-byte iovecs are one message; one more is too many. */
	sp_pattern(bytes, sizeof(bytes), 3);
	for (i = 0; i <= IOV_MAX; i++) {
		many[i].iov_base = &bytes[i % IOV_MAX];
		many[i].iov_len = 1;
	}
	tap_ok(fails(send_iov(req, many, IOV_MAX + 1), EMSGSIZE,
		     "sendmsg with IOV_MAX + 1 iovecs"),
	       "sendmsg with %d iovecs: EMSGSIZE", IOV_MAX + 1);
	n = send_iov(req, many, IOV_MAX);
	ok = n == IOV_MAX && sp_expect(rep, bytes, IOV_MAX, "REP");
	if (n != IOV_MAX)
		tap_diag("sendmsg with IOV_MAX iovecs: %zd (%s)", n,
			 n < 0 ? strerror(errno) : "short");
	tap_ok(ok, "sendmsg with %d one-byte iovecs sends one %d-byte message",
	       IOV_MAX, IOV_MAX);

	/* The REP owes an answer: a reply from a bad buffer fails, a good one still goes. */
	ok = fails(send(rep, NULL, 10, 0), EFAULT, "REP send(NULL)");
	ok &= fails(write(rep, BAD_PTR, 10), EFAULT, "REP write(unmapped)");
	ok = ok && sp_send_all(rep, "fine", 4, "REP") &&
	     sp_expect(req, "fine", 4, "REQ");
	tap_ok(ok, "a REP reply from a NULL or unmapped buffer: EFAULT, and the REP still answers");

	/* Sends that fail start no request. */
	iov[0].iov_base = small;
	iov[0].iov_len = 4;
	iov[1].iov_base = BAD_PTR;
	iov[1].iov_len = 4;
	ok = fails(send(req, NULL, 10, 0), EFAULT, "send(NULL)");
	ok &= fails(write(req, BAD_PTR, 10), EFAULT, "write(unmapped)");
	ok &= fails(send_iov(req, iov, 2), EFAULT, "second iovec unmapped");
	ok &= fails(send_iov(req, BAD_PTR, 1), EFAULT, "msg_iov unmapped");
	tap_ok(ok, "send/write/sendmsg from NULL or unmapped buffers or iovec arrays: EFAULT");

	iov[0].iov_base = small;
	iov[0].iov_len = (size_t)SSIZE_MAX + 1;
	ok = fails(send_iov(req, iov, 1), EINVAL, "iov_len SSIZE_MAX + 1");
	tap_ok(ok, "sendmsg with an iov_len above SSIZE_MAX: EINVAL");

	/*
	 * Lengths the core accepts (the range lies in user space) but the
	 * module must refuse before touching the memory: the pointers are to a
	 * 64-byte buffer.  A static one: the stack sits at the top of user
	 * space, where 1 GiB more runs past it and the core's EFAULT wins.
	 */
	iov[0].iov_base = low;
	iov[0].iov_len = ONE_GIB + 1;
	ok = fails(send_iov(req, iov, 1), EMSGSIZE, "one iovec of 1 GiB + 1");
	iov[0].iov_len = 3 * ONE_GIB / 2;
	iov[1].iov_base = low;
	iov[1].iov_len = 3 * ONE_GIB / 2;
	ok &= fails(send_iov(req, iov, 2), EMSGSIZE, "two iovecs of 1.5 GiB");
	tap_ok(ok, "a message above 1 GiB, in one iovec or two: EMSGSIZE");

	huge = mmap(NULL, HUGE_MSG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	if (huge == MAP_FAILED)
		tap_bail("mmap %lu bytes: %s", HUGE_MSG, strerror(errno));
	/*
	 * Far more than one skb holds: the kernel chains page-sized buffers,
	 * so any size up to the 1 GiB limit is taken while memory allows.  On
	 * a REQ of its own, so that the request it starts stays out of the way.
	 */
	big = sp_open(SOCK_REQ, 0);
	n = send(big, huge, HUGE_MSG, MSG_DONTWAIT);
	tap_ok(n == (ssize_t)HUGE_MSG, "a 64 MiB message is taken (%zd%s%s)", n,
	       n < 0 ? ", " : "", n < 0 ? sp_errname(errno) : "");
	close(big);
	munmap(huge, HUGE_MSG);

	tap_ok(fails(recv(req, small, sizeof(small), MSG_DONTWAIT), EPROTO,
		     "recv on the REQ after the failed sends"),
	       "none of the failed sends started a request: recv on the REQ is EPROTO");

	/* recv into NULL. */
	ok = sp_send_all(req, "peekaboo", 8, "REQ");
	sp_timeo(rep, SO_RCVTIMEO, sp_wait_ms());
	n = ok ? recv(rep, NULL, 0, MSG_PEEK | MSG_TRUNC) : -1;
	if (n != 8)
		tap_diag("recv(NULL, 0, MSG_PEEK | MSG_TRUNC): %zd (%s)", n,
			 n < 0 ? strerror(errno) : "wrong length");
	tap_ok(n == 8, "recv(NULL, 0, MSG_PEEK | MSG_TRUNC) gives the length of the waiting message");
	tap_ok(fails(recv(rep, NULL, sizeof(small), 0), EFAULT, "recv(NULL, 64)"),
	       "recv into a NULL buffer: EFAULT");
	for (i = 0; i < IOV_MAX + 1; i++)
		many[i].iov_base = got;
	tap_ok(fails(recvmsg(rep, &(struct msghdr){ .msg_iov = many,
						  .msg_iovlen = IOV_MAX + 1 },
			     MSG_DONTWAIT), EMSGSIZE, "recvmsg IOV_MAX + 1"),
	       "recvmsg with %d iovecs: EMSGSIZE", IOV_MAX + 1);

	/* Whatever became of "peekaboo", the pair still works. */
	ok = exchange(req, rep, "last", "works");
	tap_ok(ok, "after all that, the same REQ and REP still make an exchange");
	close(req);
	close(rep);
}

int main(void)
{
	size_t i;

	tap_plan(NCHECKS);
	tap_watchdog(120);
	for (i = 0; i < ARRAY_SIZE(int_opts); i++)
		check_int_opt(&int_opts[i]);
	check_drops();
	check_wrong_options();
	check_url_options();
	check_addresses();
	check_calls();
	check_send_recv();
	return tap_done();
}
