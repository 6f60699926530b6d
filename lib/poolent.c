/*
 * A pool member's entry: the value of /litedvm/pool/<template>/<name>.
 * dvm-preload writes it as the member joins the pool; a claim by template
 * name (ldvm_pool_claim_named) reads it in its transaction instead of the
 * member's record, and instead of loading the template, whose version it
 * computes from the configuration text and the files the entry names.
 *
 *	2 <version> <domid> <uuid> <driver|-> <created> <target_kb> <delay>
 *	  <timeout>
 *	<kernel>
 *	<ramdisk>
 *	<disk>...
 *
 * An empty line is a file the template does not have.  Only dom0 writes
 * under /litedvm, but the value is still parsed as strictly as a guest's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ldvm_internal.h"

#define TIME_MAX 31536000UL     /* a delay or a time limit, in seconds */

int
ldvm__poolent_encode(const struct ldvm_template *t, uint32_t domid,
    const char *uuid, const char *driver, const char *created, char *buf,
    size_t size)
{
	uint64_t target = 0;
	size_t used;
	int n, i;

	if (t->preload_memkb < t->cfg.b_info.target_memkb)
		target = t->cfg.b_info.target_memkb;
	if (ldvm__template_nfiles(t) > LDVM__POOLENT_FILES ||
	    size > LDVM__POOLENT_MAX || !ldvm__valid_uuid(uuid))
		return -1;
	n = snprintf(buf, size, "2 %s %u %s %s %s %llu %d %u", t->version,
	    domid, uuid, driver[0] != '\0' ? driver : "-", created,
	    (unsigned long long)target, t->preload_delay, t->run_timeout);
	if (n < 0 || (size_t)n >= size)
		return -1;
	used = (size_t)n;
	for (i = 0; i < ldvm__template_nfiles(t); i++) {
		const char *f = ldvm__template_file(t, i);

		if (f == NULL)
			f = "";
		if (strchr(f, '\n') != NULL)
			return -1;
		n = snprintf(buf + used, size - used, "\n%s", f);
		if (n < 0 || (size_t)n >= size - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

/* Whether s[0..len) is 1 to max characters, each in set. */
static bool
made_of(const char *s, size_t len, size_t max, const char *set)
{
	return len > 0 && len <= max && strspn(s, set) >= len;
}

int
ldvm__poolent_decode(const char *s, size_t len, struct ldvm__poolent *e)
{
	static const char digits[] = "0123456789";
	char *field[9], *p, *line;
	unsigned long v;
	size_t k;
	int i;

	memset(e, 0, offsetof(struct ldvm__poolent, buf));
	if (len == 0 || len >= sizeof(e->buf) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(e->buf, s, len);
	e->buf[len] = '\0';
	/* The header: nine fields, one space apart. */
	if ((p = strchr(e->buf, '\n')) == NULL)
		return -1;
	*p++ = '\0';
	line = e->buf;
	for (i = 0; i < 9; i++) {
		field[i] = line;
		if ((line = strchr(line, ' ')) != NULL)
			*line++ = '\0';
		else if (i < 8)
			return -1;
	}
	if (line != NULL || strcmp(field[0], "2") != 0)
		return -1;
	if (strlen(field[1]) != 16 ||
	    !made_of(field[1], 16, 16, "0123456789abcdef"))
		return -1;
	memcpy(e->version, field[1], 17);
	k = strlen(field[2]);
	if (!ldvm__parse_uint(field[2], k, 0x7fef, &v))
		return -1;
	memcpy(e->domid, field[2], k + 1);
	if (!ldvm__valid_uuid(field[3]))
		return -1;
	memcpy(e->uuid, field[3], LDVM__UUID_LEN + 1);
	k = strlen(field[4]);
	if (strcmp(field[4], "-") != 0) {
		if (!made_of(field[4], k, sizeof(e->driver) - 1,
		    "abcdefghijklmnopqrstuvwxyz"))
			return -1;
		memcpy(e->driver, field[4], k + 1);
	}
	k = strlen(field[5]);
	if (!made_of(field[5], k, sizeof(e->created) - 1, digits))
		return -1;
	memcpy(e->created, field[5], k + 1);
	if (!ldvm__parse_uint(field[6], strlen(field[6]), UINT64_MAX / 1024,
	    &v))
		return -1;
	e->target_kb = v;
	if (!ldvm__parse_uint(field[7], strlen(field[7]), TIME_MAX, &v))
		return -1;
	e->delay = (unsigned)v;
	if (!ldvm__parse_uint(field[8], strlen(field[8]), TIME_MAX, &v))
		return -1;
	e->timeout = (unsigned)v;
	/* The files, one a line: the kernel and the ramdisk at least. */
	for (;;) {
		if (e->nfiles == LDVM__POOLENT_FILES)
			return -1;
		e->files[e->nfiles++] = p;
		if ((p = strchr(p, '\n')) == NULL)
			break;
		*p++ = '\0';
	}
	return e->nfiles >= 2 ? 0 : -1;
}
