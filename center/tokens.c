/* tokens.c: being written. */
typedef int aw_tokens_unused_;
