/* Validation of untrusted strings (lib/validate.c). */
#include <string.h>

#include "ldvm_internal.h"
#include "unit.h"

START_TEST(names)
{
	ck_assert(ldvm__valid_name("default", LDVM_NAME_MAX));
	ck_assert(ldvm__valid_name("disp12", LDVM_NAME_MAX));
	ck_assert(ldvm__valid_name("a-b_c", LDVM_NAME_MAX));
	/* dvm-create -N: no '-', which separates a name from a vdev. */
	ck_assert(ldvm_disp_name_ok("mail_2"));
	ck_assert(ldvm_disp_name_ok("Work"));
	ck_assert(!ldvm_disp_name_ok("a-b"));
	ck_assert(!ldvm_disp_name_ok("_a"));
	ck_assert(!ldvm_disp_name_ok(""));
	ck_assert(!ldvm_disp_name_ok(NULL));
	ck_assert(!ldvm_disp_name_ok("a b"));
	ck_assert(!ldvm_disp_name_ok("a/b"));
	ck_assert(ldvm_disp_name_ok("abcdefghijklmnopqrstuvwxyz012345"));
	ck_assert(!ldvm_disp_name_ok("abcdefghijklmnopqrstuvwxyz0123456"));
	ck_assert(!ldvm__valid_name("", LDVM_NAME_MAX));
	ck_assert(!ldvm__valid_name(NULL, LDVM_NAME_MAX));
	ck_assert(!ldvm__valid_name("-x", LDVM_NAME_MAX));
	ck_assert(!ldvm__valid_name("_x", LDVM_NAME_MAX));
	ck_assert(!ldvm__valid_name("a/b", LDVM_NAME_MAX));
	ck_assert(!ldvm__valid_name("..", LDVM_NAME_MAX));
	ck_assert(!ldvm__valid_name("a b", LDVM_NAME_MAX));
	ck_assert(!ldvm__valid_name("a\nb", LDVM_NAME_MAX));
	ck_assert(!ldvm__valid_name("caf\xc3\xa9", LDVM_NAME_MAX));
}
END_TEST

START_TEST(name_length)
{
	char buf[LDVM_NAME_MAX + 2];

	memset(buf, 'a', sizeof(buf));
	buf[LDVM_NAME_MAX] = '\0';
	ck_assert(ldvm__valid_name(buf, LDVM_NAME_MAX));
	buf[LDVM_NAME_MAX] = 'a';
	buf[LDVM_NAME_MAX + 1] = '\0';
	ck_assert(!ldvm__valid_name(buf, LDVM_NAME_MAX));
}
END_TEST

START_TEST(uints)
{
	unsigned long v = 99;

	ck_assert(ldvm__parse_uint("0", 1, 10, &v) && v == 0);
	ck_assert(ldvm__parse_uint("42", 2, 100, &v) && v == 42);
	ck_assert(ldvm__parse_uint("100", 3, 100, &v) && v == 100);
	ck_assert(!ldvm__parse_uint("101", 3, 100, &v));
	/* Limits below 9: a digit above the limit is refused too. */
	ck_assert(!ldvm__parse_uint("12345", 5, 1, &v));
	ck_assert(!ldvm__parse_uint("2", 1, 1, &v));
	ck_assert(ldvm__parse_uint("1", 1, 1, &v) && v == 1);
	ck_assert(!ldvm__parse_uint("9", 1, 8, &v));
	ck_assert(ldvm__parse_uint("8", 1, 8, &v) && v == 8);
	ck_assert(!ldvm__parse_uint("1", 1, 0, &v));
	ck_assert(!ldvm__parse_uint("", 0, 100, &v));
	ck_assert(!ldvm__parse_uint("01", 2, 100, &v));
	ck_assert(!ldvm__parse_uint("-1", 2, 100, &v));
	ck_assert(!ldvm__parse_uint("+1", 2, 100, &v));
	ck_assert(!ldvm__parse_uint(" 1", 2, 100, &v));
	ck_assert(!ldvm__parse_uint("1 ", 2, 100, &v));
	ck_assert(!ldvm__parse_uint("1x", 2, 100, &v));
	ck_assert(!ldvm__parse_uint("1\0", 2, 100, &v));
	ck_assert(ldvm__parse_uint("18446744073709551615", 20, ~0UL, &v));
	ck_assert(v == ~0UL);
	ck_assert(!ldvm__parse_uint("18446744073709551616", 20, ~0UL, &v));
	ck_assert(!ldvm__parse_uint("99999999999999999999", 20, ~0UL, &v));
}
END_TEST

START_TEST(text)
{
	ck_assert(ldvm__valid_text("hello world", 11));
	ck_assert(ldvm__valid_text("", 0));
	ck_assert(!ldvm__valid_text("a\tb", 3));
	ck_assert(!ldvm__valid_text("a\nb", 3));
	ck_assert(!ldvm__valid_text("a\x7f", 2));
	ck_assert(!ldvm__valid_text("a\0b", 3));
	ck_assert(!ldvm__valid_text("\x1b[2J", 4));
	ck_assert(!ldvm__valid_text("\xc3\xa9", 2));
}
END_TEST

START_TEST(xs_paths)
{
	char big[LDVM_XS_PATH_MAX + 8];

	ck_assert(ldvm__valid_xs_path("/"));
	ck_assert(ldvm__valid_xs_path("/litedvm/disp/disp1/state"));
	ck_assert(ldvm__valid_xs_path("@releaseDomain") == false);
	ck_assert(ldvm__valid_xs_path("/local/domain/3/data/litedvm"));
	ck_assert(!ldvm__valid_xs_path("litedvm"));
	ck_assert(!ldvm__valid_xs_path("/a//b"));
	ck_assert(!ldvm__valid_xs_path("/a/"));
	ck_assert(!ldvm__valid_xs_path("/a/../b"));
	ck_assert(!ldvm__valid_xs_path("/a b"));
	ck_assert(!ldvm__valid_xs_path("/a\n"));
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[LDVM_XS_PATH_MAX] = '\0';
	ck_assert(!ldvm__valid_xs_path(big));
	big[LDVM_XS_PATH_MAX - 1] = '\0';
	ck_assert(ldvm__valid_xs_path(big));
}
END_TEST

/* Output bound for a terminal (lib/escape.c). */
START_TEST(escapes)
{
	uint8_t b[] = "\033]0;owned\007ok\tx\r\n\b\x9b""2J\xc2\x9b\x7f\0~ ";
	const char want[] = "_]0;owned_ok\tx\r\n\b_2J____~ ";
	uint8_t all[256];
	int i, kept = 0;

	ldvm__filter_escapes(b, sizeof(b) - 1);
	ck_assert_mem_eq(b, want, sizeof(want) - 1);
	/* Exactly 95 printable bytes and four controls pass, 157 do not. */
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	ldvm__filter_escapes(all, sizeof(all));
	for (i = 0; i < 256; i++) {
		if (all[i] == i && i != '_')
			kept++;
		else
			ck_assert_int_eq(all[i], '_');
	}
	ck_assert_int_eq(kept, 95 - 1 + 4);
	ldvm__filter_escapes(NULL, 0);
}
END_TEST

Suite *
validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, names);
	tcase_add_test(core, uints);
	tcase_add_test(core, text);
	tcase_add_test(core, xs_paths);
	tcase_add_test(core, escapes);
	tcase_add_test(limits, name_length);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}
