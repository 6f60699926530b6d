/*
 * Checks for strings that come from outside: guests, configuration files,
 * command lines.  Pure functions, no allocation.
 */
#include <string.h>

#include "ldvm_internal.h"

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

bool
ldvm__valid_uuid(const char *s)
{
	size_t i;

	for (i = 0; i < LDVM__UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (s[i] == '\0')
			return false;
		if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) ==
		    NULL)
			return false;
	}
	return s[i] == '\0';
}

bool
ldvm__valid_name(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || !is_alnum(s[0]))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return false;
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

bool
ldvm__parse_uint(const char *s, size_t len, unsigned long max,
    unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (s == NULL || len == 0 || len > 20)
		return false;
	if (s[0] == '0' && len > 1)
		return false;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		/* d > max first: max - d must not wrap around. */
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool
ldvm__valid_user(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= LDVM_USER_MAX || !(is_alnum(s[i]) || s[i] == '_' ||
		    s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

bool
ldvm_user_name_ok(const char *name)
{
	return ldvm__valid_user(name);
}

bool
ldvm__valid_text(const char *s, size_t len)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

bool
ldvm__valid_xs_path(const char *s)
{
	size_t i, len;

	if (s == NULL || s[0] != '/')
		return false;
	len = strlen(s);
	if (len >= LDVM_XS_PATH_MAX || (len > 1 && s[len - 1] == '/'))
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '/' && i > 0 && s[i - 1] == '/')
			return false;
		if (!is_alnum(c) && c != '_' && c != '-' && c != '/' &&
		    c != '@')
			return false;
	}
	return true;
}

/* Public (litedvm.h): a name a disposable may be given. */
bool
ldvm_disp_name_ok(const char *name)
{
	size_t i;

	if (name == NULL || !ldvm__valid_name(name, LDVM_NAME_MAX))
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] == '-')
			return false;
	return true;
}

bool
ldvm__vol_leaf(const char *leaf, const char *suffix, char *disp,
    size_t dsize, char *vdev, size_t vsize)
{
	size_t n = strlen(leaf), sl = strlen(suffix), dl;
	const char *dash;

	if (n <= sl || strcmp(leaf + n - sl, suffix) != 0)
		return false;
	n -= sl;
	/* Disposable names (disp<N> or ldvm_disp_name_ok's) hold no '-'. */
	if ((dash = memchr(leaf, '-', n)) == NULL)
		return false;
	dl = (size_t)(dash - leaf);
	if (dl >= dsize || n - dl - 1 >= vsize || n - dl - 1 == 0)
		return false;
	memcpy(disp, leaf, dl);
	disp[dl] = '\0';
	if (!ldvm_disp_name_ok(disp))
		return false;
	memcpy(vdev, dash + 1, n - dl - 1);
	vdev[n - dl - 1] = '\0';
	return ldvm__valid_name(vdev, LDVM_NAME_MAX);
}
