/* metrics.c: being written. */
typedef int aw_metrics_unused_;
