/*
 * LVM thin volumes: a template disk given as /dev/VG/LV, a thin volume,
 * is copied per disposable as an activated thin snapshot /dev/VG/<disp>-<vdev>,
 * handed to blkback as a block device and removed with the disposable.
 * Driven through the lvm(8) command, as Qubes does: it is LVM's supported
 * interface and takes care of metadata locking and device activation.
 * Every snapshot carries the tag LDVM_LV_TAG, set by the same lvcreate that
 * makes it, so garbage collection finds it even when xenstore, and with it
 * the record, was lost (a reboot).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ldvm_internal.h"

/* lvm(8)'s environment: it need not warn of the descriptors it inherits. */
static const char *const lvm_env[] = { "LVM_SUPPRESS_FD_WARNINGS=1", NULL };

static int lv_there(struct ldvm_ctx *, int, const char *, const char *);

/* Splits /dev/VG/LV; false when path is not of that form. */
bool
ldvm__lvm_split(const char *path, char *vg, size_t vgsz, char *lv,
    size_t lvsz)
{
	const char *p, *slash;

	if (strncmp(path, "/dev/", 5) != 0)
		return false;
	p = path + 5;
	if ((slash = strchr(p, '/')) == NULL || strchr(slash + 1, '/') != NULL)
		return false;
	if ((size_t)(slash - p) >= vgsz || strlen(slash + 1) >= lvsz ||
	    slash == p || slash[1] == '\0')
		return false;
	memcpy(vg, p, (size_t)(slash - p));
	vg[slash - p] = '\0';
	strcpy(lv, slash + 1);
	/* LVM names: letters, digits, "+_.-"; we allow fewer. */
	return ldvm__valid_name(vg, 64) && ldvm__valid_name(lv, 64);
}

