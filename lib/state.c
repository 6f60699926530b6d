/*
 * The state tree: one dom0-only xenstore record per disposable, written
 * before anything is created and removed last, so any process can see
 * what exists and finish or undo it.
 *
 *   /litedvm/next                  next disposable number
 *   /litedvm/disp/<name>/template  template name
 *                       /state     creating booting ready running dying
 *                       /owner     "<pid>:<start time>" of the owner
 *                       /created   seconds since the epoch
 *                       /uuid      the domain's UUID, before it exists
 *                       /domid     once the domain exists
 *                       /volumes/<vdev>  snapshot path, before it exists
 *                       /chan      last agent listener claimed
 *                       /version   the template version it was made from
 *                       /pool      template whose pool it is bound for
 *                       /for       dvm-open: the guest it serves (root)
 *   /litedvm/pool/<template>/<name>   paused, ready pool members
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ldvm_internal.h"

#define MAX_ALLOC_TRIES 1000

int
ldvm__proc_start(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	/* An ended process not yet reaped (the zombie) is not alive. */
	if (p[0] != ' ' || p[1] == 'Z' || p[1] == 'X')
		return -1;
	/* p is at the blank before field 3 (state); start time is field 22. */
	for (field = 3; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu", start) != 1)
		return -1;
	return 0;
}

int
ldvm__owner_self(char *buf, size_t size)
{
	unsigned long long start;
	pid_t pid = getpid();

	if (ldvm__proc_start(pid, &start) < 0)
		return -1;
	snprintf(buf, size, "%d:%llu", (int)pid, start);
	return 0;
}

bool
ldvm__owner_alive(const char *owner)
{
	unsigned long long want, start;
	int pid;
	char tail;

	if (sscanf(owner, "%d:%llu%c", &pid, &want, &tail) != 2 || pid <= 0)
		return false;
	if (ldvm__proc_start(pid, &start) < 0)
		return false;
	return start == want;
}

struct alloc {
	const char *tmpl;
	const char *owner;
	const char *version;
	int pool_limit;     /* < 0: not for a pool */
	const char *want;   /* a name of the caller's choosing, or NULL */
	char *name;         /* out, LDVM_NAME_MAX + 1 */
};

/* Records bound for (or in) the pool of tmpl, counted inside t. */
static int
pool_count(struct ldvm_ctx *ctx, xs_transaction_t t, const char *tmpl,
    int *count)
{
	char **names, path[LDVM_XS_PATH_MAX];
	unsigned i, n;

	*count = 0;
	names = xs_directory(ctx->xs, t, LDVM_XS_ROOT "/disp", &n);
	if (names == NULL)
		return errno == ENOENT ? 0 : ldvm__errno(ctx, errno == EAGAIN ?
		    LDVM_EAGAIN : LDVM_EXEN, "xenstore list " LDVM_XS_ROOT
		    "/disp");
	for (i = 0; i < n; i++) {
		char *v;

		if (snprintf(path, sizeof(path), LDVM_XS_ROOT "/disp/%s/pool",
		    names[i]) >= (int)sizeof(path))
			continue;
		if ((v = xs_read(ctx->xs, t, path, NULL)) != NULL) {
			if (strcmp(v, tmpl) == 0)
				(*count)++;
			free(v);
		} else if (errno == EAGAIN) {
			free(names);
			return ldvm__errno(ctx, LDVM_EAGAIN, "xenstore read");
		}
	}
	free(names);
	return 0;
}

static int
alloc_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct alloc *a = arg;
	unsigned long next = 1;
	char path[128], *s, val[32];
	unsigned i;
	int rc;

	if ((rc = ldvm__xs_read(ctx, t, LDVM_XS_ROOT "/next", &s)) == 0) {
		if (!ldvm__parse_uint(s, strlen(s), 999999999, &next))
			next = 1;
		free(s);
	} else if (rc != LDVM_ENOENT)
		return rc;
	else {
		/* First use: make the whole tree dom0's alone. */
		if ((rc = ldvm__xs_write(ctx, t, LDVM_XS_ROOT, "")) != 0 ||
		    (rc = ldvm__xs_dom0_only(ctx, t, LDVM_XS_ROOT)) != 0)
			return rc;
	}
	if (a->want != NULL) {
		/* A name of the caller's: never a pool's, never /next's. */
		snprintf(a->name, LDVM_NAME_MAX + 1, "%s", a->want);
		snprintf(path, sizeof(path), LDVM_XS_ROOT "/disp/%s", a->name);
		if ((s = xs_read(ctx->xs, t, path, NULL)) != NULL) {
			free(s);
			return ldvm__err(ctx, LDVM_EEXIST, "the name %s is "
			    "taken by another disposable", a->name);
		}
		if (errno != ENOENT)
			return ldvm__errno(ctx, errno == EAGAIN ? LDVM_EAGAIN :
			    LDVM_EXEN, "xenstore read %s", path);
		goto chosen;
	}
	for (i = 0; i < MAX_ALLOC_TRIES; i++, next++) {
		if (next > 999999999)
			next = 1;
		snprintf(a->name, LDVM_NAME_MAX + 1, "disp%lu", next);
		snprintf(path, sizeof(path), LDVM_XS_ROOT "/disp/%s", a->name);
		if ((s = xs_read(ctx->xs, t, path, NULL)) == NULL) {
			if (errno == ENOENT)
				break;
			return ldvm__errno(ctx, errno == EAGAIN ? LDVM_EAGAIN :
			    LDVM_EXEN, "xenstore read %s", path);
		}
		free(s);
	}
	if (i == MAX_ALLOC_TRIES)
		return ldvm__err(ctx, LDVM_EAGAIN, "no free disposable name");
	if (a->pool_limit >= 0) {
		int count;

		if ((rc = pool_count(ctx, t, a->tmpl, &count)) != 0)
			return rc;
		if (count >= a->pool_limit)
			return ldvm__err(ctx, LDVM_EEXIST, "pool of %s is full "
			    "(%d)", a->tmpl, count);
		if ((rc = ldvm__rec_write(ctx, t, a->name, "pool", a->tmpl)))
			return rc;
	}
	snprintf(val, sizeof(val), "%lu", next + 1);
	if ((rc = ldvm__xs_write(ctx, t, LDVM_XS_ROOT "/next", val)) != 0)
		return rc;
