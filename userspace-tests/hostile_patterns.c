// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile peers on plain TCP (sp_raw.h) against the PAIR, SURVEYOR,
 * RESPONDENT, PULL, PUSH and BUS sockets, bound on loopback: every malformed
 * message is dropped and counted in SP_DROPS, or costs the peer its
 * connection, as wire-protocol.md and the uapi header say, and the socket
 * keeps serving what comes after.
 *
 *  - The wrong partner: a peer announcing a protocol id that is not a valid
 *    partner (0x10 to a PAIR v1, 0x11 to a PAIR v0, 0x50 to a PUSH, 0x51 to a
 *    PULL, 0x62 to a SURVEYOR, 0x63 to a RESPONDENT, 0x11 to a BUS) is
 *    disconnected promptly, having been sent at most our header, and
 *    SP_PEERS stays 0.  (Run first, while nothing else is connected.)
 *  - PAIR v1: hop count 0 and hop count 9 (above the default SP_MAXTTL of 8)
 *    are dropped and counted, the connection stays and the good message
 *    after them arrives without its 4 bytes; hop count 8 is delivered; our
 *    send carries hop count 1; with SP_MAXTTL 3, hop 4 is dropped and 3
 *    delivered; a hop count of 0x100 and a 2-byte frame each close the
 *    connection, counted; a second peer is closed while one is up, and the
 *    first keeps working.
 *  - SURVEYOR: a survey goes out as a 4-byte id with the top bit set and the
 *    body; the next survey has another id; an answer without the top bit, one
 *    with the previous survey's id and a 2-byte one are dropped and counted,
 *    the right answer after them on the same connection is delivered without
 *    the id; then recv fails with ETIMEDOUT at SP_SURVEY_DEADLINE; an answer
 *    after the deadline is dropped and counted, and recv is then a state
 *    error (EPROTO: no survey is current).
 *  - RESPONDENT: a survey with no top-bit word, one with a backtrace of 9
 *    words (above SP_MAXTTL) and a 2-byte one are dropped and counted; a
 *    survey with the backtrace [pipe 7][0x80000000|id] is delivered without
 *    it and the answer carries exactly that backtrace in front; one of 8
 *    words is answered with all 8.
 *  - PULL (SP_RCVMAXSIZE 4096): a message of exactly 4096 bytes arrives
 *    intact; a frame announcing 4097 bytes, and one announcing 2^64 - 1,
 *    cost the peer its connection, nothing of them is queued (SO_MEMINFO
 *    rmem 0, recv EAGAIN) and SP_PEERS goes back to 0; a new peer's message
 *    is delivered afterwards.
 */
#include <linux/sock_diag.h>

#include "sp_raw.h"

#ifndef SP_PROTO_PAIR0
#define SP_PROTO_PAIR0		0x10
#define SP_PROTO_PAIR1		0x11
#define SP_PROTO_PUSH		0x50
#define SP_PROTO_PULL		0x51
#define SP_PROTO_SURVEYOR	0x62
#define SP_PROTO_RESPONDENT	0x63
#define SP_PROTO_BUS		0x70
#endif

#define PORT_PAIR	29800
#define PORT_SURVEYOR	29801
#define PORT_RESPONDENT	29802
#define PORT_PULL	29803
#define PORT_PUSH	29804
#define PORT_BUS	29805
#define PORT_PAIR0	29806

#define PROMPT_MS	3000	/* a refused peer is gone by then */
#define DEADLINE_MS	3000	/* SP_SURVEY_DEADLINE; TCG + KASAN is slow */
#define EARLY_MS	100	/* a timer may fire a jiffy early */
#define RCVMAX		4096

static int pair, pair0, surveyor, respondent, pull, push, bus;

/* --- helpers ---------------------------------------------------------------- */

static uint64_t drops(int fd)
{
	uint64_t d = 0;
	socklen_t len = sizeof(d);

	if (getsockopt(fd, SOL_SP, SP_DROPS, &d, &len) || len != sizeof(d))
		tap_diag("SP_DROPS: %s (optlen %u)", strerror(errno),
			 (unsigned int)len);
	return d;
}

