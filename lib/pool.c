/*
 * The preload pool: paused, booted, ballooned-down disposables per
 * template, listed under /litedvm/pool/<template>.  Filling reserves a
 * slot and building is bounded by the pool size in one transaction;
 * claiming is one transaction that takes the newest member of the current
 * template version (see claim_txn).  Members of an older version, and
 * members someone unpaused, are never handed out: pruning destroys them.
 * Acquiring a disposable (from the pool, or cold when it is empty),
 * releasing one and refilling the pool (dvm-preload in the background)
 * are here too: pools sit above disposables, never the reverse.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ldvm_internal.h"

#define DEFAULT_MIN_FREE_MB 256
/*
 * How long libxl may see a member's memory make no progress while it
 * balloons down. Linux's balloon driver, when it cannot take a page,
 * tries again after 1, 2, 4 ... up to 32 s: 20 s could give up inside
 * one such wait.  A guest also gives no more than it has available: the
 * test host's 96 MiB busybox guest stops at 79 MiB whatever the target
 * below that, and a member asked for 80 was once left at 83.  Such a
 * member is paused where it stopped, with a warning naming both.
 */
#define BALLOON_WAIT_S 40
#define POOL_OWNER "pool"
/* While this node exists no member joins any pool (ldvm_pool_drain). */
#define DRAIN_PATH LDVM_XS_ROOT "/drain"
/* A template's last claim, in seconds since the epoch, while it delays. */
#define CLAIMED_PATH LDVM_XS_ROOT "/claimed/%s"

static unsigned long
dispnum(const char *name)
{
	unsigned long v;

	if (strncmp(name, "disp", 4) != 0 ||
	    !ldvm__parse_uint(name + 4, strlen(name + 4), 999999999, &v))
		return ~0UL;
	return v;
}

static int
by_age(const void *a, const void *b)
{
	unsigned long x = dispnum(*(char *const *)a);
	unsigned long y = dispnum(*(char *const *)b);

	return x < y ? -1 : x > y;
}

struct leave {
	const char *tmpl;
	const char *name;
	const char *owner;          /* new owner */
	bool was_member;
};

/* Takes name, a member as t sees it, out of the pool and gives it an owner. */
static int
leave_member(struct ldvm_ctx *ctx, xs_transaction_t t, const struct leave *l)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if ((rc = ldvm__rec_pool_path(ctx, path, sizeof(path), l->tmpl,
	    l->name)) != 0 || (rc = ldvm__xs_rm(ctx, t, path)) != 0)
		return rc;
	if ((rc = ldvm__rec_path(ctx, path, sizeof(path), l->name, "pool")))
		return rc;
	if ((rc = ldvm__xs_rm(ctx, t, path)) != 0 ||
	    (rc = ldvm__rec_write(ctx, t, l->name, "state", "claimed")) != 0 ||
	    (rc = ldvm__rec_write(ctx, t, l->name, "owner", l->owner)) != 0)
		return rc;
	return 0;
}

/* Takes name out of the pool (if it is still in it) and gives it an owner. */
static int
leave_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct leave *l = arg;
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if ((rc = ldvm__rec_pool_path(ctx, path, sizeof(path), l->tmpl,
	    l->name)) != 0)
		return rc;
	if ((rc = ldvm__xs_exists(ctx, t, path)) <= 0) {
		l->was_member = false;
		return rc;
	}
	l->was_member = true;
	return leave_member(ctx, t, l);
}

/* Removes a member from the pool and destroys it. */
static int
discard(struct ldvm_ctx *ctx, const char *tmpl, const char *name,
    const char *why)
{
	char self[64];
	struct leave l = { .tmpl = tmpl, .name = name, .owner = self };
	int rc;

	if (ldvm__owner_self(self, sizeof(self)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "/proc/self/stat");
	if ((rc = ldvm__xs_txn(ctx, leave_txn, &l)) != 0)
		return rc;
	if (!l.was_member)
		return 0;       /* somebody else took it first */
	ldvm__log(ctx, LDVM_LOG_INFO, "%s: %s, replacing", name, why);
	return ldvm__teardown(ctx, name);
}

/*
 * Why a pool member must not be handed out, or NULL when it is fine:
 * made from another template version, gone, or not paused any more.
 */
static const char *
member_problem(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    const char *name)
{
	unsigned long v;
	char *s;
	int p;

	if (ldvm__rec_read(ctx, XBT_NULL, name, "version", &s) != 0)
		return "record incomplete";
	p = strcmp(s, t->version) != 0;
	free(s);
	if (p)
		return "made from an older template version";
	if (ldvm__rec_read(ctx, XBT_NULL, name, "domid", &s) != 0)
		return "no domain recorded";
	p = ldvm__parse_uint(s, strlen(s), 0x7fef, &v);
	free(s);
	if (!p)
		return "bad domain id";
	if ((p = ldvm__domain_paused(ctx, (uint32_t)v)) < 0)
		return "domain gone";
	if (p == 0)
		return "unpaused by someone else: treated as used";
	return NULL;
}

int
ldvm__pool_members(struct ldvm_ctx *ctx, const char *tmpl, char ***names,
    unsigned *n)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if ((rc = ldvm__rec_pool_path(ctx, path, sizeof(path), tmpl, NULL)) != 0)
		return rc;
	if ((rc = ldvm__rec_list(ctx, path, names, n)) != 0)
		return rc;
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), by_age);
	return 0;
}

/*
 * Discards members of t's pool: with keep < 0 (pruning) those
 * member_problem finds fault with, oldest first; else (trimming) the
 * oldest beyond keep, since claims take the newest.  One claimed
 * meanwhile is no member any more, and discard leaves it alone.
 */
