/*
 * dom0's dvm-open service.  It watches one node in every guest's own
 * xenstore area, /local/domain/<id>/data/litedvm/open/request, so that a
 * request is known to come from the guest whose area it appeared in; it
 * never believes anything the guest says about itself.  Each request is
 * read once and deleted, checked (size, form, rate, one at a time per
 * guest, the policy, the file size limit) and then served by a worker
 * process of its own, so that one guest's long editing session or
 * misbehaviour never holds up another's.  Refusals are logged and
 * answered in the guest's area (.../open/reply).
 *
 * A disposable may itself ask (when the policy has a "@disposable" line):
 * the rate and the requests in progress of a whole chain of disposables
 * count against the ordinary guest at its root, whose name each disposable
 * made for a request carries in its record (/litedvm/disp/<name>/for), so
 * that no guest can multiply its share through its disposables.
 *
 * Limits come from <confdir>/litedvm.conf:
 *   open_max_size = "64M"   largest file accepted and sent back
 *   open_rate = 30          requests per minute per guest (bursts of 10)
 *   open_max_total = "1G"   data in transit in dom0, all requests together
 *   open_max_guest = 4      requests in progress per guest, its chain's too
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldvm_internal.h"

#define DEFAULT_MAX_SIZE (64ULL << 20)
#define DEFAULT_MAX_TOTAL (1ULL << 30)
#define DEFAULT_RATE 30
#define DEFAULT_MAX_GUEST 4
#define BURST 10.0
#define MAX_WORKERS 64

/*
 * An ordinary guest at the root of a chain of requests: its own, and those
 * of the disposables made for it, and of theirs.
 */
struct root {
	char *name;
	int busy;               /* workers serving the chain */
	bool quiet;             /* rate refusals already logged */
	double tokens;
	int64_t stamp;
};

/* A domain whose request node is watched. */
struct guest {
	uint32_t domid;
	bool alive;             /* seen in the last scan */
	bool watched;
	bool ended;             /* its worker was told the guest is gone */
	pid_t worker;
	int pidfd;
	char *root;             /* the root its worker counts against */
	uint64_t reserved;      /* bytes its worker may hold in dom0 */
};

struct serve {
	struct ldvm_ctx *ctx;
	struct guest *g;
	size_t ng;
	struct root *r;
	size_t nr;
	int max_guest;          /* requests in progress per root */
	uint64_t max_size;
	uint64_t max_total, in_flight;
	unsigned timeout_s;     /* open_timeout; 0: none */
	double per_ms;          /* tokens gained per millisecond */
	int nworkers;
	struct ldvm__tcache tc; /* the templates requests used */
	pid_t spare;            /* the worker standing by; 0: none */
	int spare_fd;           /* its job's socket */
	int spare_pidfd;
};

/* The request a spare worker is given: what worker() is called with. */
struct job {
	uint32_t domid;
	int64_t t0;
	struct ldvm__openreq q;
	char tmpl[LDVM_NAME_MAX + 1];
	char guest[256];
	char root[256];
};

static int
req_path(struct ldvm_ctx *ctx, uint32_t domid, const char *key, char *buf,
    size_t size)
{
	return ldvm__area_path(ctx, buf, size, domid, "/open/%s", key);
}

static struct guest *
find(struct serve *s, uint32_t domid)
{
	for (size_t i = 0; i < s->ng; i++)
		if (s->g[i].domid == domid)
			return &s->g[i];
	return NULL;
}

static struct guest *
add(struct serve *s, uint32_t domid)
{
	struct guest *g = realloc(s->g, sizeof(*g) * (s->ng + 1));

	if (g == NULL)
		return NULL;
	s->g = g;
	g = &s->g[s->ng++];
	memset(g, 0, sizeof(*g));
	g->domid = domid;
	g->pidfd = -1;
	return g;
}

/* Fills r's bucket up to now. */
static void
refill(struct serve *s, struct root *r, int64_t now)
{
	r->tokens += (double)(now - r->stamp) * s->per_ms;
	if (r->tokens > BURST)
		r->tokens = BURST;
	r->stamp = now;
}

