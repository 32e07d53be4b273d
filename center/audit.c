/* audit.c: being written. */
typedef int aw_audit_unused_;
