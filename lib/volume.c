/*
 * Copy-on-write volumes: a disposable's writable disk is a reflink clone of
 * the template's image (FICLONE, instant on btrfs and XFS), or a plain copy
 * where the filesystem cannot clone.  The copies live in a directory of
 * litedvm's own beside the image (LDVM_VOL_DIR), so that after a reboot,
 * which empties xenstore, garbage collection can still list them.  Removal
 * is idempotent and also detaches loop devices left behind by a killed
 * hotplug script.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ldvm_internal.h"

const char *
ldvm__vol_drvname(enum ldvm__voldrv drv)
{
	switch (drv) {
	case LDVM_VOL_REFLINK:
		return "reflink";
	case LDVM_VOL_COPY:
		return "copy";
	case LDVM_VOL_THIN:
		return "lvm-thin";
	case LDVM_VOL_RAM:
		return "ram";
	}
	return "none";
}

/* Copies what has data, skipping holes, so sparse images stay sparse. */
static int
copy_sparse(struct ldvm_ctx *ctx, int in, int out, off_t size,
    const char *origin)
{
	off_t data = 0, hole;

	if (ftruncate(out, size) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "truncate copy of %s",
		    origin);
	while (data < size) {
		if ((data = lseek(in, data, SEEK_DATA)) < 0) {
			if (errno == ENXIO)
				break;
			return ldvm__errno(ctx, LDVM_ESYS, "seek %s", origin);
		}
		if ((hole = lseek(in, data, SEEK_HOLE)) < 0)
			return ldvm__errno(ctx, LDVM_ESYS, "seek %s", origin);
		while (data < hole) {
			off_t o_in = data, o_out = data;
			ssize_t n = copy_file_range(in, &o_in, out, &o_out,
			    (size_t)(hole - data), 0);

			if (n < 0)
				return ldvm__errno(ctx, LDVM_ESYS, "copy %s",
				    origin);
			if (n == 0)
				return ldvm__err(ctx, LDVM_ESYS,
				    "copy %s: file shrank", origin);
			data += n;
		}
	}
	return 0;
}

int
ldvm__vol_plan(struct ldvm_ctx *ctx, const char *origin, const char *disp,
    const char *vdev, bool ram, char *dst, size_t size)
{
	char dir[PATH_MAX], vg[65], lv[65];
	int n;

	if (!ldvm__valid_name(vdev, LDVM_NAME_MAX))
		return ldvm__err(ctx, LDVM_EINVAL, "unusable vdev name '%s'",
		    vdev);
	if (ram)
		n = snprintf(dst, size, LDVM_RAM_DIR "/%s-%s.dev", disp, vdev);
	else if (ldvm__lvm_is_lv(ctx, origin) &&
	    ldvm__lvm_split(origin, vg, sizeof(vg), lv, sizeof(lv)))
		n = snprintf(dst, size, "/dev/%s/%s-%s", vg, disp, vdev);
	else {
		/* Beside the origin: a reflink clone must stay on its
		 * filesystem. */
		snprintf(dir, sizeof(dir), "%s", origin);
		n = snprintf(dst, size, "%s/" LDVM_VOL_DIR "/%s-%s.img",
		    dirname(dir), disp, vdev);
	}
	if (n < 0 || (size_t)n >= size)
		return ldvm__err(ctx, LDVM_EINVAL, "volume path too long");
	return 0;
}

bool
ldvm__vol_parse(const char *path, char *disp, size_t dsize, char *vdev,
    size_t vsize)
{
	char vg[65], lv[65];
	const char *leaf, *p;
	size_t dl = strlen(LDVM_VOL_DIR);

	if (ldvm__lvm_split(path, vg, sizeof(vg), lv, sizeof(lv)))
		return ldvm__vol_leaf(lv, "", disp, dsize, vdev, vsize);
	if (ldvm__ram_path(path))
		return ldvm__vol_leaf(path + strlen(LDVM_RAM_DIR) + 1, ".dev",
		    disp, dsize, vdev, vsize);
	if (path[0] != '/' || (leaf = strrchr(path, '/')) == NULL)
		return false;
	/* The parent directory must be litedvm's own. */
	for (p = leaf; p > path && p[-1] != '/'; p--)
		;
	if ((size_t)(leaf - p) != dl || strncmp(p, LDVM_VOL_DIR, dl) != 0 ||
	    p == path)
		return false;
	return ldvm__vol_leaf(leaf + 1, ".img", disp, dsize, vdev, vsize);
}

