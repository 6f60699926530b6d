/*
 * Disposables: record, snapshot, create, boot to agent ready, run, tear
 * down.  Every step is recorded in the state tree before it is taken, so
 * a teardown (by the owner, or by garbage collection after the owner died)
 * can always finish the job.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "ldvm_internal.h"

/* Names tried when volumes of earlier disposables are in the way. */
#define NAME_TRIES 8
/*
 * How long a session waits for the agent's next listener.  The agent
 * sets it up while the previous session runs; a guest still starting its
 * services on one virtual CPU, beside another guest's boot, took over
 * 10 s to do so in the emulated host (a named Debian disposable right
 * after dvm-create).  A live agent always offers one in the end.
 */
#define LISTENER_WAIT_MS 60000

void
ldvm__disp_phase(struct ldvm_disp *d, const char *name, int64_t *t0)
{
	int64_t now = ldvm__now_ms();

	if (d->nphases < LDVM__MAX_PHASES) {
		d->phases[d->nphases].name = name;
		d->phases[d->nphases].ms = now - *t0;
		d->nphases++;
	}
	*t0 = now;
}

struct ldvm_disp *
ldvm__disp_new(const char *name, const char *tmpl)
{
	struct ldvm_disp *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->tmpl, sizeof(d->tmpl), "%s", tmpl != NULL ? tmpl : "");
	d->domid = (uint32_t)INVALID_DOMID;
	return d;
}

/* A snapshot of a disk a running domain writes to is not consistent. */
static int
disk_free(struct ldvm_ctx *ctx, struct ldvm_disp *d, const char *path)
{
	char user[LDVM_NAME_MAX + 1];
	uint32_t id;
	int rc;

	if ((rc = ldvm__disk_user(ctx, path, &id, user, sizeof(user))) <= 0)
		return rc;
	return ldvm__err(ctx, LDVM_EBUSY, "template %s: volume %s is in use "
	    "by running domain %s (id %u); shut it down (xl shutdown %s) "
	    "before disposables are made from it", d->tmpl, path, user, id,
	    user);
}

/*
 * dst, named for disposable d, exists though d never made it: a leftover of
 * an earlier disposable of that name, from before a reboot emptied
 * xenstore.  It is never reused, and d's teardown must not remove it, so it
 * leaves d's record at once.  When it is provably dead (litedvm's own, and
 * no domain has the name) it is collected and made afresh; else d gives
 * the name up (*taken) and the caller tries another.
 */
static int
leftover(struct ldvm_ctx *ctx, struct ldvm_disp *d, const char *origin,
    const char *dst, const char *key, uint64_t ramcap,
    enum ldvm__voldrv *drv, bool *taken)
{
	int rc;

	if ((rc = ldvm__rec_rm_key(ctx, d->name, key)) != 0)
		return rc;
	if (!ldvm__vol_unclaimed(ctx, d->name, true) ||
	    (strncmp(dst, "/dev/", 5) == 0 && !ldvm__lvm_tagged(ctx, dst))) {
		*taken = true;
		return ldvm__err(ctx, LDVM_EEXIST, "%s exists and is not a "
		    "leftover of litedvm's", dst);
	}
	ldvm__log(ctx, LDVM_LOG_INFO, "%s: left by an earlier %s (before a "
	    "reboot?): removing", dst, d->name);
	if ((rc = ldvm__vol_remove(ctx, dst)) != 0) {
		*taken = true;
		return rc;
	}
	if ((rc = ldvm__rec_write(ctx, XBT_NULL, d->name, key, dst)) != 0)
		return rc;
	if ((rc = ldvm__vol_snapshot(ctx, origin, dst, ramcap, drv)) ==
	    LDVM_EEXIST) {
		ldvm__rec_rm_key(ctx, d->name, key);
		*taken = true;
	}
	return rc;
}

