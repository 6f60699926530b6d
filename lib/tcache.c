/*
 * Templates kept loaded by a long-running tool: dvm-opend parses the same
 * few configurations on every request, and under emulation a parse costs
 * it milliseconds in the requester's wait.  An entry is used only while it
 * is what a fresh load would give: its configuration file has the identity
 * it had before it was read (a file written since has another change
 * time), and the files it boots from give the version it had.  Otherwise
 * the template is loaded again.
 */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "ldvm_internal.h"

/* Whether a and b are the same file, unchanged. */
static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Whether t's version is still what the files it boots from give. */
static bool
files_same(const struct ldvm_template *t)
{
	char v[17];

	ldvm__template_version_now(t, v);
	return strcmp(v, t->version) == 0;
}

int
ldvm__tcache_get(struct ldvm_ctx *ctx, struct ldvm__tcache *c,
    const char *name, const struct ldvm_template **out)
{
	struct ldvm__tcache_ent *e = NULL;
	struct ldvm_template *t;
	char path[PATH_MAX];
	struct stat st;
	bool known;
	int i, rc;

	*out = NULL;
	if ((rc = ldvm__template_path(ctx, name, path)) != 0)
		return rc;
	known = stat(path, &st) == 0;
	for (i = 0; i < LDVM__TCACHE_N; i++)
		if (c->e[i].t != NULL && strcmp(c->e[i].t->name, name) == 0)
			e = &c->e[i];
	if (e != NULL && known && same_file(&e->id, &st) && files_same(e->t)) {
		*out = e->t;
		return 0;
	}
	if ((rc = ldvm_template_load_file(ctx, name, path, &t)) != 0)
		return rc;
	if (e == NULL) {
		e = &c->e[c->next];
		c->next = (c->next + 1) % LDVM__TCACHE_N;
	}
	ldvm_template_free(e->t);
	e->t = t;
	/* Never used again when its identity was not read before the load. */
	if (known)
		e->id = st;
	else
		memset(&e->id, 0, sizeof(e->id));
	*out = t;
	return 0;
}

void
ldvm__tcache_clear(struct ldvm__tcache *c)
{
	int i;

	for (i = 0; i < LDVM__TCACHE_N; i++) {
		ldvm_template_free(c->e[i].t);
		c->e[i].t = NULL;
	}
	c->next = 0;
}