chosen:
	snprintf(val, sizeof(val), "%lld", (long long)time(NULL));
	if ((rc = ldvm__rec_write(ctx, t, a->name, "template", a->tmpl)) ||
	    (rc = ldvm__rec_write(ctx, t, a->name, "state", "creating")) ||
	    (rc = ldvm__rec_write(ctx, t, a->name, "owner", a->owner)) ||
	    (rc = ldvm__rec_write(ctx, t, a->name, "created", val)) ||
	    (rc = ldvm__rec_write(ctx, t, a->name, "version", a->version)))
		return rc;
	return 0;
}

int
ldvm__rec_new(struct ldvm_ctx *ctx, const char *tmpl, const char *version,
    int pool_limit, const char *want, char *name)
{
	char owner[64];
	struct alloc a = { .tmpl = tmpl, .owner = owner, .name = name,
	    .version = version, .pool_limit = pool_limit, .want = want };

	if (ldvm__owner_self(owner, sizeof(owner)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "/proc/self/stat");
	return ldvm__xs_txn(ctx, alloc_txn, &a);
}

int
ldvm__rec_path(struct ldvm_ctx *ctx, char *buf, size_t size, const char *name,
    const char *key)
{
	if (!ldvm__valid_name(name, LDVM_NAME_MAX))
		return ldvm__err(ctx, LDVM_EINVAL, "invalid disposable name '%s'",
		    name);
	if (key == NULL)
		return ldvm__path(ctx, buf, size, LDVM_XS_ROOT "/disp/%s", name);
	return ldvm__path(ctx, buf, size, LDVM_XS_ROOT "/disp/%s/%s", name,
	    key);
}

int
ldvm__rec_write(struct ldvm_ctx *ctx, xs_transaction_t t, const char *name,
    const char *key, const char *val)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if ((rc = ldvm__rec_path(ctx, path, sizeof(path), name, key)) != 0)
		return rc;
	return ldvm__xs_write(ctx, t, path, val);
}

int
ldvm__rec_read(struct ldvm_ctx *ctx, xs_transaction_t t, const char *name,
    const char *key, char **val)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if ((rc = ldvm__rec_path(ctx, path, sizeof(path), name, key)) != 0)
		return rc;
	return ldvm__xs_read(ctx, t, path, val);
}

int
ldvm__rec_rm(struct ldvm_ctx *ctx, const char *name)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if ((rc = ldvm__rec_path(ctx, path, sizeof(path), name, NULL)) != 0)
		return rc;
	return ldvm__xs_rm(ctx, XBT_NULL, path);
}

int
ldvm__rec_rm_key(struct ldvm_ctx *ctx, const char *name, const char *key)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if ((rc = ldvm__rec_path(ctx, path, sizeof(path), name, key)) != 0)
		return rc;
	return ldvm__xs_rm(ctx, XBT_NULL, path);
}

int
ldvm__rec_exists(struct ldvm_ctx *ctx, const char *name)
{
	char path[LDVM_XS_PATH_MAX], *v;
	int rc;

	if ((rc = ldvm__rec_path(ctx, path, sizeof(path), name, NULL)) != 0)
		return rc;
	if ((rc = ldvm__xs_read(ctx, XBT_NULL, path, &v)) == LDVM_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	free(v);
	return 1;
}

int
ldvm__rec_list(struct ldvm_ctx *ctx, const char *sub, char ***names,
    unsigned *n)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	*names = NULL;
	*n = 0;
	if ((rc = ldvm__path(ctx, path, sizeof(path), "%s", sub)) != 0)
		return rc;
	*names = xs_directory(ctx->xs, XBT_NULL, path, n);
	if (*names == NULL) {
		*n = 0;
		if (errno == ENOENT)
			return 0;
		return ldvm__errno(ctx, LDVM_EXEN, "xenstore list %s", path);
	}
	return 0;
}

int
ldvm__rec_pool_path(struct ldvm_ctx *ctx, char *buf, size_t size,
    const char *tmpl, const char *name)
{
	if (name == NULL)
		return ldvm__path(ctx, buf, size, LDVM_XS_ROOT "/pool/%s", tmpl);
	return ldvm__path(ctx, buf, size, LDVM_XS_ROOT "/pool/%s/%s", tmpl,
	    name);
}

void
ldvm__rec_unpool(struct ldvm_ctx *ctx, const char *name)
{
	char path[LDVM_XS_PATH_MAX], *tmpl;

	if (ldvm__rec_read(ctx, XBT_NULL, name, "template", &tmpl) != 0)
		return;
	if (ldvm__rec_pool_path(ctx, path, sizeof(path), tmpl, name) == 0)
		ldvm__xs_rm(ctx, XBT_NULL, path);
	free(tmpl);
}
