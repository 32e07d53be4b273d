/* registry_svc.c: being written. */
typedef int aw_registry_svc_unused_;
