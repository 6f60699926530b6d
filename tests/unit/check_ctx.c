/* Waits and children of the library context (lib/ctx.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ldvm_internal.h"
#include "unit.h"

static volatile sig_atomic_t got;

static void
onusr1(int sig)
{
	got = sig;
}

/*
 * A signal that comes after the look at the flag but before the wait (it
 * is pending, blocked, when the wait starts) must end that wait at once,
 * not when the wait's timeout runs out.
 */
START_TEST(signal_before_wait)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	struct sigaction sa;
	sigset_t block, waitmask;
	int64_t t0;
	int r, e;

	ck_assert_ptr_nonnull(ctx);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onusr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	ldvm_set_interrupt(ctx, &got);
	ldvm_set_waitmask(ctx, &waitmask);
	got = 0;
	ck_assert_int_eq(ldvm__interrupted(ctx), 0);
	raise(SIGUSR1);                 /* lands in the window */
	ck_assert_int_eq(got, 0);
	t0 = ldvm__now_ms();
	r = ldvm__poll(ctx, NULL, 0, 20000);
	e = errno;
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(e, EINTR);
	ck_assert_int_lt(ldvm__now_ms() - t0, 10000);
	ck_assert_int_eq(got, SIGUSR1);
	ck_assert_int_eq(ldvm__interrupted(ctx), LDVM_EINTR);
	/* Outside the wait, the signal is still held off. */
	got = 0;
	raise(SIGUSR1);
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(ldvm__poll(ctx, NULL, 0, 0), -1);
	ck_assert_int_eq(got, SIGUSR1);
	sigprocmask(SIG_SETMASK, &waitmask, NULL);
	signal(SIGUSR1, SIG_DFL);
	ldvm_ctx_free(ctx);
}
END_TEST

/* A timeout still ends a wait that no signal cuts short. */
START_TEST(wait_times_out)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	sigset_t none;

	ck_assert_ptr_nonnull(ctx);
	sigemptyset(&none);
	ldvm_set_waitmask(ctx, &none);
	ck_assert_int_eq(ldvm__poll(ctx, NULL, 0, 10), 0);
	ldvm_set_waitmask(ctx, NULL);
	ck_assert_int_eq(ldvm__poll(ctx, NULL, 0, 10), 0);
	ldvm_ctx_free(ctx);
}
END_TEST

/*
 * What a program the library starts inherits: no blocked signal and no
 * descriptor above 2, however high (past 1024 too).
 */
START_TEST(child_exec_prep)
{
	struct rlimit rl;
	sigset_t block, now;
	pid_t pid;
	int st, hi = 1500;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= (rlim_t)hi) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur <= (rlim_t)hi)
		hi = 1000;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sigemptyset(&block);
		sigaddset(&block, SIGTERM);
		sigprocmask(SIG_BLOCK, &block, NULL);
		if (dup2(0, hi) != hi || dup2(0, 7) != 7)
			_exit(2);
		ldvm__child_exec_prep();
		sigprocmask(SIG_SETMASK, NULL, &now);
		if (sigismember(&now, SIGTERM))
			_exit(3);
		if (fcntl(hi, F_GETFD) != -1 || fcntl(7, F_GETFD) != -1)
			_exit(4);
		if (fcntl(2, F_GETFD) == -1)
			_exit(5);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/*
 * A program the library runs gets the variables it is given, over the
 * caller's, and the caller's environment stays as it was.
 */