/* The root called name, made with a full bucket when it is new. */
static struct root *
root_get(struct serve *s, const char *name)
{
	struct root *r;
	int64_t now = ldvm__now_ms();

	/* Forget idle roots with full buckets: they are as good as new. */
	for (size_t i = 0; i < s->nr; i++) {
		r = &s->r[i];
		refill(s, r, now);
		if (r->busy == 0 && r->tokens >= BURST &&
		    strcmp(r->name, name) != 0) {
			free(r->name);
			*r = s->r[--s->nr];
			i--;
		}
	}
	for (size_t i = 0; i < s->nr; i++)
		if (strcmp(s->r[i].name, name) == 0)
			return &s->r[i];
	if ((r = realloc(s->r, sizeof(*r) * (s->nr + 1))) == NULL)
		return NULL;
	s->r = r;
	r = &s->r[s->nr];
	memset(r, 0, sizeof(*r));
	if ((r->name = strdup(name)) == NULL)
		return NULL;
	r->tokens = BURST;
	r->stamp = now;
	s->nr++;
	return r;
}

/* Watches the request node of every guest there is; forgets gone ones. */
static int
scan(struct serve *s)
{
	struct ldvm_ctx *ctx = s->ctx;
	unsigned n = 0;
	char **ids = ldvm__xs_dir(ctx, "/local/domain", &n);
	char path[LDVM_XS_PATH_MAX];

	if (ids == NULL)
		return ldvm__errno(ctx, LDVM_EXEN, "cannot list domains");
	for (size_t i = 0; i < s->ng; i++)
		s->g[i].alive = false;
	for (unsigned i = 0; i < n; i++) {
		unsigned long id;
		struct guest *g;

		if (!ldvm__parse_uint(ids[i], strlen(ids[i]), 0x7fef, &id) ||
		    id == 0)
			continue;
		if ((g = find(s, (uint32_t)id)) == NULL &&
		    (g = add(s, (uint32_t)id)) == NULL) {
			free(ids);
			return ldvm__errno(ctx, LDVM_ENOMEM, "realloc");
		}
		g->alive = true;
		if (!g->watched && req_path(ctx, g->domid, "request", path,
		    sizeof(path)) == 0 && ldvm__xs_watch(ctx, path, "open") == 0)
			g->watched = true;
	}
	free(ids);
	for (size_t i = 0; i < s->ng; i++) {
		struct guest *g = &s->g[i];

		if (g->alive)
			continue;
		if (g->watched && req_path(ctx, g->domid, "request", path,
		    sizeof(path)) == 0)
			ldvm__xs_unwatch(ctx, path, "open");
		g->watched = false;
		/*
		 * The requester is gone (@releaseDomain): its session ends now,
		 * whatever stage it is at.  A dead vchan peer never says so
		 * itself, so the worker is told.
		 */
		if (g->worker != 0 && !g->ended) {
			ldvm__log(ctx, LDVM_LOG_INFO, "domain %u is gone: ending "
			    "its request", g->domid);
			kill(g->worker, SIGTERM);
			g->ended = true;
		}
		if (g->worker == 0) {   /* nothing left to remember */
			*g = s->g[--s->ng];
			i--;
		}
	}
	return 0;
}

/* One token of the root's bucket, if it has one. */
static bool
take_token(struct serve *s, struct root *r)
{
	refill(s, r, ldvm__now_ms());
	if (r->tokens < 1.0)
		return false;
	r->tokens -= 1.0;
	return true;
}

/*
 * Who asks: domain domid, called name by the toolstack, is a disposable
 * when the (dom0-only) record of that name holds that domid.  Its root is
 * the guest its record says it was made for, or itself when it was made
 * for nobody (by dom0); an ordinary guest is its own root.  Nothing the
 * domain wrote is read.
 */
