/*
 * ldvm__policy_parse and ldvm__policy_decide: dom0's open.policy, and the
 * template it grants a guest.  The input is POLICY 0xff GUEST 0xff WANT
 * (split at the last two 0xff bytes; without them, all of it is the
 * policy).  A granted template is always a valid name, and the one asked
 * for when one was; each guest is judged as an ordinary guest and as a
 * disposable.
 */
#include "fuzz.h"

static struct ldvm_ctx *ctx;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((ctx = ldvm_ctx_new()) == NULL)
		abort();
	return 0;
}

static void
decide(const struct ldvm__policy *p, const char *guest, bool disposable,
    const char *want)
{
	char tmpl[LDVM_NAME_MAX + 1];
	int rc;

	memset(tmpl, 0, sizeof(tmpl));
	rc = ldvm__policy_decide(ctx, p, guest, disposable, want, tmpl,
	    sizeof(tmpl));
	if (rc != 0) {
		FUZZ_CHECK(rc == LDVM_EPERM);
		FUZZ_CHECK(ldvm_errmsg(ctx)[0] != '\0');
		return;
	}
	FUZZ_CHECK(ldvm__valid_name(tmpl, LDVM_NAME_MAX));
	if (want != NULL && want[0] != '\0')
		FUZZ_CHECK(strcmp(tmpl, want) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *s1 = NULL, *s2 = NULL;
	struct ldvm__policy *p = (struct ldvm__policy *)1;
	char *text, *guest, *want;
	size_t tlen = size, i;
	int rc;

	for (i = size; i-- > 0;)
		if (data[i] == 0xff) {
			if (s2 == NULL)
				s2 = data + i;
			else {
				s1 = data + i;
				break;
			}
		}
	if (s1 != NULL)
		tlen = (size_t)(s1 - data);
	text = fuzz_copy(data, tlen, 0);
	guest = s1 != NULL ? fuzz_copy(s1 + 1, (size_t)(s2 - s1 - 1), 1) :
	    fuzz_copy((const uint8_t *)"guest", 5, 1);
	want = s1 != NULL ? fuzz_copy(s2 + 1, (size_t)(data + size - s2 - 1),
	    1) : fuzz_copy((const uint8_t *)"", 0, 1);
	rc = ldvm__policy_parse(ctx, text, tlen, "open.policy", &p);
	if (rc != 0) {
		FUZZ_CHECK(rc == LDVM_EINVAL && p == NULL);
		FUZZ_CHECK(ldvm_errmsg(ctx)[0] != '\0');
	} else {
		FUZZ_CHECK(p != NULL);
		decide(p, guest, false, want);
		decide(p, guest, false, NULL);
		decide(p, "*", false, want);
		/* A disposable: only an @disposable line may grant it. */
		decide(p, guest, true, want);
		ldvm__policy_free(p);
	}
	free(want);
	free(guest);
	free(text);
	return 0;
}