bool
ldvm__lvm_is_lv(struct ldvm_ctx *ctx, const char *path)
{
	char vg[65], lv[65], sys[128], buf[64];
	struct stat st;
	FILE *f;
	size_t n;

	(void)ctx;
	if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode) ||
	    !ldvm__lvm_split(path, vg, sizeof(vg), lv, sizeof(lv)))
		return false;
	/* An LV's device-mapper uuid starts "LVM-"; lvcreate -s refuses a
	 * thick one with its own clear message. */
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/uuid",
	    major(st.st_rdev), minor(st.st_rdev));
	if ((f = fopen(sys, "re")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strncmp(buf, "LVM-", 4) == 0;
}

int
ldvm__lvm_snapshot(struct ldvm_ctx *ctx, const char *origin, const char *dst)
{
	char vg[65], lv[65], dvg[65], dlv[65], src[140];
	char *argv[] = { "lvm", "lvcreate", "-q", "-s", "-ay", "-K",
	    "--addtag", LDVM_LV_TAG, "-n", dlv, src, NULL };
	int rc;

	if (!ldvm__lvm_split(origin, vg, sizeof(vg), lv, sizeof(lv)) ||
	    !ldvm__lvm_split(dst, dvg, sizeof(dvg), dlv, sizeof(dlv)) ||
	    strcmp(vg, dvg) != 0)
		return ldvm__err(ctx, LDVM_EINVAL, "bad thin volume %s -> %s",
		    origin, dst);
	snprintf(src, sizeof(src), "%s/%s", vg, lv);
	rc = ldvm__run(ctx, argv, lvm_env);
	/*
	 * Never reuse a volume of that name: the caller decides.  lvcreate
	 * undoes what it made when it fails, so an LV of that name after a
	 * failure was there before.
	 */
	if (rc != 0 && lv_there(ctx, rc, dvg, dlv) == 1)
		return ldvm__err(ctx, LDVM_EEXIST, "create %s: it exists",
		    dst);
	return rc;
}

bool
ldvm__lvm_parse_line(char *line, char **vg, char **lv, bool *tagged)
{
	char *f[3], *p = line, *tag;
	int i;

	/* "  VG/LV/TAG,TAG" as lvs --noheadings --separator / prints it. */
	while (*p == ' ' || *p == '\t')
		p++;
	p[strcspn(p, "\n")] = '\0';
	for (i = 0; i < 3; i++) {
		f[i] = p;
		if (i < 2) {
			if ((p = strchr(p, '/')) == NULL)
				return false;
			*p++ = '\0';
		}
	}
	if (!ldvm__valid_name(f[0], 64) || !ldvm__valid_name(f[1], 64))
		return false;
	*vg = f[0];
	*lv = f[1];
	*tagged = false;
	for (tag = strtok_r(f[2], ",", &p); tag != NULL;
	    tag = strtok_r(NULL, ",", &p))
		if (strcmp(tag, LDVM_LV_TAG) == 0)
			*tagged = true;
	return true;
}

int
ldvm__lvm_list(struct ldvm_ctx *ctx, const char *vg, ldvm__lvm_fn *fn,
    void *arg)
{
	char *argv[] = { "lvm", "lvs", "--noheadings", "--separator", "/",
	    "-o", "vg_name,lv_name,lv_tags", (char *)vg, NULL };
	char *out, *line, *save, *lvg, *llv;
	size_t size = 256 * 1024;
	bool tagged;
	int rc;

	if (vg != NULL && !ldvm__valid_name(vg, 64))
		return ldvm__err(ctx, LDVM_EINVAL, "bad volume group %s", vg);
	if ((out = malloc(size)) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	if ((rc = ldvm__run_out(ctx, argv, lvm_env, out, size)) != 0) {
		free(out);
		return rc;
	}
	for (line = strtok_r(out, "\n", &save); line != NULL && rc == 0;
	    line = strtok_r(NULL, "\n", &save))
		if (ldvm__lvm_parse_line(line, &lvg, &llv, &tagged))
			rc = fn(ctx, arg, lvg, llv, tagged);
	free(out);
	return rc;
}

struct has_tag {
	const char *lv;
	bool found;
	bool tagged;
};

static int
note_tag(struct ldvm_ctx *ctx, void *arg, const char *vg, const char *lv,
    bool tagged)
{
	struct has_tag *h = arg;

	(void)ctx;
	(void)vg;
	if (strcmp(lv, h->lv) == 0) {
		h->found = true;
		h->tagged = tagged;
	}
	return 0;
}

/*
 * After lvm(8) failed on vg/lv with rc: whether vg holds lv, as lvs(8)
 * lists it, never as the failed command's words tell: 1 or 0, -1 when
 * lvs failed.  The failure's message stays.
 */
static int
lv_there(struct ldvm_ctx *ctx, int rc, const char *vg, const char *lv)
{
	struct has_tag h = { .lv = lv };
	struct ldvm__first f = { 0 };
	int lrc;

	ldvm__first_note(ctx, &f, rc);
	lrc = ldvm__lvm_list(ctx, vg, note_tag, &h);
	ldvm__first_end(ctx, &f);
	return lrc != 0 ? -1 : h.found;
}

bool
ldvm__lvm_tagged(struct ldvm_ctx *ctx, const char *path)
{
	char vg[65], lv[65];
	struct has_tag h = { .lv = lv };

	if (!ldvm__lvm_split(path, vg, sizeof(vg), lv, sizeof(lv)) ||
	    ldvm__lvm_list(ctx, vg, note_tag, &h) != 0)
		return false;
	return h.tagged;
}

int
ldvm__lvm_remove(struct ldvm_ctx *ctx, const char *path)
{
	char vg[65], lv[65], name[140];
	char *argv[] = { "lvm", "lvremove", "-q", "-f", name, NULL };
	struct stat st;
	int rc;

	if (!ldvm__lvm_split(path, vg, sizeof(vg), lv, sizeof(lv)))
		return ldvm__err(ctx, LDVM_EINVAL, "bad thin volume %s", path);
	snprintf(name, sizeof(name), "%s/%s", vg, lv);
	rc = ldvm__run(ctx, argv, lvm_env);
	/* Absent (never made, or removed before a crash) is success. */
	if (rc != 0 && stat(path, &st) < 0 && errno == ENOENT &&
	    lv_there(ctx, rc, vg, lv) == 0)
		return 0;
	return rc;
}
