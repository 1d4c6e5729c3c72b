/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny TAP producer for the PF_SP userspace tests, with a watchdog.
 *
 * Every test program prints "1..N", then one "ok"/"not ok" line per check and
 * '#' diagnostics, and exits 0 iff all N checks ran and passed.  The watchdog
 * (alarm()) makes sure that no test can hang the suite: when it fires it
 * prints "not ok" for the check in progress plus "Bail out!", SIGKILLs every
 * child process the test registered and exits 1.  Child processes (see
 * tap_fork()) never print ok/not ok lines, only diagnostics; they report to
 * the parent through their exit status.
 */
#ifndef SP_TAP_H
#define SP_TAP_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TAP_MAX_CHILDREN	64

static volatile sig_atomic_t tap_planned;
static volatile sig_atomic_t tap_n;		/* checks reported so far */
static volatile sig_atomic_t tap_failed;
static volatile sig_atomic_t tap_is_child;
static volatile sig_atomic_t tap_watchdog_secs;
static pid_t tap_children[TAP_MAX_CHILDREN];

/* Async-signal-safe output helpers (used by the watchdog). */
static inline void tap_write_str(const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(STDOUT_FILENO, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= n;
	}
}

static inline void tap_write_uint(unsigned long v)
{
	char buf[24];
	int i = sizeof(buf);

	buf[--i] = '\0';
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v && i);
	tap_write_str(&buf[i]);
}

static inline void tap_kill_children(void)
{
	int i;

	for (i = 0; i < TAP_MAX_CHILDREN; i++) {
		if (tap_children[i] > 0) {
			kill(tap_children[i], SIGKILL);
			waitpid(tap_children[i], NULL, 0);
			tap_children[i] = 0;
		}
	}
}

static inline void tap_watchdog_handler(int sig)
{
	(void)sig;
	if (tap_is_child) {
		tap_write_str("# child ");
		tap_write_uint(getpid());
		tap_write_str(": watchdog fired after ");
		tap_write_uint(tap_watchdog_secs);
		tap_write_str(" s, exiting\n");
		_exit(100);
	}
	tap_write_str("not ok ");
	tap_write_uint(tap_n + 1);
	tap_write_str(" - watchdog: test hung for ");
	tap_write_uint(tap_watchdog_secs);
	tap_write_str(" s\nBail out! watchdog fired\n");
	tap_kill_children();
	_exit(1);
}

/*
 * Arm (or re-arm) the watchdog.  The environment variable SP_TEST_WATCHDOG,
 * if set, overrides the number of seconds for every test.
 */
static inline void tap_watchdog(unsigned int seconds)
{
	struct sigaction sa;
	const char *env = getenv("SP_TEST_WATCHDOG");

	if (env && atoi(env) > 0)
		seconds = atoi(env);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tap_watchdog_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	tap_watchdog_secs = seconds;
	alarm(seconds);
}

static inline void tap_plan(int n)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Nothing to test here: an empty plan with a reason, exit 0. */
__attribute__((noreturn))
static inline void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(0);
}

static inline void tap_vdiag(const char *fmt, va_list ap)
{
	char buf[1024];
	char *line, *save = NULL;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (tap_is_child)
			printf("# [child %d] %s\n", (int)getpid(), line);
		else
			printf("# %s\n", line);
	}
	fflush(stdout);
}

/* A '#' diagnostic line; allowed anywhere, also in child processes. */
__attribute__((format(printf, 1, 2)))
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vdiag(fmt, ap);
	va_end(ap);
}

/* Report one check; returns @cond so callers can react to a failure. */
__attribute__((format(printf, 2, 3)))
static inline int tap_ok(int cond, const char *fmt, ...)
{
	char desc[512];
	va_list ap;

	if (tap_is_child) {
		fprintf(stderr, "tap_ok() called in a child process\n");
		_exit(99);
	}
	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	tap_n = tap_n + 1;
	if (!cond)
		tap_failed = tap_failed + 1;
	printf("%sok %d - %s\n", cond ? "" : "not ", (int)tap_n, desc);
	fflush(stdout);
	return cond;
}

/* Report one check as skipped (counts as passed in TAP). */
__attribute__((format(printf, 1, 2)))
static inline void tap_skip(const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	tap_n = tap_n + 1;
	printf("ok %d # SKIP %s\n", (int)tap_n, why);
	fflush(stdout);
}

/* Give up: nothing after this point can be meaningfully checked. */
__attribute__((format(printf, 1, 2), noreturn))
static inline void tap_bail(const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	alarm(0);
	if (tap_is_child) {
		tap_diag("giving up: %s", why);
		_exit(98);
	}
	printf("Bail out! %s\n", why);
	fflush(stdout);
	tap_kill_children();
	exit(1);
}

/* Finish: reap children, check the plan, return the exit status for main. */
static inline int tap_done(void)
{
	alarm(0);
	tap_kill_children();
	if (tap_n != tap_planned) {
		printf("# planned %d checks but ran %d\n", (int)tap_planned,
		       (int)tap_n);
		return 1;
	}
	if (tap_failed)
		printf("# %d of %d checks failed\n", (int)tap_failed,
		       (int)tap_planned);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

/*
 * fork() a child that the watchdog (and tap_done()) will SIGKILL.  The child
 * gets its own watchdog of @child_secs seconds so that it cannot outlive the
 * test; it must end with _exit().  Returns like fork(); bails out on failure.
 */
static inline pid_t tap_fork(unsigned int child_secs)
{
	pid_t pid;
	int i;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		tap_is_child = 1;
		for (i = 0; i < TAP_MAX_CHILDREN; i++)
			tap_children[i] = 0;
		tap_watchdog_secs = child_secs;
		alarm(child_secs);
		return 0;
	}
	for (i = 0; i < TAP_MAX_CHILDREN; i++) {
		if (!tap_children[i]) {
			tap_children[i] = pid;
			break;
		}
	}
	return pid;
}

static inline void tap_forget_child(pid_t pid)
{
	int i;

	for (i = 0; i < TAP_MAX_CHILDREN; i++)
		if (tap_children[i] == pid)
			tap_children[i] = 0;
}

/* Milliseconds on the monotonic clock. */
static inline long long tap_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Wait up to @timeout_ms for child @pid to exit.  Returns its exit code
 * (0..255), 128 + signal number if it was killed, or -1 if it did not exit in
 * time (it is then SIGKILLed).
 */
static inline int tap_wait_child(pid_t pid, int timeout_ms)
{
	long long deadline = tap_now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			tap_forget_child(pid);
			return -1;
		}
		if (tap_now_ms() >= deadline) {
			tap_diag("child %d still running after %d ms, killing it",
				 (int)pid, timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			tap_forget_child(pid);
			return -1;
		}
		usleep(10000);
	}
	tap_forget_child(pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* SIGKILL a child and reap it. */
static inline void tap_kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	tap_forget_child(pid);
}

#endif /* SP_TAP_H */