static int
whose(struct ldvm_ctx *ctx, uint32_t domid, const char *name, bool *disp,
    char **root)
{
	unsigned long id;
	char *v;
	int rc;

	*disp = false;
	*root = NULL;
	if (ldvm__valid_name(name, LDVM_NAME_MAX)) {
		if ((rc = ldvm__rec_read(ctx, XBT_NULL, name, "domid", &v)) == 0) {
			*disp = ldvm__parse_uint(v, strlen(v), 0x7fef, &id) &&
			    id == domid;
			free(v);
		} else if (rc != LDVM_ENOENT)
			return rc;
	}
	if (*disp && (rc = ldvm__rec_read(ctx, XBT_NULL, name, "for",
	    root)) != 0 && rc != LDVM_ENOENT)
		return rc;
	if (*root == NULL && (*root = strdup(name)) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "strdup");
	return 0;
}

/*
 * Logs why a request was refused and tells the guest: the same reason, or
 * tell when dom0's own detail (paths, configuration errors) is not the
 * guest's business.
 */
static void
refuse_as(struct serve *s, struct guest *g, const char *name, const char *why,
    const char *tell, bool log)
{
	char path[LDVM_XS_PATH_MAX], val[LDVM_ERROR_MAX];

	if (log) {
		char gname[LDVM_NAME_MAX * 2 + 3], reason[256];

		ldvm__log(s->ctx, LDVM_LOG_WARN, "refused a request of %s "
		    "(domain %u): %s", name, g->domid, why);
		ldvm__journal_text(gname, sizeof(gname), name);
		ldvm__journal_text(reason, sizeof(reason), why);
		ldvm__journal(s->ctx, "refused", "-", "guest=%s domid=%u "
		    "reason=%s", gname, g->domid, reason);
	}
	snprintf(val, sizeof(val), "error %s", tell);
	if (req_path(s->ctx, g->domid, "reply", path, sizeof(path)) == 0)
		ldvm__xs_write(s->ctx, XBT_NULL, path, val);
}

static void
refuse(struct serve *s, struct guest *g, const char *name, const char *why,
    bool log)
{
	refuse_as(s, g, name, why, why, log);
}

/*
 * A worker's own context, made after the fork and ldvm__postfork_child
 * (handles are not shared across it), connected to xenstore: *rc says
 * whether it could be.
 */
static struct ldvm_ctx *
worker_ctx(struct serve *s, int *rc)
{
	struct ldvm_ctx *ctx;

	if ((ctx = ldvm_ctx_new()) == NULL)
		_exit(1);
	/* The disposable's answer is capped by RLIMIT_FSIZE: fail, not die. */
	signal(SIGXFSZ, SIG_IGN);
	ldvm_set_log(ctx, s->ctx->logfn, s->ctx->logarg, s->ctx->logmin);
	ldvm_set_journal(ctx, s->ctx->journalfn, s->ctx->journalarg);
	ldvm_set_interrupt(ctx, s->ctx->stop);
	ctx->open_limit_s = s->timeout_s;
	ldvm_set_waitmask(ctx, s->ctx->has_waitmask ? &s->ctx->waitmask :
	    NULL);
	/*
	 * xenstore only: libxl's context is made if a path needs it (a cold
	 * start, ldvm__need), as in dvm-run; a request served from the pool
	 * does not wait for one (some 7 ms under emulation).
	 */
	*rc = ldvm_connect(ctx, LDVM_CONNECT_XS);
	return ctx;
}

/* Serves the request with ctx (rc: whether it could be made), then ends. */
static void __attribute__((noreturn))
work(struct serve *s, struct ldvm_ctx *ctx, int rc, uint32_t domid,
    const char *guest, const char *root, const struct ldvm__openreq *q,
    const struct ldvm_template *t, int64_t t0)
{
	if (rc == 0)
		rc = ldvm__open_work(ctx, domid, root, q, t, s->max_size, t0);
	if (rc != 0)
		ldvm__log(ctx, LDVM_LOG_WARN, "request of %s (domain %u) for %s "
		    "failed: %s", guest, domid, q->name, ctx->err);
	else
		ldvm__log(ctx, LDVM_LOG_INFO, "request of %s (domain %u) for %s "
		    "done", guest, domid, q->name);
	ldvm_ctx_free(ctx);
	_exit(rc == 0 ? 0 : 1);
}

