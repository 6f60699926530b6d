/*
 * dvm-preload: keep pools of paused, booted disposables ready; list them;
 * collect the garbage of dead owners.  Safe from cron or a timer at any
 * rate, concurrently with itself and with dvm-run.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* Long enough for a member being built to finish booting and go. */
#define DRAIN_TIMEOUT_S 600

static int quiet, verbose;

/* -h: the usage on standard output, status 0; else on error, 2. */
static void __attribute__((noreturn))
usage_exit(int status)
{
	fprintf(status ? stderr : stdout, "usage: %s [-hqv] [-t template] "
	    "[-n count] [--wait-fd fd]\n"
	    "       %s -l\n"
	    "       %s -G\n"
	    "       %s --drain\n", getprogname(), getprogname(), getprogname(),
	    getprogname());
	exit(status);
}

static void __attribute__((noreturn))
usage(void)
{
	usage_exit(2);
}

static void
logline(void *arg, int level, const char *msg)
{
	(void)arg;
	if (quiet && level < LDVM_LOG_ERROR)
		return;
	fprintf(stderr, "%s: %s\n", getprogname(), msg);
}

static void
show(void *arg, const struct ldvm_info *i)
{
	char dom[16], mem[24];

	(void)arg;
	if (i->domid == (uint32_t)~0u)
		snprintf(dom, sizeof(dom), "-");
	else
		snprintf(dom, sizeof(dom), "%u", i->domid);
	snprintf(mem, sizeof(mem), "%llu",
	    (unsigned long long)(i->memkb / 1024));
	printf("%-12s %-12s %-9s %6s %7s %6ld %s%s\n", i->name, i->tmpl,
	    i->state, dom, mem, i->age_s, i->pooled ? "pool (hidden)" :
	    i->owner[0] == '\0' ? "-" : i->owner,
	    i->pooled || i->owner_alive || i->owner[0] == '\0' ? "" :
	    " (dead)");
}

static int
fill(struct ldvm_ctx *ctx, const char *tname, int count, int all)
{
	struct ldvm_template *t;
	unsigned pruned;
	int made, have, rc;

	if (ldvm_template_load(ctx, tname, &t) != 0) {
		warnx("template %s: %s", tname, ldvm_errmsg(ctx));
		return 1;
	}
	/* Sweeping every template: those that ask for a pool, and those
	 * that have one but ask for none now (it is emptied). */
	if (all && (!ldvm_template_is_dispvm(t) ||
	    ldvm_template_preload(t) == 0)) {
		if (ldvm_pool_size(ctx, tname, &have) == 0 && have > 0)
			count = 0;
		else {
			ldvm_template_free(t);
			return 0;
		}
	}
	if (count == 0 || !ldvm_template_is_dispvm(t)) {
		rc = ldvm_pool_prune(ctx, t, &pruned);
		if (rc == 0)
			rc = ldvm_pool_trim(ctx, t, 0, &pruned);
		ldvm_template_free(t);
		if (rc != 0)
			warnx("%s", ldvm_errmsg(ctx));
		return rc != 0;
	}
	rc = ldvm_pool_fill(ctx, t, count, &made);
	if (rc != 0)
		warnx("%s", ldvm_errmsg(ctx));
	if (verbose && ldvm_pool_size(ctx, tname, &have) == 0)
		fprintf(stderr, "%s: %s: made %d, pool has %d\n",
		    getprogname(), tname, made, have);
	ldvm_template_free(t);
	return rc != 0;
}

struct fill_all {
	struct ldvm_ctx *ctx;
	int failed;
};

static int
fill_one(void *arg, const char *name)
{
	struct fill_all *fa = arg;

	if (stop)
		return 1;
	fa->failed |= fill(fa->ctx, name, -1, 1);
	return 0;
}

static int
fill_all(struct ldvm_ctx *ctx)
{
	struct fill_all fa = { .ctx = ctx };

	if (ldvm_template_list(ctx, fill_one, &fa) < 0)
		errx(1, "%s", ldvm_errmsg(ctx));
	return fa.failed;
}

/* What the command line asks for. */
struct opts {
	const char *tname;
	int list, gc, drain;
	int count;                      /* -1: the template's litedvm_preload */
	int waitfd;                     /* --wait-fd; -1: none */
};

