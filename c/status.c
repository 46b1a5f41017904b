/* status.c — one line of text per dl_status. */
#include "digitlens.h"

static const char *const messages[DL_ERR_COUNT] = {
    [DL_OK]             = "ok",
    [DL_ERR_ARG]        = "invalid argument",
    [DL_ERR_NOMEM]      = "out of memory",
    [DL_ERR_NOT_FOUND]  = "no such file",
    [DL_ERR_IS_DIR]     = "is a directory, not a file",
    [DL_ERR_IO]         = "read or write failed",
    [DL_ERR_EMPTY_FILE] = "file is empty",
    [DL_ERR_TRUNCATED]  = "file is truncated",
    [DL_ERR_HEADER_LEN] = "safetensors header length runs past the end of the file",
    [DL_ERR_JSON]       = "safetensors header is not valid JSON of the expected form",
    [DL_ERR_DTYPE]      = "tensor dtype is not F32, F16, or I8 or _d4 U8 with an F32 scale",
    [DL_ERR_SHAPE]      = "tensor shape does not match the model",
    [DL_ERR_OFFSETS]    = "tensor data offsets overlap or are out of range",
    [DL_ERR_MISSING]    = "a tensor the model needs is missing",
    [DL_ERR_NAN]        = "a value is NaN or infinite",
    [DL_ERR_MAGIC]      = "not an IDX file of the expected kind (bad magic number)",
    [DL_ERR_DIMS]       = "IDX dimensions are not N x 28 x 28",
    [DL_ERR_LABEL]      = "IDX label outside 0..9",
    [DL_ERR_NOT_PNG]    = "not a PNG file",
    [DL_ERR_IMAGE_SIZE] = "image size out of range (1 to 8192 pixels a side)",
    [DL_ERR_NO_INK]     = "image has no ink (blank, or ink everywhere)",
    [DL_ERR_DIVERGED]   = "training diverged: the loss became NaN or infinite",
    [DL_ERR_ARCH]       = "the architecture in the metadata is malformed or not one this program runs",
    [DL_ERR_CAM_LAYER]  = "cam_layer names no feature map of the architecture",
    [DL_ERR_TOO_LARGE]  = "the network is larger than this program's limits",
};

const char *dl_strerror(int status)
{
    if (status < 0 || status >= DL_ERR_COUNT || !messages[status])
        return "unknown error";
    return messages[status];
}