static int
make_volumes(struct ldvm_ctx *ctx, struct ldvm_disp *d,
    libxl_domain_config *cfg, uint64_t ramcap, bool *taken)
{
	int i, rc, lock;

	/* Shared: no collector of leftovers runs while volumes are made. */
	if ((rc = ldvm__vol_lock(ctx, false, &lock)) != 0)
		return rc;
	for (i = 0; i < cfg->num_disks; i++) {
		libxl_device_disk *disk = &cfg->disks[i];
		char path[PATH_MAX], key[64];
		enum ldvm__voldrv drv;

		if (!disk->readwrite)
			continue;       /* read-only disks are shared */
		if ((rc = disk_free(ctx, d, disk->pdev_path)) != 0)
			break;
		if ((rc = ldvm__vol_plan(ctx, disk->pdev_path, d->name,
		    disk->vdev, ramcap != 0, path, sizeof(path))) != 0)
			break;
		snprintf(key, sizeof(key), "volumes/%s", disk->vdev);
		if ((rc = ldvm__rec_write(ctx, XBT_NULL, d->name, key, path)))
			break;
		rc = ldvm__vol_snapshot(ctx, disk->pdev_path, path, ramcap,
		    &drv);
		if (rc == LDVM_EEXIST)
			rc = leftover(ctx, d, disk->pdev_path, path, key,
			    ramcap, &drv, taken);
		if (rc != 0)
			break;
		snprintf(d->voldrv, sizeof(d->voldrv), "%s",
		    ldvm__vol_drvname(drv));
		free(disk->pdev_path);
		if ((disk->pdev_path = strdup(path)) == NULL) {
			rc = ldvm__errno(ctx, LDVM_ENOMEM, "strdup");
			break;
		}
	}
	ldvm__vol_unlock(lock);
	return rc;
}

/*
 * Every interface of a disposable gets a MAC of its own: random in Xen's
 * OUI, never the template's, never one a running domain has.  A name the
 * template gave its interface would collide between disposables: libxl
 * names them vifDOMID.DEVID instead.
 */
static int
own_macs(struct ldvm_ctx *ctx, const libxl_domain_config *tmpl,
    libxl_domain_config *cfg)
{
	int i, j, tries, rc;

	for (i = 0; i < cfg->num_nics; i++) {
		libxl_device_nic *nic = &cfg->nics[i];

		free(nic->ifname);
		nic->ifname = NULL;
		for (tries = 0;; tries++) {
			bool taken = false;

			if (tries == 16)
				return ldvm__err(ctx, LDVM_EAGAIN, "no unused "
				    "MAC address found for %s", cfg->c_info.name);
			if (getrandom(nic->mac + 3, 3, 0) != 3)
				return ldvm__errno(ctx, LDVM_ESYS, "getrandom");
			nic->mac[0] = 0x00;
			nic->mac[1] = 0x16;
			nic->mac[2] = 0x3e;
			nic->mac[3] &= 0x7f;
			for (j = 0; j < tmpl->num_nics && !taken; j++)
				taken = memcmp(tmpl->nics[j].mac, nic->mac, 6) == 0;
			for (j = 0; j < i && !taken; j++)
				taken = memcmp(cfg->nics[j].mac, nic->mac, 6) == 0;
			if (!taken && (rc = ldvm__mac_in_use(ctx, nic->mac)) < 0)
				return rc;
			if (!taken && rc == 0)
				break;
		}
	}
	return 0;
}

/* The domain with the UUID recorded for name, before it even has a name. */
static uint32_t
domid_by_uuid(struct ldvm_ctx *ctx, const char *name)
{
	uint32_t found;
	char *s;

	if (ldvm__rec_read(ctx, XBT_NULL, name, "uuid", &s) != 0)
		return (uint32_t)INVALID_DOMID;
	found = ldvm__domain_by_uuid(ctx, s);
	free(s);
	return found;
}

int
ldvm__disp_recorded_domid(struct ldvm_ctx *ctx, const char *name,
    uint32_t *domid)
{
	char *s;
	int rc;

	*domid = (uint32_t)INVALID_DOMID;
	if ((rc = ldvm__rec_read(ctx, XBT_NULL, name, "domid", &s)) == 0) {
		*domid = ldvm__disp_domid_of(ctx, name, s);
		free(s);
	} else if (rc == LDVM_ENOENT)
		*domid = ldvm__disp_domid_of(ctx, name, "");
	else
		return rc;
	return 0;
}

