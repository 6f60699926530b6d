/*
 * RAM-only volumes (template key litedvm_volatile = "ram"): a device-mapper
 * snapshot of the template's disk whose exceptions live in memory only.
 *
 *   /dev/mapper-less node  LDVM_RAM_DIR/<disp>-<vdev>.dev  (what Xen gets)
 *   dm device              litedvm-<disp>-<vdev>: target "snapshot",
 *                          non-persistent ("N") exception store
 *   origin                 the template's block device, or a read-only loop
 *                          device over its image file
 *   COW store              a loop device over an unnamed (O_TMPFILE) file
 *                          of the size cap on the tmpfs LDVM_RAM_DIR
 *
 * Both loop devices are auto-clearing: they go away when their last opener
 * does, that is with the dm device, or with this process if it dies before
 * the dm device holds them.  The COW file has no name, so its pages are
 * freed with its loop device.  What can be left after a SIGKILL is the dm
 * device and its node; both carry the disposable's name and are collected
 * by ldvm__ram_sweep.  The node path is recorded before anything is made.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ldvm_internal.h"

#define DM_PREFIX "litedvm-"
#define DM_CONTROL "/dev/mapper/control"

bool
ldvm__ram_path(const char *path)
{
	size_t n = strlen(LDVM_RAM_DIR);

	return strncmp(path, LDVM_RAM_DIR "/", n + 1) == 0 &&
	    strchr(path + n + 1, '/') == NULL;
}

/* The dm name of the node at path: litedvm-<disp>-<vdev>. */
static int
dm_name(struct ldvm_ctx *ctx, const char *path, char *name, size_t size)
{
	char disp[LDVM_NAME_MAX + 1], vdev[LDVM_NAME_MAX + 1];

	if (!ldvm__ram_path(path) ||
	    !ldvm__vol_leaf(path + strlen(LDVM_RAM_DIR) + 1, ".dev", disp,
	    sizeof(disp), vdev, sizeof(vdev)) ||
	    (size_t)snprintf(name, size, DM_PREFIX "%s-%s", disp, vdev) >=
	    size)
		return ldvm__err(ctx, LDVM_EINVAL, "not a RAM volume: %s",
		    path);
	return 0;
}

static void
dm_init(struct dm_ioctl *io, size_t size, const char *name)
{
	memset(io, 0, size);
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof(*io);
	if (name != NULL)
		snprintf(io->name, sizeof(io->name), "%s", name);
}

static int
dm_open(struct ldvm_ctx *ctx)
{
	int fd;

	if ((fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC)) < 0)
		ldvm__errno(ctx, LDVM_ESYS, "%s (is dm_mod loaded?)",
		    DM_CONTROL);
	return fd;
}

/* Removes dm device name; gone already is fine, busy is deferred. */
static int
dm_remove(struct ldvm_ctx *ctx, int fd, const char *name)
{
	struct dm_ioctl io;

	dm_init(&io, sizeof(io), name);
	if (ioctl(fd, DM_DEV_REMOVE, &io) == 0 || errno == ENXIO)
		return 0;
	if (errno == EBUSY) {
		/* Still open (blkback letting go): removed on last close. */
		dm_init(&io, sizeof(io), name);
		io.flags = DM_DEFERRED_REMOVE;
		if (ioctl(fd, DM_DEV_REMOVE, &io) == 0 || errno == ENXIO)
			return 0;
	}
	return ldvm__errno(ctx, LDVM_ESYS, "remove device-mapper device %s",
	    name);
}

/*
 * Puts fd on a free loop device, auto-clearing; returns the loop device's
 * open descriptor (holding it until the caller closes it), or -1.
 */
