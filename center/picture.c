/* picture.c: being written. */
typedef int aw_picture_unused_;
