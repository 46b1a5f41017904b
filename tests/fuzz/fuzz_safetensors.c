/* fuzz_safetensors.c — libFuzzer target: dl_st_load on arbitrary bytes.
 *
 * Three readers of the same bytes, as the program has them: small tensors
 * (so the fuzzer reaches the data checks with short inputs), the network
 * the file's metadata describes (dl_model_load: the CLI and the page), and
 * metadata only (the trainer's checkpoint check). A file that loads must survive a round trip:
 * saved again it loads to the same floats. Nothing may be written to the
 * destination unless the load succeeds.
 */
#include <stdlib.h>
#include <string.h>
#include "digitlens.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* small tensors: "a" [2,3] and "b" [4] */
    float a[6], b[4], a2[6], b2[4];
    for (int i = 0; i < 6; i++) a[i] = 12345.0f;
    for (int i = 0; i < 4; i++) b[i] = 12345.0f;
    dl_tensor t[2] = {{"a", 2, {2, 3}, a}, {"b", 1, {4}, b}};
    dl_meta meta;
    int st = dl_st_load(data, size, t, 2, &meta);
    FUZZ_CHECK(dl_strerror(st) != NULL);
    if (st != DL_OK) {
        for (int i = 0; i < 6; i++) FUZZ_CHECK(a[i] == 12345.0f); /* untouched */
    } else {
        FUZZ_CHECK(meta.n >= 0 && meta.n <= DL_META_MAX);
        for (int k = 0; k < meta.n; k++)
            FUZZ_CHECK(memchr(meta.key[k], 0, DL_META_KEY) && memchr(meta.val[k], 0, DL_META_VAL));
        size_t len = 0;
        FUZZ_CHECK(dl_st_save(NULL, 0, &len, t, 2, &meta) == DL_OK);
        uint8_t *out = malloc(len);
        FUZZ_CHECK(out && dl_st_save(out, len, &len, t, 2, &meta) == DL_OK);
        dl_tensor t2[2] = {{"a", 2, {2, 3}, a2}, {"b", 1, {4}, b2}};
        dl_meta meta2;
        FUZZ_CHECK(dl_st_load(out, len, t2, 2, &meta2) == DL_OK);
        FUZZ_CHECK(memcmp(a, a2, sizeof a) == 0 && memcmp(b, b2, sizeof b) == 0);
        FUZZ_CHECK(meta2.n == meta.n);
        free(out);
    }

    /* the network the file describes (its "architecture" and "cam_layer"
     * metadata; the seed network without them), as the CLI and the page
     * load it: planned and loaded, or refused with a status and a one-line
     * why; a network that loads runs a forward pass to finite logits */
    static float params[1 << 16];
    static dl_model m;
    st = dl_model_load(&m, data, size, params, 1 << 16, NULL);
    FUZZ_CHECK(dl_strerror(st) != NULL);
    FUZZ_CHECK(memchr(m.why, 0, sizeof m.why) != NULL);
    if (st == DL_OK) {
        FUZZ_CHECK(m.params == params && m.n_params <= (1 << 16) && m.n_acts <= DL_MAX_ACTS);
        FUZZ_CHECK(m.grid.side >= 2 && m.grid.side <= DL_MAX_MAP_SIDE &&
                   m.map_size == m.grid.side * m.grid.side && m.cam_k >= 1 && m.cam_k <= DL_MAX_CHANNELS);
        dl_work w;
        FUZZ_CHECK(dl_work_alloc(&w, &m, 1) == DL_OK);
        float x[DL_IN_SIZE] = { 0 };
        x[400] = 1.0f;
        FUZZ_CHECK(dl_forward(&m, &w, x, 1) == DL_OK);
        dl_work_free(&w);
    } else if (st == DL_ERR_ARCH || st == DL_ERR_CAM_LAYER || st == DL_ERR_TOO_LARGE) {
        FUZZ_CHECK(m.why[0] != '\0'); /* these always say why */
    }

    /* metadata only, as a checkpoint is first read */
    st = dl_st_load(data, size, NULL, 0, &meta);
    FUZZ_CHECK(dl_strerror(st) != NULL);
    if (st == DL_OK) {
        for (int k = 0; k < meta.n; k++) FUZZ_CHECK(dl_meta_get(&meta, meta.key[k]) != NULL);
    }
    return 0;
}