static int
loop_attach(struct ldvm_ctx *ctx, int fd, bool ro, dev_t *dev)
{
	struct loop_config lc;
	struct stat st;
	int ctl, lfd = -1, tries;

	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0) {
		ldvm__errno(ctx, LDVM_ESYS, "/dev/loop-control");
		return -1;
	}
	for (tries = 0; tries < 64; tries++) {
		char path[32];
		int n;

		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0) {
			ldvm__errno(ctx, LDVM_ESYS, "no free loop device");
			break;
		}
		snprintf(path, sizeof(path), "/dev/loop%d", n);
		if ((lfd = open(path, (ro ? O_RDONLY : O_RDWR) |
		    O_CLOEXEC)) < 0) {
			ldvm__errno(ctx, LDVM_ESYS, "%s", path);
			break;
		}
		memset(&lc, 0, sizeof(lc));
		lc.fd = (uint32_t)fd;
		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR |
		    (ro ? LO_FLAGS_READ_ONLY : 0);
		if (ioctl(lfd, LOOP_CONFIGURE, &lc) == 0) {
			if (fstat(lfd, &st) < 0) {
				ldvm__errno(ctx, LDVM_ESYS, "%s", path);
				break;
			}
			*dev = st.st_rdev;
			close(ctl);
			return lfd;
		}
		close(lfd);
		lfd = -1;
		if (errno != EBUSY) {   /* EBUSY: taken meanwhile */
			ldvm__errno(ctx, LDVM_ESYS, "configure %s", path);
			break;
		}
	}
	if (lfd >= 0)
		close(lfd);
	close(ctl);
	return -1;
}

/* LDVM_RAM_DIR: litedvm's own directory, on a filesystem in memory. */
static int
ram_dir(struct ldvm_ctx *ctx)
{
	struct statfs sf;
	struct stat st;

	if (mkdir(LDVM_RAM_DIR, 0700) < 0 && errno != EEXIST)
		return ldvm__errno(ctx, LDVM_ESYS, "create %s", LDVM_RAM_DIR);
	if (lstat(LDVM_RAM_DIR, &st) < 0 || statfs(LDVM_RAM_DIR, &sf) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", LDVM_RAM_DIR);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return ldvm__err(ctx, LDVM_EPERM, "%s is not a directory of "
		    "litedvm's", LDVM_RAM_DIR);
	if (sf.f_type != TMPFS_MAGIC && sf.f_type != RAMFS_MAGIC)
		return ldvm__err(ctx, LDVM_EINVAL, "%s is not on tmpfs: RAM "
		    "volumes need it in memory", LDVM_RAM_DIR);
	return 0;
}

/* The origin's device and size in 512-byte sectors; *lfd its loop. */
static int
origin_dev(struct ldvm_ctx *ctx, const char *origin, dev_t *dev,
    uint64_t *sectors, int *lfd)
{
	struct stat st;
	uint64_t bytes;
	int fd, rc = 0;

	*lfd = -1;
	if ((fd = open(origin, O_RDONLY | O_CLOEXEC)) < 0)
		return ldvm__errno(ctx, errno == ENOENT ? LDVM_ENOENT :
		    LDVM_ESYS, "template volume %s", origin);
	if (fstat(fd, &st) < 0)
		rc = ldvm__errno(ctx, LDVM_ESYS, "%s", origin);
	else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			rc = ldvm__errno(ctx, LDVM_ESYS, "size of %s", origin);
		*dev = st.st_rdev;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
		if ((*lfd = loop_attach(ctx, fd, true, dev)) < 0)
			rc = LDVM_ESYS;
	} else
		rc = ldvm__err(ctx, LDVM_EINVAL, "template volume %s is "
		    "neither a file nor a block device", origin);
	close(fd);
	if (rc == 0 && (*sectors = bytes / 512) == 0)
		rc = ldvm__err(ctx, LDVM_EINVAL, "template volume %s is "
		    "empty", origin);
	return rc;
}

