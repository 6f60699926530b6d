/*
 * Domain lifecycle through libxenlight; a domain's state, pause and
 * unpause through libxenctrl (hyp.c), whose handle is cheaper to open.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>


#include "ldvm_internal.h"
#include "xlapi.h"

/* libxl connected, and name a valid domain name. */
static int
need_name(struct ldvm_ctx *ctx, const char *name)
{
	int rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	if (!ldvm__valid_name(name, LDVM_NAME_MAX))
		return ldvm__err(ctx, LDVM_EINVAL, "invalid domain name '%s'",
		    name);
	return 0;
}

/* dst (initialised here whatever happens) a copy of src named name. */
static int
cfg_named(struct ldvm_ctx *ctx, libxl_domain_config *dst,
    const libxl_domain_config *src, const char *name)
{
	libxl_domain_config_init(dst);
	libxl_domain_config_copy(ctx->xl, dst, src);
	free(dst->c_info.name);
	if ((dst->c_info.name = strdup(name)) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "strdup");
	return 0;
}

int
ldvm_domain_create(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    const char *name, uint32_t *domid)
{
	libxl_domain_config cfg;
	int rc;

	*domid = (uint32_t)INVALID_DOMID;
	if ((rc = need_name(ctx, name)) != 0)
		return rc;
	if ((rc = cfg_named(ctx, &cfg, &t->cfg, name)) == 0)
		rc = ldvm__domain_create_cfg(ctx, &cfg, domid);
	libxl_domain_config_dispose(&cfg);
	return rc;
}

int
ldvm__domain_create_cfg(struct ldvm_ctx *ctx, libxl_domain_config *cfg,
    uint32_t *domid)
{
	int rc, xrc;

	*domid = (uint32_t)INVALID_DOMID;
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	/* libxl leaves a new domain paused; the caller unpauses it. */
	xrc = libxl_domain_create_new(ctx->xl, cfg, domid, NULL, NULL);
	if (xrc != 0) {
		rc = ldvm__xlerr(ctx, xrc, "cannot create domain %s",
		    cfg->c_info.name);

		if (*domid != (uint32_t)INVALID_DOMID)
			libxl_domain_destroy(ctx->xl, *domid, NULL);
		return rc;
	}
	return 0;
}

static bool
same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (strcmp(a, b) == 0)
		return true;
	return realpath(a, ra) != NULL && realpath(b, rb) != NULL &&
	    strcmp(ra, rb) == 0;
}

int
ldvm__disk_user(struct ldvm_ctx *ctx, const char *path, uint32_t *domid,
    char *name, size_t namesz)
{
	libxl_dominfo *doms;
	int i, j, n, ndisks, found = 0, rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	if ((doms = libxl_list_domain(ctx->xl, &n)) == NULL)
		return ldvm__xlerr(ctx, ERROR_FAIL, "cannot list domains");
	for (i = 0; i < n && !found; i++) {
		libxl_device_disk *disks;

		/* A domain going away as it is read: none of its disks. */
		ctx->xlquiet = true;
		disks = libxl_device_disk_list(ctx->xl, doms[i].domid, &ndisks);
		ctx->xlquiet = false;
		for (j = 0; j < ndisks; j++) {
			if (!found && disks[j].pdev_path != NULL &&
			    same_file(disks[j].pdev_path, path)) {
				char *dn;

				found = 1;
				*domid = doms[i].domid;
				dn = libxl_domid_to_name(ctx->xl, *domid);
				snprintf(name, namesz, "%s", dn ? dn : "?");
				free(dn);
			}
			libxl_device_disk_dispose(&disks[j]);
		}
		free(disks);
	}
	libxl_dominfo_list_free(doms, n);
	return found;
}

int
ldvm__domain_disks_up(struct ldvm_ctx *ctx, uint32_t domid)
{
	libxl_device_disk *disks;
	int j, n, up = 1, rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	disks = libxl_device_disk_list(ctx->xl, domid, &n);
	for (j = 0; j < n; j++) {
		libxl_diskinfo info;

		libxl_diskinfo_init(&info);
		/* XenbusStateConnected */
		if (libxl_device_disk_getinfo(ctx->xl, domid, &disks[j],
		    &info) != 0 || info.state != 4)
			up = 0;
		libxl_diskinfo_dispose(&info);
		libxl_device_disk_dispose(&disks[j]);
	}
	free(disks);
	return up;
}

