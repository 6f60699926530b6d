/* Template configuration parsing (lib/config.c); no hypervisor needed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ldvm_internal.h"
#include "unit.h"

static struct ldvm_ctx *ctx;

static void
setup(void)
{
	ctx = ldvm_ctx_new();
	ck_assert_ptr_nonnull(ctx);
}

static void
teardown(void)
{
	ldvm_ctx_free(ctx);
}

/* Writes text to a temporary file and loads it as template "t". */
static int
load_text(const char *text, struct ldvm_template **t)
{
	char path[] = "/tmp/ldvm-unit-XXXXXX";
	int fd = mkstemp(path), rc;
	size_t len = strlen(text);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	rc = ldvm_template_load_file(ctx, "t", path, t);
	unlink(path);
	return rc;
}

START_TEST(full_template)
{
	struct ldvm_template *t;
	libxl_domain_config *c;
	char *json;

	ck_assert_int_eq(ldvm_template_load_file(ctx, "web", "data/good.cfg",
	    &t), 0);
	c = &t->cfg;
	ck_assert_str_eq(ldvm_template_name(t), "web");
	ck_assert_int_eq(c->c_info.type, LIBXL_DOMAIN_TYPE_PV);
	ck_assert_uint_eq(c->b_info.target_memkb, 256 * 1024);
	ck_assert_uint_eq(c->b_info.max_memkb, 512 * 1024);
	ck_assert_int_eq(c->b_info.max_vcpus, 4);
	ck_assert_uint_eq(c->b_info.avail_vcpus.size, 1);
	ck_assert_uint_eq(c->b_info.avail_vcpus.map[0], 0x3);
	ck_assert_str_eq(c->b_info.kernel, "/var/lib/litedvm/kernels/vmlinux");
	ck_assert_str_eq(c->b_info.ramdisk,
	    "/var/lib/litedvm/kernels/initrd.cpio");
	ck_assert_str_eq(c->b_info.cmdline, "root=/dev/xvda console=hvc0 rw");
	ck_assert_int_eq(c->num_disks, 2);
	ck_assert_str_eq(c->disks[0].vdev, "xvda");
	ck_assert_str_eq(c->disks[0].pdev_path,
	    "/var/lib/litedvm/web/root.img");
	ck_assert_int_eq(c->disks[0].readwrite, 1);
	ck_assert_str_eq(c->disks[1].vdev, "xvdb");
	ck_assert_int_eq(c->disks[1].readwrite, 0);
	ck_assert_int_eq(c->num_nics, 2);
	ck_assert_str_eq(c->nics[0].bridge, "xenbr0");
	ck_assert_str_eq(c->nics[0].ip, "10.0.0.2");
	ck_assert_uint_eq(c->nics[0].mac[0], 0x00);
	ck_assert_uint_eq(c->nics[0].mac[2], 0x3e);
	ck_assert_uint_eq(c->nics[0].mac[5], 0x02);
	ck_assert_str_eq(c->nics[1].bridge, "xenbr1");
	ck_assert_uint_gt(c->nics[1].rate_bytes_per_interval, 0);
	ck_assert_int_eq(c->on_poweroff, LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
	ck_assert_int_eq(c->on_reboot, LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
	ck_assert(ldvm_template_is_dispvm(t));
	ck_assert_int_eq(ldvm_template_preload(t), 3);
	ck_assert_uint_eq(ldvm_template_preload_memory_kb(t), 128 * 1024);
	ck_assert_int_eq(ldvm_template_ready_timeout(t), 20);
	ck_assert_uint_eq(ldvm_template_timeout(t), 300);
	ck_assert_int_eq(ldvm_template_ndisks(t), 2);

	/* libxl itself must accept and render what we built. */
	ck_assert_int_eq(ldvm_template_to_json(ctx, t, &json), 0);
	ck_assert(strstr(json, "\"max_memkb\": 524288") != NULL);
	ck_assert(strstr(json, "/var/lib/litedvm/web/data.img") != NULL);
	ck_assert(strstr(json, "\"xenbr1\"") != NULL);
	free(json);
	ldvm_template_free(t);
}
END_TEST

START_TEST(defaults)
{
	struct ldvm_template *t;
	libxl_domain_config *c;

	ck_assert_int_eq(ldvm_template_load_file(ctx, "m", "data/minimal.cfg",
	    &t), 0);
	c = &t->cfg;
	ck_assert_int_eq(c->c_info.type, LIBXL_DOMAIN_TYPE_PV);
	ck_assert_uint_eq(c->b_info.target_memkb, 128 * 1024);
	ck_assert_uint_eq(c->b_info.max_memkb, 128 * 1024);
	ck_assert_int_eq(c->b_info.max_vcpus, 1);
	ck_assert_uint_eq(c->b_info.avail_vcpus.map[0], 0x1);
	ck_assert_ptr_null(c->b_info.cmdline);
	ck_assert_int_eq(c->num_disks, 0);
	ck_assert(!ldvm_template_is_dispvm(t));
	ck_assert_int_eq(ldvm_template_preload(t), 0);
	ck_assert_uint_eq(ldvm_template_preload_memory_kb(t), 128 * 1024);
	ck_assert_int_eq(ldvm_template_ready_timeout(t), 60);
	ck_assert_uint_eq(ldvm_template_timeout(t), 0);
	ldvm_template_free(t);
}
END_TEST

START_TEST(graphical_opener)
{
	struct ldvm_template *t;

	ck_assert_int_eq(load_text("kernel=\"/k\"\nlitedvm_open_wayland=1\n",
	    &t), 0);
	ck_assert(t->open_wayland);
	ck_assert(!t->open_terminal);
	ldvm_template_free(t);
}
END_TEST

START_TEST(pvh_and_cmdline)
{
	struct ldvm_template *t;

	ck_assert_int_eq(load_text("type=\"pvh\"\nkernel=\"/k\"\n"
	    "cmdline=\"console=hvc0\"\nvcpus=9\n", &t), 0);
	ck_assert_int_eq(t->cfg.c_info.type, LIBXL_DOMAIN_TYPE_PVH);
	ck_assert_str_eq(t->cfg.b_info.cmdline, "console=hvc0");
	ck_assert(!t->open_wayland && !t->open_terminal);
	ck_assert_uint_eq(t->cfg.b_info.avail_vcpus.size, 2);
	ck_assert_uint_eq(t->cfg.b_info.avail_vcpus.map[0], 0xff);
	ck_assert_uint_eq(t->cfg.b_info.avail_vcpus.map[1], 0x01);
	ldvm_template_free(t);
}
END_TEST

/* Each bad configuration is refused with a message naming the problem. */
static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "memory=64\n", "'kernel' is required" },
	{ "bootloader=\"pygrub\"\n", "'bootloader' is not supported" },
	{ "kernel=\"vmlinux\"\n", "absolute path" },
	{ "kernel=\"/k\"\nramdisk=\"r\"\n", "absolute path" },
	{ "kernel=\"/k\"\ntype=\"hvm\"\n", "not supported" },
	{ "kernel=\"/k\"\nmemory=\"lots\"\n", "'memory' must be a number" },
	{ "kernel=\"/k\"\nmemory=8\n", "out of range" },
	{ "kernel=\"/k\"\nmemory=256\nmaxmem=128\n", "below 'memory'" },
	{ "kernel=\"/k\"\nvcpus=0\n", "out of range" },
	{ "kernel=\"/k\"\nvcpus=4\nmaxvcpus=2\n", "below 'vcpus'" },
	{ "kernel=\"/k\"\ncmdline=\"a\"\nextra=\"b\"\n", "excludes" },
	{ "kernel=\"/k\"\ndisk=\"/x,raw,xvda,rw\"\n", "list of strings" },
	{ "kernel=\"/k\"\ndisk=[\"vdev=xvda,nonsense=1\"]\n", "bad disk" },
	{ "kernel=\"/k\"\ndisk=[\"format=raw,vdev=xvda,target=rel.img\"]\n",
	  "absolute target" },
	{ "kernel=\"/k\"\nvif=[\"mac=zz:16:3e:00:00:01\"]\n", "bad mac" },
	{ "kernel=\"/k\"\nvif=[\"bridge\"]\n", "not key=value" },
	{ "kernel=\"/k\"\nvif=[\"colour=red\"]\n", "unknown vif key" },
	{ "kernel=\"/k\"\nvif=[\"mtu=99999\"]\n", "bad vif mtu" },
	{ "kernel=\"/k\"\nlitedvm_dispvm_template=2\n", "out of range" },
	{ "kernel=\"/k\"\nlitedvm_preload=65\n", "out of range" },
	{ "kernel=\"/k\"\nlitedvm_preload=-1\n", "lexical error" },
	{ "kernel=\"/k\"\nmemory=128\nlitedvm_preload_memory=256\n",
	  "above 'memory'" },
	{ "kernel=\"/k\"\nlitedvm_ready_timeout=0\n", "out of range" },
	{ "kernel=\"/k\"\nlitedvm_timeout=31536001\n", "out of range" },
	{ "kernel=\"/k\"\nlitedvm_timeout=\"1h\"\n", "must be a number" },
	{ "kernel=\"/k\"\nlitedvm_preload_delay=3601\n", "out of range" },
	{ "kernel=\"/k\"\nlitedvm_preload_delay=-1\n", "lexical error" },
	{ "kernel=\"/k\"\nlitedvm_open_wayland=2\n", "out of range" },
	{ "kernel=\"/k\"\nlitedvm_open_terminal=1\nlitedvm_open_wayland=1\n",
	  "cannot both be 1" },
	{ "kernel = = \"/k\"\n", "syntax error" },
};