uint32_t
ldvm__disp_domid_of(struct ldvm_ctx *ctx, const char *name,
    const char *recorded)
{
	uint32_t id = (uint32_t)INVALID_DOMID;
	unsigned long v;

	/* Domain ids are reused: trust one only while names agree. */
	if (ldvm__parse_uint(recorded, strlen(recorded), 0x7fef, &v) &&
	    ldvm__domain_named(ctx, (uint32_t)v, name))
		return (uint32_t)v;
	/* Killed between creating the domain and recording its id. */
	if (ldvm__domain_by_name(ctx, name, &id) == 1)
		return id;
	return domid_by_uuid(ctx, name);
}

/*
 * A volume path of disposable name: in litedvm's places, or beside the
 * template image as versions before LDVM_VOL_DIR made them.
 */
static bool
made_by(const char *path, const char *name)
{
	char disp[LDVM_NAME_MAX + 1], vdev[LDVM_NAME_MAX + 1];
	const char *leaf = strrchr(path, '/');

	if (path[0] != '/' || leaf == NULL)
		return false;
	if (!ldvm__vol_parse(path, disp, sizeof(disp), vdev, sizeof(vdev)) &&
	    !ldvm__vol_leaf(leaf + 1, ".img", disp, sizeof(disp), vdev,
	    sizeof(vdev)))
		return false;
	return strcmp(disp, name) == 0;
}

int
ldvm__teardown(struct ldvm_ctx *ctx, const char *name)
{
	char **vols = NULL, sub[LDVM_XS_PATH_MAX], fields[512];
	unsigned i, n = 0;
	uint32_t domid;
	struct ldvm__first f = { 0 };
	int rc;

	ldvm__journal_fields(ctx, name, fields, sizeof(fields));
	/* Best effort: a missing record only means there is less to do. */
	ldvm__rec_write(ctx, XBT_NULL, name, "state", "dying");
	ldvm__rec_unpool(ctx, name);
	ldvm__first_note(ctx, &f, ldvm__disp_recorded_domid(ctx, name, &domid));
	if (domid != (uint32_t)INVALID_DOMID && domid != 0 &&
	    (rc = ldvm_domain_destroy(ctx, domid)) != LDVM_ENOENT)
		ldvm__first_note(ctx, &f, rc);
	snprintf(sub, sizeof(sub), LDVM_XS_ROOT "/disp/%s/volumes", name);
	ldvm__first_note(ctx, &f, ldvm__rec_list(ctx, sub, &vols, &n));
	for (i = 0; i < n; i++) {
		char key[96], *path;

		snprintf(key, sizeof(key), "volumes/%s", vols[i]);
		if (ldvm__rec_read(ctx, XBT_NULL, name, key, &path) != 0)
			continue;
		/* Only volumes we could have made: ours by name. */
		if (made_by(path, name))
			ldvm__first_note(ctx, &f, ldvm__vol_remove(ctx, path));
		free(path);
	}
	free(vols);
	/* xenconsoled's log of the guest's console (with --log=guest) would
	 * outlive it: no trace is left. */
	snprintf(sub, sizeof(sub), LDVM_CONSOLE_LOG_DIR "/guest-%s.log", name);
	if (unlink(sub) < 0 && errno != ENOENT)
		ldvm__first_note(ctx, &f, ldvm__errno(ctx, LDVM_ESYS,
		    "remove %s", sub));
	/* Keep the record while anything it describes may still exist. */
	if (f.rc == 0) {
		ldvm__journal(ctx, "destroyed", name, "%s", fields);
		ldvm__first_note(ctx, &f, ldvm__rec_rm(ctx, name));
	}
	if ((rc = ldvm__first_end(ctx, &f)) != 0) {
		char why[256];

		ldvm__journal_text(why, sizeof(why), ctx->err);
		ldvm__journal(ctx, "destroy-failed", name, "%s error=%s",
		    fields, why);
	}
	return rc;
}