static int
discard_members(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    int keep, unsigned *removed)
{
	char **names;
	unsigned i, j, n;
	struct ldvm__first f = { 0 };
	int rc;

	*removed = 0;
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL)) != 0)
		return rc;
	if ((rc = ldvm__pool_members(ctx, t->name, &names, &n)) != 0)
		return rc;
	for (j = 0; j < n; j++) {
		const char *why;

		if (keep < 0) {
			i = j;
			why = member_problem(ctx, t, names[i]);
		} else {
			i = j;
			if (n - j <= (unsigned)keep)
				break;
			why = "surplus";
		}
		if (why != NULL && ldvm__first_note(ctx, &f, discard(ctx,
		    t->name, names[i], why)) == 0)
			(*removed)++;
	}
	free(names);
	return ldvm__first_end(ctx, &f);
}

int
ldvm_pool_prune(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    unsigned *removed)
{
	return discard_members(ctx, t, -1, removed);
}

int
ldvm_pool_trim(struct ldvm_ctx *ctx, const struct ldvm_template *t, int keep,
    unsigned *removed)
{
	if (keep < 0)
		keep = t->preload;
	/* Never pruning here: a keep still below 0 keeps them all. */
	return discard_members(ctx, t, keep < 0 ? INT_MAX : keep, removed);
}

/*
 * The drains' nodes under DRAIN_PATH (each drain has its own, so the first
 * of two drains to end does not end the other's): *live counts those that
 * name a live process; with prune, those of drains that were killed go.
 */
static int
drain_nodes(struct ldvm_ctx *ctx, xs_transaction_t t, bool prune,
    unsigned *live)
{
	char path[LDVM_XS_PATH_MAX], **names, *v;
	unsigned i, n;
	int rc;

	*live = 0;
	if ((rc = ldvm__xs_list(ctx, t, DRAIN_PATH, &names, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if ((rc = ldvm__path(ctx, path, sizeof(path), DRAIN_PATH "/%s",
		    names[i])) != 0)
			break;
		if ((rc = ldvm__xs_read(ctx, t, path, &v)) != 0) {
			/*
			 * Listed but gone: another drain ended since.  Outside
			 * a transaction it is simply not running; inside one,
			 * xenstored's view of the parent still names it and an
			 * rm of the parent would fail with EIO: the
			 * transaction is doomed, so it starts again.
			 */
			if (rc != LDVM_ENOENT)
				break;
			rc = 0;
			if (t != XBT_NULL) {
				rc = ldvm__err(ctx, LDVM_EAGAIN, "%s vanished "
				    "inside a transaction", path);
				errno = EAGAIN;
			}
			continue;
		}
		if (ldvm__owner_alive(v))
			(*live)++;
		else if (prune)
			rc = ldvm__xs_rm(ctx, t, path);
		free(v);
	}
	free(names);
	return rc;
}

/* 1 while pools are being drained, 0 if not, or an error. */
static int
draining(struct ldvm_ctx *ctx, xs_transaction_t t)
{
	unsigned live;
	int rc;

	if ((rc = drain_nodes(ctx, t, false, &live)) != 0)
		return rc;
	return live > 0;
}

struct drain_end {
	const char *node;       /* this drain's */
	unsigned live;          /* out: other drains still running */
};

/*
 * A drain's node goes, with those of drains that were killed, and the
 * parent with the last of them.
 */
static int
drain_end_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct drain_end *e = arg;
	int rc;

	if ((rc = ldvm__xs_rm(ctx, t, e->node)) != 0 ||
	    (rc = drain_nodes(ctx, t, true, &e->live)) != 0)
		return rc;
	return e->live == 0 ? ldvm__xs_rm(ctx, t, DRAIN_PATH) : 0;
}

/* Records of pool members, listed or still being built. */
static int
pool_records(struct ldvm_ctx *ctx, unsigned *n)
{
	char **names, *v;
	unsigned i, all;
	int rc;

	*n = 0;
	if ((rc = ldvm__rec_list(ctx, LDVM_XS_ROOT "/disp", &names, &all)))
		return rc == LDVM_ENOENT ? 0 : rc;
	for (i = 0; i < all; i++)
		if (ldvm__rec_read(ctx, XBT_NULL, names[i], "pool", &v) == 0) {
			free(v);
			(*n)++;
		}
	free(names);
	return 0;
}

int
ldvm_pool_drain(struct ldvm_ctx *ctx, int timeout_s, unsigned *removed)
{
	int64_t deadline = ldvm__now_ms() + (int64_t)timeout_s * 1000;
	char **tmpls, self[64], node[LDVM_XS_PATH_MAX];
	struct drain_end end;
	unsigned i, j, n, left;
	int rc, end_rc;

	*removed = 0;
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL)) != 0)
		return rc;
	if (ldvm__owner_self(self, sizeof(self)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "/proc/self/stat");
	if ((rc = ldvm__path(ctx, node, sizeof(node), DRAIN_PATH "/%d",
	    (int)getpid())) != 0 ||
	    (rc = ldvm__xs_write(ctx, XBT_NULL, node, self)) != 0)
		return rc;
	if ((rc = ldvm__xs_watch(ctx, LDVM_XS_ROOT "/disp", "drain")) != 0)
		goto out;
	for (;;) {
		if ((rc = ldvm__rec_list(ctx, LDVM_XS_ROOT "/pool", &tmpls,
		    &n)) == LDVM_ENOENT) {
			n = 0;
			tmpls = NULL;
		} else if (rc != 0)
			break;
		for (i = 0; i < n; i++) {
			char **names;
			unsigned m;

			if (ldvm__pool_members(ctx, tmpls[i], &names, &m) != 0)
				continue;
			for (j = 0; j < m; j++)
				if (discard(ctx, tmpls[i], names[j], "draining")
				    == 0)
					(*removed)++;
			free(names);
		}
		free(tmpls);
		/* Members being built tear themselves down on the flag. */
		if ((rc = pool_records(ctx, &left)) != 0 || left == 0)
			break;
		if ((rc = ldvm__interrupted(ctx)) != 0)
			break;
		if (ldvm__now_ms() >= deadline) {
			rc = ldvm__err(ctx, LDVM_ETIMEDOUT, "draining: %u pool "
			    "members still being built after %d s", left,
			    timeout_s);
			break;
		}
		rc = ldvm__xs_wait_watch(ctx, 1000, NULL, 0, NULL, 0);
		if (rc != 0 && rc != LDVM_ETIMEDOUT)
			break;
	}
	ldvm__xs_unwatch(ctx, LDVM_XS_ROOT "/disp", "drain");
out:
	/* The drain's own error comes first; a node left is one too. */
	end.node = node;
	if ((end_rc = ldvm__xs_txn(ctx, drain_end_txn, &end)) != 0 && rc == 0)
		rc = end_rc;
	else if (end_rc == 0 && end.live > 0)
		ldvm__log(ctx, LDVM_LOG_INFO, "%u other drain%s still running",
		    end.live, end.live == 1 ? "" : "s");
	return rc;
}