START_TEST(refusals)
{
	struct ldvm_template *t = (void *)1;

	ck_assert_int_eq(load_text(bad[_i].text, &t), LDVM_EINVAL);
	ck_assert_ptr_null(t);
	if (strstr(ldvm_errmsg(ctx), bad[_i].msg) == NULL)
		ck_abort_msg("case %d: '%s' lacks '%s'", _i, ldvm_errmsg(ctx),
		    bad[_i].msg);
}
END_TEST

START_TEST(bad_names_and_files)
{
	struct ldvm_template *t;

	ck_assert_int_eq(ldvm_template_load_file(ctx, "../etc/passwd",
	    "data/minimal.cfg", &t), LDVM_EINVAL);
	ck_assert(strstr(ldvm_errmsg(ctx), "invalid template name") != NULL);
	ck_assert_int_eq(ldvm_template_load(ctx, "a/b", &t), LDVM_EINVAL);
	ck_assert_int_eq(ldvm_template_load_file(ctx, "x", "data/absent.cfg",
	    &t), LDVM_ENOENT);
	ck_assert(strstr(ldvm_errmsg(ctx), "data/absent.cfg") != NULL);
}
END_TEST

/*
 * libxlutil's lexer aborts the process on a NUL inside a quoted string
 * (found by tests/fuzz/template and conf): such files are refused first.
 */
