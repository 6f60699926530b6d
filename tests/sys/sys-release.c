/*
 * sys-release TEMPLATE [kill-helper]: a pooled disposable's release,
 * handed to the refill helper standing by for it (lib/standby.c), seen
 * from a caller that stays alive after it: its record can then go only by
 * that hand-off (or, with kill-helper, the helper killed while the command
 * runs, by the release's own writes and a new helper), never by a
 * collection of a dead owner's.  TEMPLATE has a pool with a member in it.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "ldvm_internal.h"
#include "systest.h"

/* /proc/PID/WHAT into buf (NUL-terminated, cut); its length, or -1. */
static long
proc_read(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	len = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[len] = '\0';
	return (long)len;
}

/* This process's children, at most max of them into pids; how many. */
static int
children(pid_t *pids, int max)
{
	char buf[512], *p;
	struct dirent *e;
	DIR *dir = opendir("/proc");
	int n = 0;

	while (dir != NULL && n < max && (e = readdir(dir)) != NULL) {
		pid_t pid = atoi(e->d_name), ppid = 0;

		if (pid <= 0 || proc_read(pid, "stat", buf, sizeof(buf)) < 0)
			continue;
		if ((p = strrchr(buf, ')')) != NULL)
			sscanf(p + 1, " %*c %d", &ppid);
		if (ppid == getpid())
			pids[n++] = pid;
	}
	if (dir != NULL)
		closedir(dir);
	return n;
}

/*
 * The helpers this process started (its only children), killed and
 * reaped (so their end of the socket is closed); how many.
 */
static int
kill_helpers(void)
{
	pid_t pids[16];
	int i, n = children(pids, 16), killed = 0;

	for (i = 0; i < n; i++)
		if (kill(pids[i], SIGKILL) == 0 &&
		    waitpid(pids[i], NULL, 0) == pids[i])
			killed++;
	return killed;
}

/* Whether pid maps a shared library (its maps name a .so file). */
static bool
maps_shared(pid_t pid)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return true;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, ".so") != NULL;
	fclose(f);
	return found;
}

/*
 * How many of this process's children run litedvm's dvm-standby, the
 * static program in libexec/litedvm, and map no shared library: a
 * standby parked, as it must be while the command runs (a dvm-preload
 * started then would load its libraries beside it).
 */
static int
parked_helpers(void)
{
	static const char prog[] = "/libexec/litedvm/dvm-standby";
	char exe[256], link[64], comm[32];
	pid_t pids[16];
	ssize_t len;
	int i, n = children(pids, 16), count = 0;

	for (i = 0; i < n; i++) {
		snprintf(link, sizeof(link), "/proc/%d/exe", (int)pids[i]);
		if ((len = readlink(link, exe, sizeof(exe) - 1)) < 0 ||
		    proc_read(pids[i], "comm", comm, sizeof(comm)) < 0)
			continue;
		exe[len] = '\0';
		count += (size_t)len > strlen(prog) &&
		    strcmp(exe + len - strlen(prog), prog) == 0 &&
		    strcmp(comm, "dvm-standby\n") == 0 && !maps_shared(pids[i]);
	}
	return count;
}

int
main(int argc, char **argv)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char *cmd[] = { "true", NULL }, path[LDVM_XS_PATH_MAX], *v;
	bool killer = argc > 2 && strcmp(argv[2], "kill-helper") == 0;
	const char *phase;
	bool handed = false, written = false;
	struct ldvm_template *t;
	struct ldvm_disp *d;
	struct ldvm_run run;
	int64_t deadline;
	int rc, status = -1, i, killed = 0, parked;
	long ms;

	REQUIRE(argc > 1 && ctx != NULL, "usage: sys-release TEMPLATE "
	    "[kill-helper]");
	rc = ldvm_connect(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL);
	REQUIRE(rc == 0, "connect (%s)", ldvm_errmsg(ctx));
	rc = ldvm_template_load(ctx, argv[1], &t);
	REQUIRE(rc == 0, "template %s (%s)", argv[1], ldvm_errmsg(ctx));
	rc = ldvm_disp_acquire(ctx, t, &d);
	REQUIRE(rc == 0 && ldvm_disp_from_pool(d), "a member of %s's pool "
	    "claimed (%s)", argv[1], rc == 0 ? ldvm_disp_name(d) :
	    ldvm_errmsg(ctx));
	ldvm_run_init(&run);
	run.argv = cmd;
	run.in = run.out = run.err = -1;
	rc = ldvm_disp_exec(ctx, d, &run, &status);
	CHECK(rc == 0 && status == 0, "true ran in %s (%d, status %d)",
	    ldvm_disp_name(d), rc, status);
	parked = parked_helpers();
	CHECK(parked == 1, "while the command ran, its standby helper waited "
	    "as the static dvm-standby, not yet dvm-preload (%d)", parked);
	if (killer) {
		killed = kill_helpers();
		CHECK(killed == 1, "its standby helper killed (%d)", killed);
	}
	rc = ldvm_disp_destroy(ctx, d);
	CHECK(rc == 0, "released (%s)", rc == 0 ? "" : ldvm_errmsg(ctx));
	for (i = 0; ldvm_disp_phase(d, i, &phase, &ms); i++) {
		handed |= strcmp(phase, "teardown handed off") == 0;
		written |= strcmp(phase, "released") == 0;
	}
	if (killer)
		CHECK(handed && written, "with its helper gone, the release "
		    "writes the record itself and starts another");
	else
		CHECK(handed && !written, "the release is handed to the helper, "
		    "no record written by the caller");
	/* Alive still: gone only by the hand-off. */
	snprintf(path, sizeof(path), LDVM_XS_ROOT "/disp/%s",
	    ldvm_disp_name(d));
	rc = ldvm__xs_watch(ctx, path, "r");
	deadline = ldvm__now_ms() + 120000;
	while (rc == 0 && ldvm__xs_read(ctx, XBT_NULL, path, &v) == 0) {
		free(v);
		if (ldvm__now_ms() >= deadline ||
		    ldvm__xs_wait_watch(ctx, (int)(deadline - ldvm__now_ms()),
		    NULL, 0, NULL, 0) == LDVM_ETIMEDOUT) {
			rc = LDVM_ETIMEDOUT;
			break;
		}
	}
	CHECK(rc == 0, "%s torn down while its caller (pid %d) lives on",
	    ldvm_disp_name(d), (int)getpid());
	ldvm_disp_free(d);
	ldvm_template_free(t);
	ldvm_ctx_free(ctx);
	DONE();
}