static int
enough_memory(struct ldvm_ctx *ctx, const struct ldvm_template *t)
{
	unsigned long minmb = DEFAULT_MIN_FREE_MB;
	uint64_t freekb, needkb = t->cfg.b_info.max_memkb;
	char v[32];
	int i, rc;

	if (ldvm__conf_get(ctx, "preload_min_free_memory", v, sizeof(v)) == 0 &&
	    !ldvm__parse_uint(v, strlen(v), 1UL << 30, &minmb))
		return ldvm__err(ctx, LDVM_EINVAL, "%s/litedvm.conf: bad "
		    "preload_min_free_memory '%s'", ldvm_confdir(), v);
	if ((rc = ldvm__domain_free_memkb(ctx, &freekb)) != 0)
		return rc;
	/* A RAM volume may come to hold its whole cap. */
	for (i = 0; i < t->cfg.num_disks; i++)
		if (t->cfg.disks[i].readwrite)
			needkb += t->volatile_cap / 1024;
	if (freekb < needkb + (uint64_t)minmb * 1024)
		return ldvm__err(ctx, LDVM_EAGAIN, "pool of %s: not preloading, "
		    "free memory %llu MiB would fall below %lu MiB", t->name,
		    (unsigned long long)(freekb / 1024), minmb);
	return 0;
}

struct join {
	const struct ldvm_template *t;
	const struct ldvm_disp *d;
};

static int
join_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct join *j = arg;
	char path[LDVM_XS_PATH_MAX], ent[LDVM__POOLENT_MAX], *created, *uuid;
	int rc;

	if ((rc = draining(ctx, t)) < 0)
		return rc;
	if (rc == 1)
		return ldvm__err(ctx, LDVM_EINTR, "pools are being drained");
	/* The entry a claim by name reads; empty if it cannot be written. */
	if ((rc = ldvm__rec_read(ctx, t, j->d->name, "created", &created)) != 0)
		return rc;
	if ((rc = ldvm__rec_read(ctx, t, j->d->name, "uuid", &uuid)) != 0) {
		free(created);
		return rc;
	}
	if (ldvm__poolent_encode(j->t, j->d->domid, uuid, j->d->voldrv,
	    created, ent, sizeof(ent)) != 0)
		ent[0] = '\0';
	free(created);
	free(uuid);
	if ((rc = ldvm__rec_pool_path(ctx, path, sizeof(path), j->t->name,
	    j->d->name)) != 0 ||
	    (rc = ldvm__xs_write(ctx, t, path, ent)) != 0 ||
	    (rc = ldvm__rec_write(ctx, t, j->d->name, "state", "paused")) != 0 ||
	    (rc = ldvm__rec_write(ctx, t, j->d->name, "owner", POOL_OWNER)) != 0)
		return rc;
	return 0;
}

/*
 * What a member's first session runs, by /bin/sh as root, $1 the seconds
 * it may wait: in a guest whose PID 1 is systemd, until its boot is over
 * (systemctl is-system-running --wait, bounded by timeout(1)); then
 * sync(1).  A boot that goes on after the agent answered can look quiet
 * for seconds (a unit waiting on a timer or a device) and goes on when
 * the member is woken, beside the claimer's command; so would the
 * writeback of what the boot wrote, due some 30 s after it was written.
 * In the test host a Debian member paused mid-boot used 105-374 ms of CPU
 * in the first quarter second after an unpause, one whose boot was over
 * 5-12 ms.  A guest without systemctl (or timeout) only syncs.
 */
#define FIRST_SESSION "if command -v systemctl && command -v timeout; then " \
	"timeout \"$1\" systemctl is-system-running --wait; fi " \
	">/dev/null 2>&1; sync"
/* Of litedvm_ready_timeout, what the first session leaves to dom0's side. */
#define FIRST_SESSION_SLACK_S 10

/*
 * One session of dom0's own through a member's agent before it is paused:
 * FIRST_SESSION as root, no input, no output, its status not looked at.
 * The code of a session (the guest kernel's channel and process paths, the
 * agent's, a command read from the new volume) has then run once in this
 * guest, so the first command of whoever claims the member does not pay
 * for that (in the test host ~20 ms of its 60-75 ms).  Then the agent's
 * next listener is waited for: the member is paused ready to connect.
 * Connect and session are bounded by the template's litedvm_ready_timeout
 * (the context's deadline), and so is that wait; the guest's wait for its
 * boot by that less FIRST_SESSION_SLACK_S (at least half of it).
 */