START_TEST(nul_byte_refused)
{
	static const char text[] = "kernel=\"/k\0\"\n";
	char path[] = "/tmp/ldvm-unit-XXXXXX", dir[] = "/tmp/ldvm-unit-XXXXXX";
	char conf[64], tmpl[LDVM_NAME_MAX + 1];
	struct ldvm_template *t = (void *)1;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
	ck_assert_int_eq(ldvm_template_load_file(ctx, "t", path, &t),
	    LDVM_EINVAL);
	ck_assert_ptr_null(t);
	ck_assert(strstr(ldvm_errmsg(ctx), "NUL byte") != NULL);
	unlink(path);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/litedvm.conf", dir);
	ck_assert_int_ge(fd = open(conf, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(write(fd, "default_template = \"a\0\"\n", 24), 24);
	close(fd);
	setenv("LITEDVM_CONFDIR", dir, 1);
	ck_assert_int_eq(ldvm_default_template(ctx, tmpl, sizeof(tmpl)),
	    LDVM_EINVAL);
	ck_assert(strstr(ldvm_errmsg(ctx), "NUL byte") != NULL);
	/* The same file without the NUL is read as before. */
	ck_assert_int_ge(fd = open(conf, O_WRONLY | O_TRUNC), 0);
	ck_assert_int_eq(write(fd, "default_template = \"a\"\n", 23), 23);
	close(fd);
	ck_assert_int_eq(ldvm_default_template(ctx, tmpl, sizeof(tmpl)), 0);
	ck_assert_str_eq(tmpl, "a");
	unsetenv("LITEDVM_CONFDIR");
	unlink(conf);
	rmdir(dir);
}
END_TEST

START_TEST(confdir_lookup)
{
	struct ldvm_template *t;

	setenv("LITEDVM_CONFDIR", "data", 1);
	ck_assert_str_eq(ldvm_confdir(), "data");
	ck_assert_int_eq(ldvm_template_load(ctx, "good", &t), 0);
	ck_assert_int_eq(ldvm_template_preload(t), 3);
	ldvm_template_free(t);
	ck_assert_int_eq(ldvm_template_load(ctx, "nosuch", &t), LDVM_ENOENT);
	unsetenv("LITEDVM_CONFDIR");
	ck_assert_str_eq(ldvm_confdir(), LDVM_SYSCONFDIR "/litedvm");
}
END_TEST

START_TEST(version_tracks_changes)
{
	char path[] = "/tmp/ldvm-unit-XXXXXX", img[] = "/tmp/ldvm-img-XXXXXX";
	char v1[17], v2[17], text[256];
	struct ldvm_template *t;
	int fd = mkstemp(path), ifd = mkstemp(img);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(ifd, 0);
	close(fd);
	snprintf(text, sizeof(text), "kernel=\"/k\"\ndisk=[\"format=raw,"
	    "vdev=xvda,access=rw,target=%s\"]\n", img);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(ldvm_template_load_file(ctx, "t", path, &t), 0);
	snprintf(v1, sizeof(v1), "%s", ldvm_template_version(t));
	ck_assert_uint_eq(strlen(v1), 16);
	ldvm_template_free(t);
	ck_assert_int_eq(ldvm_template_load_file(ctx, "t", path, &t), 0);
	ck_assert_str_eq(ldvm_template_version(t), v1);
	ldvm_template_free(t);

	/* The volume changes: a new version. */
	ck_assert_int_eq(write(ifd, "x", 1), 1);
	close(ifd);
	ck_assert_int_eq(ldvm_template_load_file(ctx, "t", path, &t), 0);
	snprintf(v2, sizeof(v2), "%s", ldvm_template_version(t));
	ck_assert_str_ne(v2, v1);
	ldvm_template_free(t);

	/* The configuration changes: a new version again. */
	ck_assert_ptr_nonnull(f = fopen(path, "a"));
	fputs("memory = 256\n", f);
	fclose(f);
	ck_assert_int_eq(ldvm_template_load_file(ctx, "t", path, &t), 0);
	ck_assert_str_ne(ldvm_template_version(t), v2);
	ck_assert_str_ne(ldvm_template_version(t), v1);
	ldvm_template_free(t);
	unlink(path);
	unlink(img);
}
END_TEST

/* Writes text into dir/name.cfg through a new file renamed over it. */
static void
put_cfg(const char *dir, const char *name, const char *text)
{
	char path[128], tmp[140];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.cfg", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	ck_assert_ptr_nonnull(f = fopen(tmp, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Whether a cached template is what a fresh load gives now. */
static void
check_fresh(const char *dir, const char *name, const struct ldvm_template *c)
{
	struct ldvm_template *t;
	char path[128];

	snprintf(path, sizeof(path), "%s/%s.cfg", dir, name);
	ck_assert_int_eq(ldvm_template_load_file(ctx, name, path, &t), 0);
	ck_assert_str_eq(ldvm_template_version(c), ldvm_template_version(t));
	ck_assert_int_eq(c->cfg.b_info.max_memkb, t->cfg.b_info.max_memkb);
	ldvm_template_free(t);
}

/* dvm-opend's templates kept loaded (lib/tcache.c): used only while current. */
START_TEST(tcache_tracks_changes)
{
	char dir[] = "/tmp/ldvm-tc-XXXXXX", img[] = "/tmp/ldvm-img-XXXXXX";
	char text[256], path[128], v1[17], name[16];
	struct ldvm__tcache tc;
	const struct ldvm_template *a, *b;
	int ifd, i;
	FILE *f;

	memset(&tc, 0, sizeof(tc));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_ge(ifd = mkstemp(img), 0);
	setenv("LITEDVM_CONFDIR", dir, 1);
	snprintf(text, sizeof(text), "kernel=\"/k\"\nmemory = 256\n"
	    "disk=[\"format=raw,vdev=xvda,access=rw,target=%s\"]\n", img);
	put_cfg(dir, "t", text);
	ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, "t", &a), 0);
	check_fresh(dir, "t", a);
	snprintf(v1, sizeof(v1), "%s", ldvm_template_version(a));
	/* Unchanged: the same template, not parsed again. */
	ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, "t", &b), 0);
	ck_assert_ptr_eq(a, b);

	/* The volume it boots from changes: loaded again. */
	ck_assert_int_eq(write(ifd, "x", 1), 1);
	ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, "t", &a), 0);
	ck_assert_str_ne(ldvm_template_version(a), v1);
	check_fresh(dir, "t", a);
	snprintf(v1, sizeof(v1), "%s", ldvm_template_version(a));

	/* A new file of the same size in its place: loaded again. */
	snprintf(text, sizeof(text), "kernel=\"/k\"\nmemory = 512\n"
	    "disk=[\"format=raw,vdev=xvda,access=rw,target=%s\"]\n", img);
	put_cfg(dir, "t", text);
	ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, "t", &a), 0);
	ck_assert_str_ne(ldvm_template_version(a), v1);
	ck_assert_int_eq(a->cfg.b_info.max_memkb, 512 * 1024);
	check_fresh(dir, "t", a);

	/* The same file written in place: loaded again. */
	snprintf(path, sizeof(path), "%s/t.cfg", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "a"));
	fputs("vcpus = 2\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, "t", &a), 0);
	ck_assert_int_eq(a->cfg.b_info.max_vcpus, 2);
	check_fresh(dir, "t", a);

	/* More templates than entries: each still what its file says. */
	for (i = 0; i < LDVM__TCACHE_N + 2; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(text, sizeof(text), "kernel=\"/k\"\nmemory = %d\n",
		    128 + i);
		put_cfg(dir, name, text);
		ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, name, &a), 0);
		ck_assert_int_eq(a->cfg.b_info.max_memkb, (128 + i) * 1024);
	}
	ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, "n0", &a), 0);
	ck_assert_int_eq(a->cfg.b_info.max_memkb, 128 * 1024);

	/* Gone: an error, never the template it was. */
	unlink(path);
	ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, "t", &a), LDVM_ENOENT);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(ldvm__tcache_get(ctx, &tc, "../x", &a), LDVM_EINVAL);

	ldvm__tcache_clear(&tc);
	for (i = 0; i < LDVM__TCACHE_N + 2; i++) {
		snprintf(path, sizeof(path), "%s/n%d.cfg", dir, i);
		unlink(path);
	}
	rmdir(dir);
	close(ifd);
	unlink(img);
	unsetenv("LITEDVM_CONFDIR");
}
END_TEST

