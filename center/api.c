/* api.c: being written. */
typedef int aw_api_unused_;