/* Why a guest never announced its agent, and what to do about it. */
static int
not_ready(struct ldvm_ctx *ctx, struct ldvm_disp *d, int timeout_s)
{
	if (ldvm__domain_disks_up(ctx, d->domid) == 0)
		return ldvm__err(ctx, LDVM_ETIMEDOUT, "%s: agent not ready after "
		    "%d s: the guest never connected its disks; check kernel, "
		    "ramdisk and root= of template %s (watch its console with "
		    "xl console while it boots)", d->name, timeout_s, d->tmpl);
	return ldvm__err(ctx, LDVM_ETIMEDOUT, "%s: agent not ready after %d s: "
	    "the guest booted but no dvm-agent announced itself; install the "
	    "guest side in template %s (make install-guest, dvm-agent.service "
	    "enabled), or raise litedvm_ready_timeout for a slow guest",
	    d->name, timeout_s, d->tmpl);
}

/* Waits until the agent listens, the domain dies, or time runs out. */
static int
wait_ready(struct ldvm_ctx *ctx, struct ldvm_disp *d, int timeout_s)
{
	char path[LDVM_XS_PATH_MAX], val[16];
	int64_t deadline = ldvm__now_ms() + (int64_t)timeout_s * 1000;
	int rc;

	if ((rc = ldvm__area_path(ctx, path, sizeof(path), d->domid,
	    "/listen")) != 0)
		return rc;
	if ((rc = ldvm__xs_watch(ctx, path, "ready")) != 0)
		return rc;
	if ((rc = ldvm__xs_watch(ctx, "@releaseDomain", "release")) != 0) {
		ldvm__xs_unwatch(ctx, path, "ready");
		return rc;
	}
	for (;;) {
		int64_t left = deadline - ldvm__now_ms();

		rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, path, 10,
		    LDVM_V_UINT, val, sizeof(val));
		if (rc == 0)
			break;
		if (rc != LDVM_ENOENT) {
			rc = ldvm__err(ctx, LDVM_EPROTO, "%s: agent wrote a bad "
			    "readiness value", d->name);
			break;
		}
		if (ldvm_domain_exists(ctx, d->domid) != 1) {
			rc = ldvm__err(ctx, LDVM_ENOENT, "%s: domain died while "
			    "booting", d->name);
			break;
		}
		if (left <= 0) {
			rc = not_ready(ctx, d, timeout_s);
			break;
		}
		rc = ldvm__xs_wait_watch(ctx, (int)left, NULL, 0, NULL, 0);
		if (rc != 0 && rc != LDVM_ETIMEDOUT)
			break;
	}
	ldvm__xs_unwatch(ctx, "@releaseDomain", "release");
	ldvm__xs_unwatch(ctx, path, "ready");
	return rc;
}

int
ldvm_disp_create(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    struct ldvm_disp **out)
{
	return ldvm__disp_build(ctx, t, -1, NULL, out);
}

int
ldvm_disp_create_named(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    const char *name, struct ldvm_disp **out)
{
	uint32_t domid;
	int rc;

	if (name == NULL)
		return ldvm__disp_build(ctx, t, -1, NULL, out);
	if (!ldvm_disp_name_ok(name))
		return ldvm__err(ctx, LDVM_EINVAL, "invalid disposable name "
		    "'%s': letters, digits and '_', at most %d, starting with "
		    "a letter or digit", name, LDVM_NAME_MAX);
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	if ((rc = ldvm_domain_lookup(ctx, name, &domid)) == 0)
		return ldvm__err(ctx, LDVM_EEXIST, "the name %s is taken by "
		    "domain %u", name, domid);
	if (rc != LDVM_ENOENT)
		return rc;
	return ldvm__disp_build(ctx, t, -1, name, out);
}