/* The version a claim by name computes from text and an entry's files. */
static void
entry_version(const char *text, size_t len, const struct ldvm__poolent *e,
    char out[17])
{
	uint64_t h = ldvm__version_text(text, len);

	for (int i = 0; i < e->nfiles; i++)
		h = ldvm__version_file(h, e->files[i]);
	ldvm__version_format(h, out);
}

/* A pool member's quiet: its CPU use between two readings (lib/quiet.c). */
START_TEST(cpu_quiet)
{
	const uint64_t ms = 1000000;    /* ns */

	/* 10% of one CPU is the limit given: 50 ms in 500 is still quiet. */
	ck_assert(ldvm__cpu_quiet(7 * ms, 57 * ms, 500, 100));
	ck_assert(!ldvm__cpu_quiet(7 * ms, 57 * ms + 1000, 500, 100));
	ck_assert(ldvm__cpu_quiet(0, 0, 500, 100));
	/* Two vCPUs busy count twice. */
	ck_assert(!ldvm__cpu_quiet(0, 2 * 500 * ms, 500, 600));
	ck_assert(ldvm__cpu_quiet(0, 500 * ms, 500, 1000));
	/* No span, or a count that went back: not known to be quiet. */
	ck_assert(!ldvm__cpu_quiet(0, 0, 0, 100));
	ck_assert(!ldvm__cpu_quiet(9 * ms, 8 * ms, 500, 100));
	/* Hours of CPU time, a long span: no overflow. */
	ck_assert(ldvm__cpu_quiet(UINT64_C(36000000) * ms,
	    UINT64_C(36000000) * ms + 10 * ms, 3600000, 1));
}
END_TEST

