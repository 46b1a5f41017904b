/* png.h — [native] PNG files for the CLI and the tests, through libpng.
 *
 *   uint8_t *gray; int w, h;
 *   int st = png_read_gray("digit.png", &gray, &w, &h);  // free(gray)
 *   st = png_write_gray("out.png", gray, w, h);
 *   st = png_write_rgb("heat.png", rgb, w, h);            // rgb: (h, w, 3)
 *
 * png_read_gray reads any PNG (gray, gray+alpha, RGB, RGBA, palette with or
 * without tRNS, 1/2/4/8/16-bit, interlaced or not) into 8-bit gray, row-major,
 * alpha composited over white and colour turned to Rec.601 luminance exactly
 * as dl_rgba_to_gray does (16-bit samples are scaled to 8 bits, rounded; no
 * gamma correction). It returns a dl_status:
 *   DL_ERR_ARG         a NULL argument
 *   DL_ERR_NOT_FOUND   no such file        DL_ERR_IS_DIR   a directory
 *   DL_ERR_EMPTY_FILE  0 bytes             DL_ERR_NOT_PNG  bad 8-byte signature
 *   DL_ERR_IMAGE_SIZE  IHDR width or height < 1 or > DL_MAX_SIDE (checked
 *                      before any pixel memory is allocated)
 *   DL_ERR_TRUNCATED   the file ends early
 *   DL_ERR_IO          a read error or a corrupt stream (bad CRC, bad zlib)
 *   DL_ERR_NOMEM       out of memory
 * On error *gray is NULL. libpng never prints: errors and warnings go to
 * silent handlers.
 *
 * The writers produce an 8-bit PNG atomically: a temporary file next to
 * `path` (path.XXXXXX), fsync, rename over `path`; on failure the temporary
 * is removed and any old file at `path` is left as it was. They return
 * DL_ERR_ARG, DL_ERR_IMAGE_SIZE (side < 1 or > DL_MAX_SIDE),
 * DL_ERR_NOT_FOUND (no such directory), DL_ERR_IS_DIR (path is a
 * directory), DL_ERR_IO or DL_ERR_NOMEM.
 */
#ifndef DIGITLENS_TOOLS_PNG_H
#define DIGITLENS_TOOLS_PNG_H

#include <stdint.h>
#include "digitlens.h"

int png_read_gray(const char *path, uint8_t **gray, int *w, int *h);
int png_write_gray(const char *path, const uint8_t *gray, int w, int h);
int png_write_rgb(const char *path, const uint8_t *rgb, int w, int h);

#endif