/*
 * Creates d's domain, paused, from cfg.  Its UUID is recorded first: a
 * domain whose creation was cut short may have no name in xenstore yet,
 * but it always has its UUID.
 */
static int
create_domain(struct ldvm_ctx *ctx, struct ldvm_disp *d,
    libxl_domain_config *cfg, const char *uuid)
{
	char val[16];
	int rc;

	if ((rc = ldvm__rec_write(ctx, XBT_NULL, d->name, "uuid", uuid)) != 0 ||
	    (rc = ldvm__domain_create_cfg(ctx, cfg, &d->domid)) != 0)
		return rc;
	snprintf(val, sizeof(val), "%u", d->domid);
	if ((rc = ldvm__rec_write(ctx, XBT_NULL, d->name, "domid", val)) != 0 ||
	    (rc = ldvm__rec_write(ctx, XBT_NULL, d->name, "driver",
	    d->voldrv[0] != '\0' ? d->voldrv : "none")) != 0 ||
	    (rc = ldvm__interrupted(ctx)) != 0)
		return rc;
	ldvm__journal_rec(ctx, "created", d->name, NULL);
	return 0;
}

/* Unpauses d's domain and waits until its agent is ready. */
static int
boot(struct ldvm_ctx *ctx, const struct ldvm_template *t, struct ldvm_disp *d,
    int64_t *t0)
{
	int rc;

	if ((rc = ldvm__rec_write(ctx, XBT_NULL, d->name, "state",
	    "booting")) != 0 ||
	    (rc = ldvm_domain_unpause(ctx, d->domid)) != 0 ||
	    (rc = wait_ready(ctx, d, t->ready_timeout)) != 0)
		return rc;
	ldvm__disp_phase(d, "boot to agent ready", t0);
	return ldvm__rec_write(ctx, XBT_NULL, d->name, "state", "ready");
}

/* One attempt; *taken when a volume of the chosen name is in the way. */
static int
build(struct ldvm_ctx *ctx, const struct ldvm_template *t, int pool_limit,
    const char *want, struct ldvm_disp **out, bool *taken)
{
	libxl_domain_config cfg;
	struct ldvm_disp *d;
	char name[LDVM_NAME_MAX + 1], uuid[LIBXL_UUID_FMTLEN + 1], extra[96];
	int64_t t0 = ldvm__now_ms(), t_start = t0;
	struct ldvm__first f = { 0 };
	int rc;

	*out = NULL;
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL)) != 0)
		return rc;
	if (!t->dispvm)
		return ldvm__err(ctx, LDVM_EPERM, "template %s is not a "
		    "disposable template (set litedvm_dispvm_template = 1 in "
		    "%s)", t->name, t->path);
	if ((rc = ldvm__rec_new(ctx, t->name, t->version, pool_limit, want,
	    name)) != 0)
		return rc;
	if ((d = ldvm__disp_new(name, t->name)) == NULL) {
		rc = ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
		ldvm__rec_rm(ctx, name);
		return rc;
	}
	d->owned = true;
	ldvm__disp_phase(d, "record", &t0);
	if ((rc = ldvm__domain_cfg_copy(ctx, &cfg, &t->cfg, name, uuid,
	    sizeof(uuid))) != 0 ||
	    (rc = own_macs(ctx, &t->cfg, &cfg)) != 0 ||
	    (rc = make_volumes(ctx, d, &cfg, t->volatile_cap, taken)) != 0 ||
	    (rc = ldvm__interrupted(ctx)) != 0)
		goto fail;
	ldvm__disp_phase(d, "snapshot", &t0);
	if ((rc = create_domain(ctx, d, &cfg, uuid)) != 0)
		goto fail;
	ldvm__disp_phase(d, "domain create", &t0);
	if ((rc = boot(ctx, t, d, &t0)) != 0)
		goto fail;
	snprintf(extra, sizeof(extra), "build_ms=%lld pool=%s",
	    (long long)(ldvm__now_ms() - t_start), pool_limit >= 0 ?
	    t->name : "-");
	ldvm__journal_rec(ctx, "ready", name, extra);
	ldvm__domain_cfg_dispose(&cfg);
	*out = d;
	return 0;