START_TEST(run_child_env)
{
	char *argv[] = { "sh", "-c", "printf '%s,%s' \"$LDVM_T1\" \"$LDVM_T2\"",
	    NULL };
	const char *const add[] = { "LDVM_T1=child", NULL };
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char out[64];

	ck_assert_ptr_nonnull(ctx);
	setenv("LDVM_T1", "caller", 1);
	setenv("LDVM_T2", "kept", 1);
	ck_assert_int_eq(ldvm__run_out(ctx, argv, add, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "child,kept");
	ck_assert_str_eq(getenv("LDVM_T1"), "caller");
	ck_assert_int_eq(ldvm__run_out(ctx, argv, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "caller,kept");
	unsetenv("LDVM_T1");
	unsetenv("LDVM_T2");
	ldvm_ctx_free(ctx);
}
END_TEST

/* A failure is told apart by the errno behind it, not by its words. */
START_TEST(errno_kept)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(ctx->syserr, 0);
	errno = EFBIG;
	ck_assert_int_eq(ldvm__errno(ctx, LDVM_ESYS, "output"), LDVM_ESYS);
	ck_assert_int_eq(ctx->syserr, EFBIG);
	ck_assert_str_eq(ldvm_errmsg(ctx), "output: File too large");
	errno = EFBIG;
	ck_assert_int_eq(ldvm__err(ctx, LDVM_EPROTO, "File too large"),
	    LDVM_EPROTO);
	ck_assert_int_eq(ctx->syserr, 0);
	errno = ENOMEM;
	ck_assert_int_eq(ldvm__errno(ctx, LDVM_ESYS, "malloc"), LDVM_ENOMEM);
	ck_assert_int_eq(ctx->syserr, ENOMEM);
	ck_assert_int_eq(ldvm__xlerr(ctx, ERROR_FAIL, "libxl"), LDVM_EXEN);
	ck_assert_int_eq(ctx->syserr, 0);
	ldvm_ctx_free(ctx);
}
END_TEST

/* Work that goes on past failures reports the first: code and words. */
START_TEST(first_error_wins)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	struct ldvm__first f = { 0 }, none = { 0 };

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(ldvm__first_note(ctx, &f, 0), 0);
	errno = EFBIG;
	ck_assert_int_eq(ldvm__first_note(ctx, &f, ldvm__errno(ctx, LDVM_ESYS,
	    "first")), LDVM_ESYS);
	ck_assert_int_eq(ldvm__first_note(ctx, &f, ldvm__err(ctx, LDVM_EPROTO,
	    "second")), LDVM_EPROTO);
	ck_assert_int_eq(ldvm__first_note(ctx, &f, 0), 0);
	ck_assert_str_eq(ldvm_errmsg(ctx), "second");
	ck_assert_int_eq(ldvm__first_end(ctx, &f), LDVM_ESYS);
	ck_assert_str_eq(ldvm_errmsg(ctx), "first: File too large");
	ck_assert_int_eq(ctx->syserr, EFBIG);
	/* Nothing failed: the message is left alone. */
	ldvm__err(ctx, LDVM_EINVAL, "untouched");
	ck_assert_int_eq(ldvm__first_note(ctx, &none, 0), 0);
	ck_assert_int_eq(ldvm__first_end(ctx, &none), 0);
	ck_assert_str_eq(ldvm_errmsg(ctx), "untouched");
	ldvm_ctx_free(ctx);
}
END_TEST

static char jline[1024];

static void
keep_line(void *arg, const char *line)
{
	(void)arg;
	snprintf(jline, sizeof(jline), "%s", line);
}

/*
 * A claimed disposable's journal line comes from what its claim read, in
 * the same fields as a record's, values reduced to printable words; no
 * xenstore is asked (this context has none).
 */
START_TEST(journal_of_claimed)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	struct ldvm_disp *d = ldvm__disp_new("disp7", "web");
	long long life;
	char rest[64];

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(d);
	ldvm_set_journal(ctx, keep_line, NULL);
	d->domid = 12;
	snprintf(d->owner, sizeof(d->owner), "%s", "301:4567");
	snprintf(d->voldrv, sizeof(d->voldrv), "%s", "re fl\"ink");
	snprintf(d->created, sizeof(d->created), "%lld",
	    (long long)time(NULL) - 5);
	ldvm__journal_disp(ctx, "released", d);
	ck_assert_int_eq(sscanf(jline, "released name=disp7 template=web "
	    "domid=12 owner=301:4567 driver=re_fl_ink lifetime_s=%lld%63s",
	    &life, rest), 1);
	ck_assert(life >= 5 && life < 60);
	/* Unknown domain id and owner read as "-". */
	d->domid = (uint32_t)INVALID_DOMID;
	d->owner[0] = '\0';
	ldvm__journal_disp(ctx, "released", d);
	ck_assert_ptr_nonnull(strstr(jline, " domid=- owner=- "));
	ldvm_ctx_free(ctx);
	ldvm_disp_free(d);
}
END_TEST

Suite *
ctx_suite(void)
{
	Suite *s = suite_create("ctx");
	TCase *c = tcase_create("core");

	tcase_add_test(c, signal_before_wait);
	tcase_add_test(c, wait_times_out);
	tcase_add_test(c, child_exec_prep);
	tcase_add_test(c, run_child_env);
	tcase_add_test(c, errno_kept);
	tcase_add_test(c, first_error_wins);
	tcase_add_test(c, journal_of_claimed);
	tcase_set_timeout(c, 30);
	suite_add_tcase(s, c);
	return s;
}
