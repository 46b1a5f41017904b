/* fuzz_preprocess.c — libFuzzer target: dl_preprocess and dl_rgba_to_gray.
 *
 * Input: byte 0 and 1 give the width and height (1..64), byte 2 bit 0 says
 * RGBA or gray; the rest are the pixels, in a heap buffer of exactly
 * w*h(*4) bytes (missing bytes are white paper), so ASan sees any read past
 * the image. What comes out must be an MNIST digit: values in 0..1, no NaN,
 * some ink, and all of it inside a 20x20 box (LeCun's frame). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "digitlens.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    int w = 1 + data[0] % 64, h = 1 + data[1] % 64, rgba = data[2] & 1;
    data += 3;
    size -= 3;
    size_t n = (size_t)w * h, bytes = rgba ? 4 * n : n;
    uint8_t *src = malloc(bytes), *gray = src;
    FUZZ_CHECK(src);
    memset(src, 255, bytes);
    memcpy(src, data, size < bytes ? size : bytes);
    if (rgba) {
        gray = malloc(n);
        FUZZ_CHECK(gray);
        dl_rgba_to_gray(gray, src, n);
    }
    float out[DL_IN_SIZE];
    int st = dl_preprocess(out, gray, w, h);
    FUZZ_CHECK(st == DL_OK || st == DL_ERR_NO_INK);
    if (st == DL_OK) {
        int x0 = 28, x1 = -1, y0 = 28, y1 = -1;
        float mass = 0;
        for (int i = 0; i < DL_IN_SIZE; i++) {
            FUZZ_CHECK(isfinite(out[i]) && out[i] >= 0.0f && out[i] <= 1.0f);
            if (out[i] > 0) {
                int x = i % 28, y = i / 28;
                if (x < x0) x0 = x; if (x > x1) x1 = x;
                if (y < y0) y0 = y; if (y > y1) y1 = y;
                mass += out[i];
            }
        }
        FUZZ_CHECK(mass > 0);
        FUZZ_CHECK(x1 - x0 < 20 && y1 - y0 < 20);
    }
    if (gray != src) free(gray);
    free(src);
    return 0;
}
