/*
 * Owner identity of records (lib/state.c): pid plus start time; the
 * release line a pooled session sends its standby helper (lib/standby.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldvm_internal.h"
#include "unit.h"

/* Field 22 of /proc/PID/stat, read independently of the library. */
static unsigned long long
starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')') + 2;      /* field 3 */
	for (i = 3; i < 22; i++)
		p = strchr(p, ' ') + 1;
	sscanf(p, "%llu", &v);
	return v;
}

START_TEST(start_time_is_field_22)
{
	unsigned long long st;

	ck_assert_int_eq(ldvm__proc_start(getpid(), &st), 0);
	ck_assert_uint_eq(st, starttime(getpid()));
	ck_assert_int_eq(ldvm__proc_start(1, &st), 0);
	ck_assert_uint_eq(st, starttime(1));
}
END_TEST

START_TEST(owner_alive)
{
	char self[64], other[64];
	unsigned long long st;
	void *big;
	siginfo_t si;
	pid_t pid;
	int gate[2], status;

	ck_assert_int_eq(ldvm__owner_self(self, sizeof(self)), 0);
	ck_assert(ldvm__owner_alive(self));
	/* Growing memory must not change who we are. */
	ck_assert_ptr_nonnull(big = malloc(64 << 20));
	memset(big, 1, 64 << 20);
	ck_assert(ldvm__owner_alive(self));
	free(big);

	/* A different start time is another process with a reused pid. */
	ck_assert_int_eq(ldvm__proc_start(getpid(), &st), 0);
	snprintf(other, sizeof(other), "%d:%llu", (int)getpid(), st + 1);
	ck_assert(!ldvm__owner_alive(other));

	/*
	 * A process that exited is dead: once it has ended but is not yet
	 * reaped (a zombie, its /proc entry still there), and once reaped.
	 */
	ck_assert_int_eq(pipe(gate), 0);
	if ((pid = fork()) == 0) {
		char c;

		close(gate[1]);
		_exit(read(gate[0], &c, 1) == 0 ? 0 : 1);
	}
	close(gate[0]);
	ck_assert_int_eq(ldvm__proc_start(pid, &st), 0);
	snprintf(other, sizeof(other), "%d:%llu", (int)pid, st);
	ck_assert(ldvm__owner_alive(other));
	close(gate[1]);
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	ck_assert(!ldvm__owner_alive(other));
	waitpid(pid, &status, 0);
	ck_assert(!ldvm__owner_alive(other));

	ck_assert(!ldvm__owner_alive(""));
	ck_assert(!ldvm__owner_alive("pool"));
	ck_assert(!ldvm__owner_alive("12"));
	ck_assert(!ldvm__owner_alive("0:5"));
	ck_assert(!ldvm__owner_alive("1:2:3"));
}
END_TEST

/* What the helper keeps of bytes written to its socket before the end. */
static const char *
standby_of(const char *bytes, size_t len, char *out, size_t size)
{
	struct ldvm_standby *sb;
	const char *name;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], bytes, len), (ssize_t)len);
	close(sv[1]);
	ck_assert_ptr_nonnull(sb = ldvm_standby_wait(sv[0]));
	close(sv[0]);
	name = ldvm_standby_name(sb);
	snprintf(out, size, "%s", name != NULL ? name : "(none)");
	ldvm_standby_free(sb);
	return out;
}

START_TEST(standby_line)
{
	static const char *const bad[] = { "disp1 1:2", "disp1\n",
	    "disp1 pool\n", "disp1 1:\n", "../x 1:2\n", "disp1 1:2\nx",
	    " 1:2\n", "disp1 1:2 \n" };
	char got[128], big[600];
	struct ldvm_standby *sb;
	size_t i;
	int sv[2];

	/* What ldvm_disp_destroy sends, read back whole. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(ldvm__standby_send(sv[1], "disp12", "4321:987"), 0);
	close(sv[1]);
	ck_assert_ptr_nonnull(sb = ldvm_standby_wait(sv[0]));
	ck_assert_str_eq(ldvm_standby_name(sb), "disp12");
	ldvm_standby_free(sb);
	close(sv[0]);
	/* Nothing sent (the caller died): nothing released. */
	ck_assert_str_eq(standby_of("", 0, got, sizeof(got)), "(none)");
	/* Anything else is not taken for a release. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_str_eq(standby_of(bad[i], strlen(bad[i]), got,
		    sizeof(got)), "(none)");
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	ck_assert_str_eq(standby_of(big, sizeof(big), got, sizeof(got)),
	    "(none)");
	/* A helper gone: the send fails, without SIGPIPE. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[0]);
	ck_assert_int_eq(ldvm__standby_send(sv[1], "disp1", "1:2"), -1);
	close(sv[1]);
}
END_TEST

Suite *
state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *core = tcase_create("core");

	tcase_add_test(core, start_time_is_field_22);
	tcase_add_test(core, owner_alive);
	tcase_add_test(core, standby_line);
	suite_add_tcase(s, core);
	return s;
}