static int peers(int fd)
{
	int n;

	if (sp_get_int(fd, SOL_SP, SP_PEERS, &n))
		tap_diag("SP_PEERS: %s", strerror(errno));
	return n;
}

/* Wait up to sp_wait_ms() for SP_PEERS to be @want; 1 if it got there. */
static int wait_peers(int fd, int want)
{
	long long deadline = tap_now_ms() + sp_wait_ms();
	int n;

	while ((n = peers(fd)) != want && tap_now_ms() < deadline)
		usleep(10000);
	if (n != want)
		tap_diag("SP_PEERS is %d, not %d", n, want);
	return n == want;
}

/*
 * SP_DROPS minus @base once it reaches @want (for up to sp_wait_ms()), or
 * what it is then; a further SP_NEVER_MS/4 shows drops counted twice.
 */
static uint64_t drops_since(int fd, uint64_t base, uint64_t want)
{
	long long deadline = tap_now_ms() + sp_wait_ms();

	while (drops(fd) - base < want && tap_now_ms() < deadline)
		usleep(10000);
	usleep(SP_NEVER_MS / 4 * 1000);
	return drops(fd) - base;
}

/* A raw peer of protocol @mine connected to @port and past the header. */
static int raw_peer(int port, int mine, int theirs)
{
	int fd = raw_connect4(port, sp_wait_ms());

	if (fd < 0)
		return -1;
	if (!raw_handshake(fd, mine, theirs)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A frame of @nwords 32-bit words and then @body. */
static int send_words(int fd, const uint32_t *words, int nwords,
		      const char *body)
{
	unsigned char msg[256];
	size_t len = 0, blen = strlen(body);
	int i;

	for (i = 0; i < nwords; i++, len += 4)
		raw_put32(msg + len, words[i]);
	memcpy(msg + len, body, blen);
	return raw_send_frame(fd, msg, len + blen);
}

static int send_hop(int fd, uint32_t hop, const char *body)
{
	return send_words(fd, &hop, 1, body);
}

/* Receive one frame and check it is exactly @nwords words and then @body. */
static int expect_words(int fd, const uint32_t *words, int nwords,
			const char *body, const char *what)
{
	unsigned char got[512], exp[256];
	size_t len = 0, blen = strlen(body);
	ssize_t n;
	int i;

	for (i = 0; i < nwords; i++, len += 4)
		raw_put32(exp + len, words[i]);
	memcpy(exp + len, body, blen);
	len += blen;
	n = raw_recv_frame(fd, got, sizeof(got), what);
	if (n < 0)
		return 0;
	if ((size_t)n != len || memcmp(got, exp, len)) {
		tap_diag("%s: got %s, expected %s", what, sp_show(got, n),
			 sp_show(exp, len));
		return 0;
	}
	return 1;
}

static int expect_str(int fd, const char *s, const char *what)
{
	return sp_expect(fd, s, strlen(s), what);
}

/* Nothing is waiting on @fd: recv(MSG_DONTWAIT) fails with EAGAIN. */
static int nothing_queued(int fd, const char *what)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n >= 0)
		tap_diag("%s: unexpected message %s", what, sp_show(buf, n));
	else if (!sp_is_again(errno))
		tap_diag("%s: recv: %s", what, strerror(errno));
	return n < 0 && sp_is_again(errno);
}

static unsigned int rmem(int fd)
{
	unsigned int mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len)) {
		tap_diag("SO_MEMINFO: %s", strerror(errno));
		return ~0u;
	}
	return mem[SK_MEMINFO_RMEM_ALLOC];
}

static int open_bound(int type, int port)
{
	int fd = sp_open(type, 0);

	sp_timeouts(fd, sp_wait_ms(), sp_wait_ms());
	if (type == SOCK_PAIR && port == PORT_PAIR0 &&
	    sp_set_int(fd, SOL_SP, SP_PAIR_VERSION, 0))
		tap_bail("SP_PAIR_VERSION 0: %s", strerror(errno));
	if (sp_bind4(fd, port))
		tap_bail("bind to %d: %s", port, strerror(errno));
	return fd;
}

