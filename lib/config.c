/*
 * Template configuration: an xl.cfg(5) file parsed with libxlutil into a
 * libxl_domain_config, plus litedvm's own keys.  Needs no hypervisor, so it
 * is unit-tested on any machine.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>


#include "ldvm_internal.h"
#include "xlapi.h"

#define DEFAULT_MEMORY_MB 128
#define DEFAULT_READY_TIMEOUT 60
#define MAX_MEMORY_MB (1024L * 1024)
#define MAX_VCPUS 128
#define MAX_DISKS 16
#define MAX_VIFS 8

struct parse {
	struct ldvm_ctx *ctx;
	XLU_Config *xlu;
	const char *path;
	char *report;       /* what libxlutil said, from open_memstream */
	size_t reportlen;
	FILE *rf;
};

const char *
ldvm_confdir(void)
{
	const char *d = getenv("LITEDVM_CONFDIR");

	return d != NULL && d[0] != '\0' ? d : LDVM_SYSCONFDIR "/litedvm";
}

int
ldvm_template_list(struct ldvm_ctx *ctx, ldvm_template_fn *fn, void *arg)
{
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if ((d = opendir(ldvm_confdir())) == NULL)
		return ldvm__errno(ctx, errno == ENOENT ? LDVM_ENOENT :
		    LDVM_ESYS, "%s", ldvm_confdir());
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char name[LDVM_NAME_MAX + 1];
		size_t n = strlen(e->d_name);

		if (n <= 4 || n - 4 > LDVM_NAME_MAX ||
		    strcmp(e->d_name + n - 4, ".cfg") != 0)
			continue;
		memcpy(name, e->d_name, n - 4);
		name[n - 4] = '\0';
		rc = fn(arg, name);
	}
	closedir(d);
	return rc;
}

/*
 * Reads a configuration file whole, for xlu_cfg_readdata.  libxlutil's
 * lexer asserts, aborting the process, on a NUL byte inside a quoted
 * string: a file holding a NUL anywhere is refused before it sees it.
 */
