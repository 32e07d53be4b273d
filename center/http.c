/* http.c: being written. */
typedef int aw_http_unused_;