/* A domain UUID, as libxl prints one. */
#define U "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

START_TEST(poolent_round_trip)
{
	struct ldvm_template *t;
	struct ldvm__poolent e;
	char buf[LDVM__POOLENT_MAX], v[17], *text;
	size_t len;

	setenv("LITEDVM_CONFDIR", "data", 1);
	ck_assert_int_eq(ldvm_template_load(ctx, "good", &t), 0);
	ck_assert_int_eq(ldvm__poolent_encode(t, 7, U, "reflink", "1700000000",
	    buf, sizeof(buf)), 0);
	ck_assert_int_eq(ldvm__poolent_decode(buf, strlen(buf), &e), 0);
	ck_assert_str_eq(e.version, ldvm_template_version(t));
	ck_assert_str_eq(e.domid, "7");
	ck_assert_str_eq(e.uuid, U);
	ck_assert_str_eq(e.driver, "reflink");
	ck_assert_str_eq(e.created, "1700000000");
	/* litedvm_preload_memory 128 of memory 256: 256 MiB back. */
	ck_assert_uint_eq(e.target_kb, 256 * 1024);
	ck_assert_uint_eq(e.delay, 0);
	ck_assert_uint_eq(e.timeout, 300);
	ck_assert_int_eq(e.nfiles, 4);
	ck_assert_str_eq(e.files[0], "/var/lib/litedvm/kernels/vmlinux");
	ck_assert_str_eq(e.files[1], "/var/lib/litedvm/kernels/initrd.cpio");
	ck_assert_str_eq(e.files[2], "/var/lib/litedvm/web/root.img");
	ck_assert_str_eq(e.files[3], "/var/lib/litedvm/web/data.img");
	/* The text as a claim reads it, and the entry: the same version. */
	ck_assert_int_eq(ldvm__template_text(ctx, "good", &text, &len), 0);
	entry_version(text, len, &e, v);
	ck_assert_str_eq(v, ldvm_template_version(t));
	/* One byte more of text: another version. */
	entry_version(text, len - 1, &e, v);
	ck_assert_str_ne(v, ldvm_template_version(t));
	free(text);
	ck_assert_int_eq(ldvm__template_text(ctx, "nosuch", &text, &len),
	    LDVM_ENOENT);
	ck_assert_ptr_null(text);
	/* No room: not written. */
	ck_assert_int_eq(ldvm__poolent_encode(t, 7, U, "reflink", "1700000000",
	    buf, 40), -1);
	ldvm_template_free(t);
	/* No kernel, no ramdisk, no volume driver: empty lines, "-". */
	ck_assert_int_eq(ldvm_template_load(ctx, "minimal", &t), 0);
	ck_assert_int_eq(ldvm__poolent_encode(t, 1, U, "", "5", buf,
	    sizeof(buf)),
	    0);
	ck_assert_int_eq(ldvm__poolent_decode(buf, strlen(buf), &e), 0);
	ck_assert_str_eq(e.driver, "");
	ck_assert_uint_eq(e.target_kb, 0);
	ck_assert_int_ge(e.nfiles, 2);
	ck_assert_int_eq(ldvm__template_text(ctx, "minimal", &text, &len), 0);
	entry_version(text, len, &e, v);
	ck_assert_str_eq(v, ldvm_template_version(t));
	free(text);
	ldvm_template_free(t);
	unsetenv("LITEDVM_CONFDIR");
}
END_TEST