fail:
	ldvm__domain_cfg_dispose(&cfg);
	/* Keep the first error's message over the teardown's. */
	ldvm__first_note(ctx, &f, rc);
	ldvm__teardown(ctx, name);
	ldvm__first_end(ctx, &f);
	free(d);
	return rc;
}

int
ldvm__disp_build(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    int pool_limit, const char *want, struct ldvm_disp **out)
{
	bool taken;
	int i, rc;

	/* A name whose volume is not ours to remove is skipped, not fatal. */
	for (i = 0;; i++) {
		taken = false;
		rc = build(ctx, t, pool_limit, want, out, &taken);
		/* A name of the caller's is that name or none. */
		if (rc == 0 || !taken || want != NULL || i == NAME_TRIES - 1)
			return rc;
		ldvm__log(ctx, LDVM_LOG_WARN, "%s; trying another name",
		    ldvm_errmsg(ctx));
	}
}

int
ldvm__disp_load(struct ldvm_ctx *ctx, const char *name, struct ldvm_disp **out)
{
	struct ldvm_disp *d;
	char *tmpl = NULL;
	int rc;

	*out = NULL;
	if ((rc = ldvm__rec_read(ctx, XBT_NULL, name, "template", &tmpl)))
		return rc == LDVM_ENOENT ? ldvm__err(ctx, LDVM_ENOENT,
		    "no disposable named %s", name) : rc;
	d = ldvm__disp_new(name, tmpl);
	free(tmpl);
	if (d == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	if ((rc = ldvm__disp_recorded_domid(ctx, name, &d->domid)) != 0) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int
ldvm_disp_open(struct ldvm_ctx *ctx, const char *name, struct ldvm_disp **out)
{
	struct ldvm_disp *d;
	char *state = NULL;
	int rc;

	*out = NULL;
	/* libxl only if its recorded domain id fails (ldvm__disp_domid_of). */
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS)) != 0)
		return rc;
	if ((rc = ldvm__disp_load(ctx, name, &d)) != 0)
		return rc;
	if ((rc = ldvm__rec_read(ctx, XBT_NULL, name, "state", &state)) != 0)
		goto fail;
	if (d->domid == (uint32_t)INVALID_DOMID ||
	    (strcmp(state, "ready") != 0 && strcmp(state, "running") != 0)) {
		rc = ldvm__err(ctx, LDVM_ENOENT, "%s is not running (%s)",
		    name, state);
		goto fail;
	}
	free(state);
	*out = d;
	return 0;
fail:
	free(state);
	free(d);
	return rc;
}

const char *
ldvm_disp_name(const struct ldvm_disp *d)
{
	return d->name;
}

uint32_t
ldvm_disp_domid(const struct ldvm_disp *d)
{
	return d->domid;
}

const char *
ldvm_disp_voldriver(const struct ldvm_disp *d)
{
	return d->voldrv[0] != '\0' ? d->voldrv : "none";
}

int
ldvm_disp_phase(const struct ldvm_disp *d, int i, const char **name,
    long *ms)
{
	if (i < 0 || i >= d->nphases)
		return 0;
	*name = d->phases[i].name;
	*ms = (long)d->phases[i].ms;
	return 1;
}

void
ldvm_run_init(struct ldvm_run *r)
{
	memset(r, 0, sizeof(*r));
	r->in = r->out = r->err = -1;
}

int
ldvm_disp_run(struct ldvm_ctx *ctx, struct ldvm_disp *d, char *const argv[],
    int flags, int in, int out, int err, int *status)
{
	struct ldvm_run r = { .argv = argv, .flags = flags, .in = in,
	    .out = out, .err = err };

	return ldvm_disp_exec(ctx, d, &r, status);
}

int
ldvm_disp_exec(struct ldvm_ctx *ctx, struct ldvm_disp *d,
    const struct ldvm_run *r, int *status)
{
	return ldvm__disp_exec(ctx, d, r, NULL, -1, status);
}

