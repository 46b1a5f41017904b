/* fuzz_wasm_api.c — libFuzzer target: the WASM boundary (c/wasm_api.c),
 * compiled natively so ASan and UBSan watch it. The input is a program:
 * a sequence of calls to the exports with arguments taken from the bytes
 * (any int32, so negative and huge sizes, classes and masks), with the
 * buffers the page writes into (weights, input, image, maps) filled from
 * the bytes too, NaN and Infinity included. A call may fail, but only with
 * a status and a message; it may never read or write out of bounds. The
 * model starts with valid seeded weights so that inference is reached. */
#include <math.h>
#include <string.h>

#pragma clang diagnostic ignored "-Wunknown-attributes"
#include "../../c/wasm_api.c"
#include "fuzz.h"

typedef struct { const uint8_t *p; size_t n; } cursor;

static uint32_t take(cursor *c, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = v << 8 | (c->n ? *c->p : 0);
        if (c->n) { c->p++; c->n--; }
    }
    return v;
}
static int32_t take_i32(cursor *c) { return (int32_t)take(c, 4); }

/* small or hostile: the fuzzer picks either with one byte */
static int32_t take_side(cursor *c)
{
    uint32_t k = take(c, 1);
    return k & 0x80 ? take_i32(c) : (int32_t)(k & 0x7f) * 4 + (int32_t)take(c, 1) % 4;
}

static float take_float(cursor *c)
{
    static const float special[8] = {0.0f, 1.0f, 0.5f, NAN, INFINITY, -INFINITY, -0.0f, 1e-40f};
    uint32_t k = take(c, 1);
    if (k < 200) return (float)k / 199.0f;
    if (k < 248) return special[k & 7];
    uint32_t u = take(c, 4);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void seed_weights(void)
{
    static dl_model m;
    static float p[DL_SEEDNET_PARAMS];
    FUZZ_CHECK(dl_model_plan(&m, &dl_seednet) == DL_OK);
    m.params = p;
    FUZZ_CHECK(dl_model_init_he(&m, 1) == DL_OK);
    dl_tensor t[DL_MAX_TENSORS];
    int n = dl_model_tensors(&m, p, t);
    size_t len = 0;
    FUZZ_CHECK(dl_st_save(wasm_weights_buf(), (size_t)wasm_weights_cap(), &len, t, n, NULL) == DL_OK);
    FUZZ_CHECK(wasm_load_weights((int)len) == DL_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { seed_weights(); init = 1; }
    cursor c = {data, size};
    for (int step = 0; step < 16 && c.n; step++) {
        int st = 0;
        switch (take(&c, 1) % 11) {
        case 0: { /* weights: bytes into the buffer, any length claimed */
            size_t k = take(&c, 2);
            if (k > c.n) k = c.n;
            memcpy(wasm_weights_buf(), c.p, k);
            c.p += k; c.n -= k;
            int32_t len = take(&c, 1) & 1 ? take_i32(&c) : (int32_t)k;
            st = wasm_load_weights(len);
            break;
        }
        case 1: /* the 28x28 input */
            for (int i = 0; i < DL_IN_SIZE && c.n; i++) wasm_input_buf()[i] = take_float(&c);
            break;
        case 2: st = wasm_classify(); break;
        case 3: st = wasm_explain((unsigned)take_i32(&c)); break;
        case 4: case 5: { /* preprocess: image bytes, then any width and height */
            size_t k = take(&c, 2);
            if (k > c.n) k = c.n;
            memcpy(wasm_image_buf(), c.p, k);
            c.p += k; c.n -= k;
            int32_t w = take_side(&c), h = take_side(&c);
            st = (data[0] & 1) ? wasm_preprocess_rgba(w, h) : wasm_preprocess_gray(w, h);
            break;
        }
        case 6: { /* maps written by JS */
            float *maps = wasm_result_maps();
            for (int i = 0; i < DL_CLASSES * DL_MAX_MAP_SIZE && c.n; i += 1 + (int)take(&c, 1))
                maps[i] = take_float(&c);
            break;
        }
        case 7: {
            int32_t cls = take(&c, 1) & 1 ? take_i32(&c) : (int32_t)take(&c, 1) % 10;
            int32_t w = take_side(&c), h = take_side(&c);
            st = wasm_place(cls, w, h);
            break;
        }
        case 8: {
            int32_t cls = take(&c, 1) & 1 ? take_i32(&c) : (int32_t)take(&c, 1) % 10;
            int32_t w = take_side(&c), h = take_side(&c);
            int32_t cmap = take(&c, 1) & 1 ? take_i32(&c) : (int32_t)take(&c, 1) % 2;
            int32_t flags = take(&c, 1) & 1 ? take_i32(&c) : (int32_t)take(&c, 1) % 4;
            uint32_t mask = take(&c, 1) & 1 ? (uint32_t)take_i32(&c) : take(&c, 2) & 0x3ff;
            st = wasm_heat(cls, w, h, cmap, flags, mask);
            if (st == DL_OK) {
                for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
                    FUZZ_CHECK(isfinite(wasm_place_buf()[i]));
            }
            break;
        }
        case 9: /* results are always readable */
            FUZZ_CHECK(wasm_result_digit() >= 0 && wasm_result_digit() < DL_CLASSES);
            break;
        case 10: /* where the last preprocessed image's 28x28 frame lies */
            st = wasm_frame();
            if (st == DL_OK) {
                const float *f = wasm_frame_buf();
                FUZZ_CHECK(isfinite(f[0]) && f[0] > 0.0f && isfinite(f[1]) && isfinite(f[2]));
            }
            break;
        }
        FUZZ_CHECK(st >= 0 && st < DL_ERR_COUNT);
        const char *e = wasm_last_error();
        FUZZ_CHECK(memchr(e, 0, sizeof last_error) != NULL);
        if (st != DL_OK) FUZZ_CHECK(e[0] != '\0');
        if (st == DL_OK && wasm_weights_loaded()) {
            /* a successful classify/explain leaves finite results */
        }
    }
    return 0;
}