/* The files an entry names count: a volume changed, another version. */
START_TEST(poolent_tracks_files)
{
	char path[] = "/tmp/ldvm-unit-XXXXXX", img[] = "/tmp/ldvm-img-XXXXXX";
	char text[256], buf[LDVM__POOLENT_MAX], v[17];
	struct ldvm_template *t;
	struct ldvm__poolent e;
	int fd = mkstemp(path), ifd = mkstemp(img);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(ifd, 0);
	snprintf(text, sizeof(text), "kernel=\"/k\"\ndisk=[\"format=raw,"
	    "vdev=xvda,access=rw,target=%s\"]\n", img);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(ldvm_template_load_file(ctx, "t", path, &t), 0);
	ck_assert_int_eq(ldvm__poolent_encode(t, 3, U, "copy", "9", buf,
	    sizeof(buf)), 0);
	ck_assert_int_eq(ldvm__poolent_decode(buf, strlen(buf), &e), 0);
	entry_version(text, strlen(text), &e, v);
	ck_assert_str_eq(v, ldvm_template_version(t));
	ck_assert_int_eq(write(ifd, "x", 1), 1);
	close(ifd);
	entry_version(text, strlen(text), &e, v);
	ck_assert_str_ne(v, ldvm_template_version(t));
	ldvm_template_free(t);
	unlink(path);
	unlink(img);
}
END_TEST