/* A /sys or /proc file's first line, into buf. */
static bool
read_line(const char *path, char *buf, size_t size)
{
	FILE *f;
	bool ok;

	if ((f = fopen(path, "re")) == NULL)
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* The caps of the RAM volumes there are: their COW loop devices' sizes. */
static uint64_t
caps_in_use(void)
{
	char path[PATH_MAX], buf[PATH_MAX];
	struct dirent *e;
	uint64_t sum = 0;
	DIR *d;

	if ((d = opendir("/sys/block")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "loop", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file",
		    e->d_name);
		if (!read_line(path, buf, sizeof(buf)) ||
		    strncmp(buf, LDVM_RAM_DIR "/", strlen(LDVM_RAM_DIR) + 1))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/size", e->d_name);
		if (read_line(path, buf, sizeof(buf)))
			sum += strtoull(buf, NULL, 10) * 512;
	}
	closedir(d);
	return sum;
}

/*
 * Refuses a cap dom0 could not back: its available memory must cover it
 * and the caps of every other RAM volume, so that volumes filling up never
 * drive dom0 out of memory.
 */
static int
enough_dom0_memory(struct ldvm_ctx *ctx, uint64_t cap)
{
	char line[128];
	unsigned long long kb = 0;
	uint64_t used;
	FILE *f;

	if ((f = fopen("/proc/meminfo", "re")) == NULL)
		return ldvm__errno(ctx, LDVM_ESYS, "/proc/meminfo");
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	used = caps_in_use();
	if (kb * 1024 < cap + used)
		return ldvm__err(ctx, LDVM_EAGAIN, "not enough memory in dom0 "
		    "for a RAM volume of %llu MiB: %llu MiB available, %llu MiB "
		    "promised to other RAM volumes",
		    (unsigned long long)(cap >> 20), kb >> 10,
		    (unsigned long long)(used >> 20));
	return 0;
}

/* The COW store: cap bytes of an unnamed file in LDVM_RAM_DIR, on a loop. */
static int
cow_dev(struct ldvm_ctx *ctx, uint64_t cap, dev_t *dev, int *lfd)
{
	int fd;

	if ((fd = open(LDVM_RAM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC,
	    0600)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "RAM file in %s",
		    LDVM_RAM_DIR);
	if (ftruncate(fd, (off_t)cap) < 0) {
		close(fd);
		return ldvm__errno(ctx, LDVM_ESYS, "size RAM file");
	}
	*lfd = loop_attach(ctx, fd, false, dev);
	close(fd);
	return *lfd < 0 ? LDVM_ESYS : 0;
}

static int
dm_snapshot(struct ldvm_ctx *ctx, int cfd, const char *name, dev_t origin,
    uint64_t sectors, dev_t cow, dev_t *dev)
{
	union {
		struct dm_ioctl io;
		char buf[sizeof(struct dm_ioctl) +
		    sizeof(struct dm_target_spec) + 128];
	} u;
	struct dm_target_spec *sp;
	char *params;
	size_t plen;

	dm_init(&u.io, sizeof(u.io), name);
	snprintf(u.io.uuid, sizeof(u.io.uuid), "LITEDVM-%s", name);
	if (ioctl(cfd, DM_DEV_CREATE, &u.io) < 0)
		return ldvm__errno(ctx, errno == EBUSY ? LDVM_EEXIST :
		    LDVM_ESYS, "create device-mapper device %s", name);
	*dev = (dev_t)u.io.dev;

	dm_init(&u.io, sizeof(u.buf), name);
	u.io.target_count = 1;
	sp = (struct dm_target_spec *)(u.buf + sizeof(u.io));
	sp->sector_start = 0;
	sp->length = sectors;
	snprintf(sp->target_type, sizeof(sp->target_type), "snapshot");
	params = (char *)(sp + 1);
	/* Non-persistent exception store, 4 KiB chunks. */
	snprintf(params, 128, "%u:%u %u:%u N 8", major(origin),
	    minor(origin), major(cow), minor(cow));
	plen = strlen(params) + 1;
	sp->next = (uint32_t)((sizeof(*sp) + plen + 7) & ~(size_t)7);
	if (ioctl(cfd, DM_TABLE_LOAD, &u.io) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "load snapshot table of %s "
		    "(is dm_snapshot loaded?)", name);
	dm_init(&u.io, sizeof(u.io), name);
	if (ioctl(cfd, DM_DEV_SUSPEND, &u.io) < 0)   /* flags 0: resume */
		return ldvm__errno(ctx, LDVM_ESYS, "activate %s", name);
	return 0;
}

int
ldvm__ram_create(struct ldvm_ctx *ctx, const char *origin, const char *dst,
    uint64_t cap)
{
	char name[sizeof(DM_PREFIX) + 2 * LDVM_NAME_MAX + 2];
	struct stat st;
	uint64_t sectors = 0;
	dev_t odev = 0, cdev = 0, dev = 0;
	int rc, cfd, olfd = -1, clfd = -1;
	bool made = false;

	if ((rc = dm_name(ctx, dst, name, sizeof(name))) != 0 ||
	    (rc = ram_dir(ctx)) != 0)
		return rc;
	if (lstat(dst, &st) == 0)
		return ldvm__err(ctx, LDVM_EEXIST, "%s exists", dst);
	if ((cfd = dm_open(ctx)) < 0)
		return LDVM_ESYS;
	if ((rc = enough_dom0_memory(ctx, cap)) != 0 ||
	    (rc = origin_dev(ctx, origin, &odev, &sectors, &olfd)) != 0 ||
	    (rc = cow_dev(ctx, cap, &cdev, &clfd)) != 0)
		goto out;
	rc = dm_snapshot(ctx, cfd, name, odev, sectors, cdev, &dev);
	made = rc != LDVM_EEXIST;
	if (rc != 0)
		goto out;
	if (mknod(dst, S_IFBLK | 0600, dev) < 0)
		rc = ldvm__errno(ctx, errno == EEXIST ? LDVM_EEXIST :
		    LDVM_ESYS, "create %s", dst);
out:
	if (rc != 0 && made)
		dm_remove(ctx, cfd, name);
	/* The dm device holds the loops now; auto-clear does the rest. */
	if (olfd >= 0)
		close(olfd);
	if (clfd >= 0)
		close(clfd);
	close(cfd);
	return rc;
}

int
ldvm__ram_remove(struct ldvm_ctx *ctx, const char *path)
{
	char name[sizeof(DM_PREFIX) + 2 * LDVM_NAME_MAX + 2];
	int rc, cfd;

	if ((rc = dm_name(ctx, path, name, sizeof(name))) != 0)
		return rc;
	if ((cfd = open(DM_CONTROL, O_RDWR | O_CLOEXEC)) < 0) {
		/* No device mapper: no dm device of ours either. */
		if (errno != ENOENT)
			return ldvm__errno(ctx, LDVM_ESYS, "%s", DM_CONTROL);
	} else {
		rc = dm_remove(ctx, cfd, name);
		close(cfd);
	}
	if (unlink(path) < 0 && errno != ENOENT && rc == 0)
		rc = ldvm__errno(ctx, LDVM_ESYS, "remove %s", path);
	return rc;
}

int
ldvm__ram_sweep(struct ldvm_ctx *ctx, ldvm__ram_fn *fn, void *arg)
{
	enum { BUFSZ = 64 * 1024 };
	struct dm_ioctl *io;
	struct dm_name_list *nl;
	char *buf;
	struct dirent *e;
	DIR *d;
	size_t off;
	int cfd;

	/* Nodes (a dm device may be gone already) ... */
	if ((d = opendir(LDVM_RAM_DIR)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char disp[LDVM_NAME_MAX + 1], vdev[LDVM_NAME_MAX + 1];
			char path[PATH_MAX];

			if (ldvm__vol_leaf(e->d_name, ".dev", disp,
			    sizeof(disp), vdev, sizeof(vdev)) &&
			    snprintf(path, sizeof(path), LDVM_RAM_DIR "/%s",
			    e->d_name) < (int)sizeof(path))
				fn(ctx, arg, disp, path);
		}
		closedir(d);
	}
	/* ... and dm devices (killed before the node was made). */
	if ((cfd = open(DM_CONTROL, O_RDWR | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : ldvm__errno(ctx, LDVM_ESYS, "%s",
		    DM_CONTROL);
	if ((buf = malloc(BUFSZ)) == NULL) {
		close(cfd);
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	}
	io = (struct dm_ioctl *)(void *)buf;
	dm_init(io, BUFSZ, NULL);
	if (ioctl(cfd, DM_LIST_DEVICES, io) < 0) {
		close(cfd);
		free(buf);
		return ldvm__errno(ctx, LDVM_ESYS, "list device-mapper "
		    "devices");
	}
	close(cfd);
	if (io->flags & DM_BUFFER_FULL_FLAG) {
		free(buf);
		return ldvm__err(ctx, LDVM_ESYS, "too many device-mapper "
		    "devices to list");
	}
	off = io->data_start;
	while (off + sizeof(*nl) < BUFSZ) {
		char disp[LDVM_NAME_MAX + 1], vdev[LDVM_NAME_MAX + 1];
		char path[PATH_MAX], leaf[256];
		size_t pl = strlen(DM_PREFIX);

		nl = (struct dm_name_list *)(void *)(buf + off);
		if (nl->dev == 0)
			break;
		if (strncmp(nl->name, DM_PREFIX, pl) == 0 &&
		    snprintf(leaf, sizeof(leaf), "%s.dev", nl->name + pl) <
		    (int)sizeof(leaf) &&
		    ldvm__vol_leaf(leaf, ".dev", disp, sizeof(disp), vdev,
		    sizeof(vdev)) &&
		    snprintf(path, sizeof(path), LDVM_RAM_DIR "/%s", leaf) <
		    (int)sizeof(path))
			fn(ctx, arg, disp, path);
		if (nl->next == 0)
			break;
		off += nl->next;
	}
	free(buf);
	return 0;
}
