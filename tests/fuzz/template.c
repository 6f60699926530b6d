/*
 * ldvm_template_load_file: a template's xl.cfg(5) text, parsed by
 * libxlutil, and the keys litedvm reads from it (domain, disks, vifs,
 * litedvm_*).  The input is the file (a memfd, read through /proc).  A
 * template that loads must hold what the rest of litedvm relies on.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

static struct ldvm_ctx *ctx;
static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((ctx = ldvm_ctx_new()) == NULL)
		abort();
	if ((fd = memfd_create("template.cfg", MFD_CLOEXEC)) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

static void
check(const struct ldvm_template *t)
{
	const libxl_domain_config *c = &t->cfg;
	const libxl_domain_build_info *b = &c->b_info;
	unsigned i, bits = 0;
	int d;

	FUZZ_CHECK(strcmp(ldvm_template_name(t), "t") == 0);
	FUZZ_CHECK(c->c_info.type == LIBXL_DOMAIN_TYPE_PV ||
	    c->c_info.type == LIBXL_DOMAIN_TYPE_PVH);
	FUZZ_CHECK(b->kernel != NULL && b->kernel[0] == '/');
	FUZZ_CHECK(b->ramdisk == NULL || b->ramdisk[0] == '/');
	FUZZ_CHECK(b->target_memkb >= 32 * 1024 &&
	    b->target_memkb <= b->max_memkb);
	FUZZ_CHECK(b->max_vcpus >= 1 && b->max_vcpus <= 128);
	FUZZ_CHECK(b->avail_vcpus.size == (uint32_t)(b->max_vcpus + 7) / 8);
	for (i = 0; i < b->avail_vcpus.size * 8; i++)
		if (b->avail_vcpus.map[i / 8] & (1u << (i % 8))) {
			FUZZ_CHECK(i == bits);
			bits++;
		}
	FUZZ_CHECK(bits >= 1 && bits <= (unsigned)b->max_vcpus);
	FUZZ_CHECK(c->num_disks >= 0 && c->num_disks <= 16);
	for (d = 0; d < c->num_disks; d++)
		FUZZ_CHECK(c->disks[d].vdev != NULL &&
		    c->disks[d].pdev_path != NULL &&
		    c->disks[d].pdev_path[0] == '/');
	FUZZ_CHECK(c->num_nics >= 0 && c->num_nics <= 8);
	FUZZ_CHECK(c->on_crash == LIBXL_ACTION_ON_SHUTDOWN_DESTROY &&
	    c->on_reboot == LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
	FUZZ_CHECK(t->preload >= 0 && t->preload <= 64);
	FUZZ_CHECK(t->preload_memkb <= b->target_memkb);
	FUZZ_CHECK(t->ready_timeout >= 1 && t->ready_timeout <= 3600);
	FUZZ_CHECK(t->volatile_cap == 0 || (t->volatile_cap >= (16ULL << 20) &&
	    t->volatile_cap <= (1ULL << 40)));
	FUZZ_CHECK(t->open_argv != NULL && t->open_argv[0] != NULL &&
	    t->open_argv[0][0] != '\0');
	FUZZ_CHECK(strcmp(t->open_wait, "exit") == 0 ||
	    strcmp(t->open_wait, "close") == 0);
	FUZZ_CHECK(strlen(ldvm_template_version(t)) == 16 &&
	    strspn(ldvm_template_version(t), "0123456789abcdef") == 16);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldvm_template *t = (struct ldvm_template *)1;
	int rc;

	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	rc = ldvm_template_load_file(ctx, "t", path, &t);
	if (rc != 0) {
		FUZZ_CHECK(t == NULL);
		FUZZ_CHECK(ldvm_errmsg(ctx)[0] != '\0');
		return 0;
	}
	check(t);
	ldvm_template_free(t);
	return 0;
}