static const char *const bad_entries[] = {
	"",
	"2 0123456789abcdef 7 " U " reflink 17 0 0 0",         /* no files */
	"2 0123456789abcdef 7 " U " reflink 17 0 0 0\n/k",     /* one file */
	"1 0123456789abcdef 7 reflink 17 0 0 0\n\n",     /* format 1 */
	"3 0123456789abcdef 7 " U " reflink 17 0 0 0\n\n",
	"2 0123456789abcdef 7 reflink 17 0 0 0\n\n",     /* no UUID */
	/* UUIDs: upper case, a dash moved, one digit less, one more. */
	"2 0123456789abcdef 7 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0 "
	    "reflink 17 0 0 0\n\n",
	"2 0123456789abcdef 7 0f1e2d3c4-b5a-6978-8796-a5b4c3d2e1f0 "
	    "reflink 17 0 0 0\n\n",
	"2 0123456789abcdef 7 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f "
	    "reflink 17 0 0 0\n\n",
	"2 0123456789abcdef 7 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0a "
	    "reflink 17 0 0 0\n\n",
	"2 0123456789abcde 7 " U " reflink 17 0 0 0\n\n",      /* 15 digits */
	"2 0123456789ABCDEF 7 " U " reflink 17 0 0 0\n\n",     /* upper case */
	/* domid > 0x7fef */
	"2 0123456789abcdef 32752 " U " reflink 17 0 0 0\n\n",
	"2 0123456789abcdef -1 " U " reflink 17 0 0 0\n\n",
	"2 0123456789abcdef 07 " U " reflink 17 0 0 0\n\n",
	"2 0123456789abcdef 7 " U " Reflink 17 0 0 0\n\n",
	"2 0123456789abcdef 7 " U " ref/link 17 0 0 0\n\n",
	"2 0123456789abcdef 7 " U " reflinkreflinkrefl 17 0 0 0\n\n",
	"2 0123456789abcdef 7 " U " reflink x17 0 0 0\n\n",
	"2 0123456789abcdef 7 " U " reflink 17 0 0\n\n",       /* 8 fields */
	"2 0123456789abcdef 7 " U " reflink 17 0 0 0 0\n\n",   /* 10 fields */
	"2 0123456789abcdef 7 " U " reflink 17 0 0  0\n\n",    /* two spaces */
	"2 0123456789abcdef 7 " U " reflink 17 0 99999999 0\n\n",
	"2 0123456789abcdef 7 " U " reflink 17 0 0 31536001\n\n",
	"2 0123456789abcdef 7 " U " reflink 17 99999999999999999999 0 0\n\n",
};

START_TEST(poolent_refusals)
{
	struct ldvm__poolent e;
	const char *s = bad_entries[_i];

	ck_assert_int_eq(ldvm__poolent_decode(s, strlen(s), &e), -1);
}
END_TEST