/* Makes dst's directory, litedvm's own, if it is not there yet. */
static int
make_voldir(struct ldvm_ctx *ctx, const char *dst)
{
	char buf[PATH_MAX], *dir;
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", dst);
	dir = dirname(buf);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ldvm__errno(ctx, LDVM_ESYS, "create %s", dir);
	if (lstat(dir, &st) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return ldvm__err(ctx, LDVM_EPERM, "%s is not a directory of "
		    "litedvm's", dir);
	return 0;
}

static bool
is_lv_path(const char *path)
{
	char vg[65], lv[65];

	return ldvm__lvm_split(path, vg, sizeof(vg), lv, sizeof(lv));
}

int
ldvm__vol_snapshot(struct ldvm_ctx *ctx, const char *origin, const char *dst,
    uint64_t ramcap, enum ldvm__voldrv *drv)
{
	struct stat st;
	int in, out, rc = 0;

	if (ldvm__ram_path(dst)) {
		*drv = LDVM_VOL_RAM;
		return ldvm__ram_create(ctx, origin, dst, ramcap);
	}
	if (is_lv_path(dst)) {
		*drv = LDVM_VOL_THIN;
		return ldvm__lvm_snapshot(ctx, origin, dst);
	}

	if ((in = open(origin, O_RDONLY | O_CLOEXEC)) < 0)
		return ldvm__errno(ctx, errno == ENOENT ? LDVM_ENOENT :
		    LDVM_ESYS, "template volume %s", origin);
	if ((rc = make_voldir(ctx, dst)) != 0) {
		close(in);
		return rc;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return ldvm__err(ctx, LDVM_EINVAL,
		    "template volume %s is not a regular file", origin);
	}
	/* O_EXCL: never clobber a file someone else owns. */
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = ldvm__errno(ctx, errno == EEXIST ? LDVM_EEXIST :
		    LDVM_ESYS, "create %s", dst);
		close(in);
		return rc;
	}
	if (ioctl(out, FICLONE, in) == 0)
		*drv = LDVM_VOL_REFLINK;
	else if (errno == EOPNOTSUPP || errno == EXDEV || errno == EINVAL ||
	    errno == ENOTTY) {
		ldvm__log(ctx, LDVM_LOG_WARN, "%s: filesystem cannot clone, "
		    "copying %lld MiB (slow); keep template volumes on btrfs, "
		    "XFS with reflink, or LVM thin", origin,
		    (long long)(st.st_size >> 20));
		*drv = LDVM_VOL_COPY;
		rc = copy_sparse(ctx, in, out, st.st_size, origin);
	} else
		rc = ldvm__errno(ctx, LDVM_ESYS, "clone %s", origin);
	if (rc == 0 && fsync(out) < 0 && *drv == LDVM_VOL_COPY)
		rc = ldvm__errno(ctx, LDVM_ESYS, "fsync %s", dst);
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = ldvm__errno(ctx, LDVM_ESYS, "close %s", dst);
	if (rc != 0)
		unlink(dst);
	return rc;
}

/* Detaches every loop device whose backing file is path. */
static int
detach_loops(struct ldvm_ctx *ctx, const char *path)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if ((d = opendir("/sys/block")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char bf[PATH_MAX], buf[PATH_MAX + 1], dev[PATH_MAX];
		FILE *f;
		size_t n;
		int fd;

		if (strncmp(e->d_name, "loop", 4) != 0)
			continue;
		snprintf(bf, sizeof(bf), "/sys/block/%s/loop/backing_file",
		    e->d_name);
		if ((f = fopen(bf, "re")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (n > 0 && buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		/* The kernel appends " (deleted)" once the file is gone. */
		if (strcmp(buf, path) != 0 &&
		    !(strncmp(buf, path, strlen(path)) == 0 &&
		    strcmp(buf + strlen(path), " (deleted)") == 0))
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
		if ((fd = open(dev, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
			rc = ldvm__errno(ctx, LDVM_ESYS, "detach %s from %s",
			    dev, path);
		close(fd);
	}
	closedir(d);
	return rc;
}

int
ldvm__vol_remove(struct ldvm_ctx *ctx, const char *path)
{
	int rc;

	if (ldvm__ram_path(path))
		return ldvm__ram_remove(ctx, path);
	if (is_lv_path(path))
		return ldvm__lvm_remove(ctx, path);
	rc = detach_loops(ctx, path);

	if (unlink(path) < 0 && errno != ENOENT)
		return ldvm__errno(ctx, LDVM_ESYS, "remove %s", path);
	return rc;
}
