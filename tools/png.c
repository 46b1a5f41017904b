/* png.c — [native] PNG read (any format -> 8-bit gray) and atomic write,
 * through libpng. See png.h for the contract.
 *
 * libpng reports errors by calling an error function that must not return;
 * ours longjmps back to the setjmp in the caller, after the read callback
 * has recorded *why* (end of file -> DL_ERR_TRUNCATED, read error -> IO).
 * Anything else libpng rejects (CRC, zlib, chunk layout) is a corrupt
 * stream -> DL_ERR_IO. Warnings are dropped: a library must not print.
 */
#include <libpng16/png.h> /* libpng; plain <png.h> could find tools/png.h */
#include "png.h"     /* ours, next to this file */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    FILE *f;
    int status; /* why libpng stopped, when we know better than "corrupt" */
} png_io;

static void silent_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void silent_warning(png_structp png, png_const_charp msg)
{
    (void)png; (void)msg;
}

static void read_cb(png_structp png, png_bytep data, size_t len)
{
    png_io *io = (png_io *)png_get_io_ptr(png);
    if (fread(data, 1, len, io->f) != len) {
        io->status = ferror(io->f) ? DL_ERR_IO : DL_ERR_TRUNCATED;
        png_error(png, "short read");
    }
}

static void write_cb(png_structp png, png_bytep data, size_t len)
{
    png_io *io = (png_io *)png_get_io_ptr(png);
    if (fwrite(data, 1, len, io->f) != len) {
        io->status = DL_ERR_IO;
        png_error(png, "short write");
    }
}

static void flush_cb(png_structp png)
{
    png_io *io = (png_io *)png_get_io_ptr(png);
    if (fflush(io->f) != 0) {
        io->status = DL_ERR_IO;
        png_error(png, "flush");
    }
}

static int errno_status(int e)
{
    if (e == ENOENT || e == ENOTDIR) return DL_ERR_NOT_FOUND;
    if (e == EISDIR) return DL_ERR_IS_DIR;
    if (e == ENOMEM) return DL_ERR_NOMEM;
    return DL_ERR_IO;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Signature and IHDR size, from the first bytes, before libpng or any
 * allocation sees the file: a 20000x20000 header must cost nothing. */
static int check_head(FILE *f)
{
    uint8_t head[24];
    size_t n = fread(head, 1, sizeof head, f);
    if (ferror(f)) return DL_ERR_IO;
    if (n < 8) /* a prefix of the signature is a truncated PNG */
        return n > 0 && png_sig_cmp(head, 0, n) == 0 ? DL_ERR_TRUNCATED
                                                     : DL_ERR_NOT_PNG;
    if (png_sig_cmp(head, 0, 8) != 0) return DL_ERR_NOT_PNG;
    if (n < sizeof head) return DL_ERR_TRUNCATED;
    if (memcmp(head + 12, "IHDR", 4) != 0) return DL_OK; /* libpng rejects it */
    uint32_t w = be32(head + 16), h = be32(head + 20);
    if (w < 1 || h < 1 || w > DL_MAX_SIDE || h > DL_MAX_SIDE)
        return DL_ERR_IMAGE_SIZE;
    return DL_OK;
}

/* Adam7: the pixels pass p delivers are rows r0 + k*dr, columns c0 + k*dc. */
static const int adam7_r0[7] = {0, 0, 4, 0, 2, 0, 1};
static const int adam7_dr[7] = {8, 8, 8, 4, 4, 2, 2};
static const int adam7_c0[7] = {0, 4, 0, 2, 0, 1, 0};
static const int adam7_dc[7] = {8, 8, 4, 4, 2, 2, 1};

/* io belongs to the caller: it changes between setjmp and longjmp. */
static int read_pixels(png_io *io, uint8_t **gray_out, int *w_out, int *h_out)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL,
                                             silent_error, silent_warning);
    if (!png) return DL_ERR_NOMEM;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return DL_ERR_NOMEM;
    }
    /* written between setjmp and longjmp, so volatile */
    uint8_t *volatile gray = NULL;
    uint8_t *volatile row = NULL;
    volatile int status = DL_OK;

    if (setjmp(png_jmpbuf(png))) {
        free(gray);
        free(row);
        png_destroy_read_struct(&png, &info, NULL);
        return status != DL_OK ? status : io->status;
    }
    png_set_read_fn(png, io, read_cb);
    png_read_info(png, info);

    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (w < 1 || h < 1 || w > DL_MAX_SIDE || h > DL_MAX_SIDE) {
        status = DL_ERR_IMAGE_SIZE;
        png_longjmp(png, 1);
    }

    /* Everything becomes 8-bit RGBA; dl_rgba_to_gray then does the
     * compositing over white and the luminance, the same as in the browser. */
    png_set_expand(png); /* palette -> RGB, gray < 8 bit -> 8, tRNS -> alpha */
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
    png_set_scale_16(png); /* round(v * 255 / 65535) */
