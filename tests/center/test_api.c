/* test_api.c: being written. */
#include <criterion/criterion.h>
