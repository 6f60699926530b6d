/*
 * Garbage collection and the listing of disposables: above disposables
 * and pools, it judges every record (owner gone, domain gone, a pool
 * member still kept) and tears down what nobody has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ldvm_internal.h"

struct take {
	const char *name;
	const char *seen;       /* owner as seen when deciding; NULL: none */
	char self[64];
};

static int
take_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct take *k = arg;
	char *cur = NULL;
	int rc, same;

	rc = ldvm__rec_read(ctx, t, k->name, "owner", &cur);
	if (rc != 0 && rc != LDVM_ENOENT)
		return rc;
	same = (cur == NULL && k->seen == NULL) ||
	    (cur != NULL && k->seen != NULL && strcmp(cur, k->seen) == 0);
	free(cur);
	if (!same)
		return LDVM_EPERM;      /* someone claimed it meanwhile */
	return ldvm__rec_write(ctx, t, k->name, "owner", k->self);
}

/*
 * Garbage collection decides on what it saw; take the record over only if
 * its owner is still that, so a concurrent claim always wins.
 */
static int
take_over(struct ldvm_ctx *ctx, const char *name, const char *seen)
{
	struct take k = { .name = name, .seen = seen };

	if (ldvm__owner_self(k.self, sizeof(k.self)) < 0)
		return LDVM_ESYS;
	return ldvm__xs_txn(ctx, take_txn, &k);
}

/* A record past creation whose domain no longer exists. */
static bool
domain_gone(struct ldvm_ctx *ctx, const char *name)
{
	uint32_t domid;
	char *state;
	bool created;

	if (ldvm__rec_read(ctx, XBT_NULL, name, "state", &state) != 0)
		return false;
	created = strcmp(state, "ready") == 0 || strcmp(state, "running") == 0;
	free(state);
	if (!created || ldvm__disp_recorded_domid(ctx, name, &domid) != 0)
		return false;
	return domid == (uint32_t)INVALID_DOMID;
}

typedef void record_fn(struct ldvm_ctx *ctx, const char *name, void *arg);

/* Calls fn for every record of a valid name. */
static int
each_record(struct ldvm_ctx *ctx, record_fn *fn, void *arg)
{
	char **names = NULL;
	unsigned i, n = 0;
	int rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL)) != 0)
		return rc;
	if ((rc = ldvm__rec_list(ctx, LDVM_XS_ROOT "/disp", &names, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		if (ldvm__valid_name(names[i], LDVM_NAME_MAX))
			fn(ctx, names[i], arg);
	free(names);
	return 0;
}

struct sweep {
	struct ldvm__first f;
	unsigned removed;
};

/* Tears the record of name down when its owner or domain is gone. */
static void
collect(struct ldvm_ctx *ctx, const char *name, void *arg)
{
	struct sweep *s = arg;
	char *owner = NULL, extra[96];
	bool alive, handoff;
	int rc;

	rc = ldvm__rec_read(ctx, XBT_NULL, name, "owner", &owner);
	if (rc == LDVM_ENOENT)
		owner = NULL;   /* half-written record: nobody has it */
	else if (ldvm__first_note(ctx, &s->f, rc) != 0)
		return;
	alive = owner != NULL && (ldvm__owner_alive(owner) ||
	    ldvm__pool_keeps(ctx, name));
	/* No owner at all: a used one handed to its teardown. */
	handoff = owner != NULL && owner[0] == '\0';
	snprintf(extra, sizeof(extra), "by=gc was_owner=%s",
	    owner != NULL && owner[0] != '\0' &&
	    ldvm__valid_text(owner, strlen(owner)) &&
	    strchr(owner, ' ') == NULL ? owner : "-");
	if ((alive && !domain_gone(ctx, name)) ||
	    take_over(ctx, name, owner) != 0) {
		free(owner);
		return;
	}
	free(owner);
	ldvm__log(ctx, LDVM_LOG_INFO, "%s: owner or domain gone, tearing down",
	    name);
	if (!handoff)
		ldvm__journal_rec(ctx, "collected", name, extra);
	if (ldvm__first_note(ctx, &s->f, ldvm__teardown(ctx, name)) == 0)
		s->removed++;
}

int
ldvm_gc(struct ldvm_ctx *ctx, unsigned *removed)
{
	struct sweep s = { .removed = 0 };
	unsigned n;
	int rc;

	*removed = 0;
	if ((rc = each_record(ctx, collect, &s)) != 0)
		return rc;
	*removed = s.removed;
	/* Then volumes no record describes: a reboot emptied xenstore. */
	ldvm__first_note(ctx, &s.f, ldvm__leftovers(ctx, &n));
	*removed += n;
	return ldvm__first_end(ctx, &s.f);
}

struct lister {
	ldvm_list_fn *fn;
	void *arg;
};

static void
list_one(struct ldvm_ctx *ctx, const char *name, void *arg)
{
	struct lister *l = arg;
	struct ldvm_info info;
	char *tmpl = NULL, *state = NULL, *owner = NULL, *created = NULL;
	uint64_t memkb;
	unsigned long c;

	memset(&info, 0, sizeof(info));
	info.name = name;
	ldvm__rec_read(ctx, XBT_NULL, name, "template", &tmpl);
	ldvm__rec_read(ctx, XBT_NULL, name, "state", &state);
	ldvm__rec_read(ctx, XBT_NULL, name, "owner", &owner);
	ldvm__rec_read(ctx, XBT_NULL, name, "created", &created);
	info.tmpl = tmpl != NULL ? tmpl : "?";
	info.state = state != NULL ? state : "?";
	info.owner = owner != NULL ? owner : "";
	info.pooled = owner != NULL && strcmp(owner, "pool") == 0;
	info.owner_alive = owner != NULL && ldvm__owner_alive(owner);
	if (created != NULL &&
	    ldvm__parse_uint(created, strlen(created), ~0UL, &c))
		info.age_s = (long)(time(NULL) - (time_t)c);
	ldvm__disp_recorded_domid(ctx, name, &info.domid);
	if (info.domid == (uint32_t)INVALID_DOMID ||
	    ldvm__domain_memkb(ctx, info.domid, &memkb) != 0)
		info.domid = (uint32_t)INVALID_DOMID;
	else
		info.memkb = memkb;
	l->fn(l->arg, &info);
	free(tmpl);
	free(state);
	free(owner);
	free(created);
}

int
ldvm_list(struct ldvm_ctx *ctx, ldvm_list_fn *fn, void *arg)
{
	struct lister l = { fn, arg };

	return each_record(ctx, list_one, &l);
}
