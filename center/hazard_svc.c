/* hazard_svc.c: being written. */
typedef int aw_hazard_svc_unused_;
