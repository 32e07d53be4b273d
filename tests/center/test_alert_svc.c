/* test_alert_svc.c: being written. */
#include <criterion/criterion.h>
