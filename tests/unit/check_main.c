/* Runs every unit suite; exit status 0 only when all pass. */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner *sr = srunner_create(validate_suite());
	int failed;

	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, xs_suite());
	srunner_add_suite(sr, volume_suite());
	srunner_add_suite(sr, proto_suite());
	srunner_add_suite(sr, state_suite());
	srunner_add_suite(sr, frame_suite());
	srunner_add_suite(sr, open_suite());
	srunner_add_suite(sr, ctx_suite());
	srunner_add_suite(sr, pump_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
