/* test_hazard_svc.c: being written. */
#include <criterion/criterion.h>
