/* alert_svc.c: being written. */
typedef int aw_alert_svc_unused_;