int
ldvm__mac_in_use(struct ldvm_ctx *ctx, const uint8_t mac[6])
{
	libxl_dominfo *doms;
	int i, j, n, nnics, found = 0, rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	if ((doms = libxl_list_domain(ctx->xl, &n)) == NULL)
		return ldvm__xlerr(ctx, ERROR_FAIL, "cannot list domains");
	for (i = 0; i < n; i++) {
		libxl_device_nic *nics;

		/* A domain going away as it is read: none of its interfaces. */
		ctx->xlquiet = true;
		nics = libxl_device_nic_list(ctx->xl, doms[i].domid, &nnics);
		ctx->xlquiet = false;
		for (j = 0; j < nnics; j++) {
			if (memcmp(nics[j].mac, mac, 6) == 0)
				found = 1;
			libxl_device_nic_dispose(&nics[j]);
		}
		free(nics);
	}
	libxl_dominfo_list_free(doms, n);
	return found;
}

int
ldvm_domain_pause(struct ldvm_ctx *ctx, uint32_t domid)
{
	return ldvm__hyp_pause(ctx, domid, true);
}

int
ldvm_domain_unpause(struct ldvm_ctx *ctx, uint32_t domid)
{
	return ldvm__hyp_pause(ctx, domid, false);
}

int
ldvm_domain_exists(struct ldvm_ctx *ctx, uint32_t domid)
{
	struct ldvm__dominfo di;
	int rc;

	if ((rc = ldvm__hyp_info(ctx, domid, &di)) == LDVM_ENOENT)
		return 0;
	return rc != 0 ? rc : 1;
}

/*
 * A destroy racing another (an administrator's xl destroy, the owner's
 * and a caller's teardown): libxl's second destroy of a dying domain fails
 * ("Destruction of domain failed"), while the first goes on.  The domain is
 * then waited for, up to DESTROY_RACE_MS: it goes once its pages are
 * released (a dom0 process that maps its channel's ring holds them until
 * it sees the death, within a second).
 */
#define DESTROY_RACE_MS 10000

/*
 * After a failed destroy: whether domid is gone, or dying (another destroy
 * under way) and gone within DESTROY_RACE_MS.
 */
static bool
destroyed_elsewhere(struct ldvm_ctx *ctx, uint32_t domid)
{
	struct ldvm__dominfo di;
	int64_t deadline = ldvm__now_ms() + DESTROY_RACE_MS, left;
	int rc;

	if ((rc = ldvm__hyp_info(ctx, domid, &di)) != 0 || !di.dying)
		return rc == LDVM_ENOENT;
	if (ldvm__xs_watch(ctx, "@releaseDomain", "destroy") != 0)
		return false;
	while ((rc = ldvm_domain_exists(ctx, domid)) == 1 &&
	    (left = deadline - ldvm__now_ms()) > 0) {
		rc = ldvm__xs_wait_watch(ctx, (int)left, NULL, 0, NULL, 0);
		if (rc != 0 && rc != LDVM_ETIMEDOUT)
			break;
	}
	ldvm__xs_unwatch(ctx, "@releaseDomain", "destroy");
	return rc == 0;
}

int
ldvm_domain_destroy(struct ldvm_ctx *ctx, uint32_t domid)
{
	int rc, xrc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	if (domid == 0)
		return ldvm__err(ctx, LDVM_EINVAL, "refusing to destroy dom0");
	if ((rc = ldvm_domain_exists(ctx, domid)) <= 0)
		return rc == 0 ? ldvm__err(ctx, LDVM_ENOENT,
		    "no domain %u", domid) : rc;
	xrc = libxl_domain_destroy(ctx->xl, domid, NULL);
	if (xrc == ERROR_DOMAIN_NOTFOUND)
		return ldvm__err(ctx, LDVM_ENOENT, "no domain %u", domid);
	if (xrc != 0 && !destroyed_elsewhere(ctx, domid))
		return ldvm__xlerr(ctx, xrc, "cannot destroy domain %u", domid);
	return 0;
}

int
ldvm_domain_lookup(struct ldvm_ctx *ctx, const char *name, uint32_t *domid)
{
	int rc;

	if ((rc = need_name(ctx, name)) != 0)
		return rc;
	/* libxl_name_to_domid says ERROR_INVAL for "no such name". */
	if (libxl_name_to_domid(ctx->xl, name, domid) != 0)
		return ldvm__err(ctx, LDVM_ENOENT, "no domain named %s", name);
	return 0;
}

/*
 * Takes libxl's pending events: 1 when one says domid died or shut down
 * (*how), 0 when none is left, or an error.
 */
