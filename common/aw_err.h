/**
 * @file aw_err.h
 * @brief The one error enum of anwang.
 *
 * Every function that can fail returns an `int`: 0 (AW_OK) on success or one
 * of these codes. Library conventions (LMDB's MDB_*, zmq's -1/errno,
 * libcoap's 1/0) are converted to these at the module that owns the library.
 */
#ifndef AW_ERR_H
#define AW_ERR_H

typedef enum aw_err {
    AW_OK = 0,
    AW_ENOMEM,      /**< out of memory */
    AW_EINVAL,      /**< invalid argument or input */
    AW_ETOOBIG,     /**< input exceeds a configured size limit */
    AW_ENOTFOUND,   /**< no such record, key or object */
    AW_EEXIST,      /**< already exists */
    AW_EFULL,       /**< storage budget or map full; pruning may free room */
    AW_EURGENTFULL, /**< an urgent record cannot be stored: nothing left to prune */
    AW_EIO,         /**< I/O error from the OS or storage */
    AW_ECORRUPT,    /**< stored data is corrupt or of an unknown version */
    AW_EDECODE,     /**< malformed wire message */
    AW_EUTF8,       /**< string is not valid UTF-8 */
    AW_ENOTFINITE,  /**< NaN or infinity where a number is expected */
    AW_EENUM,       /**< enum value out of range */
    AW_ERANGE,      /**< number or length out of its allowed range */
    AW_ESTATE,      /**< operation not valid in the current state */
    AW_EPROTO,      /**< protocol violation by a peer */
    AW_EPERM,       /**< not permitted */
    AW_EAGAIN,      /**< try again later */
    AW_ECLOSED,     /**< object or peer is closed */
    AW_ETIMEDOUT,   /**< deadline passed */
    AW_ECONFIG,     /**< invalid configuration */
    AW_ERR_COUNT_
} aw_err;

/** Returns a static, human-readable description of @p err (never NULL). */
const char *aw_strerror(int err);

#endif
