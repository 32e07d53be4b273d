/* test_registry_svc.c: being written. */
#include <criterion/criterion.h>