/* --- the wrong partner ------------------------------------------------------- */

static void wrong_partner(int fd, int port, const char *name, int proto)
{
	unsigned char h[8];
	size_t got = 0;
	int raw = raw_connect4(port, sp_wait_ms()), closed = 0, n = -1;
	long long t0 = tap_now_ms();

	raw_header(h, proto);
	if (raw >= 0 && !raw_write(raw, h, 8))
		closed = raw_wait_closed_count(raw, PROMPT_MS, &got);
	n = peers(fd);
	tap_diag("%s: a peer announcing %#x: %s after %lld ms, %zu bytes back, SP_PEERS %d",
		 name, proto, closed ? "closed" : "NOT closed",
		 tap_now_ms() - t0, got, n);
	tap_ok(closed && got <= 8 && n == 0,
	       "%s closes a peer announcing protocol %#x within %d ms, having sent at most its header; SP_PEERS stays 0",
	       name, proto, PROMPT_MS);
	if (raw >= 0)
		close(raw);
}

/* --- PAIR v1 ----------------------------------------------------------------- */

static void pair_v1(void)
{
	uint64_t d0 = drops(pair), d;
	unsigned char h[8];
	uint32_t one = 1;
	int raw, raw2, ok, closed;

	raw = raw_peer(PORT_PAIR, SP_PROTO_PAIR1, SP_PROTO_PAIR1);
	ok = raw >= 0 && wait_peers(pair, 1);
	tap_ok(ok, "a raw PAIR v1 peer connects (SP_PEERS 1)");
	if (!ok)
		tap_bail("no PAIR v1 peer");

	ok = send_hop(raw, 0, "hop0") && send_hop(raw, 9, "hop9") &&
	     send_hop(raw, 1, "good-1");
	tap_ok(ok && expect_str(pair, "good-1", "PAIR"),
	       "PAIR drops hop counts 0 and 9 (> SP_MAXTTL 8); the hop-1 message after them arrives without its 4 bytes");
	d = drops_since(pair, d0, 2);
	tap_ok(d == 2, "SP_DROPS counts the two (+%llu)", (unsigned long long)d);

	ok = send_hop(raw, 8, "hop8") && expect_str(pair, "hop8", "PAIR");
	tap_ok(ok && peers(pair) == 1,
	       "hop count 8 (= SP_MAXTTL) is delivered, the connection is still up");

	ok = sp_send_all(pair, "to-raw", 6, "PAIR") &&
	     expect_words(raw, &one, 1, "to-raw", "raw PAIR");
	tap_ok(ok, "our PAIR's message arrives with the hop count 1 in front");

	ok = !sp_set_int(pair, SOL_SP, SP_MAXTTL, 3);
	if (!ok)
		tap_diag("SP_MAXTTL 3: %s", strerror(errno));
	d0 = drops(pair);
	ok = ok && send_hop(raw, 4, "hop4") && send_hop(raw, 3, "hop3") &&
	     expect_str(pair, "hop3", "PAIR");
	d = drops_since(pair, d0, 1);
	tap_ok(ok && d == 1,
	       "with SP_MAXTTL 3, hop 4 is dropped and counted (+%llu), hop 3 delivered",
	       (unsigned long long)d);
	sp_set_int(pair, SOL_SP, SP_MAXTTL, SP_MAXTTL_DEFAULT);

	/* A second peer while one is up. */
	raw2 = raw_connect4(PORT_PAIR, sp_wait_ms());
	raw_header(h, SP_PROTO_PAIR1);
	closed = raw2 >= 0 && !raw_write(raw2, h, 8) &&
		 raw_wait_closed(raw2, PROMPT_MS);
	ok = send_hop(raw, 1, "still-1") && expect_str(pair, "still-1", "PAIR");
	tap_ok(closed && ok && peers(pair) == 1,
	       "a second PAIR peer is closed while one is up; the first still works, SP_PEERS 1");
	if (raw2 >= 0)
		close(raw2);

	/* Hop count above 0xff: the connection goes. */
	d0 = drops(pair);
	ok = send_hop(raw, 0x100, "hop256") && raw_wait_closed(raw, PROMPT_MS);
	d = drops_since(pair, d0, 1);
	tap_ok(ok && d == 1 && wait_peers(pair, 0) && nothing_queued(pair, "PAIR"),
	       "a hop count of 0x100 closes the connection, counted (+%llu), nothing delivered",
	       (unsigned long long)d);
	close(raw);

	/* A frame too short for a hop count: the connection goes. */
	raw = raw_peer(PORT_PAIR, SP_PROTO_PAIR1, SP_PROTO_PAIR1);
	d0 = drops(pair);
	ok = raw >= 0 && wait_peers(pair, 1) && raw_send_frame(raw, "\0\1", 2) &&
	     raw_wait_closed(raw, PROMPT_MS);
	d = drops_since(pair, d0, 1);
	tap_ok(ok && d == 1 && wait_peers(pair, 0) && nothing_queued(pair, "PAIR"),
	       "a 2-byte frame closes the connection, counted (+%llu), nothing delivered",
	       (unsigned long long)d);
	if (raw >= 0)
		close(raw);

	/* And a new peer is served. */
	raw = raw_peer(PORT_PAIR, SP_PROTO_PAIR1, SP_PROTO_PAIR1);
	ok = raw >= 0 && send_hop(raw, 1, "again") &&
	     expect_str(pair, "again", "PAIR");
	tap_ok(ok, "a new PAIR peer is served afterwards");
	if (raw >= 0)
		close(raw);
}

