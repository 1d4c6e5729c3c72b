/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * PF_SP: the Scalability Protocols (nanomsg/nng SP) as Linux sockets.
 *
 *	int s = socket(PF_SP, SOCK_REQ, IPPROTO_TCP);
 *	connect(s, (struct sockaddr *)&sin, sizeof(sin));
 *	send(s, "Hello", 6, 0);
 *	recv(s, buf, sizeof(buf), 0);
 *
 * Every constant is a plain integer #define so that any language can use it.
 * The user contract is documented in README.md.
 */
#ifndef _UAPI_LINUX_SP_H
#define _UAPI_LINUX_SP_H

/*
 * The address family.  18 is AF_ASH in <linux/socket.h>, a number that was
 * reserved but never implemented.  Where it is taken, load the module with
 * family=N and use N.
 */
#define AF_SP			18
#define PF_SP			AF_SP

/*
 * Socket types, the second argument of socket().  The kernel rejects types
 * above 10 before a family sees them, so SP types live in 1..10 and have
 * their own meaning inside PF_SP (SOCK_PUB is not SOCK_DGRAM).
 */
#define SOCK_PAIR		1	/* one peer at a time, wire id 0x11 (v1) or 0x10 (v0) */
#define SOCK_PUB		2	/* publisher, wire id 0x20 */
#define SOCK_SUB		3	/* subscriber, wire id 0x21 */
#define SOCK_REQ		4	/* requester, wire id 0x30 */
#define SOCK_REP		5	/* replier, wire id 0x31 */
#define SOCK_PUSH		6	/* pipeline source, wire id 0x50 */
#define SOCK_PULL		7	/* pipeline sink, wire id 0x51 */
#define SOCK_SURVEYOR		8	/* asks every respondent, wire id 0x62 */
#define SOCK_RESPONDENT		9	/* answers a surveyor, wire id 0x63 */
#define SOCK_BUS		10	/* to and from every direct peer, wire id 0x70 */

/* setsockopt()/getsockopt() level of the options below. */
#define SOL_SP			300

/* SUB: add / remove a subscription; optval is the prefix, may be empty. */
#define SP_SUBSCRIBE		1
#define SP_UNSUBSCRIBE		2
/* REQ: resend an unanswered request after this many ms (int, default 60000). */
#define SP_RESEND_IVL		3
/* Dialers: first and largest reconnect backoff in ms (int, 10 and 1000). */
#define SP_RECONNECT_IVL	4
#define SP_RECONNECT_IVL_MAX	5
/* Largest message accepted from a peer, bytes (int; -1: no limit; default 1 MiB). */
#define SP_RCVMAXSIZE		6
/* Priority of endpoints added after it is set: 1 (highest) .. 16, default 8. */
#define SP_SNDPRIO		7
/*
 * bind() / connect() with a URL string (optval; a trailing NUL is allowed):
 * "tcp://127.0.0.1:5555" or "tcp://[::1]:5555"; for bind, the host "*"
 * means every IPv4 and IPv6 address.
 */
#define SP_BIND			8
#define SP_CONNECT		9
/*
 * Read-only, unsigned 64-bit (optlen 8): messages this socket dropped.  PUB,
 * BUS, SURVEYOR: copies not sent to a peer whose queue was full; REP,
 * RESPONDENT: replies whose requester was gone or not reading; every type
 * that checks a header: malformed messages and ones over SP_MAXTTL.
 */
#define SP_DROPS		10
/*
 * Read-only int: the connections of this socket whose SP header exchange has
 * completed, i.e. the peers a message can go to or come from right now.  A
 * PUB can wait for its subscribers before publishing (PUB/SUB drops what is
 * sent while nobody is connected).
 */
#define SP_PEERS		11
/*
 * PAIR: 1 (default; nng's pair1, a 4-byte hop count before each message) or
 * 0 (nanomsg's and nng's pair0, no header).  Set before the first bind or
 * connect; afterwards EISCONN.
 */
#define SP_PAIR_VERSION		12
/*
 * SURVEYOR: ms after a survey is sent that its answers are accepted; then
 * recv fails with ETIMEDOUT (int > 0, default 1000).  Applies to surveys
 * sent after it is set.
 */
#define SP_SURVEY_DEADLINE	13
/*
 * REQ, REP, SURVEYOR, RESPONDENT, PAIR v1: the most hops (devices) a message
 * may have crossed; one with a longer backtrace or higher hop count is
 * dropped and counted in SP_DROPS (int 1..15, default 8).
 */
#define SP_MAXTTL		14

/* Defaults. */
#define SP_RESEND_IVL_DEFAULT		60000
#define SP_RECONNECT_IVL_DEFAULT	10
#define SP_RECONNECT_IVL_MAX_DEFAULT	1000
#define SP_RCVMAXSIZE_DEFAULT		(1024 * 1024)
#define SP_SNDPRIO_DEFAULT		8
#define SP_PAIR_VERSION_DEFAULT		1
#define SP_SURVEY_DEADLINE_DEFAULT	1000
#define SP_MAXTTL_DEFAULT		8
#define SP_MAXTTL_MAX			15
/*
 * Seconds close() keeps delivering what was sent when SO_LINGER is off;
 * SO_LINGER { 1, N } makes it N, { 1, 0 } discards at once.
 */
#define SP_LINGER_DEFAULT		30

#endif /* _UAPI_LINUX_SP_H */
