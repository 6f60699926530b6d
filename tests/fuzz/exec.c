/*
 * ldvm__exec_decode: the EXEC payload dom0 sends and the agent decodes
 * (flags, window size, NUL-terminated argv, a user first with
 * LDVM_EXEC_USER).  Decoding then encoding again
 * must give back the same bytes.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = (uint8_t *)fuzz_copy(data, size, 0), *again;
	char why[128], **argv;
	unsigned flags;
	uint16_t rows, cols;
	size_t argc, n;

	why[0] = 'x';
	if (ldvm__exec_decode(p, size, &flags, &rows, &cols, &argv, why,
	    sizeof(why)) != 0) {
		FUZZ_WHY_OK(why);
		FUZZ_CHECK(argv == NULL);
		free(p);
		return 0;
	}
	FUZZ_CHECK(argv != NULL && argv[0] != NULL && argv[0][0] != '\0');
	FUZZ_CHECK((flags & ~(LDVM_EXEC_TTY | LDVM_EXEC_USER |
	    LDVM_EXEC_WAYLAND)) == 0);
	for (argc = 0; argv[argc] != NULL; argc++)
		;
	FUZZ_CHECK(argc <= LDVM_ARGV_MAX);
	/* A user comes first, valid, and a non-empty command after it. */
	if (flags & LDVM_EXEC_USER)
		FUZZ_CHECK(argc >= 2 && ldvm__valid_user(argv[0]) &&
		    argv[1][0] != '\0');
	if ((again = malloc(size)) == NULL)
		abort();
	n = ldvm__exec_encode(again, size, flags, rows, cols, argv);
	FUZZ_CHECK(n == size);
	FUZZ_CHECK(memcmp(again, p, size) == 0);
	/* One byte less room must not fit. */
	FUZZ_CHECK(ldvm__exec_encode(again, size - 1, flags, rows, cols,
	    argv) == 0);
	free(again);
	free(argv);
	free(p);
	return 0;
}