/* --- SURVEYOR ---------------------------------------------------------------- */

/* Receive a survey on @raw: its id (top bit set) and exactly @body. */
static int get_survey(int raw, const char *body, uint32_t *id)
{
	unsigned char got[256];
	size_t blen = strlen(body);
	ssize_t n = raw_recv_frame(raw, got, sizeof(got), "raw RESPONDENT");

	if (n < 4 || (size_t)n != 4 + blen || memcmp(got + 4, body, blen) ||
	    !(got[0] & 0x80)) {
		if (n >= 0)
			tap_diag("survey %s, expected [1|id] %s", sp_show(got, n),
				 body);
		return 0;
	}
	*id = raw_get32(got);
	return 1;
}

static void surveyor_checks(void)
{
	uint32_t id1 = 0, id2 = 0, w;
	uint64_t d0, d;
	long long t0, dt;
	char buf[64];
	ssize_t n;
	int raw, ok, err;

	if (sp_set_int(surveyor, SOL_SP, SP_SURVEY_DEADLINE, DEADLINE_MS))
		tap_bail("SP_SURVEY_DEADLINE: %s", strerror(errno));
	raw = raw_peer(PORT_SURVEYOR, SP_PROTO_RESPONDENT, SP_PROTO_SURVEYOR);
	if (raw < 0 || !wait_peers(surveyor, 1))
		tap_bail("no raw RESPONDENT");

	ok = sp_send_all(surveyor, "s1", 2, "SURVEYOR") &&
	     get_survey(raw, "s1", &id1);
	tap_ok(ok, "a survey arrives as a 4-byte id with the top bit set (%#x) and the body",
	       id1);
	ok = ok && send_words(raw, &id1, 1, "a1") &&
	     expect_str(surveyor, "a1", "SURVEYOR");
	tap_ok(ok, "the answer carrying that id is delivered without it");

	t0 = tap_now_ms();
	ok = sp_send_all(surveyor, "s2", 2, "SURVEYOR") &&
	     get_survey(raw, "s2", &id2);
	tap_ok(ok && id2 != id1, "the next survey has another id (%#x)", id2);

	d0 = drops(surveyor);
	w = id2 & 0x7fffffff;
	ok = ok && send_words(raw, &w, 1, "notop") &&
	     send_words(raw, &id1, 1, "stale") &&
	     raw_send_frame(raw, "\x80\x00", 2) &&
	     send_words(raw, &id2, 1, "a2");
	tap_ok(ok && expect_str(surveyor, "a2", "SURVEYOR"),
	       "answers without the top bit, with the previous id and of 2 bytes are dropped; the right one after them arrives");
	d = drops_since(surveyor, d0, 3);
	tap_ok(d == 3, "SP_DROPS counts the three (+%llu)", (unsigned long long)d);

	n = recv(surveyor, buf, sizeof(buf), 0);
	err = errno;
	dt = tap_now_ms() - t0;
	if (n >= 0)
		tap_diag("SURVEYOR: got %s", sp_show(buf, n));
	else
		tap_diag("SURVEYOR: recv failed with %s after %lld ms",
			 sp_errname(err), dt);
	tap_ok(n < 0 && err == ETIMEDOUT && dt >= DEADLINE_MS - EARLY_MS &&
	       dt <= DEADLINE_MS + sp_wait_ms(),
	       "then recv fails with ETIMEDOUT at SP_SURVEY_DEADLINE (%lld ms, deadline %d)",
	       dt, DEADLINE_MS);

	d0 = drops(surveyor);
	ok = send_words(raw, &id2, 1, "late");
	d = drops_since(surveyor, d0, 1);
	/* Nothing is queued, and with no survey current recv is a state error. */
	n = recv(surveyor, buf, sizeof(buf), MSG_DONTWAIT);
	err = errno;
	if (n >= 0)
		tap_diag("SURVEYOR: unexpected message %s", sp_show(buf, n));
	tap_ok(ok && d == 1 && n < 0 && err == EPROTO,
	       "an answer after the deadline is dropped and counted (+%llu), recv then fails with EPROTO",
	       (unsigned long long)d);
	close(raw);
}

