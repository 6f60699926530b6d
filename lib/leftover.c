/*
 * Leftovers: volumes of disposables that have no record any more.  The
 * records live in xenstore, which lives in memory: after a power cut or a
 * dom0 crash the host comes back with no record while the volumes are
 * still on disk.  So every volume litedvm makes lives where only litedvm
 * puts anything and where it can be listed again: files in LDVM_VOL_DIR
 * beside the image of each template, thin snapshots tagged LDVM_LV_TAG,
 * RAM volumes' nodes in LDVM_RAM_DIR and dm devices named litedvm-*.  A
 * volume there whose disposable has neither a record nor a domain is dead
 * and is removed; nothing outside those places is ever touched.
 *
 * One lock orders creation against collection: making volumes holds it
 * shared, collecting holds it exclusive.  A disposable's record is written
 * before it takes the lock, so a collector that found no record for a name
 * cannot meet a volume made under that name meanwhile.  Every step is
 * idempotent: a collector killed half-way leaves work for the next one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "ldvm_internal.h"

#ifndef LDVM_LOCKFILE
#define LDVM_LOCKFILE "/run/litedvm.lock"
#endif

int
ldvm__vol_lock(struct ldvm_ctx *ctx, bool excl, int *fd)
{
	*fd = open(LDVM_LOCKFILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (*fd < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "open %s", LDVM_LOCKFILE);
	while (flock(*fd, excl ? LOCK_EX : LOCK_SH) < 0)
		if (errno != EINTR) {
			close(*fd);
			*fd = -1;
			return ldvm__errno(ctx, LDVM_ESYS, "lock %s",
			    LDVM_LOCKFILE);
		}
	return 0;
}

void
ldvm__vol_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

bool
ldvm__vol_unclaimed(struct ldvm_ctx *ctx, const char *disp, bool mine)
{
	uint32_t domid;

	if (!mine && ldvm__rec_exists(ctx, disp) != 0)
		return false;   /* a record, or no way to know */
	return ldvm__domain_by_name(ctx, disp, &domid) == 0;
}

struct places {
	struct ldvm_ctx *ctx;
	char **dirs;            /* LDVM_VOL_DIR directories */
	unsigned ndirs;
	bool lvm;               /* some template is on LVM */
	unsigned removed;
	struct ldvm__first first;
};

static void
add_dir(struct places *pl, const char *origin)
{
	char buf[PATH_MAX], dir[PATH_MAX], **n;
	unsigned i;

	snprintf(buf, sizeof(buf), "%s", origin);
	if (snprintf(dir, sizeof(dir), "%s/" LDVM_VOL_DIR, dirname(buf)) >=
	    (int)sizeof(dir))
		return;
	for (i = 0; i < pl->ndirs; i++)
		if (strcmp(pl->dirs[i], dir) == 0)
			return;
	if ((n = realloc(pl->dirs, (pl->ndirs + 1) * sizeof(*n))) == NULL)
		return;
	pl->dirs = n;
	if ((pl->dirs[pl->ndirs] = strdup(dir)) != NULL)
		pl->ndirs++;
}

/* Where template name's disposables keep their volumes. */
static int
add_places(void *arg, const char *name)
{
	struct places *pl = arg;
	struct ldvm_ctx *ctx = pl->ctx;
	struct ldvm_template *t;
	int i;

	if (ldvm_template_load(ctx, name, &t) != 0) {
		ldvm__log(ctx, LDVM_LOG_INFO, "gc: skipping template %s: %s",
		    name, ldvm_errmsg(ctx));
		return 0;
	}
	for (i = 0; i < t->cfg.num_disks; i++) {
		const char *o = t->cfg.disks[i].pdev_path;

		if (!t->cfg.disks[i].readwrite || o == NULL)
			continue;
		if (ldvm__lvm_is_lv(ctx, o))
			pl->lvm = true;
		else
			add_dir(pl, o);
	}
	ldvm_template_free(t);
	return 0;
}

static void
collect(struct ldvm_ctx *ctx, struct places *pl, const char *disp,
    const char *path)
{
	if (!ldvm__vol_unclaimed(ctx, disp, false))
		return;
	ldvm__log(ctx, LDVM_LOG_INFO, "%s: left by %s, which has no record "
	    "and no domain: removing", path, disp);
	if (ldvm__first_note(ctx, &pl->first, ldvm__vol_remove(ctx, path)) != 0)
		return;
	pl->removed++;
	{
		char v[300];

		ldvm__journal_text(v, sizeof(v), path);
		ldvm__journal(ctx, "collected", disp, "volume=%s by=gc", v);
	}
}

static void
sweep_dir(struct ldvm_ctx *ctx, struct places *pl, const char *dir)
{
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			ldvm__first_note(ctx, &pl->first, ldvm__errno(ctx,
			    LDVM_ESYS, "%s", dir));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char disp[LDVM_NAME_MAX + 1], vdev[LDVM_NAME_MAX + 1];
		char path[PATH_MAX];

		if (!ldvm__vol_leaf(e->d_name, ".img", disp, sizeof(disp),
		    vdev, sizeof(vdev)) ||
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(path))
			continue;
		collect(ctx, pl, disp, path);
	}
	closedir(d);
}

static void
sweep_ram(struct ldvm_ctx *ctx, void *arg, const char *disp, const char *path)
{
	collect(ctx, arg, disp, path);
}

static int
sweep_lv(struct ldvm_ctx *ctx, void *arg, const char *vg, const char *lv,
    bool tagged)
{
	char disp[LDVM_NAME_MAX + 1], vdev[LDVM_NAME_MAX + 1];
	char path[140];

	/* Only litedvm's: tagged at creation, and named as it names them. */
	if (!tagged || !ldvm__vol_leaf(lv, "", disp, sizeof(disp), vdev,
	    sizeof(vdev)))
		return 0;
	snprintf(path, sizeof(path), "/dev/%s/%s", vg, lv);
	collect(ctx, arg, disp, path);
	return 0;
}

int
ldvm__leftovers(struct ldvm_ctx *ctx, unsigned *removed)
{
	struct places pl = { .ctx = ctx };
	unsigned i;
	int rc, lock;

	*removed = 0;
	/* Where the configured templates' disposables keep their volumes. */
	if ((rc = ldvm_template_list(ctx, add_places, &pl)) != 0 &&
	    rc != LDVM_ENOENT)
		return rc;
	if ((rc = ldvm__vol_lock(ctx, true, &lock)) != 0)
		goto out;
	for (i = 0; i < pl.ndirs; i++)
		sweep_dir(ctx, &pl, pl.dirs[i]);
	ldvm__first_note(ctx, &pl.first, ldvm__ram_sweep(ctx, sweep_ram, &pl));
	if (pl.lvm)
		ldvm__first_note(ctx, &pl.first, ldvm__lvm_list(ctx, NULL,
		    sweep_lv, &pl));
	ldvm__vol_unlock(lock);
	rc = ldvm__first_end(ctx, &pl.first);
	*removed = pl.removed;
out:
	for (i = 0; i < pl.ndirs; i++)
		free(pl.dirs[i]);
	free(pl.dirs);
	return rc;
}
