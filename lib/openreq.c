/*
 * dvm-open requests: the one xenstore value a guest writes to ask for a
 * file to be opened in a disposable, and the file names inside it.  Pure
 * functions: dom0 runs every request through ldvm__openreq_parse before
 * looking at it.
 *
 * A request is one line of at most LDVM_OPEN_REQ_MAX bytes:
 *   1 MODE TEMPLATE SIZE NAME
 * MODE is "rw" or "ro" (view only), TEMPLATE a template name or "-" for
 * the guest's default, SIZE the file's size in decimal, NAME the file's
 * name (the rest of the line; it may hold spaces).
 */
#include <stdio.h>
#include <string.h>

#include "ldvm_internal.h"

/*
 * Unicode's format characters (Cf: bidirectional overrides, zero-width
 * characters, tags) and separators other than the ASCII space (Zs, Zl,
 * Zp): invisible or reordering, they spoof names in logs and listings.
 */
static bool
spoofs(uint32_t cp)
{
	static const uint32_t r[][2] = {
		{ 0x00a0, 0x00a0 }, { 0x00ad, 0x00ad }, { 0x0600, 0x0605 },
		{ 0x061c, 0x061c }, { 0x06dd, 0x06dd }, { 0x070f, 0x070f },
		{ 0x0890, 0x0891 }, { 0x08e2, 0x08e2 }, { 0x1680, 0x1680 },
		{ 0x180e, 0x180e }, { 0x2000, 0x200f }, { 0x2028, 0x202f },
		{ 0x205f, 0x2064 }, { 0x2066, 0x206f }, { 0x3000, 0x3000 },
		{ 0xfeff, 0xfeff }, { 0xfff9, 0xfffb }, { 0x110bd, 0x110bd },
		{ 0x110cd, 0x110cd }, { 0x13430, 0x1343f },
		{ 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 },
		{ 0xe0020, 0xe007f },
	};
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (cp >= r[i][0] && cp <= r[i][1])
			return true;
	return false;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), else 0. */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *out)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates, beyond Unicode. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*out = cp;
	return len;
}

/*
 * Length of the UTF-8 sequence at s (n bytes left); 0 when invalid or a
 * character a file name must not hold (C1 controls, spoofing characters).
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp = 0;
	size_t len = s[0] < 0x80 ? 1 : utf8_decode(s, n, &cp);

	if (len > 1 && ((cp >= 0x80 && cp <= 0x9f) || spoofs(cp)))
		return 0;
	return len;
}

bool
ldvm__safe_filename(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, l;

	if (s == NULL || len == 0 || len > LDVM_OPEN_NAME_MAX)
		return false;
	if (s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < len; i += l) {
		if (u[i] < 0x20 || u[i] == 0x7f || u[i] == '/')
			return false;
		if (u[i] == '.' && i + 1 < len && u[i + 1] == '.')
			return false;
		if ((l = utf8_len(u + i, len - i)) == 0)
			return false;
	}
	return true;
}

bool
ldvm__reduce_filename(const char *path, char *out, size_t size)
{
	const unsigned char *u;
	const char *base = strrchr(path, '/');
	size_t i, o = 0, l, n;

	if (size < 8)
		return false;
	base = base == NULL ? path : base + 1;
	u = (const unsigned char *)base;
	n = strlen(base);
	for (i = 0; i < n; i += l) {
		l = u[i] < 0x20 || u[i] == 0x7f ? 0 : utf8_len(u + i, n - i);
		if (o + (l == 0 ? 1 : l) >= size ||
		    o + (l == 0 ? 1 : l) > LDVM_OPEN_NAME_MAX)
			break;
		if (l == 0) {
			uint32_t cp;

			/* An unsafe character, or a broken byte: one '_'. */
			out[o++] = '_';
			if (u[i] < 0x80 || (l = utf8_decode(u + i, n - i,
			    &cp)) == 0)
				l = 1;
		} else if ((o == 0 && (u[i] == '-' || u[i] == '.')) ||
		    (u[i] == '.' && o > 0 && out[o - 1] == '.'))
			out[o++] = '_';
		else {
			memcpy(out + o, u + i, l);
			o += l;
		}
	}
	if (o == 0)
		o = (size_t)snprintf(out, size, "file");
	out[o] = '\0';
	return ldvm__safe_filename(out, o);
}