static int
death_event(struct ldvm_ctx *ctx, uint32_t domid, int *how)
{
	libxl_event *ev;
	uint32_t id;
	int type, xrc;

	for (;;) {
		xrc = libxl_event_check(ctx->xl, &ev, LIBXL_EVENTMASK_ALL,
		    NULL, NULL);
		if (xrc == ERROR_NOT_READY)
			return 0;
		if (xrc != 0)
			return ldvm__xlerr(ctx, xrc, "waiting for domain %u",
			    domid);
		type = ev->type;
		id = ev->domid;
		libxl_event_free(ctx->xl, ev);
		if (id != domid)
			continue;
		if (type == LIBXL_EVENT_TYPE_DOMAIN_DEATH) {
			*how = LDVM_DOM_DEAD;
			return 1;
		}
		if (type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN) {
			*how = LDVM_DOM_SHUTDOWN;
			return 1;
		}
	}
}

/*
 * One poll of libxl's descriptors, at most wait ms (-1: no bound); when
 * *fds (of *nalloc) is too small it only grows, and the caller comes back.
 */
static int
poll_libxl(struct ldvm_ctx *ctx, struct pollfd **fds, int *nalloc, int wait)
{
	struct timeval now;
	int nfds = *nalloc, xrc;

	gettimeofday(&now, NULL);
	xrc = libxl_osevent_beforepoll(ctx->xl, &nfds, *fds, &wait, now);
	if (xrc == ERROR_BUFFERFULL) {
		struct pollfd *n = reallocarray(*fds, nfds, sizeof(*n));

		if (n == NULL)
			return ldvm__errno(ctx, LDVM_ENOMEM, "realloc");
		*fds = n;
		*nalloc = nfds;
		return 0;
	}
	if (xrc != 0)
		return ldvm__xlerr(ctx, xrc, "libxl poll setup");
	if (ldvm__poll(ctx, *fds, nfds, wait) < 0 && errno != EINTR)
		return ldvm__errno(ctx, LDVM_ESYS, "poll");
	gettimeofday(&now, NULL);
	libxl_osevent_afterpoll(ctx->xl, nfds, *fds, now);
	return 0;
}

/*
 * libxl's own event loop would block without a bound; drive it by hand so
 * the wait can time out.
 */
int
ldvm_domain_wait(struct ldvm_ctx *ctx, uint32_t domid, int timeout_ms,
    int *how)
{
	libxl_evgen_domain_death *gen = NULL;
	struct pollfd *fds = NULL;
	int nalloc = 0, rc, xrc, wait;
	int64_t deadline = timeout_ms < 0 ? -1 : ldvm__now_ms() + timeout_ms;

	*how = 0;
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	if ((xrc = libxl_evenable_domain_death(ctx->xl, domid, 0, &gen)) != 0)
		return ldvm__xlerr(ctx, xrc, "cannot watch domain %u", domid);
	for (;;) {
		if ((rc = death_event(ctx, domid, how)) != 0) {
			if (rc > 0)
				rc = 0;
			break;
		}
		if ((rc = ldvm__interrupted(ctx)) != 0)
			break;
		wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - ldvm__now_ms();

			if (left <= 0) {
				rc = ldvm__err(ctx, LDVM_ETIMEDOUT,
				    "domain %u still running", domid);
				break;
			}
			wait = (int)left;
		}
		if ((rc = poll_libxl(ctx, &fds, &nalloc, wait)) != 0)
			break;
	}
	libxl_evdisable_domain_death(ctx->xl, gen);
	free(fds);
	return rc;
}

int
ldvm__domain_paused_max(struct ldvm_ctx *ctx, uint32_t domid,
    const char *uuid, uint64_t *maxkb)
{
	struct ldvm__dominfo di;

	if (ldvm__hyp_info(ctx, domid, &di) != 0 ||
	    (uuid != NULL && strcmp(di.uuid, uuid) != 0))
		return -1;
	*maxkb = di.maxkb;
	return di.paused;
}

int
ldvm__domain_paused(struct ldvm_ctx *ctx, uint32_t domid)
{
	uint64_t maxkb;

	return ldvm__domain_paused_max(ctx, domid, NULL, &maxkb);
}

bool
ldvm__domain_running(struct ldvm_ctx *ctx, uint32_t domid)
{
	struct ldvm__dominfo di;

	return ldvm__hyp_info(ctx, domid, &di) == 0 && !di.shutdown && !di.dying;
}

int
ldvm__domain_memkb(struct ldvm_ctx *ctx, uint32_t domid, uint64_t *memkb)
{
	struct ldvm__dominfo di;

	if (ldvm__hyp_info(ctx, domid, &di) != 0)
		return -1;
	*memkb = di.memkb;
	return 0;
}

int
ldvm__domain_by_name(struct ldvm_ctx *ctx, const char *name, uint32_t *domid)
{
	int xrc;

	if (ldvm__need(ctx, LDVM_CONNECT_XL) != 0)
		return -1;
	if ((xrc = libxl_name_to_domid(ctx->xl, name, domid)) == 0)
		return 1;
	/* ERROR_INVAL is libxl's "no domain of that name". */
	return xrc == ERROR_INVAL ? 0 : -1;
}