/*
 * The command's Wayland stream: waypipe client here (or the socket wlfd),
 * and the vchan the agent connects to, at <area>/wl/<seq> beside the
 * session's channel.
 */
static int
wayland_open(struct ldvm_ctx *ctx, const struct ldvm_disp *d,
    const struct ldvm__chan *ch, int wlfd, struct ldvm__wl **wl)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if (ldvm__wl_path(ch->path, path, sizeof(path)) != 0)
		return ldvm__err(ctx, LDVM_EINVAL, "no Wayland stream beside "
		    "%s", ch->path);
	rc = wlfd >= 0 ? ldvm__wl_serve_fd(ctx, d->domid, path, wlfd, wl) :
	    ldvm__wl_client_open(ctx, d->domid, path, wl);
	if (rc != 0)
		return rc;
	return ldvm__wl_start(ctx, *wl);
}

/*
 * dom0's work once the command is asked for, while the guest starts it:
 * the record's state "running" (a xenstore write, some 1.3 ms of dom0's
 * time under emulation), and a pool member's refill helper (the start of
 * a process, some 10 ms) overlap the guest's work, not the caller's.  A
 * helper that fails to start leaves the release to start one
 * (ldvm_disp_destroy).
 */
static void
exec_started(struct ldvm_ctx *ctx, void *arg)
{
	struct ldvm_disp *d = arg;

	ldvm__rec_write(ctx, XBT_NULL, d->name, "state", "running");
	if (!d->pooled || d->standby)
		return;
	if (ldvm__spawn_standby(ctx, d->tmpl, &d->standby_fd) == 0)
		d->standby = true;
	else
		ldvm__log(ctx, LDVM_LOG_DEBUG, "%s: %s", d->name, ctx->err);
}

int
ldvm__disp_exec(struct ldvm_ctx *ctx, struct ldvm_disp *d,
    const struct ldvm_run *r, const struct ldvm__abort *ab, int wlfd,
    int *status)
{
	struct ldvm__hook started = { exec_started, d };
	struct ldvm__chan *ch = NULL;
	struct ldvm__wl *wl = NULL;
	char claim[LDVM_XS_PATH_MAX];
	int64_t t0 = ldvm__now_ms();
	int rc;

	if ((rc = ldvm__rec_path(ctx, claim, sizeof(claim), d->name,
	    "chan")) != 0)
		return rc;
	/* A listener claimed with the pool member serves once. */
	if (d->chan_seq != 0)
		rc = ldvm__chan_connect_seq(ctx, d->domid, d->chan_seq, &ch);
	else
		rc = ldvm__chan_claim_connect(ctx, d->domid, claim,
		    LISTENER_WAIT_MS, &ch);
	d->chan_seq = 0;
	if (rc != 0)
		return rc;
	ldvm__disp_phase(d, "channel connect", &t0);
	if (r->flags & LDVM_RUN_WAYLAND)
		rc = wayland_open(ctx, d, ch, wlfd, &wl);
	if (rc == 0)
		rc = ldvm__chan_run_as(ctx, ch, d->domid, r, ab, &started,
		    status);
	ldvm__wl_close(ctx, wl);
	ldvm__chan_close(ch);
	ldvm__disp_phase(d, "command", &t0);
	return rc;
}

int
ldvm_disp_from_pool(const struct ldvm_disp *d)
{
	return d->pooled;
}

void
ldvm_disp_free(struct ldvm_disp *d)
{
	if (d == NULL)
		return;
	if (d->standby)
		close(d->standby_fd);   /* its helper goes on, as at exit */
	free(d);
}

int
ldvm_disp_monitor(struct ldvm_ctx *ctx, struct ldvm_disp *d)
{
	int how, rc;

	rc = ldvm_domain_wait(ctx, d->domid, -1, &how);
	if (rc != 0 && rc != LDVM_EINTR && rc != LDVM_ENOENT)
		return rc;
	return ldvm__teardown(ctx, d->name);
}
