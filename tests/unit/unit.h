/* Unit test suites: one per library module, run by check_main.c. */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>

Suite *validate_suite(void);
Suite *config_suite(void);
Suite *xs_suite(void);
Suite *volume_suite(void);
Suite *proto_suite(void);
Suite *state_suite(void);
Suite *frame_suite(void);
Suite *open_suite(void);
Suite *ctx_suite(void);
Suite *pump_suite(void);

#endif