#else
    png_set_strip_16(png);
#endif
    if (!(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    if (!(color & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_filler(png, 0xFF, PNG_FILLER_AFTER);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 4 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)w * 4) {
        status = DL_ERR_IO;
        png_longjmp(png, 1);
    }

    gray = malloc((size_t)w * h);
    row = malloc((size_t)w * 4);
    if (!gray || !row) {
        status = DL_ERR_NOMEM;
        png_longjmp(png, 1);
    }
    if (interlace == PNG_INTERLACE_NONE) {
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, row, NULL);
            dl_rgba_to_gray(gray + (size_t)y * w, row, w);
        }
    } else {
        /* With interlace handling libpng wants every row once per pass and
         * writes into `row` only the pixels of that pass (the rest of the
         * row is left alone), so one row buffer suffices: convert just those
         * pixels. No full-size RGBA image is needed. */
        for (int p = 0; p < passes && p < 7; p++)
            for (png_uint_32 y = 0; y < h; y++) {
                png_read_row(png, row, NULL);
                if (y < (png_uint_32)adam7_r0[p] || (y - adam7_r0[p]) % adam7_dr[p])
                    continue;
                for (png_uint_32 x = adam7_c0[p]; x < w; x += adam7_dc[p])
                    dl_rgba_to_gray(gray + (size_t)y * w + x, row + 4 * (size_t)x, 1);
            }
    }
    png_read_end(png, NULL); /* checks the rest of the stream up to IEND */

    free(row);
    png_destroy_read_struct(&png, &info, NULL);
    *gray_out = gray;
    *w_out = (int)w;
    *h_out = (int)h;
    return DL_OK;
}

int png_read_gray(const char *path, uint8_t **gray, int *w, int *h)
{
    if (!path || !gray || !w || !h) return DL_ERR_ARG;
    *gray = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return errno_status(errno);
    if (S_ISDIR(st.st_mode)) return DL_ERR_IS_DIR;
    if (S_ISREG(st.st_mode) && st.st_size == 0) return DL_ERR_EMPTY_FILE;

    FILE *f = fopen(path, "rb");
    if (!f) return errno_status(errno);
    int rc = check_head(f);
    if (rc == DL_OK && fseek(f, 0, SEEK_SET) != 0) rc = DL_ERR_IO;
    png_io io = {f, DL_ERR_IO};
    if (rc == DL_OK) rc = read_pixels(&io, gray, w, h);
    fclose(f);
    return rc;
}

/* libpng writes into an open temporary file; 0 or a dl_status. */
static int write_pixels(png_io *io, const uint8_t *pix, int w, int h, int color,
                        int channels)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              silent_error, silent_warning);
    if (!png) return DL_ERR_NOMEM;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return DL_ERR_NOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return io->status;
    }
    png_set_write_fn(png, io, write_cb, flush_cb);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, color,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, pix + (size_t)y * w * channels);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return DL_OK;
}

static int write_atomic(const char *path, const uint8_t *pix, int w, int h,
                        int color, int channels)
{
    if (!path || !pix) return DL_ERR_ARG;
    if (w < 1 || h < 1 || w > DL_MAX_SIDE || h > DL_MAX_SIDE)
        return DL_ERR_IMAGE_SIZE;
    size_t n = strlen(path);
    char *tmp = malloc(n + 8);
    if (!tmp) return DL_ERR_NOMEM;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);
    int fd = mkstemp(tmp); /* same directory, so rename is atomic */
    if (fd < 0) {
        int rc = errno_status(errno);
        free(tmp);
        return rc;
    }
    (void)fchmod(fd, 0644); /* mkstemp makes 0600; an image is for viewing */
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int rc = errno_status(errno);
        close(fd);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    png_io io = {f, DL_ERR_IO};
    int rc = write_pixels(&io, pix, w, h, color, channels);
    if (rc == DL_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0)) rc = DL_ERR_IO;
    if (fclose(f) != 0 && rc == DL_OK) rc = DL_ERR_IO;
    /* a directory at path: EISDIR -> DL_ERR_IS_DIR */
    if (rc == DL_OK && rename(tmp, path) != 0) rc = errno_status(errno);
    if (rc != DL_OK) unlink(tmp);
    free(tmp);
    return rc;
}

int png_write_gray(const char *path, const uint8_t *gray, int w, int h)
{
    return write_atomic(path, gray, w, h, PNG_COLOR_TYPE_GRAY, 1);
}

int png_write_rgb(const char *path, const uint8_t *rgb, int w, int h)
{
    return write_atomic(path, rgb, w, h, PNG_COLOR_TYPE_RGB, 3);
}
