/*
 * The hypervisor through libxenctrl: the few hypercalls a claim from a
 * pool makes (a domain's state, pause, unpause) without libxl's context,
 * which costs more to open (its own xenstore connection, libxenctrl and
 * more: some 7 ms under emulation).  For the pv and pvh guests litedvm
 * builds, with no device model to stop or resume, libxl's pause and
 * unpause are these hypercalls.
 *
 * xenctrl.h comes first (it sets __XEN_TOOLS__ for Xen's public headers
 * libxl.h also includes) and needs GNU C's anonymous unions: this file is
 * compiled with -std=gnu11 (GNUmakefile).
 */
#include <xenctrl.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "ldvm_internal.h"

/*
 * Weak: the guest's tools, linked without libxenctrl, find them NULL
 * (ldvm__has_xc).  libxl needs no such care: it is loaded on need
 * (xlapi.h), and a guest has none to load.
 */
#pragma weak xc_interface_open
#pragma weak xc_interface_close

bool
ldvm__has_xc(void)
{
	return xc_interface_open != NULL;
}

static int
need_xc(struct ldvm_ctx *ctx)
{
	if (ctx->xc != NULL)
		return 0;
	if (!ldvm__has_xc())
		return ldvm__err(ctx, LDVM_EINVAL, "this program is built "
		    "without libxenctrl (a guest's tool)");
	if ((ctx->xc = xc_interface_open(&ctx->lg.vtable, &ctx->lg.vtable,
	    0)) == NULL)
		return ldvm__connect_failed(ctx, "libxenctrl", errno);
	ctx->xc_close = xc_interface_close;
	return 0;
}

int
ldvm__hyp_info(struct ldvm_ctx *ctx, uint32_t domid,
    struct ldvm__dominfo *out)
{
	xc_domaininfo_t info;
	int rc, n;

	if ((rc = need_xc(ctx)) != 0)
		return rc;
	/* The first domain from domid on: another one when domid is gone. */
	if ((n = xc_domain_getinfolist(ctx->xc, domid, 1, &info)) < 0)
		return ldvm__errno(ctx, LDVM_EXEN, "cannot query domain %u",
		    domid);
	/* An answer, not a failure: ctx's message stays the caller's. */
	if (n == 0 || info.domain != domid)
		return LDVM_ENOENT;
	out->paused = (info.flags & XEN_DOMINF_paused) != 0;
	out->shutdown = (info.flags & XEN_DOMINF_shutdown) != 0;
	out->dying = (info.flags & XEN_DOMINF_dying) != 0;
	out->memkb = (uint64_t)info.tot_pages * (XC_PAGE_SIZE / 1024);
	out->maxkb = (uint64_t)info.max_pages * (XC_PAGE_SIZE / 1024);
	out->cpu_ns = info.cpu_time;
	/* libxl's own format: the record's UUID is printed with it too. */
	snprintf(out->uuid, sizeof(out->uuid), LIBXL_UUID_FMT,
	    LIBXL__UUID_BYTES(info.handle));
	return 0;
}

int
ldvm__hyp_pause(struct ldvm_ctx *ctx, uint32_t domid, bool pause)
{
	int rc;

	if ((rc = need_xc(ctx)) != 0)
		return rc;
	if ((pause ? xc_domain_pause(ctx->xc, domid) :
	    xc_domain_unpause(ctx->xc, domid)) != 0)
		return ldvm__errno(ctx, errno == ESRCH ? LDVM_ENOENT :
		    LDVM_EXEN, "cannot %s domain %u", pause ? "pause" :
		    "unpause", domid);
	return 0;
}
