/* test_picture.c: being written. */
#include <criterion/criterion.h>
