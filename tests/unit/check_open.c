/*
 * dvm-open's pure logic: requests (lib/openreq.c), file names, sizes and
 * the policy (lib/policy.c).
 */
#include <string.h>

#include "ldvm_internal.h"
#include "unit.h"

static struct ldvm_ctx *ctx;

static void
setup(void)
{
	ck_assert_ptr_nonnull(ctx = ldvm_ctx_new());
}

static void
teardown(void)
{
	ldvm_ctx_free(ctx);
}

static bool
safe(const char *s)
{
	return ldvm__safe_filename(s, strlen(s));
}

START_TEST(safe_names)
{
	char n[300];

	ck_assert(safe("invoice.pdf"));
	ck_assert(safe("My Invoice (2).pdf"));
	ck_assert(safe("r\xc3\xa9sum\xc3\xa9.odt"));        /* résumé */
	ck_assert(safe("a.b.c"));
	ck_assert(safe("x-"));
	ck_assert(!safe(""));
	ck_assert(!safe("."));
	ck_assert(!safe(".."));
	ck_assert(!safe(".hidden"));
	ck_assert(!safe("-rf"));
	ck_assert(!safe("a/b"));
	ck_assert(!safe("../etc/passwd"));
	ck_assert(!safe("a..b"));
	ck_assert(!safe("a\nb"));
	ck_assert(!safe("a\tb"));
	ck_assert(!safe("a\x7f"));
	ck_assert(!safe("a\x1b[31m"));
	ck_assert(!safe("\xc2\x9b" "31m"));             /* C1 CSI */
	ck_assert(!safe("\xc3"));                       /* truncated */
	ck_assert(!safe("\xc0\xaf"));                   /* overlong '/' */
	ck_assert(!safe("\xed\xa0\x80"));               /* surrogate */
	ck_assert(!safe("\xff"));
	ck_assert(!safe("txt.\xe2\x80\xaepdf"));          /* U+202E RLO */
	ck_assert(!safe("a\xe2\x80\xa8" "b"));             /* U+2028 */
	ck_assert(!safe("a\xe2\x80\x8b" "b"));             /* U+200B */
	ck_assert(!safe("a\xc2\xa0" "b"));                 /* U+00A0 */
	ck_assert(!safe("\xef\xbb\xbf" "a"));              /* U+FEFF */
	ck_assert(!safe("a\xf3\xa0\x80\x81"));            /* U+E0001 tag */
	ck_assert(safe("\xe2\x82\xac" "5"));               /* U+20AC, fine */
	ck_assert(!ldvm__safe_filename("a\0b", 3));
	memset(n, 'a', 255);
	n[255] = '\0';
	ck_assert(safe(n));
	n[255] = 'a';
	n[256] = '\0';
	ck_assert(!safe(n));
}
END_TEST

static const struct {
	const char *in, *out;
} reductions[] = {
	{ "/home/u/invoice.pdf", "invoice.pdf" },
	{ "invoice.pdf", "invoice.pdf" },
	{ "/x/-rf", "_rf" },
	{ "/x/.bashrc", "_bashrc" },
	{ "/x/a..b", "a._b" },
	{ "/x/a\nb", "a_b" },
	{ "/x/\x1b[0m", "_[0m" },
	{ "/x/r\xc3\xa9sum\xc3\xa9", "r\xc3\xa9sum\xc3\xa9" },
	{ "/x/bad\xff", "bad_" },
	{ "/x/cod\xe2\x80\xaetxt.exe", "cod_txt.exe" },
	{ "/x/a\xe2\x80\xa8\xe2\x80\x8b" "b", "a__b" },
	{ "/x/", "file" },
	{ "..", "_." },
};

START_TEST(reduce)
{
	char out[LDVM_OPEN_NAME_MAX + 1];

	ck_assert(ldvm__reduce_filename(reductions[_i].in, out, sizeof(out)));
	ck_assert_str_eq(out, reductions[_i].out);
	ck_assert(safe(out));
}
END_TEST

START_TEST(reduce_long)
{
	char in[600], out[LDVM_OPEN_NAME_MAX + 1];
	size_t i;

	/* 300 two-byte characters: cut at a character boundary. */
	for (i = 0; i < 300; i++)
		memcpy(in + 2 * i, "\xc3\xa9", 2);
	in[600 - 1] = '\0';
	in[598] = '\0';
	ck_assert(ldvm__reduce_filename(in, out, sizeof(out)));
	ck_assert(strlen(out) <= LDVM_OPEN_NAME_MAX);
	ck_assert(strlen(out) % 2 == 0);
	ck_assert(safe(out));
	ck_assert(!ldvm__reduce_filename("x", out, 4));
}
END_TEST