static void
parse(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "drain", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "gc", no_argument, NULL, 'G' },
		{ "list", no_argument, NULL, 'l' },
		{ "wait-fd", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 }
	};
	const char *errstr;
	int ch;

	while ((ch = getopt_long(argc, argv, "Ghln:qt:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage_exit(0);
		case 'D':
			o->drain = 1;
			break;
		case 'G':
			o->gc = 1;
			break;
		case 'l':
			o->list = 1;
			break;
		case 'n':
			o->count = (int)strtonum(optarg, 0, 64, &errstr);
			if (errstr != NULL) {
				warnx("count %s: %s", optarg, errstr);
				usage();
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case 't':
			o->tname = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'W':
			o->waitfd = (int)strtonum(optarg, 0, 1023, &errstr);
			if (errstr != NULL) {
				warnx("--wait-fd %s: %s", optarg, errstr);
				usage();
			}
			break;
		default:
			usage();
		}
	}
	if (!tool_no_args(argc, argv))
		usage();
	if (o->list + o->gc + o->drain > 1 || ((o->list || o->gc ||
	    o->drain) && (o->tname != NULL || o->count >= 0 ||
	    o->waitfd >= 0))) {
		warnx("-l, -G and --drain take no other option");
		usage();
	}
	if (o->count >= 0 && o->tname == NULL) {
		warnx("-n needs -t");
		usage();
	}
}

/*
 * --wait-fd: nothing done until fd reads its end (its writers all closed
 * it), before any signal is caught: a signal that ends a process ends this
 * wait too.  What was sent (the disposable released) is kept.
 */
static struct ldvm_standby *
wait_eof(int fd)
{
	struct ldvm_standby *sb;

	if ((sb = ldvm_standby_wait(fd)) == NULL)
		err(1, "--wait-fd %d", fd);
	close(fd);
	return sb;
}

/* -l: the disposables, one line each; returns the exit status. */
static int
list_all(struct ldvm_ctx *ctx)
{
	int rc;

	printf("%-12s %-12s %-9s %6s %7s %6s %s\n", "NAME", "TEMPLATE",
	    "STATE", "DOMID", "MEM_MB", "AGE_S", "OWNER");
	if ((rc = ldvm_list(ctx, show, NULL)) != 0)
		warnx("%s", ldvm_errmsg(ctx));
	return rc != 0;
}

/* --drain: every pool emptied; returns the exit status. */
static int
drain_all(struct ldvm_ctx *ctx)
{
	unsigned removed;
	int rc;

	if ((rc = ldvm_pool_drain(ctx, DRAIN_TIMEOUT_S, &removed)) != 0)
		warnx("%s", ldvm_errmsg(ctx));
	else if (verbose)
		fprintf(stderr, "%s: drained %u\n", getprogname(), removed);
	return rc != 0;
}

int
main(int argc, char *argv[])
{
	struct opts o = { .count = -1, .waitfd = -1 };
	struct ldvm_standby *sb = NULL;
	struct ldvm_ctx *ctx;
	unsigned removed;
	int rc;

	parse(argc, argv, &o);
	if (o.waitfd >= 0)
		sb = wait_eof(o.waitfd);
	tool_signals((const int[]){ SIGHUP, 0 }, 0, 0);
	ctx = tool_ctx(&(struct tool_setup){
	    .connect = LDVM_CONNECT_XS | LDVM_CONNECT_XL, .journal = 1,
	    .level = verbose ? LDVM_LOG_INFO : LDVM_LOG_WARN, .status = 1,
	    .log = logline });
	if (o.list) {
		rc = list_all(ctx);
		ldvm_ctx_free(ctx);
		return rc;
	}
	/* The disposable released, if one was: handed to the collection. */
	if (sb != NULL && ldvm_standby_release(ctx, sb) != 0 && !quiet)
		warnx("%s", ldvm_errmsg(ctx));
	ldvm_standby_free(sb);
	/* Every run collects garbage first: a killed filler's leftovers. */
	rc = ldvm_gc(ctx, &removed);
	if (rc != 0)
		warnx("gc: %s", ldvm_errmsg(ctx));
	else if (removed > 0 && !quiet)
		fprintf(stderr, "%s: removed %u left by dead owners or a crash\n",
		    getprogname(), removed);
	if (o.gc)
		rc = rc != 0;
	else if (o.drain)
		rc = drain_all(ctx);
	else if (o.tname != NULL)
		rc = fill(ctx, o.tname, o.count, 0);
	else
		rc = fill_all(ctx);
	ldvm_ctx_free(ctx);
	return rc;
}
