#include "aw_err.h"

static const char *const s_messages[AW_ERR_COUNT_] = {
    [AW_OK] = "success",
    [AW_ENOMEM] = "out of memory",
    [AW_EINVAL] = "invalid argument",
    [AW_ETOOBIG] = "too big",
    [AW_ENOTFOUND] = "not found",
    [AW_EEXIST] = "already exists",
    [AW_EFULL] = "storage full",
    [AW_EURGENTFULL] = "storage full: urgent record cannot be stored",
    [AW_EIO] = "I/O error",
    [AW_ECORRUPT] = "corrupt data",
    [AW_EDECODE] = "malformed message",
    [AW_EUTF8] = "invalid UTF-8",
    [AW_ENOTFINITE] = "number is NaN or infinite",
    [AW_EENUM] = "enum value out of range",
    [AW_ERANGE] = "value out of range",
    [AW_ESTATE] = "invalid in the current state",
    [AW_EPROTO] = "protocol violation",
    [AW_EPERM] = "permission denied",
    [AW_EAGAIN] = "try again",
    [AW_ECLOSED] = "closed",
    [AW_ETIMEDOUT] = "timed out",
    [AW_ECONFIG] = "invalid configuration",
};

const char *aw_strerror(int err)
{
    if (err < 0 || err >= AW_ERR_COUNT_ || !s_messages[err])
        return "unknown error";
    return s_messages[err];
}