START_TEST(request_roundtrip)
{
	struct ldvm__openreq q = { .view_only = true, .size = 1234 }, r;
	char buf[LDVM_OPEN_REQ_MAX + 1], why[128];

	strcpy(q.tmpl, "office");
	strcpy(q.name, "My Report.docx");
	ck_assert_int_eq(ldvm__openreq_format(&q, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1 ro office 1234 My Report.docx");
	ck_assert_int_eq(ldvm__openreq_parse(buf, strlen(buf), &r, why,
	    sizeof(why)), 0);
	ck_assert(r.view_only);
	ck_assert_str_eq(r.tmpl, "office");
	ck_assert_uint_eq(r.size, 1234);
	ck_assert_str_eq(r.name, "My Report.docx");

	q.view_only = false;
	q.tmpl[0] = '\0';
	ck_assert_int_eq(ldvm__openreq_format(&q, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1 rw - 1234 My Report.docx");
	ck_assert_int_eq(ldvm__openreq_parse(buf, strlen(buf), &r, why,
	    sizeof(why)), 0);
	ck_assert(!r.view_only);
	ck_assert(!r.terminal);
	ck_assert_str_eq(r.tmpl, "");

	/* Asked from a terminal: "t" after the mode, both ways. */
	q.terminal = true;
	ck_assert_int_eq(ldvm__openreq_format(&q, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1 rwt - 1234 My Report.docx");
	ck_assert_int_eq(ldvm__openreq_parse(buf, strlen(buf), &r, why,
	    sizeof(why)), 0);
	ck_assert(!r.view_only);
	ck_assert(r.terminal);
	q.view_only = true;
	ck_assert_int_eq(ldvm__openreq_format(&q, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1 rot - 1234 My Report.docx");
	ck_assert_int_eq(ldvm__openreq_parse(buf, strlen(buf), &r, why,
	    sizeof(why)), 0);
	ck_assert(r.view_only);
	ck_assert(r.terminal);
	ck_assert(!r.wayland);

	/* From a Wayland session: "g" last, with or without "t". */
	q.wayland = true;
	ck_assert_int_eq(ldvm__openreq_format(&q, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1 rotg - 1234 My Report.docx");
	ck_assert_int_eq(ldvm__openreq_parse(buf, strlen(buf), &r, why,
	    sizeof(why)), 0);
	ck_assert(r.view_only && r.terminal && r.wayland);
	q.terminal = false;
	q.view_only = false;
	ck_assert_int_eq(ldvm__openreq_format(&q, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1 rwg - 1234 My Report.docx");
	ck_assert_int_eq(ldvm__openreq_parse(buf, strlen(buf), &r, why,
	    sizeof(why)), 0);
	ck_assert(!r.view_only && !r.terminal && r.wayland);

	strcpy(q.name, "../x");
	ck_assert_int_eq(ldvm__openreq_format(&q, buf, sizeof(buf)), -1);
}
END_TEST

static const struct {
	const char *req, *why;
} bad_requests[] = {
	{ "", "version" },
	{ "2 rw - 5 a", "version" },
	{ "1 rx - 5 a", "mode" },
	{ "1  rw - 5 a", "mode" },
	{ "1 rwx - 5 a", "mode" },
	{ "1 rwtt - 5 a", "mode" },
	{ "1 rwgt - 5 a", "mode" },
	{ "1 rwgg - 5 a", "mode" },
	{ "1 rwtgx - 5 a", "mode" },
	{ "1 g - 5 a", "mode" },
	{ "1 tr - 5 a", "mode" },
	{ "1 rw  5 a", "template" },
	{ "1 rw ../t 5 a", "template" },
	{ "1 rw -x 5 a", "template" },
	{ "1 rw - -5 a", "size" },
	{ "1 rw - 05 a", "size" },
	{ "1 rw - 5x a", "size" },
	{ "1 rw - 99999999999999 a", "size" },
	{ "1 rw - 5 ", "file name" },
	{ "1 rw - 5", "size" },
	{ "1 rw - 5 ../../etc/evil", "file name" },
	{ "1 rw - 5 /etc/evil", "file name" },
	{ "1 rw - 5 -rf", "file name" },
	{ "1 rw - 5 a\nb", "file name" },
};

START_TEST(request_refused)
{
	struct ldvm__openreq r;
	char why[128] = "";
	const char *s = bad_requests[_i].req;

	ck_assert_int_eq(ldvm__openreq_parse(s, strlen(s), &r, why,
	    sizeof(why)), -1);
	if (strstr(why, bad_requests[_i].why) == NULL)
		ck_abort_msg("'%s': '%s' lacks '%s'", s, why,
		    bad_requests[_i].why);
}
END_TEST

START_TEST(request_limits)
{
	struct ldvm__openreq r;
	char buf[LDVM_OPEN_REQ_MAX + 2], why[128];

	ck_assert_int_eq(ldvm__openreq_parse("1 rw - 5 a\0b", 12, &r, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "1 rw - 5 ", 9);
	ck_assert_int_eq(ldvm__openreq_parse(buf, LDVM_OPEN_REQ_MAX + 1, &r,
	    why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "at most"));
	/* The largest name fits a request. */
	ck_assert_int_eq(ldvm__openreq_parse(buf, 9 + LDVM_OPEN_NAME_MAX, &r,
	    why, sizeof(why)), 0);
	ck_assert_uint_eq(strlen(r.name), LDVM_OPEN_NAME_MAX);
}
END_TEST

START_TEST(sizes)
{
	uint64_t v;

	ck_assert(ldvm__parse_size("1024", &v) && v == 1024);
	ck_assert(ldvm__parse_size("64M", &v) && v == 64ULL << 20);
	ck_assert(ldvm__parse_size("1k", &v) && v == 1024);
	ck_assert(ldvm__parse_size("2G", &v) && v == 2ULL << 30);
	ck_assert(!ldvm__parse_size("", &v));
	ck_assert(!ldvm__parse_size("M", &v));
	ck_assert(!ldvm__parse_size("-1", &v));
	ck_assert(!ldvm__parse_size("1T", &v));
	ck_assert(!ldvm__parse_size("1 M", &v));
	ck_assert(!ldvm__parse_size("2048G", &v));
}
END_TEST

static const char policy[] =
    "# guest   default   others\n"
    "work      editor    viewer office   # trailing comment\n"
    "\n"
    "   \t\n"
    "other     viewer\n"
    "*         locked\n";

/* Whoever may write the policy decides: root's, writable by nobody else. */
START_TEST(policy_modes)
{
	ck_assert(ldvm__policy_mode_ok(0, 0100644, 0));
	ck_assert(ldvm__policy_mode_ok(0, 0100600, 0));
	ck_assert(ldvm__policy_mode_ok(0, 0100644, 1000));
	ck_assert(ldvm__policy_mode_ok(1000, 0100644, 1000));
	ck_assert(!ldvm__policy_mode_ok(1000, 0100644, 0));
	ck_assert(!ldvm__policy_mode_ok(0, 0100664, 0));
	ck_assert(!ldvm__policy_mode_ok(0, 0100646, 0));
	ck_assert(!ldvm__policy_mode_ok(0, 0100666, 0));
}
END_TEST

START_TEST(policy_decisions)
{
	struct ldvm__policy *p;
	char t[LDVM_NAME_MAX + 1];

	ck_assert_int_eq(ldvm__policy_parse(ctx, policy, strlen(policy), "p",
	    &p), 0);
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "work", false, "", t,
	    sizeof(t)), 0);
	ck_assert_str_eq(t, "editor");
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "work", false, NULL, t,
	    sizeof(t)), 0);
	ck_assert_str_eq(t, "editor");
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "work", false, "office", t,
	    sizeof(t)), 0);
	ck_assert_str_eq(t, "office");
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "work", false, "locked", t,
	    sizeof(t)), LDVM_EPERM);
	ck_assert_ptr_nonnull(strstr(ldvm_errmsg(ctx), "may not use template "
	    "locked"));
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "other", false, "editor", t,
	    sizeof(t)), LDVM_EPERM);
	/* Unlisted guests fall to "*". */
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "stranger", false, "", t,
	    sizeof(t)), 0);
	ck_assert_str_eq(t, "locked");
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "stranger", false, "editor", t,
	    sizeof(t)), LDVM_EPERM);
	ldvm__policy_free(p);

	/* Without "*", an unlisted guest has no rights at all. */
	ck_assert_int_eq(ldvm__policy_parse(ctx, "work editor\n", 12, "p",
	    &p), 0);
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "stranger", false, "", t,
	    sizeof(t)), LDVM_EPERM);
	ck_assert_ptr_nonnull(strstr(ldvm_errmsg(ctx), "may not open"));
	ldvm__policy_free(p);

	ck_assert_int_eq(ldvm__policy_parse(ctx, "", 0, "p", &p), 0);
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "work", false, "", t,
	    sizeof(t)), LDVM_EPERM);
	ldvm__policy_free(p);
}
END_TEST