int
ldvm__openreq_format(const struct ldvm__openreq *r, char *buf, size_t size)
{
	int n;

	if ((r->tmpl[0] != '\0' && !ldvm__valid_name(r->tmpl, LDVM_NAME_MAX)) ||
	    !ldvm__safe_filename(r->name, strlen(r->name)))
		return -1;
	n = snprintf(buf, size, "1 %s%s%s %s %llu %s",
	    r->view_only ? "ro" : "rw", r->terminal ? "t" : "",
	    r->wayland ? "g" : "", r->tmpl[0] == '\0' ? "-" : r->tmpl,
	    (unsigned long long)r->size, r->name);
	if (n < 0 || (size_t)n >= size || n > LDVM_OPEN_REQ_MAX)
		return -1;
	return 0;
}

/* The next space-terminated field of [*p, end); false when there is none. */
static bool
field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));

	if (sp == NULL || sp == *p)
		return false;
	*f = *p;
	*flen = (size_t)(sp - *p);
	*p = sp + 1;
	return true;
}

static bool
mode_ok(const char *f, size_t flen)
{
	size_t i = 2;

	if (flen < 2 || flen > 4 ||
	    (memcmp(f, "rw", 2) != 0 && memcmp(f, "ro", 2) != 0))
		return false;
	if (i < flen && f[i] == 't')
		i++;
	if (i < flen && f[i] == 'g')
		i++;
	return i == flen;
}

int
ldvm__openreq_parse(const char *buf, size_t len, struct ldvm__openreq *r,
    char *why, size_t whysz)
{
	const char *p = buf, *end = buf + len, *f;
	unsigned long size;
	size_t flen;

	memset(r, 0, sizeof(*r));
	if (len > LDVM_OPEN_REQ_MAX) {
		snprintf(why, whysz, "request of %zu bytes (at most %d)", len,
		    LDVM_OPEN_REQ_MAX);
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, whysz, "request holds a NUL byte");
		return -1;
	}
	if (!field(&p, end, &f, &flen) || flen != 1 || f[0] != '1') {
		snprintf(why, whysz, "not a version 1 request");
		return -1;
	}
	/*
	 * "rw" or "ro"; "t" after it from a terminal, then "g" from a
	 * Wayland session.
	 */
	if (!field(&p, end, &f, &flen) || !mode_ok(f, flen)) {
		snprintf(why, whysz, "bad mode (rw or ro, then t, g or tg)");
		return -1;
	}
	r->view_only = f[1] == 'o';
	r->terminal = flen > 2 && f[2] == 't';
	r->wayland = f[flen - 1] == 'g';
	if (!field(&p, end, &f, &flen) || flen > LDVM_NAME_MAX) {
		snprintf(why, whysz, "bad template name");
		return -1;
	}
	if (!(flen == 1 && f[0] == '-')) {
		memcpy(r->tmpl, f, flen);
		r->tmpl[flen] = '\0';
		if (!ldvm__valid_name(r->tmpl, LDVM_NAME_MAX)) {
			r->tmpl[0] = '\0';
			snprintf(why, whysz, "bad template name");
			return -1;
		}
	}
	if (!field(&p, end, &f, &flen) ||
	    !ldvm__parse_uint(f, flen, LDVM_OPEN_SIZE_MAX, &size)) {
		snprintf(why, whysz, "bad file size");
		return -1;
	}
	r->size = size;
	flen = (size_t)(end - p);
	if (!ldvm__safe_filename(p, flen)) {
		snprintf(why, whysz, "unsafe file name");
		return -1;
	}
	memcpy(r->name, p, flen);
	r->name[flen] = '\0';
	return 0;
}

bool
ldvm__parse_size(const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	unsigned long v, mul = 1;

	if (len > 0) {
		switch (s[len - 1]) {
		case 'K': case 'k': mul = 1UL << 10; len--; break;
		case 'M': case 'm': mul = 1UL << 20; len--; break;
		case 'G': case 'g': mul = 1UL << 30; len--; break;
		}
	}
	if (!ldvm__parse_uint(s, len, LDVM_OPEN_SIZE_MAX / mul, &v))
		return false;
	*out = (uint64_t)v * mul;
	return true;
}
