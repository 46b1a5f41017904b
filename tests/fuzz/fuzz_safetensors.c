/* fuzz_safetensors.c — libFuzzer target: dl_st_load on arbitrary bytes.
 *
 * Three readers of the same bytes, as the program has them: small tensors
 * (so the fuzzer reaches the data checks with short inputs), the seed
 * network's four tensors (the CLI and the page), and metadata only (the
 * trainer's checkpoint check). A file that loads must survive a round trip:
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

    /* the seed network, as the CLI and the page load it */
    static dl_model m;
    static float params[DL_SEEDNET_PARAMS];
    static int planned;
    if (!planned) {
        FUZZ_CHECK(dl_model_plan(&m, &dl_seednet) == DL_OK);
        m.params = params;
        planned = 1;
    }
    dl_tensor mt[DL_MAX_TENSORS];
    int n = dl_model_tensors(&m, params, mt);
    st = dl_st_load(data, size, mt, n, NULL);
    FUZZ_CHECK(dl_strerror(st) != NULL);

    /* metadata only, as a checkpoint is first read */
    st = dl_st_load(data, size, NULL, 0, &meta);
    FUZZ_CHECK(dl_strerror(st) != NULL);
    if (st == DL_OK) {
        for (int k = 0; k < meta.n; k++) FUZZ_CHECK(dl_meta_get(&meta, meta.key[k]) != NULL);
    }
    return 0;
}