static int
warm_member(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    const struct ldvm_disp *d)
{
	char secs[16];
	char *argv[] = { "/bin/sh", "-c", FIRST_SESSION, "sh", secs, NULL };
	char claim[LDVM_XS_PATH_MAX];
	struct ldvm__chan *ch;
	struct ldvm_run r;
	int ms = t->ready_timeout * 1000, status, rc;
	int64_t t0 = ldvm__now_ms();

	snprintf(secs, sizeof(secs), "%d", t->ready_timeout >
	    2 * FIRST_SESSION_SLACK_S ? t->ready_timeout - FIRST_SESSION_SLACK_S :
	    (t->ready_timeout + 1) / 2);
	ldvm_run_init(&r);
	r.argv = argv;
	r.in = r.out = r.err = -1;
	if ((rc = ldvm__rec_path(ctx, claim, sizeof(claim), d->name,
	    "chan")) != 0)
		return rc;
	ldvm__set_deadline(ctx, ms);
	if ((rc = ldvm__chan_claim_connect(ctx, d->domid, claim, ms,
	    &ch)) == 0) {
		rc = ldvm__chan_run_as(ctx, ch, d->domid, &r, NULL, NULL,
		    &status);
		ldvm__chan_close(ch);
	}
	if (rc == LDVM_ETIMEDOUT && ldvm__interrupted(ctx) == LDVM_ETIMEDOUT)
		rc = ldvm__err(ctx, LDVM_ETIMEDOUT, "its first session did not "
		    "end in %d s (litedvm_ready_timeout)", t->ready_timeout);
	ldvm__set_deadline(ctx, 0);
	if (rc == 0)
		ldvm__log(ctx, LDVM_LOG_INFO, "%s: first session over after "
		    "%lld ms", d->name,
		    (long long)(ldvm__now_ms() - t0));
	if (rc == 0)
		rc = ldvm__chan_await_free(ctx, d->domid, claim, ms);
	return rc;
}

/*
 * A member is paused only once it has gone quiet.  A guest whose boot goes
 * on after its agent answered (a systemd guest starts its units for a
 * minute more under emulation) would otherwise go on with that when
 * claimed, beside the caller's command: in the test host a pooled
 * `dvm-run true` of a Debian guest took a second, the guest busy
 * throughout.  Quiet: at most SETTLE_PERMILLE of one CPU over
 * SETTLE_STEP_MS, by the hypervisor's count of its CPU time.  A member
 * still busy after the template's litedvm_ready_timeout is paused anyway.
 */
#define SETTLE_STEP_MS 500
#define SETTLE_PERMILLE 100

static int
settle_member(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    const struct ldvm_disp *d)
{
	struct ldvm__dominfo a, b;
	int64_t t0 = ldvm__now_ms(), ta = t0, tb;
	int rc;

	if ((rc = ldvm__hyp_info(ctx, d->domid, &a)) != 0)
		goto gone;
	for (;;) {
		(void)ldvm__poll(ctx, NULL, 0, SETTLE_STEP_MS);
		if ((rc = ldvm__interrupted(ctx)) != 0)
			return rc;
		if ((rc = ldvm__hyp_info(ctx, d->domid, &b)) != 0)
			goto gone;
		tb = ldvm__now_ms();
		if (ldvm__cpu_quiet(a.cpu_ns, b.cpu_ns, tb - ta,
		    SETTLE_PERMILLE)) {
			ldvm__log(ctx, LDVM_LOG_INFO, "%s: quiet after %lld ms",
			    d->name, (long long)(tb - t0));
			return 0;
		}
		if (tb - t0 >= (int64_t)t->ready_timeout * 1000) {
			ldvm__log(ctx, LDVM_LOG_WARN, "%s: still busy after %d s "
			    "(litedvm_ready_timeout), paused all the same",
			    d->name, t->ready_timeout);
			return 0;
		}
		a = b;
		ta = tb;
	}
gone:
	return rc == LDVM_ENOENT ? ldvm__err(ctx, LDVM_ENOENT, "%s: its domain "
	    "is gone", d->name) : rc;
}

/*
 * Says how far a member that did not reach the template's
 * litedvm_preload_memory got: it is paused there, and serves all the same.
 */
static void
balloon_short(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    const struct ldvm_disp *d, int xrc)
{
	unsigned long long want = t->preload_memkb / 1024;
	uint64_t kb;

	if (ldvm__domain_memkb(ctx, d->domid, &kb) == 0 &&
	    kb > t->preload_memkb)
		ldvm__log(ctx, LDVM_LOG_WARN, "%s: ballooned down to %llu MiB, "
		    "not %llu: the guest gave no more in %d s", d->name,
		    (unsigned long long)((kb + 1023) / 1024), want,
		    BALLOON_WAIT_S);
	else
		ldvm__log(ctx, LDVM_LOG_WARN, "%s: balloon to %llu MiB: "
		    "libxl error %d", d->name, want, xrc);
}

/*
 * Boots one member, has it run a first session, balloons it down, waits
 * for it to go quiet, pauses it and lists it.
 */
