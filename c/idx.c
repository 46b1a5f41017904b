/* idx.c — MNIST IDX files, as views into the caller's buffer.
 *
 * Layout (all integers big-endian):
 *   magic  u32   0x00 0x00 type ndims   type 0x08 = unsigned byte
 *   dims   u32 x ndims                  images: count, 28, 28; labels: count
 *   data   u8  x prod(dims)
 * The size must be exact: a longer file is not what its header describes.
 * Part of the WASM build: no malloc, no stdio.
 */
#include "digitlens.h"

static uint32_t get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Check the magic and the header against want[ndims] (0: any count >= 1),
 * fill dims and the size of the data that follows. The dimension count is
 * the last magic byte, so a file of the right type but another rank (a 2-D
 * image file) is DL_ERR_DIMS rather than DL_ERR_MAGIC. Dimensions are judged
 * before the size they imply. */
static int idx_header(const uint8_t *buf, size_t len, int ndims, const uint32_t *want,
                      uint32_t *dims, uint64_t *data_len)
{
    if (!buf && len) return DL_ERR_ARG;
    if (len == 0) return DL_ERR_EMPTY_FILE;
    if (len < 4) return DL_ERR_TRUNCATED;
    if (buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08) return DL_ERR_MAGIC;
    if (buf[3] != ndims) return DL_ERR_DIMS;
    size_t head = 4 + 4 * (size_t)ndims;
    if (len < head) return DL_ERR_TRUNCATED;
    uint64_t n = 1;
    for (int d = 0; d < ndims; d++) {
        dims[d] = get_u32be(buf + 4 + 4 * d);
        if (want[d] ? dims[d] != want[d] : dims[d] < 1 || dims[d] > INT32_MAX)
            return DL_ERR_DIMS;
        n *= dims[d];                   /* < 2^31 * 28 * 28: no overflow */
    }
    *data_len = n;
    if (n > (uint64_t)(len - head)) return DL_ERR_TRUNCATED;
    return n == (uint64_t)(len - head) ? DL_OK : DL_ERR_DIMS;
}

int dl_idx_images(const uint8_t *buf, size_t len, dl_idx_imgs *out)
{
    static const uint32_t want[3] = {0, DL_IN_H, DL_IN_W};
    uint32_t dims[3];
    uint64_t n;
    if (!out) return DL_ERR_ARG;
    int st = idx_header(buf, len, 3, want, dims, &n);
    if (st) return st;
    out->count = (int)dims[0];
    out->rows = DL_IN_H;
    out->cols = DL_IN_W;
    out->pixels = buf + 16;
    return DL_OK;
}

int dl_idx_labels(const uint8_t *buf, size_t len, dl_idx_lbls *out)
{
    static const uint32_t want[1] = {0};
    uint32_t dims[1];
    uint64_t n;
    if (!out) return DL_ERR_ARG;
    int st = idx_header(buf, len, 1, want, dims, &n);
    if (st) return st;
    for (uint64_t i = 0; i < n; i++)
        if (buf[8 + i] > 9) return DL_ERR_LABEL;
    out->count = (int)dims[0];
    out->labels = buf + 8;
    return DL_OK;
}
