/*
 * ldvm__safe_filename and ldvm__reduce_filename: the file names a guest
 * sends in a request and dvm-open makes of a path.  The first byte sets
 * the output size of the reduction, the rest is the name or path.  A
 * reduced name is always safe, reducing it again changes nothing, and a
 * safe name is its own reduction.
 */
#include "fuzz.h"

/* What a safe name must not hold, checked the simple way. */
static void
check_safe(const char *s, size_t len)
{
	size_t i;

	FUZZ_CHECK(len >= 1 && len <= LDVM_OPEN_NAME_MAX);
	FUZZ_CHECK(s[0] != '-' && s[0] != '.');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '/');
		FUZZ_CHECK(c != 0xc0 && c != 0xc1 && c < 0xf5);
		if (c == '.' && i + 1 < len)
			FUZZ_CHECK(s[i + 1] != '.');
		/* U+202E RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE */
		if (c == 0xe2 && i + 2 < len)
			FUZZ_CHECK(!(s[i + 1] == '\x80' && (s[i + 2] == '\xae' ||
			    s[i + 2] == '\x8b')));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw, *path, *out, *again;
	size_t outsz, len;

	if (size < 1)
		return 0;
	outsz = data[0] + 1;
	data++;
	size--;
	raw = fuzz_copy(data, size, 0);
	if (ldvm__safe_filename(raw, size))
		check_safe(raw, size);
	path = fuzz_copy(data, size, 1);
	out = malloc(outsz);
	again = malloc(outsz);
	if (out == NULL || again == NULL)
		abort();
	if (!ldvm__reduce_filename(path, out, outsz)) {
		FUZZ_CHECK(outsz < 8);
		goto done;
	}
	len = strlen(out);
	FUZZ_CHECK(len < outsz);
	FUZZ_CHECK(ldvm__safe_filename(out, len));
	check_safe(out, len);
	FUZZ_CHECK(ldvm__reduce_filename(out, again, outsz));
	FUZZ_CHECK(strcmp(out, again) == 0);
	len = strlen(path);
	if (len < outsz && strchr(path, '/') == NULL &&
	    ldvm__safe_filename(path, len))
		FUZZ_CHECK(strcmp(out, path) == 0);
done:
	free(again);
	free(out);
	free(path);
	free(raw);
	return 0;
}