static int
preload_one(struct ldvm_ctx *ctx, const struct ldvm_template *t, int count)
{
	struct ldvm_disp *d;
	struct join j;
	int rc, xrc;

	if (draining(ctx, XBT_NULL) == 1)
		return ldvm__err(ctx, LDVM_EINTR, "pools are being drained");
	if ((rc = ldvm__disp_build(ctx, t, count, NULL, &d)) != 0)
		return rc;
	if ((rc = warm_member(ctx, t, d)) != 0) {
		ldvm__log(ctx, LDVM_LOG_WARN, "%s: %s", d->name, ctx->err);
		goto fail;
	}
	if (t->preload_memkb < t->cfg.b_info.target_memkb) {
		xrc = ldvm__domain_balloon(ctx, d->domid, t->preload_memkb,
		    BALLOON_WAIT_S);
		/* A guest slow to balloon still serves; just log it. */
		if (xrc != 0)
			balloon_short(ctx, t, d, xrc);
	}
	if ((rc = settle_member(ctx, t, d)) != 0 ||
	    (rc = ldvm_domain_pause(ctx, d->domid)) != 0)
		goto fail;
	j.t = t;
	j.d = d;
	if ((rc = ldvm__xs_txn(ctx, join_txn, &j)) != 0)
		goto fail;
	ldvm__log(ctx, LDVM_LOG_INFO, "%s: preloaded for %s", d->name,
	    t->name);
	free(d);
	return 0;
fail:
	ldvm__teardown(ctx, d->name);
	free(d);
	return rc;
}

struct claimed {
	const char *tmpl;
	int delay;
	int left;           /* out: seconds still to wait */
};

/*
 * How long the template's refill must still wait after its last claim;
 * once none, the record of that claim goes (in one transaction, so a claim
 * made meanwhile is not lost).  A clock set back waits no longer than the
 * delay itself.
 */
static int
claimed_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct claimed *c = arg;
	char path[LDVM_XS_PATH_MAX], v[24];
	unsigned long at;
	int64_t left;
	int rc;

	c->left = 0;
	if ((rc = ldvm__path(ctx, path, sizeof(path), CLAIMED_PATH,
	    c->tmpl)) != 0)
		return rc;
	rc = ldvm__xs_read_untrusted(ctx, t, path, 20, LDVM_V_UINT, v,
	    sizeof(v));
	if (rc == LDVM_ENOENT)
		return 0;
	if (rc == 0 && ldvm__parse_uint(v, strlen(v), 1UL << 40, &at)) {
		left = (int64_t)at + c->delay - (int64_t)time(NULL);
		c->left = left < 0 ? 0 : left > c->delay ? c->delay : (int)left;
	}
	if (c->left == 0)
		return ldvm__xs_rm(ctx, t, path);
	return 0;
}

/* Waits out the template's litedvm_preload_delay after its last claim. */
static int
delay_after_claim(struct ldvm_ctx *ctx, const struct ldvm_template *t)
{
	struct claimed c = { .tmpl = t->name, .delay = t->preload_delay };
	int rc;

	if (t->preload_delay == 0)
		return 0;
	for (;;) {
		if ((rc = ldvm__xs_txn(ctx, claimed_txn, &c)) != 0)
			return rc;
		if (c.left == 0)
			return 0;
		ldvm__log(ctx, LDVM_LOG_DEBUG, "pool of %s: refill in %d s",
		    t->name, c.left);
		rc = ldvm__xs_wait_watch(ctx, c.left * 1000, NULL, 0, NULL, 0);
		if (rc != 0 && rc != LDVM_ETIMEDOUT)
			return rc;
	}
}

/*
 * Records a claim from tmpl's pool for its refill delay (none when 0); a
 * failure only logs.
 */
static void
note_claim(struct ldvm_ctx *ctx, const char *tmpl, unsigned delay)
{
	char path[LDVM_XS_PATH_MAX], v[24];

	if (delay == 0 || ldvm__path(ctx, path, sizeof(path), CLAIMED_PATH,
	    tmpl) != 0)
		return;
	snprintf(v, sizeof(v), "%lld", (long long)time(NULL));
	if (ldvm__xs_write(ctx, XBT_NULL, path, v) != 0)
		ldvm__log(ctx, LDVM_LOG_WARN, "pool of %s: %s", tmpl, ctx->err);
}

/*
 * One member built in a host build slot, after the template's delay and
 * only while the host keeps its free-memory floor (looked at once the slot
 * is held: others' builds may have taken the memory meanwhile).
 */
static int
preload_slot(struct ldvm_ctx *ctx, const struct ldvm_template *t, int count)
{
	int rc, slot;

	if ((rc = delay_after_claim(ctx, t)) != 0 ||
	    (rc = ldvm__build_slot(ctx, &slot)) != 0)
		return rc;
	if ((rc = enough_memory(ctx, t)) == 0)
		rc = preload_one(ctx, t, count);
	ldvm__build_slot_free(slot);
	return rc;
}

int
ldvm_pool_fill(struct ldvm_ctx *ctx, const struct ldvm_template *t, int count,
    int *made)
{
	unsigned pruned;
	int rc;

	*made = 0;
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL)) != 0)
		return rc;
	if (!t->dispvm)
		return ldvm__err(ctx, LDVM_EPERM, "template %s is not a "
		    "disposable template", t->name);
	if (count < 0)
		count = t->preload;
	if ((rc = ldvm_pool_prune(ctx, t, &pruned)) != 0 ||
	    (rc = ldvm_pool_trim(ctx, t, count, &pruned)) != 0)
		return rc;
	for (;;) {
		if ((rc = ldvm__interrupted(ctx)) != 0)
			return rc;
		rc = preload_slot(ctx, t, count);
		if (rc == LDVM_EAGAIN)
			return rc;      /* the memory floor: already worded */
		if (rc == LDVM_EEXIST)
			return 0;       /* full, also by others' work */
		if (rc != 0) {
			char msg[sizeof(ctx->err)];

			memcpy(msg, ctx->err, sizeof(msg));
			return ldvm__err(ctx, rc, "pool of %s: %s", t->name,
			    msg);
		}
		(*made)++;
	}
}

