/*
 * dvm-create: make a disposable VM, print its name once its agent is ready,
 * and leave it running; a background process removes it when it ends.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"


/* -h: the usage on standard output, status 0; else on error, 2. */
static void __attribute__((noreturn))
usage_exit(int status)
{
	fprintf(status ? stderr : stdout, "usage: %s [-hv] [--lifetime "
	    "seconds] [-N name] [-t template]\n       %s -G\n",
	    getprogname(), getprogname());
	exit(status);
}

static void __attribute__((noreturn))
usage(void)
{
	usage_exit(2);
}


static struct ldvm_ctx *
open_ctx(int verbose)
{
	struct ldvm_ctx *ctx;

	ctx = tool_ctx(&(struct tool_setup){
	    .connect = LDVM_CONNECT_XS | LDVM_CONNECT_XL, .journal = 1,
	    .level = verbose ? LDVM_LOG_INFO : LDVM_LOG_WARN, .status = 1 });
	return ctx;
}

static int
gc(void)
{
	struct ldvm_ctx *ctx = open_ctx(1);
	unsigned n;
	int rc = ldvm_gc(ctx, &n);

	if (rc != 0)
		warnx("%s", ldvm_errmsg(ctx));
	if (n > 0)
		fprintf(stderr, "%s: removed %u\n", getprogname(), n);
	ldvm_ctx_free(ctx);
	return rc == 0 ? 0 : 1;
}

/*
 * The child makes the disposable and stays as its owner; it reports the
 * name through fd, then detaches and waits for the domain to end.
 */
static int __attribute__((noreturn))
creator(const char *tname, const char *dname, int verbose, unsigned lifetime,
    int fd)
{
	char defname[LDVM_NAME_MAX + 1], line[LDVM_NAME_MAX + 2];
	struct ldvm_template *t;
	struct ldvm_disp *d;
	struct ldvm_ctx *ctx = open_ctx(verbose);
	const char *pname;
	long ms;
	int i, null, len;

	if (tname == NULL) {
		if (ldvm_default_template(ctx, defname, sizeof(defname)) != 0)
			errx(1, "%s", ldvm_errmsg(ctx));
		tname = defname;
	}
	if (ldvm_template_load(ctx, tname, &t) != 0)
		errx(1, "template %s: %s", tname, ldvm_errmsg(ctx));
	/* A pool member has a name already: a name of one's own is cold. */
	if ((dname != NULL ? ldvm_disp_create_named(ctx, t, dname, &d) :
	    ldvm_disp_acquire(ctx, t, &d)) != 0)
		errx(1, "%s", ldvm_errmsg(ctx));
	/* This one is kept: the pool it came from is refilled now. */
	if (ldvm_disp_from_pool(d))
		ldvm_pool_refill(ctx, t);
	if (verbose) {
		fprintf(stderr, "%s: %s: domain %u, %s%s\n",
		    getprogname(), ldvm_disp_name(d), ldvm_disp_domid(d),
		    ldvm_disp_from_pool(d) ? "from the preload pool" :
		    "cold, volumes by ", ldvm_disp_from_pool(d) ? "" :
		    ldvm_disp_voldriver(d));
		for (i = 0; ldvm_disp_phase(d, i, &pname, &ms); i++)
			fprintf(stderr, "%s: %s: %-20s %6ld ms\n",
			    getprogname(), ldvm_disp_name(d), pname, ms);
	}
	len = snprintf(line, sizeof(line), "%s\n", ldvm_disp_name(d));
	/* Nobody to hand it to (the caller died): take it down again. */
	if (stop || write(fd, line, len) != len) {
		ldvm_disp_destroy(ctx, d);
		_exit(1);
	}
	close(fd);
	setsid();
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	/* Past its lifetime the owner is interrupted: it destroys it. */
	alarm(lifetime);
	ldvm_disp_monitor(ctx, d);
	ldvm_disp_free(d);
	ldvm_template_free(t);
	ldvm_ctx_free(ctx);
	_exit(0);
}

/* What the command line asks for. */
struct opts {
	const char *tname, *dname;
	int verbose, gc;
	unsigned lifetime;              /* seconds; 0: none */
};

static void
parse(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "lifetime", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 }
	};
	long long secs;
	int ch;

	while ((ch = getopt_long(argc, argv, "GhN:t:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'L':
			if ((secs = tool_seconds("--lifetime", optarg, 1)) < 0)
				usage();
			o->lifetime = (unsigned)secs;
			break;
		case 'G':
			o->gc = 1;
			break;
		case 'h':
			usage_exit(0);
		case 'N':
			if (!ldvm_disp_name_ok(optarg)) {
				warnx("-N %s: not a disposable name (letters, "
				    "digits and '_', at most %d, starting with a "
				    "letter or digit)", optarg, LDVM_NAME_MAX);
				usage();
			}
			o->dname = optarg;
			break;
		case 't':
			o->tname = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (!tool_no_args(argc, argv))
		usage();
	if (o->gc && (o->tname != NULL || o->dname != NULL || o->verbose ||
	    o->lifetime)) {
		warnx("-G takes no other option");
		usage();
	}
}

/*
 * The name the creator pid writes to fd, printed on standard output;
 * returns the exit status (1 when it gave none: it said why).
 */
static int
print_name(int fd, pid_t pid)
{
	char name[LDVM_NAME_MAX + 2];
	ssize_t n, got = 0;
	int st;

	while ((size_t)got < sizeof(name) - 1) {
		n = read(fd, name + got, sizeof(name) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (name[got - 1] == '\n')
			break;
	}
	if (got == 0 || name[got - 1] != '\n') {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return 1;
	}
	name[got] = '\0';
	fputs(name, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct opts o = { 0 };
	int p[2];
	pid_t pid;

	parse(argc, argv, &o);
	if (o.gc)
		return gc();
	tool_signals((const int[]){ SIGHUP, SIGALRM, 0 }, 0, 0);
	/*
	 * Fork before libxl exists (no libxl to tell of it): the child owns
	 * the disposable for life.
	 */
	if (pipe2(p, O_CLOEXEC) < 0)
		err(1, "pipe");
	if ((pid = fork()) < 0)
		err(1, "fork");
	if (pid == 0) {
		close(p[0]);
		creator(o.tname, o.dname, o.verbose, o.lifetime, p[1]);
	}
	close(p[1]);
	return print_name(p[0], pid);
}