/*
 * Disposables match only "@disposable": never "*", never a line of their
 * name; ordinary guests never match "@disposable".
 */
START_TEST(policy_disposables)
{
	static const char only_star[] = "work editor\n* viewer\n";
	static const char both[] =
	    "work editor viewer\n"
	    "disp7 editor\n"
	    "@disposable viewer office\n"
	    "* locked\n";
	struct ldvm__policy *p;
	char t[LDVM_NAME_MAX + 1];

	ck_assert_int_eq(ldvm__policy_parse(ctx, only_star, strlen(only_star),
	    "p", &p), 0);
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "disp7", true, "", t,
	    sizeof(t)), LDVM_EPERM);
	ck_assert_ptr_nonnull(strstr(ldvm_errmsg(ctx), "disposable disp7 may "
	    "not open files in disposables (no @disposable line)"));
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "disp7", true, "viewer",
	    t, sizeof(t)), LDVM_EPERM);
	/* An ordinary guest of the same name still falls to "*". */
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "disp7", false, "", t,
	    sizeof(t)), 0);
	ck_assert_str_eq(t, "viewer");
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "work", false, "", t,
	    sizeof(t)), 0);
	ck_assert_str_eq(t, "editor");
	ldvm__policy_free(p);

	ck_assert_int_eq(ldvm__policy_parse(ctx, both, strlen(both), "p", &p),
	    0);
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "disp7", true, "", t,
	    sizeof(t)), 0);
	ck_assert_str_eq(t, "viewer");
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "disp9", true, "office",
	    t, sizeof(t)), 0);
	ck_assert_str_eq(t, "office");
	/* The line of its name is not the disposable's. */
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "disp7", true, "editor",
	    t, sizeof(t)), LDVM_EPERM);
	/* Nor is the line of the guest it works for, or "*". */
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "disp9", true, "locked",
	    t, sizeof(t)), LDVM_EPERM);
	/* Ordinary guests are unaffected by "@disposable". */
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "work", false, "office",
	    t, sizeof(t)), LDVM_EPERM);
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "stranger", false, "", t,
	    sizeof(t)), 0);
	ck_assert_str_eq(t, "locked");
	ck_assert_int_eq(ldvm__policy_decide(ctx, p, "@disposable", false, "",
	    t, sizeof(t)), 0);
	ck_assert_str_eq(t, "locked");
	ldvm__policy_free(p);
}
END_TEST