static void __attribute__((noreturn))
worker(struct serve *s, uint32_t domid, const char *guest, const char *root,
    const struct ldvm__openreq *q, const struct ldvm_template *t, int64_t t0)
{
	struct ldvm_ctx *ctx;
	int rc;

	if (s->spare_fd >= 0)
		close(s->spare_fd);     /* the spare's, not this worker's */
	ldvm__postfork_child(s->ctx);
	ctx = worker_ctx(s, &rc);
	work(s, ctx, rc, domid, guest, root, q, t, t0);
}

/*
 * The spare worker: forked while dvm-opend was idle, its context made and
 * connected before any request, it waits for one job on fd; the end of
 * file (dvm-opend gone, or done with it) ends it.  Its template comes from
 * its own copy of dvm-opend's cache, loaded again if that copy is not
 * current: what a request a moment later would have been given.
 */
static void __attribute__((noreturn))
spare_main(struct serve *s, int fd)
{
	const struct ldvm_template *t = NULL;
	struct ldvm_ctx *ctx;
	struct job j;
	ssize_t n;
	int rc;

	ldvm__postfork_child(s->ctx);
	ctx = worker_ctx(s, &rc);
	do
		n = recv(fd, &j, sizeof(j), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(j)) {
		ldvm_ctx_free(ctx);
		_exit(0);
	}
	close(fd);
	if (rc == 0 && (rc = ldvm__tcache_get(ctx, &s->tc, j.tmpl, &t)) == 0 &&
	    !t->dispvm)
		rc = ldvm__err(ctx, LDVM_EPERM, "template %s is no longer for "
		    "disposables", j.tmpl);
	work(s, ctx, rc, j.domid, j.guest, j.root, &j.q, t, j.t0);
}

/* Forks the spare worker; without one, requests fork their own. */
static void
spare_make(struct serve *s)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ldvm__log(s->ctx, LDVM_LOG_DEBUG, "no spare worker: socketpair: "
		    "%s", strerror(errno));
		return;
	}
	if ((pid = fork()) < 0) {
		ldvm__log(s->ctx, LDVM_LOG_DEBUG, "no spare worker: fork: %s",
		    strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		spare_main(s, sv[1]);
	}
	close(sv[1]);
	s->spare = pid;
	s->spare_fd = sv[0];
	s->spare_pidfd = pidfd_open(pid, 0);
}

/*
 * The spare out of dvm-opend's hands: given a job (its process is then a
 * worker, its pidfd passed on), ended by kill (it holds nothing but a
 * xenstore connection) and reaped, or reaped already.
 */
static void
spare_forget(struct serve *s, bool kill_it, bool close_pidfd)
{
	close(s->spare_fd);
	if (kill_it) {
		kill(s->spare, SIGKILL);
		waitpid(s->spare, NULL, 0);
	}
	if (close_pidfd && s->spare_pidfd >= 0)
		close(s->spare_pidfd);
	s->spare = 0;
	s->spare_fd = -1;
	s->spare_pidfd = -1;
}

/*
 * The request handed to the spare worker, whose process then serves it:
 * its pid, and its pidfd in *pidfd; 0 when there is no spare to take it.
 */