START_TEST(poolent_limits)
{
	static const char ok[] = "2 0123456789abcdef 7 " U " - 17 0 40 300\n\n";
	char big[LDVM__POOLENT_MAX + 64];
	struct ldvm__poolent e;
	size_t n;

	ck_assert_int_eq(ldvm__poolent_decode(ok, strlen(ok), &e), 0);
	ck_assert_str_eq(e.driver, "");
	ck_assert_uint_eq(e.delay, 40);
	ck_assert_uint_eq(e.timeout, 300);
	ck_assert_int_eq(e.nfiles, 2);
	ck_assert_str_eq(e.files[0], "");
	/* A NUL inside. */
	ck_assert_int_eq(ldvm__poolent_decode("2 0123456789abcdef 7 " U
	    " - 17 0 0 0\n\0\n", 71, &e), -1);
	/* As many files as may be, then one more. */
	n = (size_t)snprintf(big, sizeof(big), "2 0123456789abcdef 7 " U
	    " - 17 0 0 0");
	for (int i = 0; i < LDVM__POOLENT_FILES; i++)
		big[n++] = '\n';
	ck_assert_int_eq(ldvm__poolent_decode(big, n, &e), 0);
	ck_assert_int_eq(e.nfiles, LDVM__POOLENT_FILES);
	big[n++] = '\n';
	ck_assert_int_eq(ldvm__poolent_decode(big, n, &e), -1);
	/* Longer than an entry may be. */
	memset(big + n, 'a', sizeof(big) - n);
	ck_assert_int_eq(ldvm__poolent_decode(big, sizeof(big), &e), -1);
}
END_TEST

struct seen {
	char names[8][64];
	int n, stop_at;
};

static int
note_name(void *arg, const char *name)
{
	struct seen *sn = arg;

	if (sn->n < 8)
		snprintf(sn->names[sn->n], sizeof(sn->names[0]), "%s", name);
	return ++sn->n == sn->stop_at ? 7 : 0;
}

static bool
seen(const struct seen *sn, const char *name)
{
	for (int i = 0; i < sn->n && i < 8; i++)
		if (strcmp(sn->names[i], name) == 0)
			return true;
	return false;
}

/* The configured templates: every NAME.cfg, and nothing else. */
START_TEST(template_list)
{
	char dir[] = "/tmp/ldvm-conf-XXXXXX", path[128];
	const char *files[] = { "a.cfg", "b-2.cfg", ".cfg", "c.cfg.bak",
	    "d.txt", "litedvm.conf",
	    "x23456789012345678901234567890123456789012345678901234567890123"
	    "45.cfg" };
	struct seen sn = { .n = 0 };
	size_t i;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
		close(fd);
	}
	setenv("LITEDVM_CONFDIR", dir, 1);
	ck_assert_int_eq(ldvm_template_list(ctx, note_name, &sn), 0);
	ck_assert_int_eq(sn.n, 2);
	ck_assert(seen(&sn, "a") && seen(&sn, "b-2"));
	/* fn's non-zero return ends the walk and is the result. */
	memset(&sn, 0, sizeof(sn));
	sn.stop_at = 1;
	ck_assert_int_eq(ldvm_template_list(ctx, note_name, &sn), 7);
	ck_assert_int_eq(sn.n, 1);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	ck_assert_int_eq(ldvm_template_list(ctx, note_name, &sn), LDVM_ENOENT);
	ck_assert(strstr(ldvm_errmsg(ctx), dir) != NULL);
	unsetenv("LITEDVM_CONFDIR");
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, full_template);
	tcase_add_test(core, defaults);
	tcase_add_test(core, pvh_and_cmdline);
	tcase_add_test(core, graphical_opener);
	tcase_add_test(core, confdir_lookup);
	tcase_add_test(core, template_list);
	tcase_add_test(core, version_tracks_changes);
	tcase_add_test(core, tcache_tracks_changes);
	tcase_add_test(core, cpu_quiet);
	tcase_add_test(core, poolent_round_trip);
	tcase_add_test(core, poolent_tracks_files);
	tcase_add_test(core, poolent_limits);
	tcase_add_loop_test(limits, poolent_refusals, 0,
	    sizeof(bad_entries) / sizeof(bad_entries[0]));
	tcase_add_loop_test(limits, refusals, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(limits, bad_names_and_files);
	tcase_add_test(limits, nul_byte_refused);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}
