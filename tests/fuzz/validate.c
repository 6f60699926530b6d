/*
 * lib/validate.c, the checks on every value a guest writes to xenstore
 * (names, numbers, text, paths), ldvm__parse_size on configuration
 * values, user and disposable names from command lines, and the escape
 * filter on a disposable's output.  The first byte picks the function (and a bound); each result is
 * checked against a plain model of what it must accept.
 */
#include "fuzz.h"

static bool
alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static void
name(const char *s, size_t max)
{
	size_t i, len = strlen(s);
	bool model = len >= 1 && len <= max && alnum(s[0]);

	for (i = 0; model && i < len; i++)
		model = alnum(s[i]) || s[i] == '_' || s[i] == '-';
	FUZZ_CHECK(ldvm__valid_name(s, max) == model);
}

static void
number(const char *s, size_t len, unsigned long max)
{
	unsigned long v = 12345;
	char back[32];

	if (!ldvm__parse_uint(s, len, max, &v)) {
		FUZZ_CHECK(v == 12345);
		/* A number that fits but was refused: only when it is over
		 * max or not in the one canonical form. */
		if (len >= 1 && len <= 20 && (s[0] != '0' || len == 1)) {
			size_t i;
			bool digits = true;

			for (i = 0; i < len; i++)
				digits = digits && s[i] >= '0' && s[i] <= '9';
			if (digits && len < 20) {
				snprintf(back, sizeof(back), "%.*s", (int)len,
				    s);
				FUZZ_CHECK(strtoull(back, NULL, 10) > max);
			}
		}
		return;
	}
	FUZZ_CHECK(v <= max);
	snprintf(back, sizeof(back), "%lu", v);
	FUZZ_CHECK(strlen(back) == len && memcmp(back, s, len) == 0);
}

static void
text(const char *s, size_t len)
{
	size_t i;
	bool model = true;

	for (i = 0; i < len; i++)
		model = model && (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] <= 0x7e;
	FUZZ_CHECK(ldvm__valid_text(s, len) == model);
}

static void
xs_path(const char *s)
{
	size_t i, len = strlen(s);
	bool model = len >= 1 && len < LDVM_XS_PATH_MAX && s[0] == '/' &&
	    (len == 1 || s[len - 1] != '/') && strstr(s, "//") == NULL;

	for (i = 0; model && i < len; i++)
		model = alnum(s[i]) || strchr("_-/@", s[i]) != NULL;
	FUZZ_CHECK(ldvm__valid_xs_path(s) == model);
}

static void
size_value(const char *s)
{
	uint64_t v = 7, unit = 1;
	size_t len = strlen(s);
	unsigned long n;

	if (!ldvm__parse_size(s, &v)) {
		FUZZ_CHECK(v == 7);
		return;
	}
	FUZZ_CHECK(v <= LDVM_OPEN_SIZE_MAX);
	switch (s[len - 1]) {
	case 'K': case 'k': unit = 1 << 10; len--; break;
	case 'M': case 'm': unit = 1 << 20; len--; break;
	case 'G': case 'g': unit = 1 << 30; len--; break;
	}
	FUZZ_CHECK(ldvm__parse_uint(s, len, ~0UL, &n) && n * unit == v);
}

/* User names (dvm-run -u) and names of one's own (dvm-create -N). */
static void
user_and_disp(const char *s)
{
	size_t i, len = strlen(s);
	bool user = len >= 1 && len <= LDVM_USER_MAX && s[0] != '-' &&
	    s[0] != '.', disp = len >= 1 && len <= LDVM_NAME_MAX &&
	    alnum(s[0]);

	for (i = 0; i < len; i++) {
		user = user && (alnum(s[i]) || strchr("_.-", s[i]) != NULL);
		disp = disp && (alnum(s[i]) || s[i] == '_');
	}
	FUZZ_CHECK(ldvm__valid_user(s) == user);
	FUZZ_CHECK(ldvm_disp_name_ok(s) == disp);
}

/* What reaches dom0's terminal: same length, only safe bytes left. */
static void
escapes(const char *raw, size_t len)
{
	uint8_t *b = malloc(len + 1);
	size_t i;

	if (b == NULL)
		abort();
	memcpy(b, raw, len);
	ldvm__filter_escapes(b, len);
	for (i = 0; i < len; i++) {
		bool safe = (raw[i] >= 0x20 && raw[i] <= 0x7e) ||
		    raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r' ||
		    raw[i] == '\b';

		FUZZ_CHECK(b[i] == (safe ? (uint8_t)raw[i] : '_'));
	}
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t sel;
	unsigned long max;
	char *raw, *str;

	sel = fuzz_take(&data, &size, 1);
	max = fuzz_take(&data, &size, 4);
	if (sel & 0x80)
		max |= (unsigned long)fuzz_take(&data, &size, 4) << 32;
	raw = fuzz_copy(data, size, 0);
	str = fuzz_copy(data, size, 1);
	switch (sel % 7) {
	case 0:
		name(str, max % 300);
		break;
	case 1:
		number(raw, size, max);
		break;
	case 2:
		text(raw, size);
		break;
	case 3:
		xs_path(str);
		break;
	case 4:
		size_value(str);
		break;
	case 5:
		user_and_disp(str);
		break;
	case 6:
		escapes(raw, size);
		break;
	}
	free(str);
	free(raw);
	return 0;
}