struct claim {
	const struct ldvm_template *t;  /* NULL: a claim by name */
	const char *tmpl;
	const char *owner;
	uint64_t texth;         /* by name: the configuration text's hash */
	int64_t read_ms;        /* by name: how long reading it took */
	char name[LDVM_NAME_MAX + 1];
	/* The member's record as the transaction saw it ("": none). */
	char domid[16], driver[16], created[24];
	char uuid[LDVM__UUID_LEN + 1];  /* by name: the entry's, else "" */
	/* Of the template: for the wake, the refill delay, dvm-run. */
	uint64_t target_kb;
	unsigned delay, timeout;
	unsigned long seq;              /* its agent's listener claimed, or 0 */
	struct ldvm__poolent ent;       /* by name: scratch */
};

/* Copies the record's key of name, read in t, into buf ("" if none). */
static int
claim_read(struct ldvm_ctx *ctx, xs_transaction_t t, const char *name,
    const char *key, char *buf, size_t size)
{
	char *v;
	int rc;

	buf[0] = '\0';
	if ((rc = ldvm__rec_read(ctx, t, name, key, &v)) == LDVM_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if (strlen(v) < size)
		memcpy(buf, v, strlen(v) + 1);
	free(v);
	return 0;
}

/*
 * Whether member name, listed in transaction t, is of the version c->t
 * has: 1 (its record's domain, driver and creation time then in c), 0,
 * or an error.
 */
static int
record_current(struct ldvm_ctx *ctx, xs_transaction_t t, struct claim *c,
    const char *name)
{
	char *v;
	bool same;
	int rc;

	if (ldvm__rec_read(ctx, t, name, "version", &v) != 0)
		return 0;
	same = strcmp(v, c->t->version) == 0;
	free(v);
	if (!same)
		return 0;   /* an older version: pruning replaces it */
	if ((rc = claim_read(ctx, t, name, "domid", c->domid,
	    sizeof(c->domid))) != 0 ||
	    (rc = claim_read(ctx, t, name, "driver", c->driver,
	    sizeof(c->driver))) != 0 ||
	    (rc = claim_read(ctx, t, name, "created", c->created,
	    sizeof(c->created))) != 0)
		return rc;
	return 1;
}

/*
 * The same for a claim by name: whether member name's pool entry gives,
 * with the configuration text's hash c->texth and the identities of the
 * files it names now, the version it was made from; the entry's fields
 * then in c.
 */
static int
entry_current(struct ldvm_ctx *ctx, xs_transaction_t t, struct claim *c,
    const char *name)
{
	char path[LDVM_XS_PATH_MAX], version[17], *v;
	uint64_t h = c->texth;
	int i, rc;

	if (ldvm__rec_pool_path(ctx, path, sizeof(path), c->tmpl, name) != 0 ||
	    ldvm__xs_read(ctx, t, path, &v) != 0)
		return 0;
	rc = ldvm__poolent_decode(v, strlen(v), &c->ent);
	free(v);
	if (rc != 0)
		return 0;       /* empty: for a caller that loaded the template */
	for (i = 0; i < c->ent.nfiles; i++)
		h = ldvm__version_file(h, c->ent.files[i]);
	ldvm__version_format(h, version);
	if (strcmp(version, c->ent.version) != 0)
		return 0;
	snprintf(c->domid, sizeof(c->domid), "%s", c->ent.domid);
	snprintf(c->uuid, sizeof(c->uuid), "%s", c->ent.uuid);
	snprintf(c->driver, sizeof(c->driver), "%s", c->ent.driver);
	snprintf(c->created, sizeof(c->created), "%s", c->ent.created);
	c->target_kb = c->ent.target_kb;
	c->delay = c->ent.delay;
	c->timeout = c->ent.timeout;
	return 1;
}

/*
 * In a claim by name's transaction t, for a command at once, the agent
 * listener of member name (its recorded domain c->domid) as well:
 * connecting to the member then takes no transaction of its own (two
 * xenstore requests fewer on the caller's path).  c->seq 0 when there is
 * none to claim (a guest's bad number, a domain id gone): the connect
 * claims one then, and says what is wrong.  Only xenstore's own errors
 * fail the transaction.
 */
static int
claim_listener(struct ldvm_ctx *ctx, xs_transaction_t t, struct claim *c,
    const char *name)
{
	char path[LDVM_XS_PATH_MAX];
	unsigned long id;
	int rc;

	c->seq = 0;
	if (!ldvm__parse_uint(c->domid, strlen(c->domid), 0x7fef, &id) ||
	    ldvm__rec_path(ctx, path, sizeof(path), name, "chan") != 0)
		return 0;
	rc = ldvm__chan_claim_in(ctx, t, (uint32_t)id, path, &c->seq);
	if (rc == LDVM_EAGAIN || rc == LDVM_EXEN || rc == LDVM_ENOMEM)
		return rc;
	if (rc != 0)
		c->seq = 0;
	return 0;
}

/*
 * A claim takes the newest member, the one whose boot and first session
 * (warm_member) ran last.  A domain built since a member last ran leaves
 * its first command slower: in the test host, a guest paused while one
 * other was built ran `true` through its agent in 168 ms (median of 8),
 * one paused as long on an idle host in 134 ms, the same as one never
 * paused (136 ms).  Most of that is likely the emulator's own (it
 * translates each guest's code, and caches it); on any host the newest
 * member has the fewest of its guest's timers come due while it slept,
 * and the smallest jump of its clock to catch up.
 *
 * The newest member of the version wanted leaves the pool, claimed by
 * c->owner; c->name "" when there is none.  With a template (c->t) its
 * record says its version, by name (no c->t) its pool entry.
 */
static int
claim_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct claim *c = arg;
	char path[LDVM_XS_PATH_MAX], **names;
	unsigned i, n;
	int rc;

	c->name[0] = '\0';
	c->uuid[0] = '\0';
	if ((rc = ldvm__rec_pool_path(ctx, path, sizeof(path), c->tmpl,
	    NULL)) != 0)
		return rc;
	if ((rc = ldvm__xs_list(ctx, t, path, &names, &n)) != 0 || n == 0) {
		free(names);
		return rc;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), by_age);
	for (i = n; i-- > 0; ) {
		/* Listed in this transaction: a member, no need to look. */
		struct leave l = { .tmpl = c->tmpl, .owner = c->owner,
		    .name = names[i] };

		rc = c->t != NULL ? record_current(ctx, t, c, names[i]) :
		    entry_current(ctx, t, c, names[i]);
		if (rc == 1)
			rc = leave_member(ctx, t, &l);
		else if (rc == 0)
			continue;
		if (rc == 0 && c->t == NULL)
			rc = claim_listener(ctx, t, c, names[i]);
		if (rc == 0)
			snprintf(c->name, sizeof(c->name), "%s", names[i]);
		break;
	}
	free(names);
	return rc;
}

