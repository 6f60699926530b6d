/*
 * ldvm__openreq_parse: the request a guest writes to xenstore for dvm-open.
 * A request it accepts must hold a safe file name and a valid template,
 * and ldvm__openreq_format must give back exactly the bytes parsed.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size, 0), why[160];
	char out[LDVM_OPEN_REQ_MAX + 64];
	struct ldvm__openreq r, again;

	why[0] = 'x';
	if (ldvm__openreq_parse(buf, size, &r, why, sizeof(why)) != 0) {
		FUZZ_WHY_OK(why);
		FUZZ_CHECK(why[0] != '\0');
		free(buf);
		return 0;
	}
	FUZZ_CHECK(size <= LDVM_OPEN_REQ_MAX);
	FUZZ_CHECK(r.tmpl[0] == '\0' || ldvm__valid_name(r.tmpl,
	    LDVM_NAME_MAX));
	FUZZ_CHECK(ldvm__safe_filename(r.name, strlen(r.name)));
	FUZZ_CHECK(r.size <= LDVM_OPEN_SIZE_MAX);
	FUZZ_CHECK(ldvm__openreq_format(&r, out, sizeof(out)) == 0);
	FUZZ_CHECK(strlen(out) == size && memcmp(out, buf, size) == 0);
	/* Too small a buffer is refused, never cut. */
	FUZZ_CHECK(ldvm__openreq_format(&r, out, size) == -1);
	FUZZ_CHECK(ldvm__openreq_format(&r, out, sizeof(out)) == 0);
	FUZZ_CHECK(ldvm__openreq_parse(out, size, &again, why,
	    sizeof(why)) == 0);
	FUZZ_CHECK(memcmp(&again, &r, sizeof(r)) == 0);
	free(buf);
	return 0;
}