/* --- RESPONDENT -------------------------------------------------------------- */

static void respondent_checks(void)
{
	uint32_t words[16];
	uint64_t d0, d;
	int raw, ok, i;

	raw = raw_peer(PORT_RESPONDENT, SP_PROTO_SURVEYOR, SP_PROTO_RESPONDENT);
	if (raw < 0 || !wait_peers(respondent, 1))
		tap_bail("no raw SURVEYOR");

	d0 = drops(respondent);
	/* No word with the top bit ("nobt" has none either). */
	for (i = 0; i < 3; i++)
		words[i] = i + 1;
	ok = send_words(raw, words, 3, "nobt");
	/* 8 hops and the id: 9 words, one more than SP_MAXTTL. */
	for (i = 0; i < 8; i++)
		words[i] = i + 1;
	words[8] = 0x80000901;
	ok = ok && send_words(raw, words, 9, "nine");
	ok = ok && raw_send_frame(raw, "\x80\x01", 2);
	words[0] = 7;
	words[1] = 0x80000123;
	ok = ok && send_words(raw, words, 2, "good");
	tap_ok(ok && expect_str(respondent, "good", "RESPONDENT"),
	       "RESPONDENT drops a survey without a top-bit word, one of 9 words and one of 2 bytes; a good one after them arrives without its backtrace");
	d = drops_since(respondent, d0, 3);
	tap_ok(d == 3, "SP_DROPS counts the three (+%llu)", (unsigned long long)d);
	ok = sp_send_all(respondent, "answer", 6, "RESPONDENT") &&
	     expect_words(raw, words, 2, "answer", "raw SURVEYOR");
	tap_ok(ok, "the answer carries exactly the backtrace [7][0x80000123] in front");

	for (i = 0; i < 7; i++)
		words[i] = 100 + i;
	words[7] = 0x80000808;
	ok = send_words(raw, words, 8, "eight") &&
	     expect_str(respondent, "eight", "RESPONDENT") &&
	     sp_send_all(respondent, "r8", 2, "RESPONDENT") &&
	     expect_words(raw, words, 8, "r8", "raw SURVEYOR");
	tap_ok(ok, "a survey of 8 words (= SP_MAXTTL) is answered with all 8 in front");
	close(raw);
}

/* --- PULL ---------------------------------------------------------------------- */