/*
 * The handle on the member c claimed, from what its transaction read.  A
 * claim by name has the domain's UUID from the member's entry: wake_member
 * checks the domain by it, with the hypercall it makes anyway.  Else the
 * recorded domain id is trusted only while it still names the member
 * (ldvm__disp_domid_of: a xenstore read).
 */
static int
claimed_disp(struct ldvm_ctx *ctx, const struct claim *c,
    struct ldvm_disp **out)
{
	struct ldvm_disp *d;
	unsigned long id;
	bool recorded;

	if ((d = ldvm__disp_new(c->name, c->tmpl)) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	recorded = ldvm__parse_uint(c->domid, strlen(c->domid), 0x7fef, &id);
	if (c->uuid[0] != '\0' && recorded)
		d->domid = (uint32_t)id;
	else
		d->domid = ldvm__disp_domid_of(ctx, c->name, c->domid);
	/* The listener claimed is of the recorded domain: of d's only then. */
	if (c->seq != 0 && recorded && id == d->domid)
		d->chan_seq = c->seq;
	snprintf(d->voldrv, sizeof(d->voldrv), "%s", c->driver);
	snprintf(d->owner, sizeof(d->owner), "%s", c->owner);
	snprintf(d->created, sizeof(d->created), "%s", c->created);
	d->owned = true;
	d->pooled = true;
	*out = d;
	return 0;
}

/*
 * Wakes d, a member just claimed: unpaused, given its memory back.  With
 * uuid (not NULL), d's domain id is the recorded one, trusted only if the
 * domain of that id has that UUID.  On failure it is torn down; 1 when it
 * may not be handed out (also torn down), else 0 or the error.
 */
static int
wake_member(struct ldvm_ctx *ctx, uint64_t target_kb, const char *uuid,
    struct ldvm_disp *d)
{
	uint64_t maxkb = 0;
	int p, rc;

	p = ldvm__domain_paused_max(ctx, d->domid, uuid, &maxkb);
	if (p != 1) {
		/* Unpaused behind our back, or gone: never hand out. */
		ldvm__log(ctx, LDVM_LOG_WARN, "%s: pool member %s, destroying",
		    d->name, p < 0 ? "gone" : "was unpaused by someone else");
		ldvm__teardown(ctx, d->name);
		return 1;
	}
	/*
	 * The memory back first: the guest sees its new target as it wakes
	 * and balloons up on its own, never waited for.
	 */
	if (target_kb != 0 &&
	    ldvm__domain_target(ctx, d->domid, target_kb, maxkb) != 0)
		ldvm__log(ctx, LDVM_LOG_WARN, "%s: balloon up: %s", d->name,
		    ctx->err);
	if ((rc = ldvm_domain_unpause(ctx, d->domid)) != 0) {
		ldvm__teardown(ctx, d->name);
		return rc;
	}
	return 0;
}

/* The claim c: the newest member of the version wanted, woken. */
static int
claim(struct ldvm_ctx *ctx, struct claim *c, struct ldvm_disp **out)
{
	struct ldvm_disp *d = NULL;
	char self[64];
	int64_t t0 = ldvm__now_ms(), t1, take = 0, wake = 0;
	int rc, i = 0;

	*out = NULL;
	/* xenstore and the hypervisor's hypercalls: libxl only on failure. */
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS)) != 0)
		return rc;
	if (ldvm__owner_self(self, sizeof(self)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "/proc/self/stat");
	c->owner = self;
	do {
		t1 = ldvm__now_ms();
		if ((rc = ldvm__xs_txn(ctx, claim_txn, c)) != 0)
			return rc;
		if (c->name[0] == '\0')
			return ldvm__err(ctx, LDVM_ENOENT, "pool of %s is empty",
			    c->tmpl);
		if ((rc = claimed_disp(ctx, c, &d)) != 0)
			return rc;
		take += ldvm__now_ms() - t1;
		t1 = ldvm__now_ms();
		if ((rc = wake_member(ctx, c->target_kb, c->uuid[0] != '\0' ?
		    c->uuid : NULL, d)) != 0)
			free(d);
		wake += ldvm__now_ms() - t1;
		if (rc < 0)
			return rc;
	} while (rc != 0);
	t1 = ldvm__now_ms();
	/* By name, for a command at once: its exec writes "running". */
	if (c->t != NULL)
		ldvm__rec_write(ctx, XBT_NULL, d->name, "state", "ready");
	note_claim(ctx, c->tmpl, c->delay);
	/* The claim's steps: the record's, the domain's, the record's. */
	if (c->t == NULL) {
		d->phases[i].name = "template read";
		d->phases[i++].ms = c->read_ms;
	}
	d->phases[i].name = "claim from pool";
	d->phases[i++].ms = take;
	d->phases[i].name = "unpause, memory back";
	d->phases[i++].ms = wake;
	d->phases[i].name = "claim noted";
	d->phases[i++].ms = ldvm__now_ms() - t1;
	d->nphases = i;
	ldvm__journal(ctx, "claimed", d->name, "template=%s domid=%u owner=%s "
	    "claim_ms=%lld", c->tmpl, d->domid, self,
	    (long long)(ldvm__now_ms() - t0));
	*out = d;
	return 0;
}