static pid_t
spare_give(struct serve *s, uint32_t domid, const char *guest,
    const char *root, const struct ldvm__openreq *q,
    const struct ldvm_template *t, int64_t t0, int *pidfd)
{
	struct job j;
	pid_t pid = s->spare;

	if (pid == 0)
		return 0;
	memset(&j, 0, sizeof(j));
	if (strlen(guest) >= sizeof(j.guest) || strlen(root) >= sizeof(j.root))
		return 0;       /* a worker of its own takes it */
	j.domid = domid;
	j.t0 = t0;
	j.q = *q;
	memcpy(j.guest, guest, strlen(guest));
	memcpy(j.root, root, strlen(root));
	memcpy(j.tmpl, t->name, strlen(t->name));
	if (send(s->spare_fd, &j, sizeof(j), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(j)) {
		spare_forget(s, true, true);
		return 0;
	}
	*pidfd = s->spare_pidfd;
	spare_forget(s, false, false);
	return pid;
}

/* The spare worker reaped if it ended on its own. */
static void
spare_reap(struct serve *s)
{
	if (s->spare != 0 && waitpid(s->spare, NULL, WNOHANG) == s->spare)
		spare_forget(s, false, true);
}

/*
 * Who asks: the name the toolstack gave domid (the guest cannot write
 * it), whether it is a disposable, its root guest, and the name the log
 * uses ("disp3, a disposable of work": whose share it uses).  False, the
 * request refused, when any of it cannot be told.
 */
static bool
identify(struct serve *s, struct guest *g, uint32_t domid, char **dname,
    bool *disp, char **root, char **name)
{
	struct ldvm_ctx *ctx = s->ctx;
	char why[LDVM_ERROR_MAX];

	if ((*dname = ldvm__domain_name(ctx, domid)) == NULL) {
		refuse(s, g, "an unnamed guest", "domain has no name", true);
		return false;
	}
	if (whose(ctx, domid, *dname, disp, root) != 0) {
		snprintf(why, sizeof(why), "%s", ctx->err);
		refuse_as(s, g, *dname, why, "dom0 cannot tell who asks", true);
		return false;
	}
	if (*disp && asprintf(name, "%s, a disposable of %s", *dname,
	    *root) < 0)
		*name = NULL;
	if (*name == NULL && (*name = strdup(*dname)) == NULL) {
		refuse(s, g, *dname, "dom0 is out of memory", true);
		return false;
	}
	return true;
}

/*
 * The limits on what is in progress, for the guest, its root and dom0,
 * that a well-formed request must pass; false when it is refused.
 */
static bool
admit(struct serve *s, struct guest *g, const struct root *r,
    const char *name, const char *root, const struct ldvm__openreq *q)
{
	char why[LDVM_ERROR_MAX];

	if (g->worker != 0) {
		refuse(s, g, name, "a request of this guest is in progress", true);
		return false;
	}
	if (r->busy >= s->max_guest) {
		snprintf(why, sizeof(why), "%d requests of %s in progress "
		    "(open_max_guest)", r->busy, root);
		refuse_as(s, g, name, why, "too many requests in progress",
		    true);
		return false;
	}
	if (s->nworkers >= MAX_WORKERS) {
		refuse(s, g, name, "dom0 is busy", true);
		return false;
	}
	if (q->size > s->max_size) {
		snprintf(why, sizeof(why), "file of %llu bytes is over the "
		    "%llu-byte limit", (unsigned long long)q->size,
		    (unsigned long long)s->max_size);
		refuse(s, g, name, why, true);
		return false;
	}
	/*
	 * A worker holds the guest's file and what comes back, each in a
	 * temporary file: their sum over all workers stays within the budget.
	 */
	if (q->size + s->max_size > s->max_total - s->in_flight) {
		snprintf(why, sizeof(why), "%llu bytes in transit, %llu more "
		    "would pass open_max_total", (unsigned long long)
		    s->in_flight, (unsigned long long)(q->size + s->max_size));
		refuse_as(s, g, name, why, "dom0 is busy", true);
		return false;
	}
	return true;
}

/*
 * The template the policy gives the request q of dname (a disposable when
 * disp), loaded, its name in tmpl; NULL when the request is refused.
 */
static const struct ldvm_template *
decide(struct serve *s, struct guest *g, const char *name, const char *dname,
    bool disp, const struct ldvm__openreq *q, char *tmpl, size_t tmplsz)
{
	struct ldvm_ctx *ctx = s->ctx;
	struct ldvm__policy *pol = NULL;
	const struct ldvm_template *t = NULL;
	char why[LDVM_ERROR_MAX];
	int rc;

	if (ldvm__policy_load(ctx, &pol) != 0) {
		snprintf(why, sizeof(why), "%s", ctx->err);
		refuse_as(s, g, name, why, "dom0 has no usable policy", true);
		return NULL;
	}
	rc = ldvm__policy_decide(ctx, pol, dname, disp, q->tmpl, tmpl, tmplsz);
	ldvm__policy_free(pol);
	if (rc != 0) {
		snprintf(why, sizeof(why), "%s", ctx->err);
		refuse(s, g, name, why, true);
		return NULL;
	}
	if (ldvm__tcache_get(ctx, &s->tc, tmpl, &t) != 0) {
		snprintf(why, sizeof(why), "%s", ctx->err);
		refuse_as(s, g, name, why, "template cannot be loaded", true);
		return NULL;
	}
	if (!t->dispvm) {
		snprintf(why, sizeof(why), "template %s is not for disposables",
		    tmpl);
		refuse(s, g, name, why, true);
		return NULL;
	}
	return t;
}

/* Starts the worker of an admitted request; its share is counted. */
static void
start(struct serve *s, struct guest *g, struct root *r, uint32_t domid,
    const char *name, const char *root, const struct ldvm__openreq *q,
    const struct ldvm_template *t, int64_t t0)
{
	char *rootdup;
	int pidfd = -1;
	pid_t pid;

	if ((rootdup = strdup(root)) == NULL) {
		refuse(s, g, name, "dom0 is out of memory", true);
		return;
	}
	if ((pid = spare_give(s, domid, name, root, q, t, t0, &pidfd)) == 0) {
		if ((pid = fork()) < 0) {
			refuse(s, g, name, "dom0 cannot fork", true);
			free(rootdup);
			return;
		}
		if (pid == 0)
			worker(s, domid, name, root, q, t, t0);
		pidfd = pidfd_open(pid, 0);
	}
	g->worker = pid;
	g->root = rootdup;
	r->busy++;
	g->ended = false;
	g->pidfd = pidfd;
	g->reserved = q->size + s->max_size;
	s->in_flight += g->reserved;
	s->nworkers++;
}

static void
request(struct serve *s, uint32_t domid)
{
	struct ldvm_ctx *ctx = s->ctx;
	struct guest *g = find(s, domid);
	struct root *r;
	struct ldvm__openreq q;
	const struct ldvm_template *t = NULL;
	char path[LDVM_XS_PATH_MAX], why[LDVM_ERROR_MAX], tmpl[LDVM_NAME_MAX + 1];
	char *val, *dname = NULL, *root = NULL, *name = NULL;
	unsigned int len;
	bool disp = false;
	int64_t t0 = ldvm__now_ms();

	if (g == NULL || req_path(ctx, domid, "request", path, sizeof(path)) != 0)
		return;
	/* Read once, then gone: the guest cannot change it under us. */
	if ((val = ldvm__xs_take(ctx, path, &len)) == NULL)
		return;
	if (!identify(s, g, domid, &dname, &disp, &root, &name))
		goto out;
	if ((r = root_get(s, root)) == NULL) {
		refuse(s, g, name, "dom0 is out of memory", true);
		goto out;
	}
	/* Every request costs a token of the root, well-formed or not. */
	if (!take_token(s, r)) {
		refuse(s, g, name, "too many requests", !r->quiet);
		r->quiet = true;
		goto out;
	}
	r->quiet = false;
	if (ldvm__openreq_parse(val, len, &q, why, sizeof(why)) != 0) {
		refuse(s, g, name, why, true);
		goto out;
	}
	if (!admit(s, g, r, name, root, &q) ||
	    (t = decide(s, g, name, dname, disp, &q, tmpl, sizeof(tmpl))) == NULL)
		goto out;
	ldvm__log(ctx, LDVM_LOG_INFO, "%s (domain %u) opens %s (%llu bytes) in "
	    "a disposable of %s", name, domid, q.name,
	    (unsigned long long)q.size, tmpl);
	start(s, g, r, domid, name, root, &q, t, t0);
out:
	free(root);
	free(name);
	free(dname);
	free(val);
}

/* Collects finished workers; garbage collection after any failure. */
static void
reap(struct serve *s, bool block)
{
	bool failed = false;

	for (size_t i = 0; i < s->ng; i++) {
		struct guest *g = &s->g[i];
		int st;

		if (g->worker == 0 || waitpid(g->worker, &st, block ? 0 :
		    WNOHANG) <= 0)
			continue;
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		for (size_t j = 0; j < s->nr; j++)
			if (strcmp(s->r[j].name, g->root) == 0)
				s->r[j].busy--;
		free(g->root);
		g->root = NULL;
		g->worker = 0;
		if (g->pidfd >= 0)
			close(g->pidfd);
		g->pidfd = -1;
		s->in_flight -= g->reserved;
		g->reserved = 0;
		s->nworkers--;
	}
	if (failed) {
		unsigned removed = 0;

		if (ldvm_gc(s->ctx, &removed) == 0 && removed > 0)
			ldvm__log(s->ctx, LDVM_LOG_WARN, "removed %u disposables "
			    "of failed requests", removed);
	}
}

/* The domid in .../local/domain/<id>/data/litedvm/open/request. */
static bool
domid_of(const char *path, uint32_t *domid)
{
	static const char pre[] = LDVM__AREA_PRE;
	static const char post[] = LDVM__AREA_POST "/open/request";
	const char *p = path + sizeof(pre) - 1, *e;
	unsigned long id;

	if (strncmp(path, pre, sizeof(pre) - 1) != 0 ||
	    (e = strchr(p, '/')) == NULL || strcmp(e, post) != 0 ||
	    !ldvm__parse_uint(p, (size_t)(e - p), 0x7fef, &id) || id == 0)
		return false;
	*domid = (uint32_t)id;
	return true;
}

static int
limits(struct serve *s)
{
	char v[64];
	unsigned long rate = DEFAULT_RATE, max_guest = DEFAULT_MAX_GUEST;
	int rc;

	s->max_size = DEFAULT_MAX_SIZE;
	if ((rc = ldvm__conf_get(s->ctx, "open_max_size", v, sizeof(v))) == 0) {
		if (!ldvm__parse_size(v, &s->max_size) || s->max_size == 0)
			return ldvm__err(s->ctx, LDVM_EINVAL, "%s/litedvm.conf: "
			    "bad open_max_size '%s'", ldvm_confdir(), v);
	} else if (rc != LDVM_ENOENT)
		return rc;
	if ((rc = ldvm__conf_get(s->ctx, "open_rate", v, sizeof(v))) == 0) {
		if (!ldvm__parse_uint(v, strlen(v), 6000, &rate) || rate == 0)
			return ldvm__err(s->ctx, LDVM_EINVAL, "%s/litedvm.conf: "
			    "bad open_rate '%s'", ldvm_confdir(), v);
	} else if (rc != LDVM_ENOENT)
		return rc;
	/* Room for at least one file of the largest size each way. */
	s->max_total = DEFAULT_MAX_TOTAL > 2 * s->max_size ? DEFAULT_MAX_TOTAL :
	    2 * s->max_size;
	if ((rc = ldvm__conf_get(s->ctx, "open_max_total", v, sizeof(v))) == 0) {
		if (!ldvm__parse_size(v, &s->max_total) ||
		    s->max_total < 2 * s->max_size)
			return ldvm__err(s->ctx, LDVM_EINVAL, "%s/litedvm.conf: "
			    "bad open_max_total '%s' (at least twice "
			    "open_max_size)", ldvm_confdir(), v);
	} else if (rc != LDVM_ENOENT)
		return rc;
	if ((rc = ldvm__conf_get(s->ctx, "open_max_guest", v, sizeof(v))) == 0) {
		if (!ldvm__parse_uint(v, strlen(v), MAX_WORKERS, &max_guest) ||
		    max_guest == 0)
			return ldvm__err(s->ctx, LDVM_EINVAL, "%s/litedvm.conf: "
			    "bad open_max_guest '%s' (1 to %d)", ldvm_confdir(),
			    v, MAX_WORKERS);
	} else if (rc != LDVM_ENOENT)
		return rc;
	s->max_guest = (int)max_guest;
	if ((rc = ldvm__conf_get(s->ctx, "open_timeout", v, sizeof(v))) == 0) {
		unsigned long secs;

		if (!ldvm__parse_uint(v, strlen(v), 31536000, &secs))
			return ldvm__err(s->ctx, LDVM_EINVAL, "%s/litedvm.conf: "
			    "bad open_timeout '%s' (seconds, 0 for none)",
			    ldvm_confdir(), v);
		s->timeout_s = (unsigned)secs;
	} else if (rc != LDVM_ENOENT)
		return rc;
	s->per_ms = (double)rate / 60000.0;
	return 0;
}

/*
 * Waits for xenstore or a worker's end, then reaps the workers that ended
 * and takes the watches that fired: new and gone domains, requests.
 */
static int
serve_round(struct serve *s)
{
	struct ldvm_ctx *ctx = s->ctx;
	struct pollfd p[1 + MAX_WORKERS];
	int n = 0, rc;
	bool poll_workers = false;
	char **w;

	/* Idle: a worker forked now waits for the next request. */
	spare_reap(s);
	if (s->spare == 0 && s->nworkers == 0)
		spare_make(s);
	p[n].fd = ldvm__xs_fd(ctx);
	p[n++].events = POLLIN;
	for (size_t i = 0; i < s->ng && n < 1 + MAX_WORKERS; i++) {
		if (s->g[i].worker == 0)
			continue;
		if (s->g[i].pidfd < 0)
			poll_workers = true;
		else {
			p[n].fd = s->g[i].pidfd;
			p[n++].events = POLLIN;
		}
	}
	if ((rc = ldvm__interrupted(ctx)) != 0)
		return rc;
	/* Without pidfds (old kernels), workers are looked at often. */
	if (ldvm__poll(ctx, p, (nfds_t)n, poll_workers ? 1000 : -1) < 0 &&
	    errno != EINTR)
		return ldvm__errno(ctx, LDVM_ESYS, "poll");
	reap(s, false);
	while ((w = ldvm__xs_next_watch(ctx)) != NULL) {
		uint32_t domid;

		if (strcmp(w[XS_WATCH_TOKEN], "domains") == 0) {
			if (scan(s) != 0)
				ldvm__log(ctx, LDVM_LOG_WARN, "%s", ctx->err);
		} else if (strcmp(w[XS_WATCH_TOKEN], "open") == 0 &&
		    domid_of(w[XS_WATCH_PATH], &domid))
			request(s, domid);
		free(w);
	}
	return 0;
}

/* Workers end their sessions and tear down their disposables. */
static void
serve_end(struct serve *s)
{
	struct ldvm_ctx *ctx = s->ctx;

	if (s->spare != 0)
		spare_forget(s, true, true);
	for (size_t i = 0; i < s->ng; i++)
		if (s->g[i].worker != 0)
			kill(s->g[i].worker, SIGTERM);
	reap(s, true);
	for (size_t i = 0; i < s->ng; i++) {
		char path[LDVM_XS_PATH_MAX];

		if (s->g[i].watched && req_path(ctx, s->g[i].domid, "request",
		    path, sizeof(path)) == 0)
			ldvm__xs_unwatch(ctx, path, "open");
	}
	ldvm__xs_unwatch(ctx, "@introduceDomain", "domains");
	ldvm__xs_unwatch(ctx, "@releaseDomain", "domains");
	free(s->g);
	for (size_t i = 0; i < s->nr; i++)
		free(s->r[i].name);
	free(s->r);
	ldvm__tcache_clear(&s->tc);
}

int
ldvm_open_serve(struct ldvm_ctx *ctx)
{
	struct serve s = { .ctx = ctx, .spare_fd = -1, .spare_pidfd = -1 };
	struct ldvm__policy *pol;
	int rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL)) != 0 ||
	    (rc = limits(&s)) != 0)
		return rc;
	/* A broken policy stops the service at once, not at the first use. */
	if ((rc = ldvm__policy_load(ctx, &pol)) != 0)
		return rc;
	ldvm__policy_free(pol);
	if ((rc = ldvm__xs_watch(ctx, "@introduceDomain", "domains")) == 0 &&
	    (rc = ldvm__xs_watch(ctx, "@releaseDomain", "domains")) == 0 &&
	    (rc = scan(&s)) == 0) {
		ldvm__log(ctx, LDVM_LOG_INFO, "serving dvm-open requests "
		    "(files up to %llu bytes, %llu in transit, %d at once per "
		    "guest)", (unsigned long long)s.max_size,
		    (unsigned long long)s.max_total, s.max_guest);
		while ((rc = serve_round(&s)) == 0)
			;
	}
	serve_end(&s);
	return rc;
}