/* Where libxl_domid_to_name looks: dom0's key, read-only to the guest. */
char *
ldvm__domain_name(struct ldvm_ctx *ctx, uint32_t domid)
{
	char path[LDVM_XS_PATH_MAX], *name;

	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if (ldvm__xs_read(ctx, XBT_NULL, path, &name) != 0)
		return NULL;
	return name;
}

bool
ldvm__domain_named(struct ldvm_ctx *ctx, uint32_t domid, const char *name)
{
	char *dn = ldvm__domain_name(ctx, domid);
	bool same = dn != NULL && strcmp(dn, name) == 0;

	free(dn);
	return same;
}

uint32_t
ldvm__domain_by_uuid(struct ldvm_ctx *ctx, const char *uuid)
{
	uint32_t found = (uint32_t)INVALID_DOMID;
	libxl_dominfo *list;
	libxl_uuid want;
	int i, n;

	if (ldvm__need(ctx, LDVM_CONNECT_XL) != 0 ||
	    libxl_uuid_from_string(&want, uuid) != 0 ||
	    (list = libxl_list_domain(ctx->xl, &n)) == NULL)
		return found;
	for (i = 0; i < n; i++)
		if (list[i].domid != 0 &&
		    libxl_uuid_compare(&list[i].uuid, &want) == 0)
			found = list[i].domid;
	libxl_dominfo_list_free(list, n);
	return found;
}

int
ldvm__domain_free_memkb(struct ldvm_ctx *ctx, uint64_t *kb)
{
	int rc, xrc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
		return rc;
	if ((xrc = libxl_get_free_memory(ctx->xl, kb)) != 0)
		return ldvm__xlerr(ctx, xrc, "cannot read free memory");
	return 0;
}

int
ldvm__domain_balloon(struct ldvm_ctx *ctx, uint32_t domid, uint64_t memkb,
    int wait_s)
{
	int xrc;

	/*
	 * Not enforced: the hypervisor's maximum stays the domain's full
	 * memory, so giving it back is one xenstore write
	 * (ldvm__domain_target), not libxl's locked update of its stored
	 * configuration on the caller's path.
	 */
	if (ldvm__need(ctx, LDVM_CONNECT_XL) != 0)
		return ERROR_FAIL;
	xrc = libxl_set_memory_target(ctx->xl, domid, (int64_t)memkb, 0, 0);
	if (xrc == 0 && wait_s > 0)
		xrc = libxl_wait_for_memory_target(ctx->xl, domid, wait_s);
	return xrc;
}

int
ldvm__domain_target(struct ldvm_ctx *ctx, uint32_t domid, uint64_t memkb,
    uint64_t maxkb)
{
	char path[LDVM_XS_PATH_MAX], v[24];
	unsigned long video = 0;
	int rc, xrc;

	/* Ballooned down with its maximum lowered (an earlier litedvm's). */
	if (maxkb < memkb) {
		if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0)
			return rc;
		xrc = libxl_set_memory_target(ctx->xl, domid, (int64_t)memkb,
		    0, 1);
		return xrc == 0 ? 0 : ldvm__xlerr(ctx, xrc, "domain %u: "
		    "cannot set its memory target", domid);
	}
	/* As libxl does: the target excludes the video memory, if any. */
	snprintf(path, sizeof(path), "/local/domain/%u/memory/videoram", domid);
	rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, path, 20, LDVM_V_UINT,
	    v, sizeof(v));
	if (rc == 0)
		video = strtoul(v, NULL, 10);
	else if (rc != LDVM_ENOENT)
		return rc;
	if (video >= memkb)
		return ldvm__err(ctx, LDVM_EINVAL, "domain %u: %lu KiB of "
		    "video memory, not below its target", domid, video);
	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", domid);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(memkb - video));
	return ldvm__xs_write(ctx, XBT_NULL, path, v);
}

int
ldvm__domain_cfg_copy(struct ldvm_ctx *ctx, libxl_domain_config *dst,
    const libxl_domain_config *src, const char *name, char *uuid,
    size_t usize)
{
	int rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XL)) != 0 ||
	    (rc = cfg_named(ctx, dst, src, name)) != 0)
		return rc;
	libxl_uuid_generate(&dst->c_info.uuid);
	snprintf(uuid, usize, LIBXL_UUID_FMT,
	    LIBXL_UUID_BYTES(dst->c_info.uuid));
	return 0;
}

void
ldvm__domain_cfg_dispose(libxl_domain_config *cfg)
{
	libxl_domain_config_dispose(cfg);
}
