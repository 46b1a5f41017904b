/* fuzz_png.c — libFuzzer target: the CLI's PNG input path, png_read_gray
 * (tools/png.c, libpng) followed by dl_preprocess, on arbitrary bytes.
 * png_read_gray takes a path, so the bytes go into a memfd and the path is
 * /proc/self/fd/N: the code under test is exactly the CLI's. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "digitlens.h"
#include "../../tools/png.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.png", 0);
        FUZZ_CHECK(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);

    uint8_t *gray = (uint8_t *)1;
    int w = -1, h = -1;
    int st = png_read_gray(path, &gray, &w, &h);
    FUZZ_CHECK(dl_strerror(st) != NULL);
    if (st != DL_OK) {
        FUZZ_CHECK(gray == NULL);
        return 0;
    }
    FUZZ_CHECK(gray && w >= 1 && h >= 1 && w <= DL_MAX_SIDE && h <= DL_MAX_SIDE);
    float out[DL_IN_SIZE];
    st = dl_preprocess(out, gray, w, h);
    FUZZ_CHECK(st == DL_OK || st == DL_ERR_NO_INK);
    free(gray);
    return 0;
}