static void pull_checks(void)
{
	static char msg[RCVMAX], buf[RCVMAX + 64];
	unsigned char hdr[8 + 100];
	int raw, raw2, ok, closed1, closed2;
	unsigned int mem;
	ssize_t n;

	if (sp_set_int(pull, SOL_SP, SP_RCVMAXSIZE, RCVMAX))
		tap_bail("SP_RCVMAXSIZE: %s", strerror(errno));
	raw = raw_peer(PORT_PULL, SP_PROTO_PUSH, SP_PROTO_PULL);
	if (raw < 0 || !wait_peers(pull, 1))
		tap_bail("no raw PUSH");
	sp_pattern(msg, RCVMAX, 5);
	ok = raw_send_frame(raw, msg, RCVMAX);
	n = ok ? recv(pull, buf, sizeof(buf), 0) : -1;
	tap_ok(n == RCVMAX && sp_pattern_check(buf, RCVMAX, 5) < 0,
	       "PULL delivers a message of exactly SP_RCVMAXSIZE (%d) bytes intact (%zd)",
	       RCVMAX, n);

	raw_put64(hdr, RCVMAX + 1);
	memset(hdr + 8, 'x', 100);
	closed1 = !raw_write(raw, hdr, sizeof(hdr)) &&
		  raw_wait_closed(raw, PROMPT_MS);
	raw2 = raw_peer(PORT_PULL, SP_PROTO_PUSH, SP_PROTO_PULL);
	raw_put64(hdr, ~0ULL);
	closed2 = raw2 >= 0 && !raw_write(raw2, hdr, sizeof(hdr)) &&
		  raw_wait_closed(raw2, PROMPT_MS);
	tap_ok(closed1 && closed2,
	       "a PUSH announcing %d bytes, and one announcing 2^64 - 1, lose their connections",
	       RCVMAX + 1);
	mem = rmem(pull);
	ok = wait_peers(pull, 0);
	tap_ok(ok && mem == 0 && nothing_queued(pull, "PULL"),
	       "nothing of them is queued (rmem %u, recv EAGAIN) and SP_PEERS is back to 0",
	       mem);
	close(raw);
	if (raw2 >= 0)
		close(raw2);

	raw = raw_peer(PORT_PULL, SP_PROTO_PUSH, SP_PROTO_PULL);
	ok = raw >= 0 && raw_send_frame(raw, "after", 5) &&
	     expect_str(pull, "after", "PULL");
	tap_ok(ok, "a new PUSH peer's message is delivered afterwards");
	if (raw >= 0)
		close(raw);
}

int main(void)
{
	tap_plan(32);
	tap_watchdog(240);

	pair = open_bound(SOCK_PAIR, PORT_PAIR);
	pair0 = open_bound(SOCK_PAIR, PORT_PAIR0);
	surveyor = open_bound(SOCK_SURVEYOR, PORT_SURVEYOR);
	respondent = open_bound(SOCK_RESPONDENT, PORT_RESPONDENT);
	pull = open_bound(SOCK_PULL, PORT_PULL);
	push = open_bound(SOCK_PUSH, PORT_PUSH);
	bus = open_bound(SOCK_BUS, PORT_BUS);

	wrong_partner(pair, PORT_PAIR, "PAIR v1", SP_PROTO_PAIR0);
	wrong_partner(pair0, PORT_PAIR0, "PAIR v0", SP_PROTO_PAIR1);
	wrong_partner(push, PORT_PUSH, "PUSH", SP_PROTO_PUSH);
	wrong_partner(pull, PORT_PULL, "PULL", SP_PROTO_PULL);
	wrong_partner(surveyor, PORT_SURVEYOR, "SURVEYOR", SP_PROTO_SURVEYOR);
	wrong_partner(respondent, PORT_RESPONDENT, "RESPONDENT",
		      SP_PROTO_RESPONDENT);
	wrong_partner(bus, PORT_BUS, "BUS", SP_PROTO_PAIR1);

	pair_v1();
	surveyor_checks();
	respondent_checks();
	pull_checks();

	close(pair);
	close(pair0);
	close(surveyor);
	close(respondent);
	close(pull);
	close(push);
	close(bus);
	return tap_done();
}