static int
read_conf(struct ldvm_ctx *ctx, const char *path, char **out, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0, r;
	FILE *f;

	*out = NULL;
	*len = 0;
	if ((f = fopen(path, "re")) == NULL)
		return ldvm__errno(ctx, errno == ENOENT ? LDVM_ENOENT :
		    LDVM_ESYS, "%s", path);
	do {
		if (n == cap) {
			/* xlu_cfg_readdata takes an int length. */
			if (cap >= INT_MAX / 2) {
				free(buf);
				fclose(f);
				return ldvm__err(ctx, LDVM_EINVAL, "%s: too large",
				    path);
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return ldvm__errno(ctx, LDVM_ENOMEM, "realloc");
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return ldvm__errno(ctx, LDVM_ESYS, "%s", path);
	}
	fclose(f);
	if (memchr(buf, '\0', n) != NULL) {
		free(buf);
		return ldvm__err(ctx, LDVM_EINVAL, "%s: NUL byte in the file",
		    path);
	}
	*out = buf;
	*len = n;
	return 0;
}

/* libxlutil prints its complaints to a FILE; make them our message. */
static int perr(struct parse *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
perr(struct parse *p, const char *fmt, ...)
{
	char said[200] = "";
	char what[200];
	va_list ap;

	if (p->rf != NULL) {
		char *nl;

		fflush(p->rf);
		if (p->report != NULL && p->reportlen > 0) {
			snprintf(said, sizeof(said), "%s", p->report);
			if ((nl = strchr(said, '\n')) != NULL)
				*nl = '\0';
		}
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (said[0] != '\0')
		return ldvm__err(p->ctx, LDVM_EINVAL, "%s: %s (%s)", p->path,
		    what, said);
	return ldvm__err(p->ctx, LDVM_EINVAL, "%s: %s", p->path, what);
}

/* A bounded integer key; *v untouched when the key is absent. */
static int
get_long(struct parse *p, const char *key, long min, long max, long *v)
{
	long x;
	int e = xlu_cfg_get_long(p->xlu, key, &x, 1);

	if (e == ESRCH)
		return 0;
	if (e != 0)
		return perr(p, "'%s' must be a number", key);
	if (x < min || x > max)
		return perr(p, "'%s' out of range (%ld..%ld)", key, min, max);
	*v = x;
	return 0;
}

static int
get_str(struct parse *p, const char *key, char **v)
{
	const char *s;
	int e = xlu_cfg_get_string(p->xlu, key, &s, 1);

	if (e == ESRCH)
		return 0;
	if (e != 0)
		return perr(p, "'%s' must be a string", key);
	free(*v);
	if ((*v = strdup(s)) == NULL)
		return ldvm__errno(p->ctx, LDVM_ENOMEM, "strdup");
	return 0;
}

static int
parse_disks(struct parse *p, libxl_domain_config *c)
{
	XLU_ConfigList *list;
	int i, n, e;

	e = xlu_cfg_get_list(p->xlu, "disk", &list, &n, 1);
	if (e == ESRCH)
		return 0;
	if (e != 0)
		return perr(p, "'%s' must be a list of strings", "disk");
	if (n > MAX_DISKS)
		return perr(p, "too many entries in '%s'", "disk");
	if ((c->disks = calloc(n > 0 ? n : 1, sizeof(*c->disks))) == NULL)
		return ldvm__errno(p->ctx, LDVM_ENOMEM, "calloc");
	for (i = 0; i < n; i++) {
		const char *spec = xlu_cfg_get_listitem(list, i);
		libxl_device_disk *d = &c->disks[i];

		libxl_device_disk_init(d);
		c->num_disks = i + 1;
		if (spec == NULL)
			return perr(p, "'%s' must be a list of strings", "disk");
		if (xlu_disk_parse(p->xlu, 1, &spec, d) != 0)
			return perr(p, "bad disk specification '%s'", spec);
		if (d->vdev == NULL)
			return perr(p, "disk '%s' has no vdev", spec);
		if (d->pdev_path == NULL || d->pdev_path[0] != '/')
			return perr(p, "disk '%s' needs an absolute target", spec);
	}
	return 0;
}

static int
nic_key(struct parse *p, libxl_device_nic *nic, const char *k, const char *v)
{
	char **field = NULL;

	if (strcmp(k, "mac") == 0) {
		unsigned m[6];
		int i, used = 0;

		if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2],
		    &m[3], &m[4], &m[5], &used) != 6 || v[used] != '\0')
			return perr(p, "bad mac address '%s'", v);
		for (i = 0; i < 6; i++)
			nic->mac[i] = (uint8_t)m[i];
		return 0;
	}
	if (strcmp(k, "bridge") == 0)
		field = &nic->bridge;
	else if (strcmp(k, "ip") == 0)
		field = &nic->ip;
	else if (strcmp(k, "script") == 0)
		field = &nic->script;
	else if (strcmp(k, "vifname") == 0)
		field = &nic->ifname;
	else if (strcmp(k, "model") == 0)
		field = &nic->model;
	else if (strcmp(k, "gatewaydev") == 0)
		field = &nic->gatewaydev;
	else if (strcmp(k, "backend") == 0)
		field = &nic->backend_domname;
	else if (strcmp(k, "rate") == 0) {
		if (xlu_vif_parse_rate(p->xlu, v, nic) != 0)
			return perr(p, "bad vif rate '%s'", v);
		return 0;
	} else if (strcmp(k, "mtu") == 0) {
		unsigned long mtu;

		if (!ldvm__parse_uint(v, strlen(v), 65535, &mtu) || mtu < 68)
			return perr(p, "bad vif mtu '%s'", v);
		nic->mtu = (int)mtu;
		return 0;
	} else if (strcmp(k, "type") == 0) {
		if (strcmp(v, "vif") == 0)
			nic->nictype = LIBXL_NIC_TYPE_VIF;
		else
			return perr(p, "unsupported vif type '%s'", v);
		return 0;
	} else
		return perr(p, "unknown vif key '%s'", k);
	free(*field);
	if ((*field = strdup(v)) == NULL)
		return ldvm__errno(p->ctx, LDVM_ENOMEM, "strdup");
	return 0;
}

/* "mac=00:16:3e:00:00:01, bridge=xenbr0": comma separated key=value. */
static int
parse_vif(struct parse *p, libxl_device_nic *nic, const char *spec)
{
	char *copy, *item, *save = NULL;
	int rc = 0;

	if ((copy = strdup(spec)) == NULL)
		return ldvm__errno(p->ctx, LDVM_ENOMEM, "strdup");
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	    item = strtok_r(NULL, ",", &save)) {
		char *eq, *k, *v, *end;

		while (*item == ' ' || *item == '\t')
			item++;
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item == '\0')
			continue;
		if ((eq = strchr(item, '=')) == NULL) {
			rc = perr(p, "vif item '%s' is not key=value", item);
			break;
		}
		*eq = '\0';
		k = item;
		v = eq + 1;
		rc = nic_key(p, nic, k, v);
	}
	free(copy);
	return rc;
}