int
ldvm_pool_claim(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    struct ldvm_disp **out)
{
	struct claim c = { .t = t, .tmpl = t->name,
	    .delay = (unsigned)t->preload_delay, .timeout = t->run_timeout };

	if (t->preload_memkb < t->cfg.b_info.target_memkb)
		c.target_kb = t->cfg.b_info.target_memkb;
	return claim(ctx, &c, out);
}

int
ldvm_pool_claim_named(struct ldvm_ctx *ctx, const char *tmpl,
    struct ldvm_disp **out, unsigned *timeout)
{
	struct claim c = { .tmpl = tmpl };
	int64_t t0 = ldvm__now_ms();
	char *text;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = ldvm__template_text(ctx, tmpl, &text, &len)) != 0)
		return rc;
	c.texth = ldvm__version_text(text, len);
	free(text);
	c.read_ms = ldvm__now_ms() - t0;
	if ((rc = claim(ctx, &c, out)) == 0 &&
	    timeout != NULL)
		*timeout = c.timeout;
	return rc;
}

int
ldvm_pool_size(struct ldvm_ctx *ctx, const char *tmpl, int *n)
{
	char **names;
	unsigned u;
	int rc;

	if ((rc = ldvm__pool_members(ctx, tmpl, &names, &u)) != 0)
		return rc;
	free(names);
	*n = (int)u;
	return 0;
}

bool
ldvm__pool_keeps(struct ldvm_ctx *ctx, const char *name)
{
	char *owner, *tmpl, path[LDVM_XS_PATH_MAX];
	bool member = false;
	uint32_t domid;

	if (ldvm__rec_read(ctx, XBT_NULL, name, "owner", &owner) != 0)
		return false;
	member = strcmp(owner, POOL_OWNER) == 0;
	free(owner);
	if (!member)
		return false;
	if (ldvm__rec_read(ctx, XBT_NULL, name, "template", &tmpl) != 0)
		return false;
	member = ldvm__rec_pool_path(ctx, path, sizeof(path), tmpl, name) == 0 &&
	    ldvm__xs_exists(ctx, XBT_NULL, path) == 1;
	free(tmpl);
	if (!member)
		return false;
	/* Kept while its domain lives and stays paused. */
	if (ldvm__domain_by_name(ctx, name, &domid) != 1)
		return false;
	return ldvm__domain_paused(ctx, domid) == 1;
}

static int
refill(struct ldvm_ctx *ctx, const char *tmpl)
{
	char *args[] = { "-q", "-t", (char *)tmpl, NULL };

	return ldvm__spawn_preload(ctx, args);
}

int
ldvm_pool_refill(struct ldvm_ctx *ctx, const struct ldvm_template *t)
{
	return t->preload > 0 ? refill(ctx, t->name) : 0;
}

int
ldvm_disp_acquire(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    struct ldvm_disp **out)
{
	int rc;

	if (!t->dispvm) {
		ldvm__journal(ctx, "refused", "-", "template=%s reason=\"not a "
		    "disposable template\"", t->name);
		return ldvm__err(ctx, LDVM_EPERM, "template %s is not a "
		    "disposable template (set litedvm_dispvm_template = 1 in "
		    "%s)", t->name, t->path);
	}
	/*
	 * From the pool, the refill waits until the disposable is released
	 * (ldvm_disp_destroy): under load a domain build beside the command
	 * would slow the very call the pool is there to make fast.
	 */
	rc = ldvm_pool_claim(ctx, t, out);
	if (rc != LDVM_ENOENT)
		return rc;
	/* Empty pool: a cold one now, and have the pool refilled aside. */
	ldvm_pool_refill(ctx, t);
	return ldvm_disp_create(ctx, t, out);
}

int
ldvm_disp_destroy(struct ldvm_ctx *ctx, struct ldvm_disp *d)
{
	int64_t t0 = ldvm__now_ms();
	int rc;

	ldvm__journal_disp(ctx, "released", d);
	if (!d->pooled) {
		rc = ldvm__teardown(ctx, d->name);
		ldvm__disp_phase(d, "teardown", &t0);
		return rc;
	}
	/*
	 * Off the caller's path: the dvm-preload started while the command
	 * ran is told which disposable it may take over (standby.c), and
	 * marks it dying, collects it and refills the pool.
	 */
	if (d->standby) {
		rc = ldvm__standby_send(d->standby_fd, d->name, d->owner);
		close(d->standby_fd);
		d->standby = false;
		if (rc == 0) {
			ldvm__disp_phase(d, "teardown handed off", &t0);
			return 0;
		}
	}
	/*
	 * No helper (it could not start, or died): "dying" bars any further
	 * use at once, and with no owner a new one finishes it.  Two plain
	 * writes, no transaction: each alone is safe to be stopped after
	 * (dying with this process as owner: collected once it is gone), in
	 * this order.
	 */
	if ((rc = ldvm__rec_write(ctx, XBT_NULL, d->name, "state",
	    "dying")) != 0 ||
	    (rc = ldvm__rec_write(ctx, XBT_NULL, d->name, "owner", "")) != 0)
		return ldvm__teardown(ctx, d->name);
	ldvm__disp_phase(d, "released", &t0);
	rc = refill(ctx, d->tmpl);
	ldvm__disp_phase(d, "teardown handed off", &t0);
	return rc;
}