static const struct {
	const char *text, *msg;
} bad_policies[] = {
	{ "work\n", "p:1: no template for guest 'work'" },
	{ "work a\nwork b\n", "p:2: second line for guest 'work'" },
	{ "work ../t\n", "p:1: bad template name '../t'" },
	{ "wo/rk a\n", "p:1: bad guest name 'wo/rk'" },
	{ "-w a\n", "p:1: bad guest name '-w'" },
	{ "\n\nw a b c d e f g h i j k l m n o p q\n", "p:3: too many templates" },
	{ "w a\0b\n", "p:1: NUL byte" },
	{ "@disp a\n", "p:1: bad guest name '@disp'" },
	{ "@disposable a\n@disposable b\n",
	    "p:2: second line for guest '@disposable'" },
};

START_TEST(policy_refused)
{
	struct ldvm__policy *p = (void *)1;
	const char *s = bad_policies[_i].text;
	size_t len = _i == 6 ? 6 : strlen(s);

	ck_assert_int_eq(ldvm__policy_parse(ctx, s, len, "p", &p), LDVM_EINVAL);
	ck_assert_ptr_null(p);
	if (strstr(ldvm_errmsg(ctx), bad_policies[_i].msg) == NULL)
		ck_abort_msg("case %d: '%s' lacks '%s'", _i, ldvm_errmsg(ctx),
		    bad_policies[_i].msg);
}
END_TEST

Suite *
open_suite(void)
{
	Suite *s = suite_create("open");
	TCase *names = tcase_create("names"), *req = tcase_create("requests");
	TCase *pol = tcase_create("policy");

	tcase_add_test(names, safe_names);
	tcase_add_loop_test(names, reduce, 0,
	    sizeof(reductions) / sizeof(reductions[0]));
	tcase_add_test(names, reduce_long);
	tcase_add_test(req, request_roundtrip);
	tcase_add_loop_test(req, request_refused, 0,
	    sizeof(bad_requests) / sizeof(bad_requests[0]));
	tcase_add_test(req, request_limits);
	tcase_add_test(req, sizes);
	tcase_add_checked_fixture(pol, setup, teardown);
	tcase_add_test(pol, policy_decisions);
	tcase_add_test(pol, policy_disposables);
	tcase_add_test(pol, policy_modes);
	tcase_add_loop_test(pol, policy_refused, 0,
	    sizeof(bad_policies) / sizeof(bad_policies[0]));
	suite_add_tcase(s, names);
	suite_add_tcase(s, req);
	suite_add_tcase(s, pol);
	return s;
}