static int
parse_vifs(struct parse *p, libxl_domain_config *c)
{
	XLU_ConfigList *list;
	int i, n, e, rc;

	e = xlu_cfg_get_list(p->xlu, "vif", &list, &n, 1);
	if (e == ESRCH)
		return 0;
	if (e != 0)
		return perr(p, "'%s' must be a list of strings", "vif");
	if (n > MAX_VIFS)
		return perr(p, "too many entries in '%s'", "vif");
	if ((c->nics = calloc(n > 0 ? n : 1, sizeof(*c->nics))) == NULL)
		return ldvm__errno(p->ctx, LDVM_ENOMEM, "calloc");
	for (i = 0; i < n; i++) {
		const char *spec = xlu_cfg_get_listitem(list, i);

		libxl_device_nic_init(&c->nics[i]);
		c->num_nics = i + 1;
		c->nics[i].devid = i;
		if (spec == NULL)
			return perr(p, "'%s' must be a list of strings", "vif");
		if ((rc = parse_vif(p, &c->nics[i], spec)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_cmdline(struct parse *p, libxl_domain_build_info *b)
{
	char *cmdline = NULL, *root = NULL, *extra = NULL;
	int rc;

	if ((rc = get_str(p, "cmdline", &cmdline)) != 0 ||
	    (rc = get_str(p, "root", &root)) != 0 ||
	    (rc = get_str(p, "extra", &extra)) != 0)
		goto out;
	if (cmdline != NULL && (root != NULL || extra != NULL)) {
		rc = perr(p, "'%s' excludes 'root' and 'extra'", "cmdline");
		goto out;
	}
	if (cmdline == NULL && (root != NULL || extra != NULL)) {
		if (asprintf(&cmdline, "%s%s%s%s", root ? "root=" : "",
		    root ? root : "", root && extra ? " " : "",
		    extra ? extra : "") < 0) {
			cmdline = NULL;
			rc = ldvm__errno(p->ctx, LDVM_ENOMEM, "asprintf");
			goto out;
		}
	}
	b->cmdline = cmdline;
	cmdline = NULL;
out:
	free(cmdline);
	free(root);
	free(extra);
	return rc;
}

static int
parse_domain(struct parse *p, struct ldvm_template *t)
{
	libxl_domain_config *c = &t->cfg;
	libxl_domain_build_info *b = &c->b_info;
	libxl_domain_type type = LIBXL_DOMAIN_TYPE_PV;
	long memory = DEFAULT_MEMORY_MB, maxmem = -1, vcpus = 1, maxvcpus = -1;
	char *stype = NULL;
	int rc, i;

	if ((rc = get_str(p, "type", &stype)) != 0)
		return rc;
	if (stype != NULL) {
		if (strcmp(stype, "pv") == 0)
			type = LIBXL_DOMAIN_TYPE_PV;
		else if (strcmp(stype, "pvh") == 0)
			type = LIBXL_DOMAIN_TYPE_PVH;
		else {
			rc = perr(p, "type '%s' not supported (pv or pvh)",
			    stype);
			free(stype);
			return rc;
		}
		free(stype);
	}
	c->c_info.type = type;
	libxl_domain_build_info_init_type(b, type);

	if ((rc = get_long(p, "memory", 32, MAX_MEMORY_MB, &memory)) != 0 ||
	    (rc = get_long(p, "maxmem", 32, MAX_MEMORY_MB, &maxmem)) != 0 ||
	    (rc = get_long(p, "vcpus", 1, MAX_VCPUS, &vcpus)) != 0 ||
	    (rc = get_long(p, "maxvcpus", 1, MAX_VCPUS, &maxvcpus)) != 0)
		return rc;
	if (maxmem < 0)
		maxmem = memory;
	if (maxmem < memory)
		return perr(p, "'%s' is below 'memory'", "maxmem");
	if (maxvcpus < 0)
		maxvcpus = vcpus;
	if (maxvcpus < vcpus)
		return perr(p, "'%s' is below 'vcpus'", "maxvcpus");
	b->target_memkb = (uint64_t)memory * 1024;
	b->max_memkb = (uint64_t)maxmem * 1024;
	b->max_vcpus = (int)maxvcpus;
	/* libxl's bitmap helpers want a ctx; a bitmap is just bytes. */
	b->avail_vcpus.size = (uint32_t)((maxvcpus + 7) / 8);
	if ((b->avail_vcpus.map = calloc(b->avail_vcpus.size, 1)) == NULL)
		return ldvm__errno(p->ctx, LDVM_ENOMEM, "calloc");
	for (i = 0; i < vcpus; i++)
		b->avail_vcpus.map[i / 8] |= (uint8_t)(1u << (i % 8));

	if ((rc = get_str(p, "kernel", &b->kernel)) != 0 ||
	    (rc = get_str(p, "ramdisk", &b->ramdisk)) != 0 ||
	    (rc = parse_cmdline(p, b)) != 0)
		return rc;
	if (b->kernel == NULL) {
		const char *bl;

		/* pygrub reads the guest's own disk from dom0: not for
		 * disposables of an untrusted guest, and not supported. */
		if (xlu_cfg_get_string(p->xlu, "bootloader", &bl, 1) == 0)
			return perr(p, "'bootloader' is not supported: copy the "
			    "guest's kernel and initrd to dom0 and name them in "
			    "'kernel' and 'ramdisk'");
		return perr(p, "'%s' is required", "kernel");
	}
	if (b->kernel[0] != '/')
		return perr(p, "'%s' must be an absolute path", "kernel");
	if (b->ramdisk != NULL && b->ramdisk[0] != '/')
		return perr(p, "'%s' must be an absolute path", "ramdisk");

	/* A disposable never comes back: whatever ends it, it is gone. */
	c->on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	c->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	c->on_watchdog = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	c->on_crash = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	c->on_soft_reset = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;

	if ((rc = parse_disks(p, c)) != 0 || (rc = parse_vifs(p, c)) != 0)
		return rc;
	return 0;
}

/* RAM volumes (litedvm_volatile): default and largest cap, MiB. */
#define DEFAULT_VOLATILE_MB 256
#define MAX_VOLATILE_MB (1L << 20)

static int
parse_litedvm(struct parse *p, struct ldvm_template *t)
{
	long dispvm = 0, preload = 0, pmem = -1, delay = 0, runtime = 0;
	long timeout = DEFAULT_READY_TIMEOUT, vsize = DEFAULT_VOLATILE_MB;
	char *vol = NULL;
	int rc;

	if ((rc = get_long(p, "litedvm_dispvm_template", 0, 1, &dispvm)) != 0 ||
	    (rc = get_long(p, "litedvm_preload", 0, 64, &preload)) != 0 ||
	    (rc = get_long(p, "litedvm_preload_memory", 32, MAX_MEMORY_MB,
	    &pmem)) != 0 ||
	    (rc = get_long(p, "litedvm_preload_delay", 0, 3600, &delay)) != 0 ||
	    (rc = get_long(p, "litedvm_timeout", 0, 31536000, &runtime)) != 0 ||
	    (rc = get_long(p, "litedvm_ready_timeout", 1, 3600,
	    &timeout)) != 0 ||
	    (rc = get_long(p, "litedvm_volatile_size", 16, MAX_VOLATILE_MB,
	    &vsize)) != 0 ||
	    (rc = get_str(p, "litedvm_volatile", &vol)) != 0)
		return rc;
	if (vol != NULL && strcmp(vol, "ram") != 0) {
		free(vol);
		return perr(p, "'%s' must be \"ram\"", "litedvm_volatile");
	}
	t->volatile_cap = vol != NULL ? (uint64_t)vsize << 20 : 0;
	free(vol);
	t->dispvm = dispvm != 0;
	t->preload = (int)preload;
	t->preload_delay = (int)delay;
	t->ready_timeout = (int)timeout;
	t->run_timeout = (unsigned)runtime;
	t->preload_memkb = pmem < 0 ? t->cfg.b_info.target_memkb :
	    (uint64_t)pmem * 1024;
	if (t->preload_memkb > t->cfg.b_info.target_memkb)
		return perr(p, "'%s' is above 'memory'",
		    "litedvm_preload_memory");
	return 0;
}

/* The opener: a list of at most 32 strings, "%f" standing for the file. */
static int
parse_opener(struct parse *p, struct ldvm_template *t)
{
	static const char *const dflt[] = { "xdg-open", "%f" };
	XLU_ConfigList *list;
	char *wait = NULL;
	long term = 0, wl = 0;
	int i, n, e, rc;

	if ((rc = get_long(p, "litedvm_open_terminal", 0, 1, &term)) != 0)
		return rc;
	t->open_terminal = term != 0;
	if ((rc = get_long(p, "litedvm_open_wayland", 0, 1, &wl)) != 0)
		return rc;
	t->open_wayland = wl != 0;
	if (t->open_terminal && t->open_wayland)
		return perr(p, "'%s' and '%s' cannot both be 1: an opener runs "
		    "on a terminal or shows windows", "litedvm_open_terminal",
		    "litedvm_open_wayland");
	e = xlu_cfg_get_list(p->xlu, "litedvm_open_command", &list, &n, 1);
	if (e == ESRCH) {
		list = NULL;
		n = 2;
	} else if (e != 0 || n < 1 || n > 32)
		return perr(p, "'%s' must be a list of 1 to 32 strings",
		    "litedvm_open_command");
	if ((t->open_argv = calloc((size_t)n + 1, sizeof(char *))) == NULL)
		return ldvm__errno(p->ctx, LDVM_ENOMEM, "calloc");
	for (i = 0; i < n; i++) {
		const char *a = list == NULL ? dflt[i] :
		    xlu_cfg_get_listitem(list, i);

		if (a == NULL || (i == 0 && a[0] == '\0'))
			return perr(p, "'%s' must be a list of 1 to 32 strings",
			    "litedvm_open_command");
		if ((t->open_argv[i] = strdup(a)) == NULL)
			return ldvm__errno(p->ctx, LDVM_ENOMEM, "strdup");
	}
	snprintf(t->open_wait, sizeof(t->open_wait), "exit");
	if ((rc = get_str(p, "litedvm_open_done", &wait)) != 0)
		return rc;
	if (wait != NULL) {
		if (strcmp(wait, "exit") != 0 && strcmp(wait, "close") != 0) {
			free(wait);
			return perr(p, "'%s' must be \"exit\" or \"close\"",
			    "litedvm_open_done");
		}
		snprintf(t->open_wait, sizeof(t->open_wait), "%s", wait);
		free(wait);
	}
	return 0;
}

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t
ldvm__version_file(uint64_t h, const char *path)
{
	struct stat st;
	long long id[5] = { -1, -1, -1, -1, -1 };

	if (path != NULL && stat(path, &st) == 0) {
		id[0] = (long long)st.st_dev;
		id[1] = (long long)st.st_ino;
		id[2] = (long long)st.st_size;
		id[3] = (long long)st.st_mtim.tv_sec;
		id[4] = (long long)st.st_mtim.tv_nsec;
	}
	h = fnv(h, id, sizeof(id));
	/*
	 * A block device (an LVM origin): which device, and for device-mapper
	 * its UUID, so a volume replaced (lvremove, lvcreate, lvrename) is a
	 * new version.  Writes into the same volume are not seen.
	 */
	if (path != NULL && stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		char sys[96], uuid[160] = "";
		FILE *f;

		h = fnv(h, &st.st_rdev, sizeof(st.st_rdev));
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/uuid",
		    major(st.st_rdev), minor(st.st_rdev));
		if ((f = fopen(sys, "re")) != NULL) {
			if (fgets(uuid, sizeof(uuid), f) == NULL)
				uuid[0] = '\0';
			fclose(f);
		}
		h = fnv(h, uuid, strlen(uuid));
	}
	return h;
}

uint64_t
ldvm__version_text(const char *text, size_t len)
{
	return fnv(14695981039346656037ULL, text, len);
}

void
ldvm__version_format(uint64_t h, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int
ldvm__template_nfiles(const struct ldvm_template *t)
{
	return 2 + t->cfg.num_disks;
}

const char *
ldvm__template_file(const struct ldvm_template *t, int i)
{
	if (i == 0)
		return t->cfg.b_info.kernel;
	if (i == 1)
		return t->cfg.b_info.ramdisk;
	return t->cfg.disks[i - 2].pdev_path;
}

/*
 * A template's version: its configuration text and the identity (inode,
 * size, modification time) of every file it boots from.  Disposables made
 * from another version are never handed out of a pool.
 */
static void
compute_version(struct ldvm_template *t, const char *text, size_t len)
{
	t->texth = ldvm__version_text(text, len);
	ldvm__template_version_now(t, t->version);
}

void
ldvm__template_version_now(const struct ldvm_template *t, char out[17])
{
	uint64_t h = t->texth;
	int i;

	for (i = 0; i < ldvm__template_nfiles(t); i++)
		h = ldvm__version_file(h, ldvm__template_file(t, i));
	ldvm__version_format(h, out);
}

const char *
ldvm_template_version(const struct ldvm_template *t)
{
	return t->version;
}

int
ldvm_template_load_file(struct ldvm_ctx *ctx, const char *name,
    const char *path, struct ldvm_template **out)
{
	struct parse p = { .ctx = ctx, .path = path };
	struct ldvm_template *t = NULL;
	char *text = NULL;
	size_t len;
	int rc, e;

	*out = NULL;
	if (!ldvm__valid_name(name, LDVM_NAME_MAX))
		return ldvm__err(ctx, LDVM_EINVAL, "invalid template name '%s'",
		    name);
	/* xl.cfg's parser and libxl's configuration: loaded now. */
	if ((rc = ldvm__xl_need(ctx)) != 0)
		return rc;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	libxl_domain_config_init(&t->cfg);
	snprintf(t->name, sizeof(t->name), "%s", name);
	if ((t->path = strdup(path)) == NULL) {
		rc = ldvm__errno(ctx, LDVM_ENOMEM, "strdup");
		goto out;
	}
	if ((p.rf = open_memstream(&p.report, &p.reportlen)) == NULL) {
		rc = ldvm__errno(ctx, LDVM_ENOMEM, "open_memstream");
		goto out;
	}
	if ((p.xlu = xlu_cfg_init(p.rf, path)) == NULL) {
		rc = ldvm__errno(ctx, LDVM_ENOMEM, "xlu_cfg_init");
		goto out;
	}
	if ((rc = read_conf(ctx, path, &text, &len)) != 0)
		goto out;
	if ((e = xlu_cfg_readdata(p.xlu, text, (int)len)) != 0) {
		errno = e;
		if (e == EINVAL)
			rc = perr(&p, "%s", "syntax error");
		else
			rc = ldvm__errno(ctx, LDVM_ESYS, "%s", path);
		goto out;
	}
	if ((rc = parse_domain(&p, t)) != 0 || (rc = parse_litedvm(&p, t)) != 0 ||
	    (rc = parse_opener(&p, t)) != 0)
		goto out;
	compute_version(t, text, len);
	*out = t;
	t = NULL;
out:
	if (p.xlu != NULL)
		xlu_cfg_destroy(p.xlu);
	if (p.rf != NULL)
		fclose(p.rf);
	free(p.report);
	free(text);
	ldvm_template_free(t);
	return rc;
}

int
ldvm__template_path(struct ldvm_ctx *ctx, const char *name, char *path)
{
	int n;

	if (!ldvm__valid_name(name, LDVM_NAME_MAX))
		return ldvm__err(ctx, LDVM_EINVAL, "invalid template name '%s'",
		    name);
	n = snprintf(path, PATH_MAX, "%s/%s.cfg", ldvm_confdir(), name);
	if (n < 0 || n >= PATH_MAX)
		return ldvm__err(ctx, LDVM_EINVAL, "configuration path too long");
	return 0;
}

int
ldvm__template_text(struct ldvm_ctx *ctx, const char *name, char **text,
    size_t *len)
{
	char path[PATH_MAX];
	int rc;

	*text = NULL;
	*len = 0;
	if ((rc = ldvm__template_path(ctx, name, path)) != 0)
		return rc;
	return read_conf(ctx, path, text, len);
}

int
ldvm_template_load(struct ldvm_ctx *ctx, const char *name,
    struct ldvm_template **out)
{
	char path[PATH_MAX];
	int rc;

	*out = NULL;
	if ((rc = ldvm__template_path(ctx, name, path)) != 0)
		return rc;
	return ldvm_template_load_file(ctx, name, path, out);
}

void
ldvm_template_free(struct ldvm_template *t)
{
	if (t == NULL)
		return;
	libxl_domain_config_dispose(&t->cfg);
	free(t->path);
	if (t->open_argv != NULL)
		for (char **a = t->open_argv; *a != NULL; a++)
			free(*a);
	free(t->open_argv);
	free(t);
}

const char *
ldvm_template_name(const struct ldvm_template *t)
{
	return t->name;
}

int
ldvm_template_is_dispvm(const struct ldvm_template *t)
{
	return t->dispvm;
}

int
ldvm_template_preload(const struct ldvm_template *t)
{
	return t->preload;
}

unsigned
ldvm_template_timeout(const struct ldvm_template *t)
{
	return t->run_timeout;
}

int
ldvm_template_ready_timeout(const struct ldvm_template *t)
{
	return t->ready_timeout;
}

uint64_t
ldvm_template_memory_kb(const struct ldvm_template *t)
{
	return t->cfg.b_info.target_memkb;
}

uint64_t
ldvm_template_preload_memory_kb(const struct ldvm_template *t)
{
	return t->preload_memkb;
}

int
ldvm_template_ndisks(const struct ldvm_template *t)
{
	return t->cfg.num_disks;
}

int
ldvm_template_to_json(struct ldvm_ctx *ctx, const struct ldvm_template *t,
    char **json)
{
	/* libxl's generated to_json takes a non-const pointer but only reads. */
	*json = libxl_domain_config_to_json(ctx->xl,
	    (libxl_domain_config *)&t->cfg);
	if (*json == NULL)
		return ldvm__err(ctx, LDVM_ENOMEM, "cannot render template %s",
		    t->name);
	return 0;
}

/*
 * Reads key from <confdir>/litedvm.conf (xl.cfg syntax) into buf as text;
 * LDVM_ENOENT when the file or the key is absent.
 */
int
ldvm__conf_get(struct ldvm_ctx *ctx, const char *key, char *buf, size_t size)
{
	char path[PATH_MAX], *text;
	XLU_Config *xlu;
	const char *s;
	size_t len;
	long l;
	FILE *devnull;
	int rc, e;

	if (snprintf(path, sizeof(path), "%s/litedvm.conf", ldvm_confdir()) >=
	    (int)sizeof(path))
		return ldvm__err(ctx, LDVM_EINVAL, "configuration path too long");
	if ((rc = read_conf(ctx, path, &text, &len)) != 0)
		return rc;
	if ((rc = ldvm__xl_need(ctx)) != 0) {
		free(text);
		return rc;
	}
	rc = LDVM_ENOENT;
	if ((devnull = fopen("/dev/null", "we")) == NULL) {
		free(text);
		return ldvm__errno(ctx, LDVM_ESYS, "/dev/null");
	}
	if ((xlu = xlu_cfg_init(devnull, path)) == NULL) {
		fclose(devnull);
		free(text);
		return ldvm__errno(ctx, LDVM_ENOMEM, "xlu_cfg_init");
	}
	if ((e = xlu_cfg_readdata(xlu, text, (int)len)) != 0)
		rc = ldvm__err(ctx, LDVM_EINVAL, "%s: cannot parse (%s)", path,
		    strerror(e));
	else if (xlu_cfg_get_string(xlu, key, &s, 1) == 0) {
		snprintf(buf, size, "%s", s);
		rc = 0;
	} else if (xlu_cfg_get_long(xlu, key, &l, 1) == 0) {
		snprintf(buf, size, "%ld", l);
		rc = 0;
	}
	xlu_cfg_destroy(xlu);
	fclose(devnull);
	free(text);
	return rc;
}

int
ldvm_default_template(struct ldvm_ctx *ctx, char *buf, size_t size)
{
	char v[LDVM_NAME_MAX + 2];
	int rc;

	snprintf(buf, size, "default");
	if ((rc = ldvm__conf_get(ctx, "default_template", v, sizeof(v))) != 0)
		return rc == LDVM_ENOENT ? 0 : rc;
	if (!ldvm__valid_name(v, LDVM_NAME_MAX))
		return ldvm__err(ctx, LDVM_EINVAL, "%s/litedvm.conf: invalid "
		    "default_template '%s'", ldvm_confdir(), v);
	snprintf(buf, size, "%s", v);
	return 0;
}
